using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>Configures CreateSessionAsync / ResumeSessionAsync (see also
    /// <see cref="ResumeSessionConfig"/>). The official SDK's SessionConfig: every property is
    /// optional, and each one set is sent to <c>session.create</c> / <c>session.resume</c> under
    /// its wire name (given where it differs from the property's camelCase name).</summary>
    public class SessionConfig
    {
        public string SessionId { get; set; }
        /// <summary>Names the host in the session's metadata (<c>session.list</c> reports it).</summary>
        public string ClientName { get; set; }
        public string Model { get; set; }
        public string ReasoningEffort { get; set; }
        public ReasoningSummary? ReasoningSummary { get; set; }
        public ContextTier? ContextTier { get; set; }
        /// <summary>Overrides capabilities the runtime resolved for the model.</summary>
        public GitHub.Copilot.Rpc.ModelCapabilitiesOverride ModelCapabilities { get; set; }
        /// <summary>Send <see cref="AssistantMessageDeltaEvent"/>s as the text arrives.</summary>
        public bool? Streaming { get; set; }
        /// <summary>Sub-agents' streaming events too (null: the CLI's default).</summary>
        public bool? IncludeSubAgentStreamingEvents { get; set; }
        /// <summary>{"mode": "append"|"replace"|"customize", "content": ..., "sections"?: {...}}</summary>
        public JObject SystemMessage { get; set; }
        /// <summary>Per-section changes of the system message, by section id (see
        /// <see cref="SystemMessageSection"/>), merged into <see cref="SystemMessage"/>'s
        /// <c>sections</c> (whose mode becomes "customize" unless it names one); a
        /// <see cref="SectionOverride.Transform"/> callback rewrites its section's text.
        /// The official SDK's <c>SystemMessage.Sections</c>.</summary>
        public IDictionary<string, SectionOverride> SystemMessageSections { get; set; }
        /// <summary>A provider of your own (BYOK); a JObject <c>{"type", "baseUrl", "apiKey",
        /// "wireApi"}</c> converts to it.</summary>
        public ProviderConfig Provider { get; set; }
        /// <summary>Several providers to route models to, with <see cref="Models"/>.</summary>
        public IList<NamedProviderConfig> Providers { get; set; }
        public IList<ProviderModelConfig> Models { get; set; }
        public CapiSessionOptions Capi { get; set; }
        public string WorkingDirectory { get; set; }
        /// <summary>Directories the session may use besides <see cref="WorkingDirectory"/>.</summary>
        public IList<string> AdditionalDirectories { get; set; }
        public IList<string> AvailableTools { get; set; }
        public IList<string> ExcludedTools { get; set; }
        /// <summary>Built-in agents to hide, by name (wire: <c>excludedBuiltinAgents</c>).</summary>
        public IList<string> ExcludedBuiltInAgents { get; set; }
        /// <summary>Signs this session in as another user than the client's (wire: <c>gitHubToken</c>).</summary>
        public string GitHubToken { get; set; }
        /// <summary>Where the session reads its configuration (wire: <c>configDir</c>).</summary>
        public string ConfigDirectory { get; set; }
        public bool? EnableConfigDiscovery { get; set; }
        public bool? EnableCitations { get; set; }
        public bool? EnableFileChangeTracking { get; set; }
        public bool? SkipEmbeddingRetrieval { get; set; }
        public EmbeddingCacheStorageMode? EmbeddingCacheStorage { get; set; }
        public string OrganizationCustomInstructions { get; set; }
        public bool? EnableOnDemandInstructionDiscovery { get; set; }
        public bool? EnableFileHooks { get; set; }
        public bool? EnableHostGitOperations { get; set; }
        public bool? EnableSessionStore { get; set; }
        public bool? EnableSkills { get; set; }
        public bool? EnableSessionTelemetry { get; set; }
        /// <summary>Wire: <c>isExperimentalMode</c>.</summary>
        public bool? EnableExperimentalMode { get; set; }
        public bool? SkipCustomInstructions { get; set; }
        public bool? CustomAgentsLocalOnly { get; set; }
        public bool? CoauthorEnabled { get; set; }
        public bool? ManageScheduleEnabled { get; set; }
        /// <summary>Ask for MCP Apps support (wire: <c>requestMcpApps</c>, sent when true).</summary>
        public bool EnableMcpApps { get; set; }
        public GitHubMcpToolConfig GitHubMcpToolConfig { get; set; }
        /// <summary>MCP servers the session may use, by name.</summary>
        public IDictionary<string, McpServerConfig> McpServers { get; set; }
        public McpOAuthTokenStorageMode? McpOAuthTokenStorage { get; set; }
        /// <summary>Agents the session can delegate to; <see cref="Agent"/> picks one for the session.</summary>
        public IList<CustomAgentConfig> CustomAgents { get; set; }
        public DefaultAgentConfig DefaultAgent { get; set; }
        /// <summary>The custom agent the session runs as, by name.</summary>
        public string Agent { get; set; }
        public IList<string> SkillDirectories { get; set; }
        public IList<string> PluginDirectories { get; set; }
        public IList<string> InstructionDirectories { get; set; }
        public IList<string> DisabledSkills { get; set; }
        /// <summary>MCP servers to turn off; null leaves the CLI's list, empty clears it.</summary>
        public IList<string> DisabledMcpServers { get; set; }
        public InfiniteSessionConfig InfiniteSessions { get; set; }
        public SessionLimitsConfig SessionLimits { get; set; }
        public LargeToolOutputConfig LargeOutput { get; set; }
        public ToolSearchConfig ToolSearch { get; set; }
        public MemoryConfiguration Memory { get; set; }
        /// <summary>Whether the session is reachable remotely.</summary>
        public GitHub.Copilot.Rpc.RemoteSessionMode? RemoteSession { get; set; }
        /// <summary>Let managed (enterprise) settings govern the session; the permission handler's
        /// <see cref="PermissionInvocation.ManagedSettingsEnabled"/> is then true.</summary>
        public bool? EnableManagedSettings { get; set; }
        public bool? RequestCanvasRenderer { get; set; }
        public bool? RequestExtensions { get; set; }
        public string ExtensionSdkPath { get; set; }
        /// <summary>Canvases this session provides (wire: <c>canvases</c>): the runtime lists them to
        /// the agent (<c>session.canvas.list</c>) and sends their <c>canvas.*</c> requests to
        /// <see cref="CanvasHandler"/>. Experimental.</summary>
        public IList<CanvasDeclaration> Canvases { get; set; }
        /// <summary>Stable extension identity of this connection's canvases (wire: <c>extensionInfo</c>). Experimental.</summary>
        public ExtensionInfo ExtensionInfo { get; set; }
        /// <summary>Stable identity of this connection as a canvas provider (wire: <c>canvasProvider</c>):
        /// its id becomes the canvases' extension id, so they survive reconnect and CLI restart. Experimental.</summary>
        public CanvasProviderIdentity CanvasProvider { get; set; }
        /// <summary>Answers the <c>canvas.open</c> / <c>canvas.close</c> / <c>canvas.action.invoke</c>
        /// requests for <see cref="Canvases"/> (copilot_session_config_set_handler kind "canvas"). Runs
        /// on the thread pool (or the captured context, see <see cref="UseSynchronizationContext"/>); an exception (e.g. <see cref="CanvasException"/>) fails the request with
        /// its message. Experimental.</summary>
        public ICanvasHandler CanvasHandler { get; set; }
        /// <summary>Any other session.create field, passed through as is (libcopilot addition;
        /// the typed properties win).</summary>
        public JObject Extra { get; set; }

        public IList<CopilotTool> Tools { get; set; }
        /// <summary>Decides permission requests (<c>permission.requested</c>, answered with
        /// <c>session.permissions.handlePendingPermissionRequest</c>); without one the CLI denies tools
        /// that need permission. It gets the typed request (a <see cref="PermissionRequest"/> variant:
        /// <see cref="PermissionRequestShell"/>, <see cref="PermissionRequestCustomTool"/>, ...;
        /// <see cref="UnknownPermissionRequest"/> for a kind this version does not know) and a
        /// <see cref="PermissionInvocation"/>, and returns a <see cref="GitHub.Copilot.Rpc.PermissionDecision"/>
        /// (<c>PermissionDecision.ApproveOnce()</c>, <c>Reject(feedback)</c>, a variant class such as
        /// <see cref="GitHub.Copilot.Rpc.PermissionDecisionApproveForSession"/>, with an optional
        /// <c>DecisionContext</c>). Runs on the thread pool (the library's callback thread hands each
        /// request over at once), or on the captured context (<see cref="UseSynchronizationContext"/>);
        /// the decision is sent when its task completes. A handler that throws, or returns null, answers
        /// <c>user-not-available</c>; <see cref="GitHub.Copilot.Rpc.PermissionDecision.NoResult"/> answers nothing.</summary>
        public Func<PermissionRequest, PermissionInvocation, Task<GitHub.Copilot.Rpc.PermissionDecision>> OnPermissionRequest { get; set; }
        /// <summary>Answers the ask_user tool (and enables it).</summary>
        public Func<UserInputRequest, Task<UserInputResponse>> OnUserInputRequest { get; set; }
        public SessionHooks Hooks { get; set; }

        /// <summary>Answers elicitation requests (<c>elicitation.requested</c>, answered with
        /// <c>session.ui.handlePendingElicitation</c>): forms from the agent, MCP servers, or a host's
        /// own <c>CallAsync("session.ui.elicitation", {message, requestedSchema})</c>. Setting it
        /// creates the session with <c>requestElicitation: true</c> (the session reports the
        /// elicitation capability). Runs on the thread pool (or the captured context, see
        /// <see cref="UseSynchronizationContext"/>). A handler that throws, or returns
        /// null, answers <c>{"action": "cancel"}</c>.</summary>
        public Func<ElicitationContext, Task<ElicitationResult>> OnElicitationRequest { get; set; }

        /// <summary>Answers <c>exitPlanMode.request</c> (the agent asks to leave plan mode); sets
        /// <c>requestExitPlanMode: true</c>. Runs on the thread pool (or the captured context, see
        /// <see cref="UseSynchronizationContext"/>). Null answers
        /// <c>{"approved": true}</c> (the default without a handler); a handler that throws fails the
        /// request with a JSON-RPC error carrying its message, as the official SDK does.</summary>
        public Func<ExitPlanModeRequest, Task<ExitPlanModeResult>> OnExitPlanModeRequest { get; set; }

        /// <summary>Answers <c>autoModeSwitch.request</c> (switch to auto mode after a rate limit?); sets
        /// <c>requestAutoModeSwitch: true</c>. Runs on the thread pool (or the captured context,
        /// see <see cref="UseSynchronizationContext"/>). Null answers "no" (the default
        /// without a handler); a handler that throws fails the request with a JSON-RPC error.</summary>
        public Func<AutoModeSwitchRequest, Task<AutoModeSwitchResponse>> OnAutoModeSwitchRequest { get; set; }

        /// <summary>Answers <c>mcp.oauth_required</c> (an MCP server needs OAuth credentials) with
        /// <c>session.mcp.oauth.handlePendingRequest</c>: a token, or cancelled. The session registers
        /// its interest in these events (<c>session.eventLog.registerInterest</c>) after create/resume.
        /// Runs on the thread pool (or the captured context, see <see cref="UseSynchronizationContext"/>).
        /// A handler that throws, or returns null or
        /// <see cref="McpAuthResult.Cancel"/>, cancels the request.</summary>
        public Func<McpAuthContext, Task<McpAuthResult>> OnMcpAuthRequest { get; set; }

        /// <summary>Creates the session's filesystem provider (required when the client sets
        /// <see cref="CopilotClientOptions.SessionFs"/>, unused otherwise): called with the session's
        /// id once per create or resume, before the session is opened; the provider answers the
        /// session's <c>sessionFs.*</c> requests (see <see cref="ISessionFsProvider"/>). The official
        /// SDK's CreateSessionFsProvider, which passes the session object instead.</summary>
        public Func<string, ISessionFsProvider> CreateSessionFsProvider { get; set; }

        /// <summary>Slash commands the session offers (see <see cref="CommandDefinition"/>).</summary>
        public IList<CommandDefinition> Commands { get; set; }
        /// <summary>Subscribed before the session is created, so it sees every event. Runs on the
        /// library's callback thread, one event at a time in wire order (or on the captured context,
        /// see <see cref="UseSynchronizationContext"/>); it must return quickly, and an exception it
        /// throws is swallowed. Events arrive a batch per crossing from the library and decode
        /// lazily: an event's JSON is parsed when the handler first reads a field (see
        /// <see cref="SessionEvent"/>).</summary>
        public Action<SessionEvent> OnEvent { get; set; }

        /// <summary>Run this session's handlers on the <see cref="SynchronizationContext"/> that is
        /// current on the thread calling <see cref="CopilotClient.CreateSessionAsync"/> /
        /// <see cref="CopilotClient.ResumeSessionAsync"/> (e.g. the UI thread of a WinForms, WPF or
        /// GTK# application), captured at that call. Default false (libcopilot addition).
        /// <para>It covers every handler of the session: <see cref="OnEvent"/> and the
        /// <see cref="CopilotSession.On(Action{SessionEvent})"/> / <c>On&lt;T&gt;</c> subscriptions
        /// (also those added later, from any thread), tool handlers, <see cref="OnPermissionRequest"/>,
        /// <see cref="OnUserInputRequest"/>, <see cref="OnElicitationRequest"/>, <see cref="Hooks"/>,
        /// <see cref="OnExitPlanModeRequest"/>, <see cref="OnAutoModeSwitchRequest"/>,
        /// <see cref="OnMcpAuthRequest"/>, <see cref="Commands"/>, <see cref="CanvasHandler"/>,
        /// bearer-token providers and <see cref="SectionOverride.Transform"/>. Not the session
        /// filesystem provider (<see cref="CreateSessionFsProvider"/>): it is storage, asked while
        /// create/resume is still running and for every event the session persists, so it stays on
        /// the thread pool, one request at a time.</para>
        /// <para>Each call is posted with <see cref="SynchronizationContext.Post"/>, in the order
        /// the library delivered it: the wire order is kept as long as the context runs posts first
        /// in, first out, which the WinForms, WPF and GTK# contexts do and the wrapper relies on.
        /// The library's callback thread never waits for the context: it posts and returns, and a
        /// tool result, permission decision or request answer is sent (from whatever thread the
        /// handler's task ends on) when the handler completes, so a UI thread blocked in a call
        /// cannot deadlock the library. Do not block that thread on the turn itself
        /// (<c>SendAndWaitAsync(...).Result</c>) while its handlers need it: await instead.
        /// Event data is copied before posting; exceptions keep their meaning (a throwing event
        /// handler is skipped, a throwing tool fails the call, ...). A post the context refuses
        /// (e.g. its window is gone) runs the handler as without this option.</para>
        /// <para>False, or no context current at capture: handlers run as they always did, event
        /// handlers on the library's callback thread, the others on the thread pool.</para></summary>
        public bool UseSynchronizationContext { get; set; }

        internal string FieldsJson(string sessionId)
        {
            var o = Extra != null ? (JObject)Extra.DeepClone() : new JObject();
            if (sessionId != null) o["sessionId"] = sessionId;
            AddWireFields(o);
            return o.ToString(Formatting.None);
        }

        /// <summary>Writes the pass-through properties under their wire names.</summary>
        internal virtual void AddWireFields(JObject o)
        {
            Action<string, object> set = (name, value) => { if (value != null) o[name] = JToken.FromObject(value, TypedJson.Serializer); };
            set("clientName", ClientName);
            set("model", Model);
            set("reasoningEffort", ReasoningEffort);
            set("reasoningSummary", ReasoningSummary);
            set("contextTier", ContextTier);
            set("modelCapabilities", ModelCapabilities);
            set("streaming", Streaming);
            set("includeSubAgentStreamingEvents", IncludeSubAgentStreamingEvents);
            if (SystemMessage != null) o["systemMessage"] = SystemMessage;
            if (SystemMessageSections != null && SystemMessageSections.Count > 0)
            {
                var message = SystemMessage != null ? (JObject)SystemMessage.DeepClone() : new JObject();
                if (message["mode"] == null) message["mode"] = "customize";
                var sections = message["sections"] as JObject ?? new JObject();
                foreach (var kv in SystemMessageSections)
                    if (kv.Value != null) sections[kv.Key] = kv.Value.ToJson();
                message["sections"] = sections;
                o["systemMessage"] = message;
            }
            if (Provider != null) o["provider"] = Provider.ToJson();
            set("providers", Providers);
            set("models", Models);
            set("capi", Capi);
            set("workingDirectory", WorkingDirectory);
            set("additionalDirectories", AdditionalDirectories);
            set("availableTools", AvailableTools);
            set("excludedTools", ExcludedTools);
            set("excludedBuiltinAgents", ExcludedBuiltInAgents);
            set("gitHubToken", GitHubToken);
            set("configDir", ConfigDirectory);
            set("enableConfigDiscovery", EnableConfigDiscovery);
            set("enableCitations", EnableCitations);
            set("enableFileChangeTracking", EnableFileChangeTracking);
            set("skipEmbeddingRetrieval", SkipEmbeddingRetrieval);
            if (EmbeddingCacheStorage.HasValue) o["embeddingCacheStorage"] = EmbeddingCacheStorage.Value == EmbeddingCacheStorageMode.InMemory ? "in-memory" : "persistent";
            set("organizationCustomInstructions", OrganizationCustomInstructions);
            set("enableOnDemandInstructionDiscovery", EnableOnDemandInstructionDiscovery);
            set("enableFileHooks", EnableFileHooks);
            set("enableHostGitOperations", EnableHostGitOperations);
            set("enableSessionStore", EnableSessionStore);
            set("enableSkills", EnableSkills);
            set("enableSessionTelemetry", EnableSessionTelemetry);
            set("isExperimentalMode", EnableExperimentalMode);
            set("skipCustomInstructions", SkipCustomInstructions);
            set("customAgentsLocalOnly", CustomAgentsLocalOnly);
            set("coauthorEnabled", CoauthorEnabled);
            set("manageScheduleEnabled", ManageScheduleEnabled);
            if (EnableMcpApps) o["requestMcpApps"] = true;
            set("githubMcpToolConfig", GitHubMcpToolConfig);
            if (McpServers != null) o["mcpServers"] = McpServerConfig.Map(McpServers);
            if (McpOAuthTokenStorage.HasValue) o["mcpOAuthTokenStorage"] = McpOAuthTokenStorage.Value == McpOAuthTokenStorageMode.InMemory ? "in-memory" : "persistent";
            if (CustomAgents != null)
            {
                var agents = new JArray();
                foreach (var a in CustomAgents) agents.Add(a == null ? (JToken)JValue.CreateNull() : a.ToJson());
                o["customAgents"] = agents;
            }
            set("defaultAgent", DefaultAgent);
            set("agent", Agent);
            set("skillDirectories", SkillDirectories);
            set("pluginDirectories", PluginDirectories);
            set("instructionDirectories", InstructionDirectories);
            set("disabledSkills", DisabledSkills);
            set("disabledMcpServers", DisabledMcpServers);
            set("infiniteSessions", InfiniteSessions);
            set("sessionLimits", SessionLimits);
            set("largeOutput", LargeOutput);
            set("toolSearch", ToolSearch);
            set("memory", Memory);
            set("remoteSession", RemoteSession);
            set("enableManagedSettings", EnableManagedSettings);
            set("requestCanvasRenderer", RequestCanvasRenderer);
            set("requestExtensions", RequestExtensions);
            set("extensionSdkPath", ExtensionSdkPath);
            set("canvases", Canvases);
            set("extensionInfo", ExtensionInfo);
            set("canvasProvider", CanvasProvider);
        }

        /// <summary>The native config for creating a session (resumeId null) or resuming one;
        /// the caller frees it. A new session gets its id here, a fresh UUID unless SessionId is
        /// set (as the official SDKs do), so handlers know their session from the start.</summary>
        internal IntPtr Build(string resumeId = null, SessionFsConfig sessionFs = null, Callbacks.HandlerContext context = null)
        {
            IntPtr cfg, err;
            context = context ?? Callbacks.HandlerContext.Default;
            var sid = resumeId ?? SessionId ?? Guid.NewGuid().ToString();
            ISessionFsProvider fs = null;
            if (CreateSessionFsProvider != null)
            {
                fs = CreateSessionFsProvider(sid);
                if (fs == null) throw new CopilotException(CopilotStatus.InvalidArgument, "CreateSessionFsProvider returned null");
                if (sessionFs != null && sessionFs.Capabilities != null && sessionFs.Capabilities.Sqlite && !(fs is ISessionFsSqliteProvider))
                    throw new CopilotException(CopilotStatus.InvalidArgument,
                        "SessionFs declares capabilities.sqlite but the session's provider does not implement ISessionFsSqliteProvider");
            }
            var fields = Native.ToUtf8(FieldsJson(resumeId == null ? sid : SessionId));
            try { Native.Check(Native.copilot_session_config_new(fields, out cfg, out err), err); }
            finally { Native.FreeUtf8(fields); }
            try
            {
                foreach (var tool in Tools ?? new CopilotTool[0])
                {
                    var decl = Native.ToUtf8(tool.Declaration());
                    var ud = Callbacks.Pin(new Callbacks.ToolSink { Tool = tool, Context = context });
                    try { Register(Native.copilot_session_config_add_tool(cfg, decl, Callbacks.Tool, ud, Callbacks.FreeUserData, out err), err, ud); }
                    finally { Native.FreeUtf8(decl); }
                }
                if (OnPermissionRequest == PermissionHandler.ApproveAll && EnableManagedSettings != true)
                {
                    Native.Check(Native.copilot_session_config_approve_all(cfg, out err), err);
                }
                else if (OnPermissionRequest != null)
                {
                    var ud = Callbacks.Pin(new Callbacks.PermissionSink
                    {
                        Handler = OnPermissionRequest,
                        SessionId = sid,
                        ManagedSettingsEnabled = EnableManagedSettings == true,
                        Context = context,
                    });
                    Register(Native.copilot_session_config_set_permission_handler(cfg, Callbacks.Permission, ud, Callbacks.FreeUserData, out err), err, ud);
                }
                if (OnUserInputRequest != null)
                {
                    var handler = OnUserInputRequest;
                    Func<JObject, Task<object>> adapter = async req =>
                    {
                        var choices = new List<string>();
                        foreach (var c in (JArray)req["choices"] ?? new JArray()) choices.Add((string)c);
                        var r = await handler(new UserInputRequest
                        {
                            Question = (string)req["question"],
                            Choices = choices,
                            AllowFreeform = req["allowFreeform"] == null ? (bool?)null : (bool)req["allowFreeform"],
                        }).ConfigureAwait(false);
                        return new JObject { ["answer"] = r.Answer, ["wasFreeform"] = r.WasFreeform };
                    };
                    RegisterRequest(cfg, "userInput", adapter, false, context);
                }
                if (Hooks != null)
                {
                    foreach (var kv in Hooks.ByType(sid))
                        RegisterRequest(cfg, kv.Key, kv.Value, true, context);
                }
                if (fs != null)
                {
                    // One request at a time, in the order the CLI sent them (appends must land in order).
                    // Always on the thread pool, never the captured context: it is storage, asked while
                    // create/resume is still running and for every event the session persists.
                    var k = Native.ToUtf8("sessionFs");
                    var ud = Callbacks.Pin(new Callbacks.RequestSink(
                        (requestKind, request) => Task.FromResult<object>(SessionFsDispatch.Answer(fs, requestKind, request)), true));
                    try { Register(Native.copilot_session_config_set_handler(cfg, k, Callbacks.Request, ud, Callbacks.FreeUserData, out err), err, ud); }
                    finally { Native.FreeUtf8(k); }
                }
                var transforms = new Dictionary<string, Func<string, Task<string>>>();
                foreach (var kv in SystemMessageSections ?? new Dictionary<string, SectionOverride>())
                    if (kv.Value != null && kv.Value.Transform != null) transforms[kv.Key] = kv.Value.Transform;
                if (transforms.Count > 0)
                {
                    Func<JObject, Task<object>> adapter = async req =>
                    {
                        var answer = new JObject();
                        foreach (var section in req["sections"] as JObject ?? new JObject())
                        {
                            var content = section.Value == null ? null : Json.Str(section.Value as JObject ?? new JObject(), "content");
                            Func<string, Task<string>> transform;
                            if (content != null && transforms.TryGetValue(section.Key, out transform))
                            {
                                try { content = await transform(content).ConfigureAwait(false) ?? content; }
                                catch { }
                            }
                            answer[section.Key] = new JObject { ["content"] = content ?? "" };
                        }
                        return new JObject { ["sections"] = answer };
                    };
                    RegisterRequest(cfg, "systemMessageTransform", adapter, false, context);
                }
                if (OnElicitationRequest != null)
                {
                    var handler = OnElicitationRequest;
                    Func<JObject, Task<object>> adapter = async req =>
                    {
                        ElicitationResult r = null;
                        try { r = await handler(ElicitationContext.From(sid, req)).ConfigureAwait(false); }
                        catch { }
                        return (r ?? ElicitationResult.Cancel()).ToJson();
                    };
                    RegisterRequest(cfg, "elicitation", adapter, false, context);
                }
                if (OnExitPlanModeRequest != null)
                {
                    var handler = OnExitPlanModeRequest;
                    Func<JObject, Task<object>> adapter = async req =>
                        (await handler(ExitPlanModeRequest.From(req)).ConfigureAwait(false) ?? new ExitPlanModeResult()).ToJson();
                    RegisterRequest(cfg, "exitPlanMode", adapter, false, context);
                }
                if (OnAutoModeSwitchRequest != null)
                {
                    var handler = OnAutoModeSwitchRequest;
                    Func<JObject, Task<object>> adapter = async req =>
                        new JObject { ["response"] = (await handler(AutoModeSwitchRequest.From(req)).ConfigureAwait(false) ?? AutoModeSwitchResponse.No).Value };
                    RegisterRequest(cfg, "autoModeSwitch", adapter, false, context);
                }
                if (OnMcpAuthRequest != null)
                {
                    var handler = OnMcpAuthRequest;
                    Func<JObject, Task<object>> adapter = async req =>
                    {
                        McpAuthResult r = null;
                        try { r = await handler(McpAuthContext.From(sid, req)).ConfigureAwait(false); }
                        catch { }
                        return (r ?? McpAuthResult.Cancel()).ToJson();
                    };
                    RegisterRequest(cfg, "mcpAuth", adapter, false, context);
                }
                if (CanvasHandler != null)
                {
                    var canvas = CanvasHandler;
                    RegisterRequest(cfg, "canvas", (requestKind, request) => CanvasDispatch.Answer(canvas, requestKind, request), context);
                }
                var tokenProviders = BearerTokenProviders();
                if (tokenProviders.Count > 0)
                {
                    Func<JObject, Task<object>> adapter = async req =>
                    {
                        var name = Json.Str(req, "providerName");
                        Func<ProviderTokenArgs, Task<string>> provider;
                        if (name == null || !tokenProviders.TryGetValue(name, out provider))
                            throw new InvalidOperationException("No bearer-token provider registered for provider \"" + name + "\"");
                        var token = await provider(new ProviderTokenArgs { ProviderName = name, SessionId = Json.Str(req, "sessionId") ?? sid }).ConfigureAwait(false);
                        if (token == null) throw new InvalidOperationException("the bearer-token provider of \"" + name + "\" gave no token");
                        return new JObject { ["token"] = token };
                    };
                    RegisterRequest(cfg, "providerToken", adapter, false, context);
                }
                foreach (var command in Commands ?? new CommandDefinition[0])
                {
                    if (command == null || string.IsNullOrEmpty(command.Name) || command.Handler == null)
                        throw new ArgumentException("a command needs a Name and a Handler");
                    var decl = new JObject { ["name"] = command.Name };
                    if (command.Description != null) decl["description"] = command.Description;
                    var run = command.Handler;
                    Func<JObject, Task<object>> adapter = async req =>
                    {
                        await run(new CommandContext
                        {
                            SessionId = sid,
                            RequestId = Json.Str(req, "requestId"),
                            Command = Json.Str(req, "command"),
                            CommandName = Json.Str(req, "commandName"),
                            Args = Json.Str(req, "args") ?? "",
                        }).ConfigureAwait(false);
                        return null;
                    };
                    var d = Native.ToUtf8(decl.ToString(Formatting.None));
                    var ud = Callbacks.Pin(new Callbacks.RequestSink((requestKind, request) => adapter(request), false, context));
                    try { Register(Native.copilot_session_config_add_command(cfg, d, Callbacks.Request, ud, Callbacks.FreeUserData, out err), err, ud); }
                    finally { Native.FreeUtf8(d); }
                }
                if (OnEvent != null)
                {
                    var ud = Callbacks.Pin(new Callbacks.EventSink { Handler = OnEvent, Context = context });
                    Register(Native.copilot_session_config_on_event_batch(cfg, Callbacks.EventBatch, ud, Callbacks.FreeUserData, out err), err, ud);
                }
                return cfg;
            }
            catch
            {
                Native.copilot_session_config_free(cfg);
                throw;
            }
        }

        /// <summary>The BearerTokenProvider callbacks of <see cref="Provider"/> ("default") and
        /// <see cref="Providers"/> (by name).</summary>
        private Dictionary<string, Func<ProviderTokenArgs, Task<string>>> BearerTokenProviders()
        {
            var map = new Dictionary<string, Func<ProviderTokenArgs, Task<string>>>(StringComparer.Ordinal);
            if (Provider != null && Provider.BearerTokenProvider != null) map["default"] = Provider.BearerTokenProvider;
            foreach (var p in Providers ?? new NamedProviderConfig[0])
                if (p != null && p.BearerTokenProvider != null && p.Name != null) map[p.Name] = p.BearerTokenProvider;
            return map;
        }

        /// <summary>A session handler of <paramref name="kind"/> that gets each request's kind
        /// (copilot_request_kind) too: one handler for several methods.</summary>
        private static void RegisterRequest(IntPtr cfg, string kind, Func<string, JObject, Task<object>> handler, Callbacks.HandlerContext context)
        {
            IntPtr err;
            var k = Native.ToUtf8(kind);
            var ud = Callbacks.Pin(new Callbacks.RequestSink(handler, false, context));
            try { Register(Native.copilot_session_config_set_handler(cfg, k, Callbacks.Request, ud, Callbacks.FreeUserData, out err), err, ud); }
            finally { Native.FreeUtf8(k); }
        }

        private static void RegisterRequest(IntPtr cfg, string kind, Func<JObject, Task<object>> handler, bool hook, Callbacks.HandlerContext context)
        {
            IntPtr err;
            var k = Native.ToUtf8(kind);
            var ud = Callbacks.Pin(new Callbacks.RequestSink((requestKind, request) => handler(request), false, context));
            try
            {
                var status = hook
                    ? Native.copilot_session_config_set_hook(cfg, k, Callbacks.Request, ud, Callbacks.FreeUserData, out err)
                    : Native.copilot_session_config_set_handler(cfg, k, Callbacks.Request, ud, Callbacks.FreeUserData, out err);
                Register(status, err, ud);
            }
            finally { Native.FreeUtf8(k); }
        }

        /// <summary>On failure the library did not take user_data: free it here.</summary>
        private static void Register(int status, IntPtr err, IntPtr userData)
        {
            if (status != 0) Callbacks.Unpin(userData);
            Native.Check(status, err);
        }
    }

    /// <summary>Owns one native session handle.</summary>
    internal sealed class SessionHandle : SafeHandle
    {
        internal SessionHandle(IntPtr h) : base(IntPtr.Zero, true) { SetHandle(h); }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { Native.copilot_session_free(handle); return true; }
    }

    /// <summary>Options of a message.</summary>
    public sealed class MessageOptions
    {
        public string Prompt { get; set; }
        public JArray Attachments { get; set; }
        /// <summary>"enqueue" or "immediate".</summary>
        public string Mode { get; set; }

        internal string ToJson()
        {
            var o = new JObject { ["prompt"] = Prompt };
            if (Attachments != null) o["attachments"] = Attachments;
            if (Mode != null) o["mode"] = Mode;
            return o.ToString(Formatting.None);
        }
    }

    /// <summary>Guards SendAndWaitAsync against turns that stall.</summary>
    public sealed class WaitOptions
    {
        /// <summary>Fail (Status NoFirstEvent) when the turn produces no event this soon.</summary>
        public TimeSpan? FirstEventTimeout { get; set; }
        /// <summary>Fail (Status Stalled) when the turn is silent this long between events.</summary>
        public TimeSpan? MaxSilence { get; set; }
        /// <summary>Also abort the turn when a guard fires.</summary>
        public bool AbortOnStall { get; set; }
    }

    /// <summary>One conversation. Thread-safe; DisposeAsync destroys it in the CLI.</summary>
    public sealed class CopilotSession : IDisposable, IRawCaller
    {
        private readonly SessionHandle _handle;
        /// <summary>Where this session's handlers run (SessionConfig.UseSynchronizationContext).</summary>
        private readonly Callbacks.HandlerContext _handlers;
        private global::GitHub.Copilot.Rpc.SessionRpc _rpc;

        /// <summary>Typed session-scope methods, grouped as on the wire (src/Generated/Rpc.cs, the
        /// official SDK's names): <c>await session.Rpc.Model.SwitchToAsync(new ModelSwitchToRequest
        /// { ModelId = "gpt-5" })</c>. Each is a <see cref="CallAsync"/> (sessionId added) with typed
        /// params and result.</summary>
        public global::GitHub.Copilot.Rpc.SessionRpc Rpc
        {
            get { return _rpc ?? (_rpc = new global::GitHub.Copilot.Rpc.SessionRpc(this)); }
        }

        public string SessionId { get; private set; }

        private ISessionUiApi _ui;

        /// <summary>Dialogs for the user (<c>session.ui.elicitation</c>): confirm, select, input or a
        /// form of your own, answered by the client that handles the session's elicitations.</summary>
        public ISessionUiApi Ui { get { return _ui ?? (_ui = new SessionUiApi(this)); } }

        /// <summary>The session's workspace directory, when the CLI reported one.</summary>
        public string WorkspacePath { get; private set; }

        /// <summary>What the session supports, as the create/resume reply said, e.g.
        /// <c>{"ui": {"elicitation": true}}</c>; empty when it said nothing.</summary>
        public JObject Capabilities { get; private set; }

        internal CopilotSession(IntPtr session, Callbacks.HandlerContext handlers = null)
        {
            _handle = new SessionHandle(session);
            _handlers = handlers ?? Callbacks.HandlerContext.Default;
            SessionId = Native.FromUtf8(Native.copilot_session_id(session));
            var info = Native.FromUtf8(Native.copilot_session_info_json(session));
            var o = info == null ? new JObject() : Native.ParseJson(info) as JObject ?? new JObject();
            WorkspacePath = Json.Str(o, "workspacePath");
            Capabilities = o["capabilities"] as JObject ?? new JObject();
            LiveHandles.Add(_handle);
        }

        private T With<T>(Func<IntPtr, T> call)
        {
            bool added = false;
            try
            {
                _handle.DangerousAddRef(ref added);
                return call(_handle.DangerousGetHandle());
            }
            catch (ObjectDisposedException)
            {
                throw new CopilotException(CopilotStatus.InvalidState, "the session is disposed");
            }
            finally
            {
                if (added) _handle.DangerousRelease();
            }
        }

        public Task<string> SendAsync(string prompt, CancellationToken cancellationToken = default(CancellationToken))
        {
            return SendAsync(new MessageOptions { Prompt = prompt }, cancellationToken);
        }

        /// <summary>Sends a message (session.send) and returns its id without waiting for the turn.</summary>
        public Task<string> SendAsync(MessageOptions options, CancellationToken cancellationToken = default(CancellationToken))
        {
            var json = options.ToJson();
            return CopilotClient.Blocking(() => With(h =>
            {
                var m = Native.ToUtf8(json);
                try
                {
                    IntPtr id, err;
                    Native.Check(Native.copilot_session_send(h, m, out id, out err), err);
                    return Native.TakeString(id);
                }
                finally { Native.FreeUtf8(m); }
            }), cancellationToken);
        }

        public Task<AssistantMessageEvent> SendAndWaitAsync(string prompt, TimeSpan? timeout = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return SendAndWaitAsync(new MessageOptions { Prompt = prompt }, timeout, cancellationToken);
        }

        /// <summary>Sends and waits for the turn to end (session.idle); returns its last
        /// assistant.message, or null. Throws CopilotException with Status Timeout after
        /// `timeout` (default 60 s; the turn goes on); cancellation aborts the turn.</summary>
        public Task<AssistantMessageEvent> SendAndWaitAsync(MessageOptions options, TimeSpan? timeout = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return SendAndWaitAsync(options, timeout, null, cancellationToken);
        }

        /// <summary>SendAndWaitAsync with stall guards.</summary>
        public async Task<AssistantMessageEvent> SendAndWaitAsync(MessageOptions options, TimeSpan? timeout, WaitOptions wait, CancellationToken cancellationToken = default(CancellationToken))
        {
            var json = options.ToJson();
            var ms = (uint)Math.Max(1, (timeout ?? TimeSpan.FromSeconds(60)).TotalMilliseconds);
            var w = new JObject { ["timeoutMs"] = ms };
            if (wait != null)
            {
                if (wait.FirstEventTimeout.HasValue) w["firstEventTimeoutMs"] = (long)wait.FirstEventTimeout.Value.TotalMilliseconds;
                if (wait.MaxSilence.HasValue) w["maxSilenceMs"] = (long)wait.MaxSilence.Value.TotalMilliseconds;
                w["abortOnStall"] = wait.AbortOnStall;
            }
            var waitJson = w.ToString(Formatting.None);
            try
            {
                return await CopilotClient.Blocking(() => With(h =>
                {
                    IntPtr m = Native.ToUtf8(json), wj = Native.ToUtf8(waitJson);
                    try
                    {
                        IntPtr message, err;
                        Native.Check(Native.copilot_session_send_and_wait_opts(h, m, wj, out message, out err), err);
                        var raw = Native.TakeString(message);
                        return raw == null ? null : SessionEvent.Parse(raw) as AssistantMessageEvent;
                    }
                    finally { Native.FreeUtf8(m); Native.FreeUtf8(wj); }
                }), cancellationToken, longRunning: true).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try { await AbortAsync().ConfigureAwait(false); } catch { }
                throw;
            }
        }

        /// <summary>Aborts the current turn (session.abort).</summary>
        public Task AbortAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return CopilotClient.Blocking(() => With(h => { IntPtr err; Native.Check(Native.copilot_session_abort(h, out err), err); return true; }), cancellationToken);
        }

        /// <summary>The session's persisted events, oldest first (<c>session.getMessages</c>,
        /// copilot_session_get_messages), each parsed as <see cref="SessionEvent.Parse"/> does.</summary>
        public Task<IReadOnlyList<SessionEvent>> GetEventsAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return CopilotClient.Blocking<IReadOnlyList<SessionEvent>>(() => With(h =>
            {
                IntPtr events, err;
                Native.Check(Native.copilot_session_get_messages(h, out events, out err), err);
                var list = new List<SessionEvent>();
                foreach (var e in (JArray)Native.ParseJson(Native.TakeString(events))) list.Add(SessionEvent.Parse(e.ToString(Formatting.None)));
                return list;
            }), cancellationToken);
        }

        /// <summary>The session's persisted events: renamed <see cref="GetEventsAsync"/>, as in the official SDK.</summary>
        [Obsolete("Use GetEventsAsync.")]
        public Task<IReadOnlyList<SessionEvent>> GetMessagesAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return GetEventsAsync(cancellationToken);
        }

        /// <summary>Switches the model for the next turns; the history stays
        /// (<c>session.model.switchTo</c> with <c>{"modelId", "reasoningEffort"?,
        /// "reasoningSummary"?, "contextTier"?, "modelCapabilities"?}</c>, copilot_session_set_model).</summary>
        public Task SetModelAsync(string model, SetModelOptions options, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (model == null) throw new ArgumentNullException("model");
            var o = new JObject();
            if (options.ReasoningEffort != null) o["reasoningEffort"] = options.ReasoningEffort;
            if (options.ReasoningSummary.HasValue) o["reasoningSummary"] = options.ReasoningSummary.Value.Value;
            if (options.ContextTier.HasValue) o["contextTier"] = options.ContextTier.Value.Value;
            if (options.ModelCapabilities != null) o["modelCapabilities"] = JObject.FromObject(options.ModelCapabilities, TypedJson.Serializer);
            var json = o.Count == 0 ? null : o.ToString(Formatting.None);
            return CopilotClient.Blocking(() => With(h => SetModel(h, model, json)), cancellationToken);
        }

        private static bool SetModel(IntPtr h, string model, string options)
        {
            IntPtr m = Native.ToUtf8(model), o = Native.ToUtf8(options);
            try
            {
                IntPtr result, err;
                Native.Check(Native.copilot_session_set_model(h, m, o, out result, out err), err);
                Native.TakeString(result);
                return true;
            }
            finally { Native.FreeUtf8(m); Native.FreeUtf8(o); }
        }

        /// <summary>SetModelAsync with a reasoning effort ("low", "medium", "high", ...) and
        /// capability overrides (<c>session.model.switchTo</c>, copilot_session_set_model).</summary>
        public Task SetModelAsync(string model, string reasoningEffort, GitHub.Copilot.Rpc.ModelCapabilitiesOverride modelCapabilities = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return SetModelAsync(model, new SetModelOptions { ReasoningEffort = reasoningEffort, ModelCapabilities = modelCapabilities }, cancellationToken);
        }

        /// <summary>SetModelAsync with the model alone (<c>session.model.switchTo</c> with
        /// <c>{"modelId"}</c>, copilot_session_set_model).</summary>
        public Task SetModelAsync(string model, CancellationToken cancellationToken = default(CancellationToken))
        {
            return SetModelAsync(model, new SetModelOptions(), cancellationToken);
        }

        /// <summary>Writes a message to the session's timeline (<c>session.log</c> with
        /// <c>{"message", "level"?, "ephemeral"?, "url"?}</c>): it arrives as a session.info,
        /// session.warning or session.error event, and is kept in the history unless ephemeral
        /// (copilot_session_call_timeout through <see cref="Rpc"/>).</summary>
        public Task LogAsync(string message, GitHub.Copilot.Rpc.SessionLogLevel? level = null, bool? ephemeral = null, string url = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (message == null) throw new ArgumentNullException("message");
            return Rpc.LogAsync(new GitHub.Copilot.Rpc.LogRequest { Message = message, Level = level, Ephemeral = ephemeral, Url = url }, cancellationToken);
        }

        /// <summary>Calls any session-scoped protocol method; sessionId is added.
        /// With <paramref name="timeout"/>, fails with <see cref="CopilotException"/> (status Timeout)
        /// when no reply came in time (copilot_session_call_timeout), e.g. for session.ui.elicitation
        /// when no client has an elicitation handler; without, waits as long as the connection lives.</summary>
        public async Task<JToken> CallAsync(string method, JObject parameters = null, CancellationToken cancellationToken = default(CancellationToken), TimeSpan? timeout = null)
        {
            var raw = await CallRawAsync(method, (parameters ?? new JObject()).ToString(Formatting.None), cancellationToken, timeout).ConfigureAwait(false);
            return JToken.Parse(raw);
        }

        /// <summary>CallAsync with the params and the result as JSON text (the typed <c>Rpc</c> layer's path).</summary>
        internal Task<string> CallRawAsync(string method, string parameters, CancellationToken cancellationToken, TimeSpan? timeout = null)
        {
            var limit = Native.TimeoutMs(timeout);
            return CopilotClient.Blocking(() => With(h =>
            {
                IntPtr m = Native.ToUtf8(method), pj = Native.ToUtf8(parameters);
                try
                {
                    IntPtr result, err;
                    Native.Check(Native.copilot_session_call_timeout(h, m, pj, limit, out result, out err), err);
                    return Native.TakeString(result);
                }
                finally { Native.FreeUtf8(m); Native.FreeUtf8(pj); }
            }), cancellationToken);
        }

        Task<string> IRawCaller.CallRawAsync(string method, string parameters, CancellationToken cancellationToken)
        {
            return CallRawAsync(method, parameters, cancellationToken);
        }

        /// <summary>Subscribes to events (one at a time, in wire order); dispose to unsubscribe.
        /// The handler runs on the library's callback thread, or, when the session was created with
        /// <see cref="SessionConfig.UseSynchronizationContext"/>, on the context captured then
        /// (whichever thread subscribes); an exception it throws is swallowed. Events are decoded
        /// lazily: their JSON is parsed when the handler first reads a field.</summary>
        public IDisposable On(Action<SessionEvent> handler)
        {
            return Subscribe(handler, null);
        }

        /// <summary>Subscribes to the events of type <typeparamref name="T"/> only (e.g.
        /// <see cref="AssistantMessageEvent"/>), as the official SDK's <c>On&lt;T&gt;</c>; dispose to
        /// unsubscribe. Events of other types are skipped by their type string, never copied or parsed.</summary>
        public IDisposable On<T>(Action<T> handler) where T : SessionEvent
        {
            if (handler == null) throw new ArgumentNullException("handler");
            return Subscribe(e => { var t = e as T; if (t != null) handler(t); }, SessionEvent.TypesOf(typeof(T)));
        }

        private IDisposable Subscribe(Action<SessionEvent> handler, ICollection<string> types)
        {
            var sink = new Callbacks.EventSink { Handler = handler, Context = _handlers, Types = types };
            var ud = Callbacks.Pin(sink);
            ulong id = 0;
            With(h =>
            {
                IntPtr err;
                var status = Native.copilot_session_subscribe_batch(h, Callbacks.EventBatch, ud, Callbacks.FreeUserData, out id, out err);
                if (status != 0) Callbacks.Unpin(ud);
                Native.Check(status, err);
                return true;
            });
            return new Subscription(this, sink, id);
        }

        private sealed class Subscription : IDisposable
        {
            private readonly CopilotSession _session;
            private readonly Callbacks.EventSink _sink;
            private readonly ulong _id;

            internal Subscription(CopilotSession s, Callbacks.EventSink sink, ulong id) { _session = s; _sink = sink; _id = id; }

            public void Dispose()
            {
                if (!_sink.Active) return;
                _sink.Active = false;
                try { _session.With(h => { IntPtr err; Native.copilot_session_unsubscribe(h, _id, out err); if (err != IntPtr.Zero) Native.copilot_error_free(err); return true; }); }
                catch (CopilotException) { }
            }
        }

        /// <summary>Destroys the session in the CLI (history stays on disk for resume) and frees it.</summary>
        public async Task DisposeAsync()
        {
            try
            {
                await CopilotClient.Blocking(() => With(h => { IntPtr err; Native.Check(Native.copilot_session_destroy(h, out err), err); return true; }), CancellationToken.None).ConfigureAwait(false);
            }
            catch (CopilotException e)
            {
                // Already destroyed or its client gone: nothing left to destroy.
                if (e.Status != CopilotStatus.InvalidState) { Dispose(); throw; }
            }
            Dispose();
        }

        /// <summary>Frees the handle without blocking (the session is destroyed in the background).</summary>
        public void Dispose()
        {
            LiveHandles.Remove(_handle);
            _handle.Dispose();
        }
    }
}
