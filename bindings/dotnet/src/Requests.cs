using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

// Typed requests and answers of the session handlers besides tools, permissions, user
// input and hooks: elicitation, exit-plan-mode, auto-mode-switch, MCP OAuth and slash
// commands. Names follow the official .NET SDK (GitHub.Copilot.SDK) where its shapes fit.
//
// Threading, for every handler here: libcopilot hands each request to the wrapper on the
// client's callback thread, one at a time in wire order; the wrapper starts the handler on
// the thread pool at once and returns, so a handler may block or await (even call the
// session) without holding up the session's events, and handlers of different requests
// may run at the same time. With SessionConfig.UseSynchronizationContext the handler is
// posted to the captured context instead (in arrival order), and answered when its task ends.
namespace GitHub.Copilot
{
    internal static class Json
    {
        internal static string Str(JObject o, string key)
        {
            var t = o[key];
            return t == null || t.Type == JTokenType.Null ? null : t.Type == JTokenType.String ? (string)t : t.ToString(Newtonsoft.Json.Formatting.None);
        }
    }

    /// <summary>An elicitation request (<c>elicitation.requested</c>): a form (or URL) the agent,
    /// an MCP server or a host's <c>session.ui.elicitation</c> call wants the user to fill in.
    /// Wire shape: <c>{"requestId", "message", "requestedSchema"?, "mode"?, "elicitationSource"?,
    /// "url"?, "toolCallId"?}</c>.</summary>
    public sealed class ElicitationContext
    {
        /// <summary>The session the request belongs to.</summary>
        public string SessionId { get; internal set; }
        public string RequestId { get; internal set; }
        /// <summary>What information is needed from the user.</summary>
        public string Message { get; internal set; }
        /// <summary>The JSON Schema of the form: <c>{"type": "object", "properties": {...},
        /// "required"?: [...]}</c>; null in URL mode.</summary>
        public JObject RequestedSchema { get; internal set; }
        /// <summary>"form" (structured input) or "url" (open <see cref="Url"/> in a browser); null when not sent.</summary>
        public string Mode { get; internal set; }
        /// <summary>Who asked, e.g. an MCP server's name.</summary>
        public string ElicitationSource { get; internal set; }
        public string Url { get; internal set; }
        /// <summary>The request as the CLI sent it.</summary>
        public JObject Raw { get; internal set; }

        internal static ElicitationContext From(string sessionId, JObject o)
        {
            return new ElicitationContext
            {
                SessionId = sessionId,
                RequestId = Json.Str(o, "requestId"),
                Message = Json.Str(o, "message"),
                RequestedSchema = o["requestedSchema"] as JObject,
                Mode = Json.Str(o, "mode"),
                ElicitationSource = Json.Str(o, "elicitationSource"),
                Url = Json.Str(o, "url"),
                Raw = o,
            };
        }
    }

    /// <summary>The user's answer to an elicitation: <c>{"action": "accept"|"decline"|"cancel",
    /// "content"?: object}</c>.</summary>
    public sealed class ElicitationResult
    {
        /// <summary>"accept" (submitted), "decline" (rejected) or "cancel" (dismissed).</summary>
        public string Action { get; set; }
        /// <summary>The submitted form values, by field name (with "accept").</summary>
        public JObject Content { get; set; }

        public static ElicitationResult Accept(JObject content) { return new ElicitationResult { Action = "accept", Content = content }; }
        public static ElicitationResult Decline() { return new ElicitationResult { Action = "decline" }; }
        public static ElicitationResult Cancel() { return new ElicitationResult { Action = "cancel" }; }

        internal JObject ToJson()
        {
            var o = new JObject { ["action"] = Action ?? "cancel" };
            if (Content != null) o["content"] = Content;
            return o;
        }
    }

    /// <summary>A request to leave plan mode (<c>exitPlanMode.request</c>): <c>{"sessionId", "summary",
    /// "planContent"?, "actions": [string], "recommendedAction"}</c>, actions among "interactive",
    /// "autopilot", "autopilot_fleet", "exit_only".</summary>
    public sealed class ExitPlanModeRequest
    {
        public string SessionId { get; internal set; }
        /// <summary>A summary of the plan or the proposed next step.</summary>
        public string Summary { get; internal set; }
        /// <summary>The whole plan, when available.</summary>
        public string PlanContent { get; internal set; }
        /// <summary>The actions the user may choose from.</summary>
        public IList<string> Actions { get; internal set; }
        public string RecommendedAction { get; internal set; }
        public JObject Raw { get; internal set; }

        internal static ExitPlanModeRequest From(JObject o)
        {
            var actions = new List<string>();
            foreach (var a in o["actions"] as JArray ?? new JArray()) actions.Add((string)a);
            return new ExitPlanModeRequest
            {
                SessionId = Json.Str(o, "sessionId"),
                Summary = Json.Str(o, "summary"),
                PlanContent = Json.Str(o, "planContent"),
                Actions = actions,
                RecommendedAction = Json.Str(o, "recommendedAction"),
                Raw = o,
            };
        }
    }

    /// <summary>The answer to an exit-plan-mode request: <c>{"approved": bool, "selectedAction"?,
    /// "feedback"?}</c>.</summary>
    public sealed class ExitPlanModeResult
    {
        private bool _approved = true;

        /// <summary>Whether the user approved leaving plan mode (default true).</summary>
        public bool Approved { get { return _approved; } set { _approved = value; } }
        /// <summary>The action the user chose, one of the request's Actions.</summary>
        public string SelectedAction { get; set; }
        public string Feedback { get; set; }

        internal JObject ToJson()
        {
            var o = new JObject { ["approved"] = Approved };
            if (SelectedAction != null) o["selectedAction"] = SelectedAction;
            if (Feedback != null) o["feedback"] = Feedback;
            return o;
        }
    }

    /// <summary>A request to switch to auto mode after a rate limit (<c>autoModeSwitch.request</c>):
    /// <c>{"sessionId", "errorCode"?, "retryAfterSeconds"?}</c>.</summary>
    public sealed class AutoModeSwitchRequest
    {
        public string SessionId { get; internal set; }
        /// <summary>The rate-limit error code that caused the request.</summary>
        public string ErrorCode { get; internal set; }
        /// <summary>Seconds until the limit resets, when known.</summary>
        public double? RetryAfterSeconds { get; internal set; }
        public JObject Raw { get; internal set; }

        internal static AutoModeSwitchRequest From(JObject o)
        {
            var retry = o["retryAfterSeconds"];
            return new AutoModeSwitchRequest
            {
                SessionId = Json.Str(o, "sessionId"),
                ErrorCode = Json.Str(o, "errorCode"),
                RetryAfterSeconds = retry == null || retry.Type == JTokenType.Null ? (double?)null : (double)retry,
                Raw = o,
            };
        }
    }

    /// <summary>The answer to an auto-mode-switch request: <c>{"response": "yes"|"yes_always"|"no"}</c>.</summary>
    public sealed class AutoModeSwitchResponse
    {
        /// <summary>The wire value.</summary>
        public string Value { get; private set; }
        private AutoModeSwitchResponse(string value) { Value = value; }

        /// <summary>Switch for this request.</summary>
        public static readonly AutoModeSwitchResponse Yes = new AutoModeSwitchResponse("yes");
        /// <summary>Switch now and keep switching automatically.</summary>
        public static readonly AutoModeSwitchResponse YesAlways = new AutoModeSwitchResponse("yes_always");
        /// <summary>Do not switch.</summary>
        public static readonly AutoModeSwitchResponse No = new AutoModeSwitchResponse("no");

        public override string ToString() { return Value; }
    }

    /// <summary>An MCP server needs OAuth credentials (<c>mcp.oauth_required</c>): <c>{"requestId",
    /// "serverName", "serverUrl", "reason", "wwwAuthenticateParams"?, "resourceMetadata"?,
    /// "staticClientConfig"?}</c>.</summary>
    public sealed class McpAuthContext
    {
        public string SessionId { get; internal set; }
        public string RequestId { get; internal set; }
        /// <summary>The MCP server's name in the session's mcpServers.</summary>
        public string ServerName { get; internal set; }
        public string ServerUrl { get; internal set; }
        /// <summary>Why the runtime asks the host for credentials.</summary>
        public string Reason { get; internal set; }
        /// <summary>The server's parsed WWW-Authenticate parameters, if any.</summary>
        public JObject WwwAuthenticateParams { get; internal set; }
        /// <summary>The RFC 9728 protected-resource metadata the runtime fetched (JSON text), if any.</summary>
        public string ResourceMetadata { get; internal set; }
        /// <summary>A static OAuth client configuration, if the server names one.</summary>
        public JObject StaticClientConfig { get; internal set; }
        public JObject Raw { get; internal set; }

        internal static McpAuthContext From(string sessionId, JObject o)
        {
            return new McpAuthContext
            {
                SessionId = sessionId,
                RequestId = Json.Str(o, "requestId"),
                ServerName = Json.Str(o, "serverName"),
                ServerUrl = Json.Str(o, "serverUrl"),
                Reason = Json.Str(o, "reason"),
                WwwAuthenticateParams = o["wwwAuthenticateParams"] as JObject,
                ResourceMetadata = Json.Str(o, "resourceMetadata"),
                StaticClientConfig = o["staticClientConfig"] as JObject,
                Raw = o,
            };
        }
    }

    /// <summary>An OAuth token for an MCP server.</summary>
    public sealed class McpAuthToken
    {
        public string AccessToken { get; set; }
        /// <summary>Defaults to Bearer when null.</summary>
        public string TokenType { get; set; }
        /// <summary>Lifetime in seconds, if known.</summary>
        public long? ExpiresIn { get; set; }
    }

    /// <summary>The answer to an MCP OAuth request: a token, or cancellation.</summary>
    public sealed class McpAuthResult
    {
        public bool Cancelled { get; set; }
        /// <summary>Ignored when Cancelled.</summary>
        public McpAuthToken Token { get; set; }

        public static McpAuthResult FromToken(McpAuthToken token) { return new McpAuthResult { Token = token }; }
        public static McpAuthResult Cancel() { return new McpAuthResult { Cancelled = true }; }

        /// <summary><c>{"accessToken", "tokenType"?, "expiresIn"?}</c>, or null (cancel).</summary>
        internal JToken ToJson()
        {
            if (Cancelled || Token == null || Token.AccessToken == null) return JValue.CreateNull();
            var o = new JObject { ["accessToken"] = Token.AccessToken };
            if (Token.TokenType != null) o["tokenType"] = Token.TokenType;
            if (Token.ExpiresIn.HasValue) o["expiresIn"] = Token.ExpiresIn.Value;
            return o;
        }
    }

    /// <summary>A slash command the session offers (sent in <c>commands</c> at create/resume as
    /// <c>{"name", "description"?}</c>; copilot_session_config_add_command). A run arrives as the
    /// <c>command.execute</c> event and is answered with <c>session.commands.handlePendingCommand</c>:
    /// when <see cref="Handler"/>'s task completes, as done; when it throws (or faults), with the
    /// exception's message as the error the user sees. The handler runs on the thread pool (or the
    /// captured context, see <see cref="SessionConfig.UseSynchronizationContext"/>).</summary>
    public sealed class CommandDefinition
    {
        /// <summary>The name without the leading "/", e.g. "deploy".</summary>
        public string Name { get; set; }
        /// <summary>Shown in the command completion UI.</summary>
        public string Description { get; set; }
        public Func<CommandContext, Task> Handler { get; set; }
    }

    /// <summary>One run of a slash command: <c>{"requestId", "command", "commandName", "args"}</c>.</summary>
    public sealed class CommandContext
    {
        public string SessionId { get; internal set; }
        public string RequestId { get; internal set; }
        /// <summary>The whole command text, e.g. "/deploy production".</summary>
        public string Command { get; internal set; }
        /// <summary>The name without the leading "/".</summary>
        public string CommandName { get; internal set; }
        /// <summary>The raw text after the name.</summary>
        public string Args { get; internal set; }
    }

    /// <summary>The ids of the system message's sections (for
    /// <see cref="SessionConfig.SystemMessageSections"/>), as in the official SDK.</summary>
    public static class SystemMessageSection
    {
        /// <summary>The agent's identity preamble and mode statement.</summary>
        public const string Preamble = "preamble";
        /// <summary>The group of the identity preamble and its sub-sections (tone, tool efficiency, ...).</summary>
        public const string Identity = "identity";
        /// <summary>Response style, conciseness, output formatting.</summary>
        public const string Tone = "tone";
        /// <summary>Tool usage patterns, parallel calls, batching.</summary>
        public const string ToolEfficiency = "tool_efficiency";
        /// <summary>Working directory, OS, git root, directory listing, available tools.</summary>
        public const string EnvironmentContext = "environment_context";
        /// <summary>Coding rules, linting and testing, ecosystem tools, style.</summary>
        public const string CodeChangeRules = "code_change_rules";
        /// <summary>Tips and behavioural guidelines.</summary>
        public const string Guidelines = "guidelines";
        /// <summary>Environment limitations, prohibited actions, security policies.</summary>
        public const string Safety = "safety";
        /// <summary>Per-tool usage instructions.</summary>
        public const string ToolInstructions = "tool_instructions";
        /// <summary>Repository and organisation custom instructions.</summary>
        public const string CustomInstructions = "custom_instructions";
        /// <summary>Runtime-provided context (notifications, memories, workspace context, mode instructions).</summary>
        public const string RuntimeInstructions = "runtime_instructions";
        /// <summary>End-of-prompt instructions: parallel tool calls, persistence, task completion.</summary>
        public const string LastInstructions = "last_instructions";
    }

    /// <summary>What to do with one section of the system message (sent as
    /// <c>systemMessage.sections.&lt;id&gt; = {"action", "content"?}</c>).</summary>
    public sealed class SectionOverride
    {
        /// <summary>"replace", "remove", "append", "prepend" or "preserve"; ignored when
        /// <see cref="Transform"/> is set.</summary>
        public string Action { get; set; }
        /// <summary>The text for replace, append and prepend.</summary>
        public string Content { get; set; }
        /// <summary>Rewrites the section: it receives the section's current text and returns
        /// the text to use. The section is sent as <c>{"action": "transform"}</c>, and the CLI asks
        /// for the new text with <c>systemMessage.transform</c> (<c>{"sessionId", "sections":
        /// {id: {"content"}}}</c>, answered <c>{"sections": {id: {"content"}}}</c>) when it builds the
        /// system message. Runs on the thread pool (or the captured context, see
        /// <see cref="SessionConfig.UseSynchronizationContext"/>); the transforms of one request run one after
        /// another. A transform that throws, or returns null, leaves its section unchanged.</summary>
        public Func<string, Task<string>> Transform { get; set; }

        internal JObject ToJson()
        {
            if (Transform != null) return new JObject { ["action"] = "transform" };
            var o = new JObject();
            if (Action != null) o["action"] = Action;
            if (Content != null) o["content"] = Content;
            return o;
        }
    }
}
