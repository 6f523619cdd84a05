using System;
using System.Collections.Generic;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    // The official SDK's client results and SessionConfig's structured options, each written
    // to (or read from) the wire under the names in its JsonProperty attributes.

    /// <summary>Narrows <see cref="CopilotClient.ListSessionsAsync(SessionListFilter, System.Threading.CancellationToken)"/>;
    /// unset members match any session. Sent as <c>session.list</c>'s <c>filter</c>.</summary>
    public sealed class SessionListFilter
    {
        /// <summary>The exact working directory (wire: <c>cwd</c>).</summary>
        [JsonProperty("cwd", NullValueHandling = NullValueHandling.Ignore)]
        public string WorkingDirectory { get; set; }
        [JsonProperty("gitRoot", NullValueHandling = NullValueHandling.Ignore)]
        public string GitRoot { get; set; }
        /// <summary>"owner/repo".</summary>
        [JsonProperty("repository", NullValueHandling = NullValueHandling.Ignore)]
        public string Repository { get; set; }
        [JsonProperty("branch", NullValueHandling = NullValueHandling.Ignore)]
        public string Branch { get; set; }
    }

    /// <summary>Where a session was created.</summary>
    public sealed class SessionContext
    {
        /// <summary>Wire: <c>cwd</c>.</summary>
        [JsonProperty("cwd")]
        public string WorkingDirectory { get; set; }
        [JsonProperty("gitRoot")]
        public string GitRoot { get; set; }
        [JsonProperty("repository")]
        public string Repository { get; set; }
        [JsonProperty("branch")]
        public string Branch { get; set; }
    }

    /// <summary>A persisted session, as <c>session.list</c> and <c>session.getMetadata</c> describe it.</summary>
    public sealed class SessionMetadata
    {
        [JsonProperty("sessionId")]
        public string SessionId { get; set; }
        [JsonProperty("startTime")]
        public DateTimeOffset StartTime { get; set; }
        [JsonProperty("modifiedTime")]
        public DateTimeOffset ModifiedTime { get; set; }
        [JsonProperty("summary")]
        public string Summary { get; set; }
        [JsonProperty("isRemote")]
        public bool IsRemote { get; set; }
        [JsonProperty("context")]
        public SessionContext Context { get; set; }
        /// <summary>The entry as the CLI sent it, with members this class does not name (e.g.
        /// <c>clientName</c>) (libcopilot addition).</summary>
        [JsonIgnore]
        public JObject Raw { get; internal set; }

        internal static SessionMetadata From(JObject o)
        {
            if (o == null) return null;
            SessionMetadata m;
            try { m = TypedJson.Decode<SessionMetadata>(o); }
            catch (Exception) { m = new SessionMetadata { SessionId = Json.Str(o, "sessionId") }; }
            m.Raw = o;
            return m;
        }
    }

    /// <summary>The answer to a ping.</summary>
    public sealed class PingResponse
    {
        /// <summary>The message sent, echoed.</summary>
        [JsonProperty("message")]
        public string Message { get; set; }
        [JsonProperty("timestamp")]
        public DateTimeOffset Timestamp { get; set; }
        [JsonProperty("protocolVersion")]
        public int? ProtocolVersion { get; set; }

        /// <summary>The message: PingAsync returned it alone before it returned this class.</summary>
        public static implicit operator string(PingResponse r) { return r == null ? null : r.Message; }

        public override string ToString() { return Message; }
    }

    /// <summary>The CLI's version and protocol version (<c>status.get</c>).</summary>
    public sealed class GetStatusResponse
    {
        [JsonProperty("version")]
        public string Version { get; set; }
        [JsonProperty("protocolVersion")]
        public int ProtocolVersion { get; set; }
    }

    /// <summary>Whether and how the CLI is signed in (<c>auth.getStatus</c>).</summary>
    public sealed class GetAuthStatusResponse
    {
        [JsonProperty("isAuthenticated")]
        public bool IsAuthenticated { get; set; }
        /// <summary>"user", "env", "gh-cli", "hmac", "api-key" or "token".</summary>
        [JsonProperty("authType")]
        public string AuthType { get; set; }
        [JsonProperty("host")]
        public string Host { get; set; }
        [JsonProperty("login")]
        public string Login { get; set; }
        [JsonProperty("statusMessage")]
        public string StatusMessage { get; set; }
    }

    /// <summary>The optional parts of <see cref="CopilotSession.SetModelAsync(string, SetModelOptions, System.Threading.CancellationToken)"/>.</summary>
    public struct SetModelOptions
    {
        /// <summary>"low", "medium", "high", "xhigh", ... for models that reason.</summary>
        public string ReasoningEffort { get; set; }
        public ReasoningSummary? ReasoningSummary { get; set; }
        public ContextTier? ContextTier { get; set; }
        public GitHub.Copilot.Rpc.ModelCapabilitiesOverride ModelCapabilities { get; set; }
    }

    /// <summary>A model provider of your own (BYOK), sent as <c>provider</c>. A <see cref="JObject"/>
    /// converts to it (its members sent as they are), as <see cref="SessionConfig.Provider"/>
    /// took before it had this type.</summary>
    public sealed class ProviderConfig
    {
        private JObject _json;

        /// <summary>"openai", "azure" or "anthropic".</summary>
        [JsonProperty("type", NullValueHandling = NullValueHandling.Ignore)]
        public string Type { get; set; }
        /// <summary>"completions" or "responses".</summary>
        [JsonProperty("wireApi", NullValueHandling = NullValueHandling.Ignore)]
        public string WireApi { get; set; }
        [JsonProperty("transport", NullValueHandling = NullValueHandling.Ignore)]
        public string Transport { get; set; }
        [JsonProperty("baseUrl", NullValueHandling = NullValueHandling.Ignore)]
        public string BaseUrl { get; set; }
        [JsonProperty("apiKey", NullValueHandling = NullValueHandling.Ignore)]
        public string ApiKey { get; set; }
        /// <summary>Sent as "Authorization: Bearer ..." instead of the API key.</summary>
        [JsonProperty("bearerToken", NullValueHandling = NullValueHandling.Ignore)]
        public string BearerToken { get; set; }
        [JsonProperty("azure", NullValueHandling = NullValueHandling.Ignore)]
        public AzureOptions Azure { get; set; }
        [JsonProperty("headers", NullValueHandling = NullValueHandling.Ignore)]
        public IDictionary<string, string> Headers { get; set; }
        [JsonProperty("modelId", NullValueHandling = NullValueHandling.Ignore)]
        public string ModelId { get; set; }
        [JsonProperty("wireModel", NullValueHandling = NullValueHandling.Ignore)]
        public string WireModel { get; set; }
        [JsonProperty("maxPromptTokens", NullValueHandling = NullValueHandling.Ignore)]
        public int? MaxPromptTokens { get; set; }
        [JsonProperty("maxOutputTokens", NullValueHandling = NullValueHandling.Ignore)]
        public int? MaxOutputTokens { get; set; }
        /// <summary>Gives a fresh bearer token (without "Bearer ") before every model request to this
        /// provider, with <see cref="ProviderTokenArgs.ProviderName"/> "default": the provider is sent
        /// with <c>hasBearerTokenProvider: true</c> and the session answers the CLI's
        /// <c>providerToken.getToken</c> requests with it. The CLI keeps no copy, so caching and
        /// refresh are the callback's; when it throws, the model request fails. It takes precedence
        /// over <see cref="ApiKey"/> and <see cref="BearerToken"/>. Experimental.</summary>
        [JsonIgnore]
        public Func<ProviderTokenArgs, System.Threading.Tasks.Task<string>> BearerTokenProvider { get; set; }
        [JsonProperty("hasBearerTokenProvider", NullValueHandling = NullValueHandling.Ignore)]
        private bool? HasBearerTokenProvider { get { return BearerTokenProvider != null ? true : (bool?)null; } }

        public static implicit operator ProviderConfig(JObject json)
        {
            return json == null ? null : new ProviderConfig { _json = json };
        }

        /// <summary>The JSON it was made from (if any), with the properties set since on top.</summary>
        internal JObject ToJson()
        {
            var o = _json != null ? (JObject)_json.DeepClone() : new JObject();
            foreach (var p in JObject.FromObject(this, TypedJson.Serializer).Properties()) o[p.Name] = p.Value;
            return o;
        }
    }

    /// <summary>Azure OpenAI's settings.</summary>
    public sealed class AzureOptions
    {
        [JsonProperty("apiVersion", NullValueHandling = NullValueHandling.Ignore)]
        public string ApiVersion { get; set; }
    }

    /// <summary>Tunes the GitHub Copilot API transport (<c>capi</c>).</summary>
    public sealed class CapiSessionOptions
    {
        [JsonProperty("enableWebSocketResponses", NullValueHandling = NullValueHandling.Ignore)]
        public bool? EnableWebSocketResponses { get; set; }
    }

    /// <summary>One of several providers a session routes models to (<c>providers</c>).</summary>
    public sealed class NamedProviderConfig
    {
        /// <summary>What <see cref="ProviderModelConfig.Provider"/> refers to; no "/".</summary>
        [JsonProperty("name")]
        public string Name { get; set; }
        [JsonProperty("type", NullValueHandling = NullValueHandling.Ignore)]
        public string Type { get; set; }
        [JsonProperty("wireApi", NullValueHandling = NullValueHandling.Ignore)]
        public string WireApi { get; set; }
        [JsonProperty("baseUrl")]
        public string BaseUrl { get; set; }
        [JsonProperty("apiKey", NullValueHandling = NullValueHandling.Ignore)]
        public string ApiKey { get; set; }
        [JsonProperty("bearerToken", NullValueHandling = NullValueHandling.Ignore)]
        public string BearerToken { get; set; }
        [JsonProperty("azure", NullValueHandling = NullValueHandling.Ignore)]
        public AzureOptions Azure { get; set; }
        [JsonProperty("headers", NullValueHandling = NullValueHandling.Ignore)]
        public IDictionary<string, string> Headers { get; set; }
        /// <summary>As <see cref="ProviderConfig.BearerTokenProvider"/>, asked with
        /// <see cref="ProviderTokenArgs.ProviderName"/> this provider's <see cref="Name"/>. Experimental.</summary>
        [JsonIgnore]
        public Func<ProviderTokenArgs, System.Threading.Tasks.Task<string>> BearerTokenProvider { get; set; }
        [JsonProperty("hasBearerTokenProvider", NullValueHandling = NullValueHandling.Ignore)]
        private bool? HasBearerTokenProvider { get { return BearerTokenProvider != null ? true : (bool?)null; } }
    }

    /// <summary>What a <see cref="ProviderConfig.BearerTokenProvider"/> is asked with (the CLI's
    /// <c>providerToken.getToken</c> request). Experimental.</summary>
    public sealed class ProviderTokenArgs
    {
        /// <summary>The BYOK provider needing a token: "default" for the session's
        /// <see cref="SessionConfig.Provider"/>, else the <see cref="NamedProviderConfig.Name"/>.</summary>
        public string ProviderName { get; set; }
        /// <summary>The session whose model request needs the token.</summary>
        public string SessionId { get; set; }
    }

    /// <summary>A model <see cref="CopilotClient.ListModelsAsync"/> lists: an entry of the CLI's
    /// <c>models.list</c>, or what <see cref="CopilotClientOptions.OnListModels"/> gave.</summary>
    public sealed class ModelInfo
    {
        /// <summary>Model identifier (e.g. "claude-sonnet-4.5").</summary>
        [JsonProperty("id")]
        public string Id { get; set; } = "";
        /// <summary>Display name.</summary>
        [JsonProperty("name")]
        public string Name { get; set; } = "";
        /// <summary>Model capabilities and limits.</summary>
        [JsonProperty("capabilities", NullValueHandling = NullValueHandling.Ignore)]
        public GitHub.Copilot.Rpc.ModelCapabilities Capabilities { get; set; }
        /// <summary>Policy state.</summary>
        [JsonProperty("policy", NullValueHandling = NullValueHandling.Ignore)]
        public GitHub.Copilot.Rpc.ModelPolicy Policy { get; set; }
        /// <summary>Billing information.</summary>
        [JsonProperty("billing", NullValueHandling = NullValueHandling.Ignore)]
        public GitHub.Copilot.Rpc.ModelBilling Billing { get; set; }
        /// <summary>Supported reasoning effort levels (only for models that reason).</summary>
        [JsonProperty("supportedReasoningEfforts", NullValueHandling = NullValueHandling.Ignore)]
        public IList<string> SupportedReasoningEfforts { get; set; }
        /// <summary>Default reasoning effort level (only for models that reason).</summary>
        [JsonProperty("defaultReasoningEffort", NullValueHandling = NullValueHandling.Ignore)]
        public string DefaultReasoningEffort { get; set; }
        /// <summary>The entry as the CLI sent it, with members this class does not name (null for
        /// a model <see cref="CopilotClientOptions.OnListModels"/> gave) (libcopilot addition).</summary>
        [JsonIgnore]
        public JObject Raw { get; internal set; }

        /// <summary>The model as JSON: <see cref="Raw"/>, else its properties (what
        /// <c>ListModelsAsync</c> returned before it returned <see cref="ModelInfo"/>).</summary>
        public static implicit operator JObject(ModelInfo model)
        {
            if (model == null) return null;
            return model.Raw ?? JObject.FromObject(model, TypedJson.Serializer);
        }

        internal static ModelInfo From(JObject o)
        {
            if (o == null) return null;
            ModelInfo m;
            try { m = TypedJson.Decode<ModelInfo>(o); }
            catch (Exception) { m = new ModelInfo { Id = Json.Str(o, "id") ?? "", Name = Json.Str(o, "name") ?? "" }; }
            m.Raw = o;
            return m;
        }
    }

    /// <summary>A model served by one of the session's <see cref="SessionConfig.Providers"/> (<c>models</c>).</summary>
    public sealed class ProviderModelConfig
    {
        /// <summary>The model's id, unique within its provider.</summary>
        [JsonProperty("id")]
        public string Id { get; set; }
        [JsonProperty("provider")]
        public string Provider { get; set; }
        [JsonProperty("wireModel", NullValueHandling = NullValueHandling.Ignore)]
        public string WireModel { get; set; }
        [JsonProperty("modelId", NullValueHandling = NullValueHandling.Ignore)]
        public string ModelId { get; set; }
        [JsonProperty("name", NullValueHandling = NullValueHandling.Ignore)]
        public string Name { get; set; }
        [JsonProperty("maxPromptTokens", NullValueHandling = NullValueHandling.Ignore)]
        public int? MaxPromptTokens { get; set; }
        [JsonProperty("maxContextWindowTokens", NullValueHandling = NullValueHandling.Ignore)]
        public int? MaxContextWindowTokens { get; set; }
        [JsonProperty("maxOutputTokens", NullValueHandling = NullValueHandling.Ignore)]
        public int? MaxOutputTokens { get; set; }
        [JsonProperty("capabilities", NullValueHandling = NullValueHandling.Ignore)]
        public GitHub.Copilot.Rpc.ModelCapabilitiesOverride Capabilities { get; set; }
    }

    /// <summary>How an HTTP MCP server's OAuth client gets its token.</summary>
    public enum McpHttpServerConfigOauthGrantType
    {
        /// <summary>"authorization_code".</summary>
        AuthorizationCode,
        /// <summary>"client_credentials".</summary>
        ClientCredentials,
    }

    /// <summary>Where MCP OAuth tokens are kept (<c>mcpOAuthTokenStorage</c>).</summary>
    public enum McpOAuthTokenStorageMode
    {
        /// <summary>"persistent".</summary>
        Persistent,
        /// <summary>"in-memory".</summary>
        InMemory,
    }

    /// <summary>Where the embedding cache is kept (<c>embeddingCacheStorage</c>).</summary>
    public enum EmbeddingCacheStorageMode
    {
        /// <summary>"persistent".</summary>
        Persistent,
        /// <summary>"in-memory".</summary>
        InMemory,
    }

    /// <summary>An MCP server a session may use: <see cref="McpStdioServerConfig"/> or
    /// <see cref="McpHttpServerConfig"/>, written with its <c>"type"</c>.</summary>
    public abstract class McpServerConfig
    {
        internal McpServerConfig() { }

        /// <summary>The tools the session may use ("*" for all).</summary>
        [JsonProperty("tools", NullValueHandling = NullValueHandling.Ignore)]
        public IList<string> Tools { get; set; }
        /// <summary>"stdio" or "http".</summary>
        [JsonIgnore]
        public virtual string Type { get { return "unknown"; } }
        /// <summary>Milliseconds the server's tool calls may take.</summary>
        [JsonProperty("timeout", NullValueHandling = NullValueHandling.Ignore)]
        public int? Timeout { get; set; }

        internal virtual JObject ToJson()
        {
            var o = new JObject { ["type"] = Type };
            foreach (var p in JObject.FromObject(this, TypedJson.Serializer).Properties()) o[p.Name] = p.Value;
            return o;
        }

        internal static JObject Map(IDictionary<string, McpServerConfig> servers)
        {
            var o = new JObject();
            foreach (var kv in servers) o[kv.Key] = kv.Value == null ? (JToken)JValue.CreateNull() : kv.Value.ToJson();
            return o;
        }
    }

    /// <summary>An MCP server run as a child process.</summary>
    public sealed class McpStdioServerConfig : McpServerConfig
    {
        [JsonIgnore]
        public override string Type { get { return "stdio"; } }
        [JsonProperty("command")]
        public string Command { get; set; }
        [JsonProperty("args", NullValueHandling = NullValueHandling.Ignore)]
        public IList<string> Args { get; set; }
        [JsonProperty("env", NullValueHandling = NullValueHandling.Ignore)]
        public IDictionary<string, string> Env { get; set; }
        /// <summary>Wire: <c>cwd</c>.</summary>
        [JsonProperty("cwd", NullValueHandling = NullValueHandling.Ignore)]
        public string WorkingDirectory { get; set; }
    }

    /// <summary>An MCP server reached over HTTP.</summary>
    public sealed class McpHttpServerConfig : McpServerConfig
    {
        [JsonIgnore]
        public override string Type { get { return "http"; } }
        [JsonProperty("url")]
        public string Url { get; set; }
        [JsonProperty("headers", NullValueHandling = NullValueHandling.Ignore)]
        public IDictionary<string, string> Headers { get; set; }
        [JsonProperty("oauthClientId", NullValueHandling = NullValueHandling.Ignore)]
        public string OauthClientId { get; set; }
        [JsonProperty("oauthPublicClient", NullValueHandling = NullValueHandling.Ignore)]
        public bool? OauthPublicClient { get; set; }
        [JsonIgnore]
        public McpHttpServerConfigOauthGrantType? OauthGrantType { get; set; }

        internal override JObject ToJson()
        {
            var o = base.ToJson();
            if (OauthGrantType.HasValue)
                o["oauthGrantType"] = OauthGrantType.Value == McpHttpServerConfigOauthGrantType.ClientCredentials ? "client_credentials" : "authorization_code";
            return o;
        }
    }

    /// <summary>An agent the session can delegate to (<c>customAgents</c>).</summary>
    public sealed class CustomAgentConfig
    {
        [JsonProperty("name")]
        public string Name { get; set; }
        [JsonProperty("displayName", NullValueHandling = NullValueHandling.Ignore)]
        public string DisplayName { get; set; }
        [JsonProperty("description", NullValueHandling = NullValueHandling.Ignore)]
        public string Description { get; set; }
        /// <summary>The tools the agent may use; null means all.</summary>
        [JsonProperty("tools", NullValueHandling = NullValueHandling.Ignore)]
        public IList<string> Tools { get; set; }
        [JsonProperty("prompt")]
        public string Prompt { get; set; }
        [JsonIgnore]
        public IDictionary<string, McpServerConfig> McpServers { get; set; }
        [JsonProperty("infer", NullValueHandling = NullValueHandling.Ignore)]
        public bool? Infer { get; set; }
        [JsonProperty("skills", NullValueHandling = NullValueHandling.Ignore)]
        public IList<string> Skills { get; set; }
        [JsonProperty("model", NullValueHandling = NullValueHandling.Ignore)]
        public string Model { get; set; }
        [JsonProperty("reasoningEffort", NullValueHandling = NullValueHandling.Ignore)]
        public string ReasoningEffort { get; set; }

        internal JObject ToJson()
        {
            var o = JObject.FromObject(this, TypedJson.Serializer);
            if (McpServers != null) o["mcpServers"] = McpServerConfig.Map(McpServers);
            return o;
        }
    }

    /// <summary>Adjusts the built-in default agent (<c>defaultAgent</c>).</summary>
    public sealed class DefaultAgentConfig
    {
        [JsonProperty("excludedTools", NullValueHandling = NullValueHandling.Ignore)]
        public IList<string> ExcludedTools { get; set; }
    }

    /// <summary>Background compaction of long sessions (<c>infiniteSessions</c>).</summary>
    public sealed class InfiniteSessionConfig
    {
        [JsonProperty("enabled", NullValueHandling = NullValueHandling.Ignore)]
        public bool? Enabled { get; set; }
        /// <summary>Context utilization (0.0-1.0) at which compaction starts in the background.</summary>
        [JsonProperty("backgroundCompactionThreshold", NullValueHandling = NullValueHandling.Ignore)]
        public double? BackgroundCompactionThreshold { get; set; }
        /// <summary>Context utilization (0.0-1.0) at which the session waits for compaction.</summary>
        [JsonProperty("bufferExhaustionThreshold", NullValueHandling = NullValueHandling.Ignore)]
        public double? BufferExhaustionThreshold { get; set; }
    }

    /// <summary>Spills large tool outputs to files (<c>largeOutput</c>).</summary>
    public sealed class LargeToolOutputConfig
    {
        [JsonProperty("enabled", NullValueHandling = NullValueHandling.Ignore)]
        public bool? Enabled { get; set; }
        [JsonProperty("maxSizeBytes", NullValueHandling = NullValueHandling.Ignore)]
        public long? MaxSizeBytes { get; set; }
        /// <summary>Wire: <c>outputDir</c>.</summary>
        [JsonProperty("outputDir", NullValueHandling = NullValueHandling.Ignore)]
        public string OutputDirectory { get; set; }
    }

    /// <summary>Defers tool definitions behind a search tool (<c>toolSearch</c>).</summary>
    public sealed class ToolSearchConfig
    {
        [JsonProperty("enabled", NullValueHandling = NullValueHandling.Ignore)]
        public bool? Enabled { get; set; }
        [JsonProperty("deferThreshold", NullValueHandling = NullValueHandling.Ignore)]
        public int? DeferThreshold { get; set; }
    }

    /// <summary>Turns the agent's memory on or off (<c>memory</c>).</summary>
    public sealed class MemoryConfiguration
    {
        [JsonProperty("enabled")]
        public bool Enabled { get; set; }
    }

    /// <summary>Configures <see cref="CopilotClient.ResumeSessionAsync"/>: a <see cref="SessionConfig"/>
    /// with the options only a resume has.</summary>
    public sealed class ResumeSessionConfig : SessionConfig
    {
        /// <summary>Resume without emitting a <c>session.resume</c> event (wire: <c>disableResume</c>).</summary>
        public bool SuppressResumeEvent { get; set; }
        /// <summary>Pick up the tool calls and permission requests the session left pending
        /// (wire: <c>continuePendingWork</c>).</summary>
        public bool? ContinuePendingWork { get; set; }
        /// <summary>Canvas instances open when the session was suspended, so the runtime can
        /// re-attach them (wire: <c>openCanvases</c>). Experimental.</summary>
        public IList<GitHub.Copilot.Rpc.OpenCanvasInstance> OpenCanvases { get; set; }

        internal override void AddWireFields(JObject o)
        {
            base.AddWireFields(o);
            if (SuppressResumeEvent) o["disableResume"] = true;
            if (ContinuePendingWork.HasValue) o["continuePendingWork"] = ContinuePendingWork.Value;
            if (OpenCanvases != null) o["openCanvases"] = JToken.FromObject(OpenCanvases, TypedJson.Serializer);
        }
    }
}
