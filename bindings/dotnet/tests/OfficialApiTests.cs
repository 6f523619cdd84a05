using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using GitHub.Copilot.Rpc;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace GitHub.Copilot.Tests
{
    /// <summary>The official .NET SDK's client and session methods, permission decisions and
    /// SessionConfig options, against the real CLI (and, for wire shapes, without it).</summary>
    [TestFixture]
    public class OfficialApiTests
    {
        private const string France = "What is the capital of France?";
        private static readonly TimeSpan Turn = TimeSpan.FromSeconds(60);

        private static T Until<T>(Func<T> poll, Func<T, bool> done, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (true)
            {
                var v = poll();
                if (done(v)) return v;
                if (DateTime.UtcNow > deadline) Assert.Fail("timed out waiting for " + what);
                Thread.Sleep(100);
            }
        }

        private static JObject Fields(SessionConfig cfg)
        {
            var m = typeof(SessionConfig).GetMethod("FieldsJson", BindingFlags.NonPublic | BindingFlags.Instance);
            return JObject.Parse((string)m.Invoke(cfg, new object[] { null }));
        }

        /// <summary>The client helpers (starting the client when needed), session listing and
        /// metadata, GetEventsAsync, SetModelAsync, LogAsync, On&lt;T&gt; and DeleteSessionAsync.</summary>
        [Test]
        public void ClientAndSessionHelpersAgainstTheRealCli()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                // Listing starts the client, as in the official SDK.
                Assert.AreEqual(ClientState.Disconnected, client.State);
                Assert.IsNotNull(client.ListSessionsAsync().Result);
                Assert.AreEqual(ClientState.Connected, client.State);

                var status = client.GetStatusAsync().Result;
                Assert.IsNotEmpty(status.Version);
                Assert.GreaterOrEqual(status.ProtocolVersion, 3);
                var auth = client.GetAuthStatusAsync().Result;
                Assert.IsFalse(auth.IsAuthenticated, "a client with no token");
                Assert.IsNotNull(auth.StatusMessage);
                var pong = client.PingAsync("hello").Result;
                StringAssert.Contains("hello", pong.Message);
                Assert.GreaterOrEqual(pong.ProtocolVersion, 3);
                string echoed = client.PingAsync("again").Result;
                StringAssert.Contains("again", echoed, "PingResponse converts to the message");

                var created = new List<string>();
                var createdSeen = new ManualResetEventSlim();
                client.OnLifecycle<SessionCreatedEvent>(e => { lock (created) created.Add(e.SessionId); createdSeen.Set(); });
                var infos = new List<string>();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    OnEvent = e => { var i = e as SessionInfoEvent; if (i != null) lock (infos) infos.Add(i.Data.Message); },
                })).Result;
                var messages = new List<string>();
                var sub = session.On<AssistantMessageEvent>(m => { lock (messages) messages.Add(m.Data.Content); });
                Assert.IsNull(client.GetSessionMetadataAsync(session.SessionId).Result, "metadata before the first turn");

                Assert.AreEqual("The capital of France is Paris.", session.SendAndWaitAsync(France, Turn).Result.Content);
                lock (messages) CollectionAssert.AreEqual(new[] { "The capital of France is Paris." }, messages);
                sub.Dispose();
                Assert.IsTrue(createdSeen.Wait(TimeSpan.FromSeconds(15)), "OnLifecycle<SessionCreatedEvent>");
                lock (created) CollectionAssert.Contains(created, session.SessionId);

                // Listed once the first turn ended; the filter narrows by working directory.
                var listed = Until(() => client.ListSessionsAsync(new SessionListFilter { WorkingDirectory = env.Home }).Result,
                    l => l.Count > 0, "the session in session.list");
                Assert.AreEqual(1, listed.Count);
                Assert.AreEqual(session.SessionId, listed[0].SessionId);
                Assert.Greater(listed[0].StartTime, new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
                Assert.IsNotNull(listed[0].Context, listed[0].Raw.ToString());
                Assert.AreEqual(env.Home, listed[0].Context.WorkingDirectory);
                Assert.IsEmpty(client.ListSessionsAsync(new SessionListFilter { WorkingDirectory = "/nonexistent" }).Result);
                var meta = client.GetSessionMetadataAsync(session.SessionId).Result;
                Assert.IsNotNull(meta);
                Assert.AreEqual(session.SessionId, meta.SessionId);
                Assert.AreEqual(session.SessionId, client.GetLastSessionIdAsync().Result);

                var events = session.GetEventsAsync().Result;
                Assert.GreaterOrEqual(events.Count, 3);
                Assert.IsInstanceOf<SessionStartEvent>(events[0]);
                Assert.IsTrue(events.OfType<AssistantMessageEvent>().Any(m => m.Data.Content == "The capital of France is Paris."));
#pragma warning disable CS0618 // the old name forwards
                Assert.AreEqual(events.Count, session.GetMessagesAsync().Result.Count);
#pragma warning restore CS0618

                session.SetModelAsync("gpt-5", new SetModelOptions { ReasoningEffort = "high" }).Wait();
                Assert.AreEqual("gpt-5", session.Rpc.Model.GetCurrentAsync().Result.ModelId);
                session.SetModelAsync("claude-sonnet-4.5").Wait();
                Assert.AreEqual("claude-sonnet-4.5", session.Rpc.Model.GetCurrentAsync().Result.ModelId);

                session.LogAsync("hello from the host").Wait();
                session.LogAsync("careful", SessionLogLevel.Warning, ephemeral: true).Wait();
                Until(() => { lock (infos) return infos.ToArray(); }, l => l.Length > 0, "session.info for LogAsync");
                lock (infos) Assert.AreEqual("hello from the host", infos[0], string.Join(" | ", infos));

                var id = session.SessionId;
                session.DisposeAsync().Wait();
                client.DeleteSessionAsync(id).Wait();
                Assert.IsNull(client.GetSessionMetadataAsync(id).Result, "metadata after delete");
                Assert.IsEmpty(client.ListSessionsAsync(new SessionListFilter { WorkingDirectory = env.Home }).Result);
                client.DisposeAsync().Wait();
                Assert.Throws<CopilotException>(() => { var s = client.State; });
            }
        }

        /// <summary>session.getForeground / setForeground: a headless server shows no session and
        /// refuses to show one.</summary>
        [Test]
        public void ForegroundSessionOfAHeadlessServer()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                Assert.IsNull(client.GetForegroundSessionIdAsync().Result);
                Assert.AreEqual(ClientState.Connected, client.State, "the call started the client");
                var session = client.CreateSessionAsync(env.Config()).Result;
                // The CLI answers {"success": false, "error": "Not running in TUI+server mode ..."}.
                var e = Assert.Throws<AggregateException>(() => client.SetForegroundSessionIdAsync(session.SessionId).Wait());
                var failed = e.InnerException as CopilotException;
                Assert.IsNotNull(failed, e.InnerException.ToString());
                Assert.AreEqual(CopilotStatus.Rpc, failed.Status);
                StringAssert.Contains("TUI", failed.Message);
                Assert.IsNull(client.GetForegroundSessionIdAsync().Result);
            }
        }

        /// <summary>SessionConfig's pass-through properties go out under their wire names.</summary>
        [Test]
        public void SessionConfigWireNames()
        {
            var cfg = new SessionConfig
            {
                ClientName = "host",
                Streaming = false,
                EnableExperimentalMode = true,
                ConfigDirectory = "/cfg",
                EnableMcpApps = true,
                ExcludedBuiltInAgents = new[] { "x" },
                DisabledMcpServers = new string[0],
                GitHubToken = "gho_x",
                ReasoningSummary = GitHub.Copilot.ReasoningSummary.Concise,
                ContextTier = GitHub.Copilot.ContextTier.LongContext,
                EmbeddingCacheStorage = EmbeddingCacheStorageMode.InMemory,
                McpOAuthTokenStorage = McpOAuthTokenStorageMode.Persistent,
                RemoteSession = RemoteSessionMode.Off,
                IncludeSubAgentStreamingEvents = true,
                SkillDirectories = new[] { "/skills" },
                InfiniteSessions = new InfiniteSessionConfig { Enabled = true, BackgroundCompactionThreshold = 0.8 },
                LargeOutput = new LargeToolOutputConfig { OutputDirectory = "/out" },
                Memory = new MemoryConfiguration { Enabled = false },
                GitHubMcpToolConfig = new GitHubMcpToolConfig { EnableAllTools = true },
                McpServers = new Dictionary<string, McpServerConfig>
                {
                    ["files"] = new McpStdioServerConfig { Command = "mcp-files", Args = new[] { "--ro" }, Tools = new[] { "*" }, WorkingDirectory = "/w" },
                    ["web"] = new McpHttpServerConfig { Url = "http://127.0.0.1:1/mcp", OauthGrantType = McpHttpServerConfigOauthGrantType.ClientCredentials },
                },
                CustomAgents = new[] { new CustomAgentConfig { Name = "reviewer", Prompt = "Review.", McpServers = new Dictionary<string, McpServerConfig> { ["f"] = new McpStdioServerConfig { Command = "c" } } } },
                Provider = new JObject { ["type"] = "openai", ["baseUrl"] = "http://x" },
                Extra = new JObject { ["clientName"] = "overridden", ["custom"] = 1 },
            };
            var got = Fields(cfg);
            var want = JObject.Parse(@"{
                ""custom"": 1, ""clientName"": ""host"", ""streaming"": false, ""isExperimentalMode"": true,
                ""configDir"": ""/cfg"", ""requestMcpApps"": true, ""excludedBuiltinAgents"": [""x""],
                ""disabledMcpServers"": [], ""gitHubToken"": ""gho_x"", ""reasoningSummary"": ""concise"",
                ""contextTier"": ""long_context"", ""embeddingCacheStorage"": ""in-memory"",
                ""mcpOAuthTokenStorage"": ""persistent"", ""remoteSession"": ""off"",
                ""includeSubAgentStreamingEvents"": true, ""skillDirectories"": [""/skills""],
                ""infiniteSessions"": {""enabled"": true, ""backgroundCompactionThreshold"": 0.8},
                ""largeOutput"": {""outputDir"": ""/out""}, ""memory"": {""enabled"": false},
                ""githubMcpToolConfig"": {""enableAllTools"": true},
                ""mcpServers"": {
                    ""files"": {""type"": ""stdio"", ""tools"": [""*""], ""command"": ""mcp-files"", ""args"": [""--ro""], ""cwd"": ""/w""},
                    ""web"": {""type"": ""http"", ""url"": ""http://127.0.0.1:1/mcp"", ""oauthGrantType"": ""client_credentials""}},
                ""customAgents"": [{""name"": ""reviewer"", ""prompt"": ""Review."", ""mcpServers"": {""f"": {""type"": ""stdio"", ""command"": ""c""}}}],
                ""provider"": {""type"": ""openai"", ""baseUrl"": ""http://x""}
            }");
            Assert.IsTrue(JToken.DeepEquals(want, got), "got " + got);

            // Nothing set, nothing sent; a resume's own options.
            Assert.AreEqual("{}", Fields(new SessionConfig()).ToString(Newtonsoft.Json.Formatting.None));
            var resume = Fields(new ResumeSessionConfig { SuppressResumeEvent = true, ContinuePendingWork = false });
            Assert.IsTrue(JToken.DeepEquals(JObject.Parse("{\"disableResume\": true, \"continuePendingWork\": false}"), resume), resume.ToString());
            // A typed provider, as the official ProviderConfig.
            var provider = Fields(new SessionConfig { Provider = new ProviderConfig { Type = "azure", BaseUrl = "https://a", Azure = new AzureOptions { ApiVersion = "v1" }, MaxPromptTokens = 10 } });
            Assert.IsTrue(JToken.DeepEquals(JObject.Parse("{\"provider\": {\"type\": \"azure\", \"baseUrl\": \"https://a\", \"azure\": {\"apiVersion\": \"v1\"}, \"maxPromptTokens\": 10}}"), provider), provider.ToString());
        }

        /// <summary>A pass-through property the real CLI reports back: the client name in the
        /// session's session.list entry.</summary>
        [Test]
        public void ClientNameReachesTheCli()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var session = client.CreateSessionAsync(env.Config(new SessionConfig { ClientName = "libcopilot-dotnet-test" })).Result;
                Assert.AreEqual("The capital of France is Paris.", session.SendAndWaitAsync(France, Turn).Result.Content);
                var entry = Until(() => client.ListSessionsAsync().Result.FirstOrDefault(m => m.SessionId == session.SessionId),
                    m => m != null, "the session in session.list");
                Assert.AreEqual("libcopilot-dotnet-test", (string)entry.Raw["clientName"], entry.Raw.ToString());
            }
        }

        /// <summary>The decision JSON copilot_permission_request_respond gets: the variant as the
        /// wrapper sent it before (kind, feedback), decisionContext beside it without unset members.</summary>
        [Test]
        public void PermissionDecisionsOnTheWire()
        {
            var json = typeof(CopilotClient).Assembly.GetType("GitHub.Copilot.PermissionWire").GetMethod("Json", BindingFlags.NonPublic | BindingFlags.Static);
            Func<PermissionDecision, string> wire = d => (string)json.Invoke(null, new object[] { d });
            Assert.AreEqual("{\"kind\":\"approve-once\"}", wire(PermissionDecision.ApproveOnce()));
            Assert.AreEqual("{\"kind\":\"reject\",\"feedback\":\"no\"}", wire(PermissionDecision.Reject("no")));
            Assert.AreEqual("{\"kind\":\"reject\"}", wire(PermissionDecision.Reject()));
            Assert.AreEqual("{\"kind\":\"user-not-available\"}", wire(PermissionDecision.UserNotAvailable()));
            Assert.AreEqual("{\"kind\":\"no-result\"}", wire(PermissionDecision.NoResult()));
#pragma warning disable CS0618
            Assert.AreEqual("{\"kind\":\"approve-for-session\"}", wire(PermissionDecision.ApproveForSession()));
#pragma warning restore CS0618
            var attributed = PermissionDecision.ApproveOnce();
            attributed.DecisionContext = new PermissionDecisionContext { Surface = PermissionDecisionSurface.Sdk, Source = PermissionDecisionSource.HostPolicy };
            Assert.AreEqual("{\"kind\":\"approve-once\",\"decisionContext\":{\"source\":\"host_policy\",\"surface\":\"sdk\"}}", wire(attributed));
            Assert.IsInstanceOf<PermissionDecisionNoResult>(PermissionDecision.NoResult());
            Assert.AreEqual("no-result", PermissionDecision.NoResult().Kind);
        }

        /// <summary>A decision with a DecisionContext approves as any other (the context rides beside
        /// the result), and PermissionHandler.ApproveAll's official logic: approve a known kind,
        /// leave an unknown one to another client, refuse under managed settings.</summary>
        [Test]
        public void AttributedDecisionApprovesAndApproveAllDecidesAsTheOfficialOne()
        {
            using (var env = new TestEnv("weather_tool.yaml"))
            using (var client = env.Client())
            {
                int calls = 0;
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    Tools = new[] { CopilotTool.Define<WeatherArgs>("get_weather", "Current weather for a city", (a, inv) => { Interlocked.Increment(ref calls); return Task.FromResult<object>("18C and sunny"); }) },
                    OnPermissionRequest = (r, inv) =>
                    {
                        var d = PermissionDecision.ApproveOnce();
                        d.DecisionContext = new PermissionDecisionContext { Surface = PermissionDecisionSurface.Sdk, ResponseCapability = PermissionResponseCapability.Headless };
                        return Task.FromResult(d);
                    },
                })).Result;
                Assert.AreEqual("It is 18C and sunny in Paris.", session.SendAndWaitAsync("What is the weather in Paris? Use the get_weather tool.", Turn).Result.Content);
                Assert.AreEqual(1, calls);
            }

            var shell = new PermissionRequestShell();
            Assert.IsInstanceOf<PermissionDecisionApproveOnce>(PermissionHandler.ApproveAll(shell, new PermissionInvocation()).Result);
            var unknown = new UnknownPermissionRequest(new JObject { ["kind"] = "future" });
            Assert.IsInstanceOf<PermissionDecisionNoResult>(PermissionHandler.ApproveAll(unknown, new PermissionInvocation()).Result);
            var managed = (PermissionRequest)JObject.Parse("{\"kind\": \"shell\", \"managedApprovalRequired\": true}").ToObject<PermissionRequest>();
            Assert.IsInstanceOf<PermissionRequestShell>(managed);
            Assert.IsInstanceOf<PermissionDecisionNoResult>(PermissionHandler.ApproveAll(managed, new PermissionInvocation()).Result);
            var refused = Assert.Throws<AggregateException>(() => PermissionHandler.ApproveAll(shell, new PermissionInvocation { ManagedSettingsEnabled = true }).Wait());
            Assert.IsInstanceOf<InvalidOperationException>(refused.InnerException);
        }

        /// <summary>Session.Ui's dialogs reach the session's own elicitation handler and read its answers.</summary>
        [Test]
        public void UiDialogsReachTheElicitationHandler()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var seen = new List<ElicitationContext>();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    OnElicitationRequest = ctx =>
                    {
                        lock (seen) seen.Add(ctx);
                        var field = ((JObject)ctx.RequestedSchema["properties"]).Properties().First().Name;
                        JToken value = field == "confirmed" ? (JToken)true : field == "selection" ? "Blue" : field == "value" ? "Mona" : "x";
                        if (ctx.Message == "Decline?") return Task.FromResult(ElicitationResult.Decline());
                        return Task.FromResult(ElicitationResult.Accept(new JObject { [field] = value }));
                    },
                })).Result;
                Assert.IsTrue(session.Ui.ConfirmAsync("Proceed?").Result);
                Assert.IsFalse(session.Ui.ConfirmAsync("Decline?").Result);
                Assert.AreEqual("Blue", session.Ui.SelectAsync("Color?", new[] { "Red", "Blue" }).Result);
                Assert.AreEqual("Mona", session.Ui.InputAsync("Name?", new UiInputOptions { MaxLength = 10 }).Result);
                var form = session.Ui.ElicitAsync(new ElicitationParams
                {
                    Message = "Form",
                    RequestedSchema = new ElicitationSchema { Properties = new Dictionary<string, object> { ["age"] = new JObject { ["type"] = "number" } } },
                }).Result;
                Assert.AreEqual("accept", form.Action);
                Assert.AreEqual("x", (string)form.Content["age"]);
                lock (seen)
                {
                    Assert.AreEqual(5, seen.Count);
                    CollectionAssert.AreEqual(new[] { "Red", "Blue" }, seen[2].RequestedSchema.SelectToken("properties.selection.enum").Select(t => (string)t));
                    Assert.AreEqual(10, (int)seen[3].RequestedSchema.SelectToken("properties.value.maxLength"));
                }

                // Without an elicitation handler no client can answer: refused at once.
                var plain = client.CreateSessionAsync(env.Config()).Result;
                var e = Assert.Throws<AggregateException>(() => plain.Ui.ConfirmAsync("Proceed?").Wait());
                Assert.IsInstanceOf<InvalidOperationException>(e.InnerException);
            }
        }

        /// <summary>A canvas handler that records each call: open answers a URL from the ids,
        /// "increment" adds the input's amount to the open input's start, other actions fall to
        /// CanvasHandlerBase (CanvasException.NoHandler).</summary>
        private sealed class CounterCanvas : CanvasHandlerBase
        {
            internal readonly List<string> Calls = new List<string>();
            internal readonly List<string> SessionIds = new List<string>();
            private int _start;

            public override Task<CanvasProviderOpenResult> OnOpenAsync(CanvasProviderOpenRequest c, CancellationToken ct)
            {
                lock (Calls) { Calls.Add("open " + c.CanvasId + "/" + c.InstanceId); SessionIds.Add(c.SessionId); }
                _start = (int)c.Input["start"];
                return Task.FromResult(new CanvasProviderOpenResult { Url = "https://example.test/" + c.CanvasId + "/" + c.InstanceId, Title = "Counter", Status = "ready" });
            }

            public override Task OnCloseAsync(CanvasProviderCloseRequest c, CancellationToken ct)
            {
                lock (Calls) { Calls.Add("close " + c.CanvasId + "/" + c.InstanceId); SessionIds.Add(c.SessionId); }
                return base.OnCloseAsync(c, ct);
            }

            public override Task<object> OnActionAsync(CanvasProviderInvokeActionRequest c, CancellationToken ct)
            {
                lock (Calls) { Calls.Add("action " + c.ActionName + " " + c.CanvasId + "/" + c.InstanceId); SessionIds.Add(c.SessionId); }
                if (c.ActionName != "increment") return base.OnActionAsync(c, ct);
                return Task.FromResult<object>(new Dictionary<string, int> { ["count"] = _start + (int)c.Input["amount"] });
            }
        }

        /// <summary>SessionConfig.Canvases are the session's: session.canvas.list lists them, and
        /// opening one, invoking its action and closing it reach SessionConfig.CanvasHandler
        /// (kind "canvas"), whose answers come back to the caller; a handler's exception fails the call.</summary>
        [Test]
        public void CanvasHandlerOpensActsAndCloses()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var handler = new CounterCanvas();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    Canvases = new[]
                    {
                        new CanvasDeclaration
                        {
                            Id = "counter",
                            DisplayName = "Counter",
                            Description = "A counter",
                            InputSchema = JObject.Parse("{\"type\": \"object\", \"properties\": {\"start\": {\"type\": \"number\"}}}"),
                            Actions = new List<CanvasAction>
                            {
                                new CanvasAction { Name = "increment", Description = "Adds to the counter" },
                                new CanvasAction { Name = "reset", Description = "Not implemented by the handler" },
                            },
                        },
                    },
                    CanvasHandler = handler,
                })).Result;

                var list = session.Rpc.Canvas.ListAsync().Result;
                var counter = list.Canvases.Single(c => c.CanvasId == "counter");
                Assert.AreEqual("Counter", counter.DisplayName);
                CollectionAssert.AreEqual(new[] { "increment", "reset" }, counter.Actions.Select(a => a.Name));

                var opened = session.Rpc.Canvas.OpenAsync(new CanvasOpenRequest { CanvasId = "counter", InstanceId = "counter-1", Input = new JObject { ["start"] = 3 } }).Result;
                Assert.AreEqual("https://example.test/counter/counter-1", opened.Url);
                Assert.AreEqual("counter-1", opened.InstanceId);
                var acted = session.Rpc.Canvas.Action.InvokeAsync(new CanvasActionInvokeRequest { InstanceId = "counter-1", ActionName = "increment", Input = new JObject { ["amount"] = 2 } }).Result;
                Assert.AreEqual(5, (int)acted.Result["count"], acted.Result.ToString());
                // The generic call reaches the same handler; an action it does not implement fails
                // with the handler's message.
                var e = Assert.Throws<AggregateException>(() => session.CallAsync("session.canvas.action.invoke",
                    new JObject { ["instanceId"] = "counter-1", ["actionName"] = "reset" }).Wait());
                Assert.IsInstanceOf<CopilotException>(e.InnerException, e.InnerException.ToString());
                StringAssert.Contains("No handler implemented for this canvas action", e.InnerException.Message, "CanvasHandlerBase's CanvasException.NoHandler()");
                session.Rpc.Canvas.CloseAsync(new CanvasCloseRequest { InstanceId = "counter-1" }).Wait();

                lock (handler.Calls)
                {
                    CollectionAssert.AreEqual(new[]
                    {
                        "open counter/counter-1", "action increment counter/counter-1",
                        "action reset counter/counter-1", "close counter/counter-1",
                    }, handler.Calls);
                    CollectionAssert.AreEqual(Enumerable.Repeat(session.SessionId, 4), handler.SessionIds);
                }
            }

            // The canvas fields on the wire.
            var fields = Fields(new ResumeSessionConfig
            {
                Canvases = new[] { new CanvasDeclaration { Id = "c", DisplayName = "C", Description = "d" } },
                CanvasProvider = new CanvasProviderIdentity { Id = "app:builtin:1" },
                ExtensionInfo = new ExtensionInfo { Source = "github-app", Name = "app" },
                OpenCanvases = new[] { new OpenCanvasInstance { CanvasId = "c", ExtensionId = "app:builtin:1", InstanceId = "c-1" } },
            });
            var want = JObject.Parse(@"{""canvases"": [{""id"": ""c"", ""displayName"": ""C"", ""description"": ""d""}],
                ""extensionInfo"": {""source"": ""github-app"", ""name"": ""app""}, ""canvasProvider"": {""id"": ""app:builtin:1""},
                ""openCanvases"": [{""instanceId"": ""c-1"", ""extensionId"": ""app:builtin:1"", ""canvasId"": ""c""}]}");
            Assert.IsTrue(JToken.DeepEquals(want, fields), fields.ToString());
        }

        /// <summary>A BYOK provider's BearerTokenProvider is asked once before every model request
        /// (hasBearerTokenProvider, answered through the session's "providerToken" handler), with the
        /// provider name "default" and the session's id; the token it gives is what authenticates.</summary>
        [Test]
        public void BearerTokenProviderIsAskedBeforeEachModelRequest()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var asked = new List<ProviderTokenArgs>();
                var cfg = env.Config();
                cfg.Provider = new ProviderConfig
                {
                    Type = "openai",
                    BaseUrl = env.ProviderUrl,
                    WireApi = "completions",
                    BearerTokenProvider = args =>
                    {
                        int n;
                        lock (asked) { asked.Add(args); n = asked.Count; }
                        return Task.FromResult("token-" + n);
                    },
                };
                var provider = (JObject)Fields(cfg)["provider"];
                Assert.IsTrue((bool)provider["hasBearerTokenProvider"], provider.ToString());
                Assert.IsNull(provider["apiKey"], provider.ToString());

                var session = client.CreateSessionAsync(cfg).Result;
                Assert.AreEqual("The capital of France is Paris.", session.SendAndWaitAsync(France, Turn).Result.Content);
                lock (asked) Assert.AreEqual(1, asked.Count, "one token for the first turn's model request");
                Assert.AreEqual("The capital of Italy is Rome.", session.SendAndWaitAsync("And the capital of Italy?", Turn).Result.Content);
                Assert.AreEqual(2, env.Replay.Requests().Count, "two model requests");
                lock (asked)
                {
                    Assert.AreEqual(2, asked.Count, "one token per model request");
                    foreach (var a in asked)
                    {
                        Assert.AreEqual("default", a.ProviderName);
                        Assert.AreEqual(session.SessionId, a.SessionId);
                    }
                }
            }

            // Named providers send the flag too (the callback itself never reaches the wire).
            var named = Fields(new SessionConfig { Providers = new[] { new NamedProviderConfig { Name = "azure-ai", BaseUrl = "https://a", BearerTokenProvider = a => Task.FromResult("t") } } });
            Assert.IsTrue(JToken.DeepEquals(JObject.Parse("{\"providers\": [{\"name\": \"azure-ai\", \"baseUrl\": \"https://a\", \"hasBearerTokenProvider\": true}]}"), named), named.ToString());
        }

        /// <summary>OnGitHubTelemetry opts the client into telemetry forwarding and receives the
        /// CLI's gitHubTelemetry.event notifications, typed.</summary>
        [Test]
        public void OnGitHubTelemetryReceivesForwardedEvents()
        {
            using (var env = new TestEnv("chat.yaml"))
            {
                var got = new List<GitHubTelemetryNotification>();
                var seen = new ManualResetEventSlim();
                var raw = new List<string>();
                using (var client = env.Client(o => o.OnGitHubTelemetry = n =>
                {
                    lock (got) got.Add(n);
                    seen.Set();
                    return Task.FromResult(0);
                }))
                {
                    var generic = new ManualResetEventSlim();
                    client.OnNotification("gitHubTelemetry.event", (method, p) => { lock (raw) raw.Add(method + " " + (string)p.SelectToken("event.kind")); generic.Set(); });
                    var session = client.CreateSessionAsync(env.Config()).Result;
                    Assert.AreEqual("The capital of France is Paris.", session.SendAndWaitAsync(France, Turn).Result.Content);
                    Assert.IsTrue(seen.Wait(TimeSpan.FromSeconds(30)), "a gitHubTelemetry.event within 30 s");
                    lock (got)
                    {
                        Assert.IsNotEmpty(got[0].Event.Kind);
                        Assert.IsTrue(got.All(n => !string.IsNullOrEmpty(n.Event.Kind)));
                    }
                    Assert.IsTrue(generic.Wait(TimeSpan.FromSeconds(30)), "OnNotification for the same method");
                    lock (raw) StringAssert.StartsWith("gitHubTelemetry.event ", raw[0]);
                }
            }
        }

        /// <summary>OnListModels answers ListModelsAsync without the CLI: the client is never started
        /// (its CLI path does not exist).</summary>
        [Test]
        public void OnListModelsAnswersListModelsWithoutTheCli()
        {
            var calls = 0;
            var options = new CopilotClientOptions
            {
                CliPath = "/nonexistent/copilot",
                OnListModels = ct =>
                {
                    Interlocked.Increment(ref calls);
                    return Task.FromResult<IList<ModelInfo>>(new List<ModelInfo>
                    {
                        new ModelInfo { Id = "my-model", Name = "My Model", SupportedReasoningEfforts = new[] { "low", "high" }, DefaultReasoningEffort = "low" },
                    });
                },
            };
            using (var client = new CopilotClient(options))
            {
                var models = client.ListModelsAsync().Result;
                Assert.AreEqual(1, models.Count);
                Assert.AreEqual("my-model", models[0].Id);
                Assert.AreEqual("My Model", models[0].Name);
                CollectionAssert.AreEqual(new[] { "low", "high" }, models[0].SupportedReasoningEfforts);
                Assert.AreEqual(1, calls);
                Assert.AreEqual(ClientState.Disconnected, client.State, "the CLI was not started");
                Assert.AreEqual(0, client.CliProcessId);
                JObject json = models[0];
                Assert.AreEqual("my-model", (string)json["id"]);
            }
        }

        /// <summary>Without OnListModels, ListModelsAsync lists the CLI's models.list, typed, each
        /// with its JSON in Raw (a signed-in client: the CLI asks the Copilot API, copilot-replay).</summary>
        [Test]
        public void ListModelsAsyncReadsTheCliModels()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client(o => o.GitHubToken = "gho_copilot_replay_test_token"))
            {
                var models = client.ListModelsAsync().Result;
                var sonnet = models.Single(m => m.Id == "claude-sonnet-4.5");
                Assert.AreEqual("claude-sonnet-4.5", sonnet.Name);
                Assert.AreEqual(128000, sonnet.Capabilities.Limits.MaxContextWindowTokens, sonnet.Raw.ToString());
                Assert.AreEqual(true, sonnet.Capabilities.Supports.Vision);
                Assert.AreEqual("claude-sonnet-4.5", (string)sonnet.Raw["id"]);
                JObject json = sonnet;
                Assert.AreSame(sonnet.Raw, json, "a ModelInfo converts to its JSON");
            }
        }

        /// <summary>A ResumeSessionConfig resumes with the handlers registered again.</summary>
        [Test]
        public void ResumeWithAResumeSessionConfig()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var session = client.CreateSessionAsync(env.Config()).Result;
                Assert.AreEqual("The capital of France is Paris.", session.SendAndWaitAsync(France, Turn).Result.Content);
                var id = session.SessionId;
                session.DisposeAsync().Wait();
                var resumed = client.ResumeSessionAsync(id, env.Config(new ResumeSessionConfig { ContinuePendingWork = false })).Result;
                Assert.AreEqual(id, resumed.SessionId);
                Assert.AreEqual("The capital of Italy is Rome.", resumed.SendAndWaitAsync("And the capital of Italy?", Turn).Result.Content);
            }
        }
    }
}
