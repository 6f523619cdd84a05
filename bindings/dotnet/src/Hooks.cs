using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    // Session hooks (hooks.invoke, copilot_session_config_set_hook): the CLI asks the host
    // before and after the agent's steps. Inputs arrive with the official SDK's normalization:
    // the wire's "cwd" is WorkingDirectory and its "timestamp" (Unix milliseconds) a
    // DateTimeOffset. A null output changes nothing.

    /// <summary>The context of one hook call.</summary>
    public sealed class HookInvocation
    {
        public string SessionId { get; set; }
    }

    /// <summary>What every hook input carries: <c>{"sessionId", "timestamp", "cwd"}</c> on the wire.</summary>
    public abstract class HookInputBase
    {
        public string SessionId { get; set; }
        /// <summary>When the hook fired (wire: Unix milliseconds).</summary>
        public DateTimeOffset Timestamp { get; set; }
        /// <summary>The session's working directory (wire: <c>cwd</c>).</summary>
        public string WorkingDirectory { get; set; }
        /// <summary>The input as the CLI sent it (libcopilot addition).</summary>
        public JObject Raw { get; set; }

        internal void Fill(JObject o)
        {
            Raw = o;
            SessionId = Json.Str(o, "sessionId");
            WorkingDirectory = Json.Str(o, "cwd");
            Timestamp = HookJson.Time(o["timestamp"]);
        }
    }

    /// <summary>preToolUse: a tool is about to run.</summary>
    public sealed class PreToolUseHookInput : HookInputBase
    {
        public string ToolName { get; set; }
        public JToken ToolArgs { get; set; }
    }

    /// <summary>preToolUse's answer: allow, deny or ask, and changed arguments.</summary>
    public sealed class PreToolUseHookOutput
    {
        /// <summary>"allow", "deny" or "ask".</summary>
        [JsonProperty("permissionDecision", NullValueHandling = NullValueHandling.Ignore)]
        public string PermissionDecision { get; set; }
        [JsonProperty("permissionDecisionReason", NullValueHandling = NullValueHandling.Ignore)]
        public string PermissionDecisionReason { get; set; }
        /// <summary>The arguments to run the tool with instead (any JSON-serialisable value).</summary>
        [JsonProperty("modifiedArgs", NullValueHandling = NullValueHandling.Ignore)]
        public object ModifiedArgs { get; set; }
        [JsonProperty("additionalContext", NullValueHandling = NullValueHandling.Ignore)]
        public string AdditionalContext { get; set; }
        [JsonProperty("suppressOutput", NullValueHandling = NullValueHandling.Ignore)]
        public bool? SuppressOutput { get; set; }
    }

    /// <summary>preMcpToolCall: an MCP tool is about to be called.</summary>
    public sealed class PreMcpToolCallHookInput : HookInputBase
    {
        public string ServerName { get; set; }
        public string ToolName { get; set; }
        public JToken Arguments { get; set; }
        public string ToolCallId { get; set; }
        /// <summary>The request's <c>_meta</c>, if any.</summary>
        public JObject Meta { get; set; }
    }

    /// <summary>preMcpToolCall's answer: the MCP request's <c>_meta</c> (sent even when null).</summary>
    public sealed class PreMcpToolCallHookOutput
    {
        [JsonProperty("metaToUse")]
        public JToken MetaToUse { get; set; }
    }

    /// <summary>postToolUse: a tool ran.</summary>
    public sealed class PostToolUseHookInput : HookInputBase
    {
        public string ToolName { get; set; }
        public JToken ToolArgs { get; set; }
        public JToken ToolResult { get; set; }
    }

    /// <summary>postToolUse's answer: a replacement for the result the model sees.</summary>
    public sealed class PostToolUseHookOutput
    {
        [JsonProperty("modifiedResult", NullValueHandling = NullValueHandling.Ignore)]
        public object ModifiedResult { get; set; }
        [JsonProperty("additionalContext", NullValueHandling = NullValueHandling.Ignore)]
        public string AdditionalContext { get; set; }
        [JsonProperty("suppressOutput", NullValueHandling = NullValueHandling.Ignore)]
        public bool? SuppressOutput { get; set; }
    }

    /// <summary>postToolUseFailure: a tool failed.</summary>
    public sealed class PostToolUseFailureHookInput : HookInputBase
    {
        public string ToolName { get; set; }
        public JToken ToolArgs { get; set; }
        public string Error { get; set; }
    }

    public sealed class PostToolUseFailureHookOutput
    {
        [JsonProperty("additionalContext", NullValueHandling = NullValueHandling.Ignore)]
        public string AdditionalContext { get; set; }
    }

    /// <summary>userPromptSubmitted: the user sent a prompt.</summary>
    public sealed class UserPromptSubmittedHookInput : HookInputBase
    {
        public string Prompt { get; set; }
    }

    public sealed class UserPromptSubmittedHookOutput
    {
        [JsonProperty("modifiedPrompt", NullValueHandling = NullValueHandling.Ignore)]
        public string ModifiedPrompt { get; set; }
        [JsonProperty("additionalContext", NullValueHandling = NullValueHandling.Ignore)]
        public string AdditionalContext { get; set; }
        [JsonProperty("suppressOutput", NullValueHandling = NullValueHandling.Ignore)]
        public bool? SuppressOutput { get; set; }
    }

    /// <summary>userPromptTransformed: the prompt after the CLI's own transformations.</summary>
    public sealed class UserPromptTransformedHookInput : HookInputBase
    {
        public string Prompt { get; set; }
        public string TransformedPrompt { get; set; }
    }

    public sealed class UserPromptTransformedHookOutput
    {
        [JsonProperty("modifiedTransformedPrompt", NullValueHandling = NullValueHandling.Ignore)]
        public string ModifiedTransformedPrompt { get; set; }
    }

    /// <summary>sessionStart; Source is "startup", "resume" or "new".</summary>
    public sealed class SessionStartHookInput : HookInputBase
    {
        public string Source { get; set; }
        public string InitialPrompt { get; set; }
    }

    public sealed class SessionStartHookOutput
    {
        [JsonProperty("additionalContext", NullValueHandling = NullValueHandling.Ignore)]
        public string AdditionalContext { get; set; }
        [JsonProperty("modifiedConfig", NullValueHandling = NullValueHandling.Ignore)]
        public IDictionary<string, object> ModifiedConfig { get; set; }
    }

    /// <summary>sessionEnd; Reason is "complete", "error", "abort", "timeout" or "user_exit".</summary>
    public sealed class SessionEndHookInput : HookInputBase
    {
        public string Reason { get; set; }
        public string FinalMessage { get; set; }
        public string Error { get; set; }
    }

    public sealed class SessionEndHookOutput
    {
        [JsonProperty("suppressOutput", NullValueHandling = NullValueHandling.Ignore)]
        public bool? SuppressOutput { get; set; }
        [JsonProperty("cleanupActions", NullValueHandling = NullValueHandling.Ignore)]
        public IList<string> CleanupActions { get; set; }
        [JsonProperty("sessionSummary", NullValueHandling = NullValueHandling.Ignore)]
        public string SessionSummary { get; set; }
    }

    /// <summary>errorOccurred; ErrorContext is "model_call", "tool_execution", "system" or "user_input".</summary>
    public sealed class ErrorOccurredHookInput : HookInputBase
    {
        public string Error { get; set; }
        public string ErrorContext { get; set; }
        public bool Recoverable { get; set; }
    }

    public sealed class ErrorOccurredHookOutput
    {
        [JsonProperty("suppressOutput", NullValueHandling = NullValueHandling.Ignore)]
        public bool? SuppressOutput { get; set; }
        /// <summary>"retry", "skip" or "abort".</summary>
        [JsonProperty("errorHandling", NullValueHandling = NullValueHandling.Ignore)]
        public string ErrorHandling { get; set; }
        [JsonProperty("retryCount", NullValueHandling = NullValueHandling.Ignore)]
        public int? RetryCount { get; set; }
        [JsonProperty("userNotification", NullValueHandling = NullValueHandling.Ignore)]
        public string UserNotification { get; set; }
    }

    /// <summary>agentStop: the agent is about to stop.</summary>
    public sealed class AgentStopHookInput : HookInputBase
    {
        public string StopReason { get; set; }
        public string TranscriptPath { get; set; }
        /// <summary>Wire: <c>stop_hook_active</c>.</summary>
        public bool? StopHookActive { get; set; }
    }

    /// <summary>agentStop's answer: "block" with a Reason keeps the agent going.</summary>
    public sealed class AgentStopHookOutput
    {
        [JsonProperty("decision", NullValueHandling = NullValueHandling.Ignore)]
        public string Decision { get; set; }
        [JsonProperty("reason", NullValueHandling = NullValueHandling.Ignore)]
        public string Reason { get; set; }
    }

    /// <summary>Hook handlers, one per hook type (the session is created with <c>hooks: true</c>
    /// when any is set). Each runs on the thread pool (or the captured context, see
    /// <see cref="SessionConfig.UseSynchronizationContext"/>) and gets the typed input and a
    /// <see cref="HookInvocation"/>; a null output changes nothing, and a handler that throws
    /// fails the hook call with its message.</summary>
    public sealed class SessionHooks
    {
        public Func<PreToolUseHookInput, HookInvocation, Task<PreToolUseHookOutput>> OnPreToolUse { get; set; }
        public Func<PreMcpToolCallHookInput, HookInvocation, Task<PreMcpToolCallHookOutput>> OnPreMcpToolCall { get; set; }
        public Func<PostToolUseHookInput, HookInvocation, Task<PostToolUseHookOutput>> OnPostToolUse { get; set; }
        public Func<PostToolUseFailureHookInput, HookInvocation, Task<PostToolUseFailureHookOutput>> OnPostToolUseFailure { get; set; }
        public Func<UserPromptSubmittedHookInput, HookInvocation, Task<UserPromptSubmittedHookOutput>> OnUserPromptSubmitted { get; set; }
        public Func<UserPromptTransformedHookInput, HookInvocation, Task<UserPromptTransformedHookOutput>> OnUserPromptTransformed { get; set; }
        public Func<SessionStartHookInput, HookInvocation, Task<SessionStartHookOutput>> OnSessionStart { get; set; }
        public Func<SessionEndHookInput, HookInvocation, Task<SessionEndHookOutput>> OnSessionEnd { get; set; }
        public Func<ErrorOccurredHookInput, HookInvocation, Task<ErrorOccurredHookOutput>> OnErrorOccurred { get; set; }
        public Func<AgentStopHookInput, HookInvocation, Task<AgentStopHookOutput>> OnAgentStop { get; set; }

        /// <summary>Hooks by wire name with the input as the CLI sent it, for hook types newer than
        /// this wrapper (libcopilot addition); the result (a JToken, any JSON-serialisable value,
        /// or null) is the output. An entry replaces the typed handler of the same name.</summary>
        public IDictionary<string, Func<JObject, HookInvocation, Task<object>>> Other { get; set; }

        /// <summary>The handlers by wire name, each taking the <c>hooks.invoke</c> request
        /// (<c>{"sessionId", "hookType", "input"}</c>) and giving the output.</summary>
        internal IDictionary<string, Func<JObject, Task<object>>> ByType(string sessionId)
        {
            var m = new Dictionary<string, Func<JObject, Task<object>>>();
            Add(m, "preToolUse", OnPreToolUse, sessionId, i => new PreToolUseHookInput
            {
                ToolName = Json.Str(i, "toolName"),
                ToolArgs = i["toolArgs"],
            });
            Add(m, "preMcpToolCall", OnPreMcpToolCall, sessionId, i => new PreMcpToolCallHookInput
            {
                ServerName = Json.Str(i, "serverName"),
                ToolName = Json.Str(i, "toolName"),
                Arguments = i["arguments"],
                ToolCallId = Json.Str(i, "toolCallId"),
                Meta = i["_meta"] as JObject,
            });
            Add(m, "postToolUse", OnPostToolUse, sessionId, i => new PostToolUseHookInput
            {
                ToolName = Json.Str(i, "toolName"),
                ToolArgs = i["toolArgs"],
                ToolResult = i["toolResult"],
            });
            Add(m, "postToolUseFailure", OnPostToolUseFailure, sessionId, i => new PostToolUseFailureHookInput
            {
                ToolName = Json.Str(i, "toolName"),
                ToolArgs = i["toolArgs"],
                Error = Json.Str(i, "error"),
            });
            Add(m, "userPromptSubmitted", OnUserPromptSubmitted, sessionId, i => new UserPromptSubmittedHookInput
            {
                Prompt = Json.Str(i, "prompt"),
            });
            Add(m, "userPromptTransformed", OnUserPromptTransformed, sessionId, i => new UserPromptTransformedHookInput
            {
                Prompt = Json.Str(i, "prompt"),
                TransformedPrompt = Json.Str(i, "transformedPrompt"),
            });
            Add(m, "sessionStart", OnSessionStart, sessionId, i => new SessionStartHookInput
            {
                Source = Json.Str(i, "source"),
                InitialPrompt = Json.Str(i, "initialPrompt"),
            });
            Add(m, "sessionEnd", OnSessionEnd, sessionId, i => new SessionEndHookInput
            {
                Reason = Json.Str(i, "reason"),
                FinalMessage = Json.Str(i, "finalMessage"),
                Error = Json.Str(i, "error"),
            });
            Add(m, "errorOccurred", OnErrorOccurred, sessionId, i => new ErrorOccurredHookInput
            {
                Error = Json.Str(i, "error"),
                ErrorContext = Json.Str(i, "errorContext"),
                Recoverable = HookJson.Bool(i["recoverable"]) ?? false,
            });
            Add(m, "agentStop", OnAgentStop, sessionId, i => new AgentStopHookInput
            {
                StopReason = Json.Str(i, "stopReason"),
                TranscriptPath = Json.Str(i, "transcriptPath"),
                StopHookActive = HookJson.Bool(i["stop_hook_active"]),
            });
            foreach (var kv in Other ?? new Dictionary<string, Func<JObject, HookInvocation, Task<object>>>())
            {
                if (kv.Value == null) continue;
                var handler = kv.Value;
                m[kv.Key] = request =>
                {
                    var input = request["input"] as JObject ?? new JObject();
                    return handler(input, new HookInvocation { SessionId = Json.Str(request, "sessionId") ?? sessionId });
                };
            }
            return m;
        }

        private static void Add<TIn, TOut>(IDictionary<string, Func<JObject, Task<object>>> m, string name,
            Func<TIn, HookInvocation, Task<TOut>> handler, string sessionId, Func<JObject, TIn> decode)
            where TIn : HookInputBase where TOut : class
        {
            if (handler == null) return;
            m[name] = async request =>
            {
                var raw = request["input"] as JObject ?? new JObject();
                var input = decode(raw);
                input.Fill(raw);
                if (input.SessionId == null) input.SessionId = Json.Str(request, "sessionId") ?? sessionId;
                var output = await handler(input, new HookInvocation { SessionId = input.SessionId }).ConfigureAwait(false);
                return output == null ? null : JObject.FromObject(output, TypedJson.Serializer);
            };
        }
    }

    internal static class HookJson
    {
        /// <summary>A hook timestamp: Unix milliseconds (as the CLI sends it), or ISO 8601 text.</summary>
        internal static DateTimeOffset Time(JToken t)
        {
            if (t == null) return default(DateTimeOffset);
            if (t.Type == JTokenType.Integer || t.Type == JTokenType.Float)
                return DateTimeOffset.FromUnixTimeMilliseconds((long)(double)t);
            DateTimeOffset d;
            if (t.Type == JTokenType.String && DateTimeOffset.TryParse((string)t, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.RoundtripKind, out d)) return d;
            return default(DateTimeOffset);
        }

        internal static bool? Bool(JToken t)
        {
            return t != null && t.Type == JTokenType.Boolean ? (bool)t : (bool?)null;
        }
    }
}
