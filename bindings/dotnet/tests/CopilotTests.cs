using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using GitHub.Copilot.Rpc;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace GitHub.Copilot.Tests
{
    public class WeatherArgs
    {
        public string City { get; set; }
    }

    [TestFixture]
    public class CopilotTests
    {
        private const string Paris = "What is the weather in Paris? Use the get_weather tool.";
        private static readonly TimeSpan Turn = TimeSpan.FromSeconds(60);

        /// <summary>RuntimeConnection.ForInProcess hosts the runtime in this process: a turn
        /// with no CLI process, and WorkingDirectory refused (the runtime shares the process's).</summary>
        [Test]
        public void InProcessRuntimeCarriesATurn()
        {
            using (var env = new TestEnv("chat.yaml"))
            {
                var e = Assert.Throws<CopilotException>(() => env.Client(o => o.Connection = RuntimeConnection.ForInProcess()));
                StringAssert.Contains("cwd cannot be used", e.Message);
                using (var client = env.Client(o => { o.Connection = RuntimeConnection.ForInProcess(); o.WorkingDirectory = null; }))
                {
                    var session = client.CreateSessionAsync(env.Config()).Result;
                    Assert.AreEqual(0, client.CliProcessId, "no CLI process in process mode");
                    var answer = session.SendAndWaitAsync("What is the capital of France?", Turn).Result;
                    Assert.AreEqual("The capital of France is Paris.", answer.Content);
                    client.StopAsync().Wait();
                }
            }
        }

        private static CopilotTool Weather(Func<string, object> answer, Action onCall = null)
        {
            return CopilotTool.Define<WeatherArgs>("get_weather", "Current weather for a city", (args, inv) =>
            {
                if (onCall != null) onCall();
                return Task.FromResult(answer(args.City));
            });
        }

        [Test]
        public void ToolRoundTripWithSchemaFromAParameterClass()
        {
            using (var env = new TestEnv("weather_tool.yaml"))
            using (var client = env.Client())
            {
                int calls = 0;
                var tool = Weather(c => "18C and sunny", () => Interlocked.Increment(ref calls));
                Assert.AreEqual("string", (string)tool.Parameters["properties"]["city"]["type"]);
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    Tools = new[] { tool },
                    OnPermissionRequest = PermissionHandler.ApproveAll,
                })).Result;
                var answer = session.SendAndWaitAsync(Paris, Turn).Result;
                Assert.AreEqual("It is 18C and sunny in Paris.", answer.Content);
                Assert.AreEqual(1, calls);
                client.StopAsync().Wait();
            }
        }

        [Test]
        public void StreamingDeltasAddUpToTheMessage()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var deltas = new List<string>();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    Streaming = true,
                    OnEvent = e => { if (e is AssistantMessageDeltaEvent d) lock (deltas) deltas.Add(d.Data.DeltaContent); },
                })).Result;
                var answer = session.SendAndWaitAsync("Count from one to ten in words.", Turn).Result;
                lock (deltas)
                {
                    Assert.GreaterOrEqual(deltas.Count, 2);
                    Assert.AreEqual(answer.Content, string.Concat(deltas));
                }
                client.StopAsync().Wait();
            }
        }

        [Test]
        public void DeniedPermissionMeansTheToolNeverRuns()
        {
            using (var env = new TestEnv("weather_tool.yaml", "denied.yaml"))
            using (var client = env.Client())
            {
                int calls = 0;
                var asked = new List<KeyValuePair<PermissionRequest, PermissionInvocation>>();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    Tools = new[] { Weather(c => "no", () => Interlocked.Increment(ref calls)) },
                    OnPermissionRequest = (r, inv) =>
                    {
                        lock (asked) asked.Add(new KeyValuePair<PermissionRequest, PermissionInvocation>(r, inv));
                        return Task.FromResult(PermissionDecision.Reject("not allowed"));
                    },
                })).Result;
                var answer = session.SendAndWaitAsync("What is the weather in Rome? Use the get_weather tool.", Turn).Result;
                Assert.AreEqual("I was not allowed to check the weather in Rome.", answer.Content);
                Assert.AreEqual(0, calls);
                lock (asked)
                {
                    // The typed request: the custom-tool variant, naming the tool.
                    Assert.AreEqual(1, asked.Count);
                    var tool = asked[0].Key as PermissionRequestCustomTool;
                    Assert.IsNotNull(tool, asked[0].Key.GetType().Name);
                    Assert.AreEqual("custom-tool", tool.Kind);
                    Assert.AreEqual("get_weather", tool.ToolName);
                    Assert.AreEqual("Rome", (string)tool.Args["city"]);
                    var inv = asked[0].Value;
                    Assert.AreEqual(session.SessionId, inv.SessionId);
                    Assert.IsNotEmpty(inv.RequestId);
                    Assert.IsFalse(inv.ManagedSettingsEnabled);
                    Assert.AreEqual(inv.RequestId, inv.Data.RequestId);
                    Assert.AreSame(tool.GetType(), inv.Data.PermissionRequest.GetType());
                }
            }
        }

        [Test]
        public void NoResultPermissionDecisionLeavesTheRequestPending()
        {
            using (var env = new TestEnv("weather_tool.yaml"))
            using (var client = env.Client())
            {
                int calls = 0;
                var asked = new TaskCompletionSource<string>();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    Tools = new[] { Weather(c => "18C and sunny", () => Interlocked.Increment(ref calls)) },
                    OnPermissionRequest = (r, inv) => { asked.TrySetResult(inv.RequestId); return Task.FromResult(PermissionDecision.NoResult()); },
                })).Result;
                var turn = session.SendAndWaitAsync(Paris, Turn);
                Assert.IsTrue(asked.Task.Wait(TimeSpan.FromSeconds(20)), "the permission handler ran");
                // Still pending: the CLI lists it, and the tool has not run.
                var pending = session.Rpc.Permissions.PendingRequestsAsync().Result;
                Assert.AreEqual(1, pending.Items.Count, "pending requests");
                Assert.AreEqual(asked.Task.Result, pending.Items[0].RequestId);
                Assert.AreEqual(0, calls, "the tool ran before anyone approved it");
                // The wrapper sent nothing, so the request is still pending and this answer is the one
                // that counts (had "user-not-available" gone out, the CLI would refuse it and deny the tool).
                var answer = session.CallAsync("session.permissions.handlePendingPermissionRequest", new JObject
                {
                    ["requestId"] = asked.Task.Result,
                    ["result"] = new JObject { ["kind"] = "approve-once" },
                }, default(CancellationToken), Turn).Result;
                Assert.AreEqual(true, (bool)answer["success"], answer.ToString());
                Assert.AreEqual("It is 18C and sunny in Paris.", turn.Result.Content);
                Assert.AreEqual(1, calls);
            }
        }

        [Test]
        public void LifecycleHandlerSeesTheSessionCreated()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var created = new List<string>();
                var seen = new SemaphoreSlim(0);
                var muted = new List<string>();
                var registration = client.OnLifecycle(e =>
                {
                    if (e is SessionCreatedEvent) { lock (created) created.Add(e.SessionId); seen.Release(); }
                });
                var stopped = client.OnLifecycle(e => { lock (muted) muted.Add(e.Type); });
                stopped.Dispose();
                var session = client.CreateSessionAsync(env.Config()).Result;
                var deadline = DateTime.UtcNow.AddSeconds(15);
                while (true)
                {
                    lock (created) if (created.Contains(session.SessionId)) break;
                    Assert.IsTrue(seen.Wait(deadline - DateTime.UtcNow), "no session.created for " + session.SessionId);
                }
                registration.Dispose();
                lock (muted) Assert.IsEmpty(muted, "a disposed handler was called");
            }
        }

        [Test]
        public void ElicitationCallReachesTheSessionsOwnHandler()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var seen = new List<ElicitationContext>();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    OnElicitationRequest = ctx =>
                    {
                        int n;
                        lock (seen) { seen.Add(ctx); n = seen.Count; }
                        if (n == 2) throw new InvalidOperationException("the dialog broke");
                        return Task.FromResult(ElicitationResult.Accept(new JObject { ["name"] = "Mona" }));
                    },
                })).Result;
                Assert.AreEqual(true, (bool?)session.Capabilities.SelectToken("ui.elicitation"), session.Capabilities.ToString());
                var dialog = new JObject
                {
                    ["message"] = "What is your name?",
                    ["requestedSchema"] = JObject.Parse("{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}}, \"required\": [\"name\"]}"),
                };
                var limit = TimeSpan.FromSeconds(20);
                var accepted = session.CallAsync("session.ui.elicitation", dialog, default(CancellationToken), limit).Result;
                Assert.AreEqual("accept", (string)accepted["action"], accepted.ToString());
                Assert.AreEqual("Mona", (string)accepted["content"]["name"]);
                // A handler that throws answers "cancel".
                var cancelled = session.CallAsync("session.ui.elicitation", dialog, default(CancellationToken), limit).Result;
                Assert.AreEqual("cancel", (string)cancelled["action"], cancelled.ToString());
                lock (seen)
                {
                    Assert.AreEqual(2, seen.Count);
                    Assert.AreEqual("What is your name?", seen[0].Message);
                    Assert.AreEqual("string", (string)seen[0].RequestedSchema["properties"]["name"]["type"]);
                    Assert.AreEqual(session.SessionId, seen[0].SessionId);
                    Assert.IsNotEmpty(seen[0].RequestId);
                }
            }
        }

        [Test]
        public void SessionWithACommandCreatesAndRunsIt()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var ran = new List<CommandContext>();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    Commands = new[]
                    {
                        new CommandDefinition
                        {
                            Name = "deploy",
                            Description = "Deploy the app",
                            Handler = ctx => { lock (ran) ran.Add(ctx); return Task.FromResult(true); },
                        },
                        new CommandDefinition
                        {
                            Name = "rollback",
                            Handler = ctx => { throw new InvalidOperationException("nothing to roll back"); },
                        },
                    },
                })).Result;
                Assert.IsNotEmpty(session.SessionId);
                // session.commands.execute runs the command synchronously: the reply comes once
                // the handler answered (session.commands.handlePendingCommand).
                var limit = TimeSpan.FromSeconds(20);
                var done = session.CallAsync("session.commands.execute", new JObject { ["commandName"] = "deploy", ["args"] = "production" }, default(CancellationToken), limit).Result;
                Assert.IsNull(done["error"], done.ToString());
                lock (ran)
                {
                    Assert.AreEqual(1, ran.Count);
                    Assert.AreEqual("deploy", ran[0].CommandName);
                    Assert.AreEqual("production", ran[0].Args);
                    Assert.AreEqual("/deploy production", ran[0].Command);
                    Assert.AreEqual(session.SessionId, ran[0].SessionId);
                }
                var failed = session.CallAsync("session.commands.execute", new JObject { ["commandName"] = "rollback", ["args"] = "" }, default(CancellationToken), limit).Result;
                StringAssert.Contains("nothing to roll back", (string)failed["error"], failed.ToString());
            }
        }

        [Test]
        public void ExitPlanModeHandlerApprovesThePlan()
        {
            using (var env = new TestEnv("exit_plan_mode.yaml"))
            using (var client = env.Client())
            {
                var seen = new List<ExitPlanModeRequest>();
                var completed = new List<ExitPlanModeCompletedEvent>();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    OnPermissionRequest = PermissionHandler.ApproveAll,
                    OnExitPlanModeRequest = r =>
                    {
                        lock (seen) seen.Add(r);
                        return Task.FromResult(new ExitPlanModeResult { SelectedAction = "interactive", Feedback = "Looks good" });
                    },
                    OnEvent = e => { var c = e as ExitPlanModeCompletedEvent; if (c != null) lock (completed) completed.Add(c); },
                })).Result;
                session.CallAsync("session.mode.set", new JObject { ["mode"] = "plan" }, default(CancellationToken), Turn).Wait();
                var answer = session.SendAndWaitAsync("Create a brief implementation plan for adding a greeting.txt file, then request approval with exit_plan_mode.", Turn).Result;
                Assert.AreEqual("Plan approved; I will wait for the next instruction before making changes.", answer.Content);
                lock (seen)
                {
                    Assert.AreEqual(1, seen.Count);
                    Assert.AreEqual(session.SessionId, seen[0].SessionId);
                    Assert.AreEqual("Greeting file implementation plan", seen[0].Summary);
                    CollectionAssert.AreEqual(new[] { "autopilot", "interactive", "exit_only" }, seen[0].Actions);
                    Assert.AreEqual("interactive", seen[0].RecommendedAction);
                }
                lock (completed)
                {
                    Assert.AreEqual(1, completed.Count);
                    Assert.AreEqual(true, completed[0].Data.Approved, completed[0].Raw);
                    Assert.AreEqual(ExitPlanModeAction.Interactive, completed[0].Data.SelectedAction);
                    Assert.AreEqual("Looks good", completed[0].Data.Feedback);
                }
            }
        }

        [Test]
        public void SystemMessageSectionTransformSeesTheSectionText()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var seen = new Dictionary<string, string>();
                Func<string, Func<string, Task<string>>> record = id => text =>
                {
                    lock (seen) seen[id] = text;
                    return Task.FromResult(text + "\nAnswer in one sentence.");
                };
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    SystemMessageSections = new Dictionary<string, SectionOverride>
                    {
                        [SystemMessageSection.Tone] = new SectionOverride { Transform = record(SystemMessageSection.Tone) },
                        [SystemMessageSection.Safety] = new SectionOverride { Transform = t => { throw new InvalidOperationException("broken"); } },
                        [SystemMessageSection.Guidelines] = new SectionOverride { Action = "append", Content = "Be kind." },
                    },
                })).Result;
                Assert.AreEqual("The capital of France is Paris.", session.SendAndWaitAsync("What is the capital of France?", Turn).Result.Content);
                lock (seen)
                {
                    CollectionAssert.AreEquivalent(new[] { SystemMessageSection.Tone }, seen.Keys);
                    Assert.IsNotEmpty(seen[SystemMessageSection.Tone].Trim(), "the tone section's text");
                }
            }
        }

        [Test]
        public void SessionFsProviderKeepsTheSessionsState()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client(o => o.SessionFs = new SessionFsConfig
            {
                InitialCwd = "/",
                SessionStatePath = "/session-state",
                Conventions = SessionFsConventions.Posix,
            }))
            {
                // Without a provider, a client with SessionFs cannot create sessions.
                var refused = Assert.Throws<AggregateException>(() => client.CreateSessionAsync(env.Config()).Wait());
                Assert.AreEqual(CopilotStatus.InvalidArgument, ((CopilotException)refused.InnerException).Status);

                MemFs fs = null;
                var cfg = env.Config(new SessionConfig
                {
                    OnPermissionRequest = PermissionHandler.ApproveAll,
                    CreateSessionFsProvider = sid => fs = new MemFs(sid),
                });
                // The CLI looks the working directory up through the provider too.
                cfg.WorkingDirectory = "/";
                var session = client.CreateSessionAsync(cfg).Result;
                Assert.IsNotNull(fs, "the factory ran");
                Assert.AreEqual(session.SessionId, fs.SessionId);
                Assert.AreEqual("The capital of France is Paris.", session.SendAndWaitAsync("What is the capital of France?", Turn).Result.Content);
                session.DisposeAsync().Wait();
                var log = fs.Read("/session-state/events.jsonl");
                Assert.IsNotNull(log, "events.jsonl was written through the provider; operations: " + string.Join(", ", fs.Ops));
                StringAssert.Contains("The capital of France is Paris.", log);
                // Appends were applied whole and in order: every line is one event, the first session.start.
                var lines = log.Split(new[] { '\n' }, StringSplitOptions.RemoveEmptyEntries);
                Assert.AreEqual("session.start", (string)JObject.Parse(lines[0])["type"]);
                foreach (var line in lines) Assert.IsNotNull(JObject.Parse(line)["type"], line);
                lock (fs.Ops) Assert.IsTrue(fs.Ops.Exists(op => op.StartsWith("appendFile ") || op.StartsWith("writeFile ")), string.Join(", ", fs.Ops));
            }
        }

        [Test]
        public void AutoModeSwitchHandlerAnswersARateLimit()
        {
            using (var env = new TestEnv("auto_mode_switch.yaml"))
            using (var client = env.Client())
            {
                var seen = new List<AutoModeSwitchRequest>();
                var events = new List<SessionEvent>();
                var idle = new TaskCompletionSource<bool>();
                var session = client.CreateSessionAsync(env.CopilotApiConfig(new SessionConfig
                {
                    OnPermissionRequest = PermissionHandler.ApproveAll,
                    OnAutoModeSwitchRequest = r => { lock (seen) seen.Add(r); return Task.FromResult(AutoModeSwitchResponse.Yes); },
                    OnEvent = e =>
                    {
                        bool switched;
                        lock (events) { events.Add(e); switched = events.Exists(x => x.Type == "auto_mode_switch.completed"); }
                        if (e.Type == "session.idle" && switched) idle.TrySetResult(true);
                    },
                })).Result;
                // The rate limit ends the turn with session.error (so SendAndWaitAsync would throw);
                // the CLI then asks whether to switch, switches the session's model, and goes idle.
                session.SendAsync("Say that auto mode took over after the rate limit.").Wait();
                Assert.IsTrue(idle.Task.Wait(TimeSpan.FromSeconds(20)), "idle after the switch");
                lock (seen)
                {
                    Assert.AreEqual(1, seen.Count);
                    Assert.AreEqual(session.SessionId, seen[0].SessionId);
                    Assert.AreEqual("user_weekly_rate_limited", seen[0].ErrorCode);
                    Assert.AreEqual(1.0, seen[0].RetryAfterSeconds);
                }
                lock (events)
                {
                    var types = string.Join(", ", events.ConvertAll(e => e.Type));
                    var completed = events.OfType<AutoModeSwitchCompletedEvent>().FirstOrDefault();
                    Assert.IsNotNull(completed, types);
                    Assert.AreEqual("yes", completed.Data.Response.Value);
                    var change = events.OfType<SessionModelChangeEvent>().FirstOrDefault();
                    Assert.IsNotNull(change, "the session switched models: " + types);
                    Assert.AreEqual("rate_limit_auto_switch", change.Data.Cause, change.Raw);
                }
            }
        }

        [Test]
        public void SessionWithAnMcpAuthHandlerCreatesAndResumes()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                // The handler makes the session register interest in mcp.oauth_required after
                // create and resume; no MCP server here asks for OAuth, so it is never called.
                int asked = 0;
                Func<SessionConfig> config = () => env.Config(new SessionConfig
                {
                    OnMcpAuthRequest = ctx => { Interlocked.Increment(ref asked); return Task.FromResult(McpAuthResult.Cancel()); },
                });
                var session = client.CreateSessionAsync(config()).Result;
                Assert.AreEqual("The capital of France is Paris.", session.SendAndWaitAsync("What is the capital of France?", Turn).Result.Content);
                var id = session.SessionId;
                session.DisposeAsync().Wait();
                var resumed = client.ResumeSessionAsync(id, config()).Result;
                Assert.AreEqual(id, resumed.SessionId);
                Assert.AreEqual("The capital of Italy is Rome.", resumed.SendAndWaitAsync("And the capital of Italy?", Turn).Result.Content);
                Assert.AreEqual(0, asked);
            }
        }

        /// <summary>Hooks get typed, normalized inputs (WorkingDirectory from "cwd", Timestamp from
        /// Unix milliseconds) and a HookInvocation; their typed outputs reach the CLI.</summary>
        [Test]
        public void HooksSeeToolUse()
        {
            using (var env = new TestEnv("weather_tool.yaml"))
            using (var client = env.Client())
            {
                int calls = 0;
                var seen = new List<string>();
                PreToolUseHookInput pre = null;
                PostToolUseHookInput post = null;
                HookInvocation preInvocation = null;
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    Tools = new[] { Weather(c => "18C and sunny", () => Interlocked.Increment(ref calls)) },
                    OnPermissionRequest = PermissionHandler.ApproveAll,
                    Hooks = new SessionHooks
                    {
                        OnPreToolUse = (input, inv) =>
                        {
                            lock (seen) { seen.Add("pre:" + input.ToolName); pre = input; preInvocation = inv; }
                            return Task.FromResult(new PreToolUseHookOutput { PermissionDecision = "allow" });
                        },
                        OnPostToolUse = (input, inv) =>
                        {
                            lock (seen) { seen.Add("post"); post = input; }
                            return Task.FromResult<PostToolUseHookOutput>(null);
                        },
                    },
                })).Result;
                Assert.AreEqual("It is 18C and sunny in Paris.", session.SendAndWaitAsync(Paris, Turn).Result.Content);
                lock (seen)
                {
                    Assert.AreEqual("pre:get_weather,post", string.Join(",", seen));
                    Assert.AreEqual(session.SessionId, pre.SessionId);
                    Assert.AreEqual(session.SessionId, preInvocation.SessionId);
                    Assert.AreEqual(env.Home, pre.WorkingDirectory);
                    var age = DateTimeOffset.UtcNow - pre.Timestamp;
                    Assert.IsTrue(age >= TimeSpan.FromSeconds(-5) && age < TimeSpan.FromMinutes(1), "timestamp " + pre.Timestamp.ToString("o"));
                    Assert.AreEqual("Paris", (string)pre.ToolArgs["city"], pre.Raw.ToString());
                    Assert.AreEqual("get_weather", post.ToolName);
                    Assert.IsNotNull(post.ToolResult, post.Raw.ToString());
                }
                Assert.AreEqual(1, calls);
            }
        }

        /// <summary>A typed hook output reaches the CLI (preToolUse's ModifiedArgs are what the tool
        /// runs with), userPromptSubmitted sees the prompt, and a hook given by wire name in Other
        /// (the raw escape hatch) sees the input as the CLI sent it.</summary>
        [Test]
        public void HookOutputsReachTheCliAndRawHooksSeeTheWireInput()
        {
            using (var env = new TestEnv("hook_modified_args.yaml"))
            using (var client = env.Client())
            {
                var cities = new List<string>();
                var prompts = new List<string>();
                var raw = new List<JObject>();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    Tools = new[] { Weather(c => { lock (cities) cities.Add(c); return "18C and sunny"; }) },
                    OnPermissionRequest = PermissionHandler.ApproveAll,
                    Hooks = new SessionHooks
                    {
                        OnPreToolUse = (input, inv) => Task.FromResult(new PreToolUseHookOutput
                        {
                            PermissionDecision = "allow",
                            ModifiedArgs = new JObject { ["city"] = "Lyon" },
                        }),
                        OnUserPromptSubmitted = (input, inv) =>
                        {
                            lock (prompts) prompts.Add(input.Prompt);
                            return Task.FromResult<UserPromptSubmittedHookOutput>(null);
                        },
                        Other = new Dictionary<string, Func<JObject, HookInvocation, Task<object>>>
                        {
                            ["postToolUse"] = (input, inv) => { lock (raw) raw.Add(input); return Task.FromResult<object>(null); },
                        },
                    },
                })).Result;
                Assert.AreEqual("It is 18C and sunny in Lyon.", session.SendAndWaitAsync(Paris, Turn).Result.Content);
                lock (cities) CollectionAssert.AreEqual(new[] { "Lyon" }, cities, "the tool ran with the hook's arguments");
                lock (prompts) CollectionAssert.AreEqual(new[] { Paris }, prompts);
                lock (raw)
                {
                    Assert.AreEqual(1, raw.Count);
                    Assert.AreEqual(session.SessionId, (string)raw[0]["sessionId"], raw[0].ToString());
                    Assert.AreEqual(env.Home, (string)raw[0]["cwd"], raw[0].ToString());
                    Assert.AreEqual(JTokenType.Integer, raw[0]["timestamp"].Type, "the wire timestamp is Unix milliseconds");
                    Assert.AreEqual("get_weather", (string)raw[0]["toolName"]);
                }
            }
        }

        [Test]
        public void UserInputHandlerAnswersAskUser()
        {
            using (var env = new TestEnv("ask_user.yaml"))
            using (var client = env.Client())
            {
                UserInputRequest asked = null;
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    OnPermissionRequest = PermissionHandler.ApproveAll,
                    OnUserInputRequest = r => { asked = r; return Task.FromResult(new UserInputResponse { Answer = "Blue" }); },
                })).Result;
                var answer = session.SendAndWaitAsync("Ask me which color I like, using the ask_user tool with the choices Red and Blue.", Turn).Result;
                Assert.AreEqual("You like Blue.", answer.Content);
                Assert.AreEqual("Which color do you like?", asked.Question);
                CollectionAssert.AreEqual(new[] { "Red", "Blue" }, asked.Choices);
            }
        }

        [Test]
        public void ConcurrentSessionsFromTasks()
        {
            using (var env = new TestEnv("weather_tool.yaml"))
            using (var client = env.Client())
            {
                int calls = 0;
                var turns = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
                {
                    var s = await client.CreateSessionAsync(env.Config(new SessionConfig
                    {
                        Tools = new[] { Weather(c => "18C and sunny", () => Interlocked.Increment(ref calls)) },
                        OnPermissionRequest = PermissionHandler.ApproveAll,
                    }));
                    var a = await s.SendAndWaitAsync(Paris, Turn);
                    await s.DisposeAsync();
                    return a.Content;
                })).ToArray();
                Task.WaitAll(turns);
                foreach (var t in turns) Assert.AreEqual("It is 18C and sunny in Paris.", t.Result);
                Assert.AreEqual(8, calls);
            }
        }

        [Test]
        public void TimeoutsAndCancellation()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var session = client.CreateSessionAsync(env.Config()).Result;
                var timeout = Assert.Throws<AggregateException>(() =>
                    session.SendAndWaitAsync("What is the capital of France?", TimeSpan.FromMilliseconds(5)).Wait());
                Assert.AreEqual(CopilotStatus.Timeout, ((CopilotException)timeout.InnerException).Status);

                var fresh = client.CreateSessionAsync(env.Config()).Result;
                var cancelled = Assert.Throws<AggregateException>(() =>
                    fresh.SendAndWaitAsync("x", Turn, new CancellationToken(true)).Wait());
                Assert.IsInstanceOf<OperationCanceledException>(cancelled.InnerException);
                Assert.AreEqual("The capital of France is Paris.", fresh.SendAndWaitAsync("What is the capital of France?", Turn).Result.Content);

                // No client can show this dialog, so the CLI never answers: the limit ends the call.
                var dialog = JObject.Parse("{\"message\": \"Pick one\", \"requestedSchema\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"string\"}}}}");
                var unanswered = Assert.Throws<AggregateException>(() =>
                    fresh.CallAsync("session.ui.elicitation", dialog, default(CancellationToken), TimeSpan.FromMilliseconds(300)).Wait());
                Assert.AreEqual(CopilotStatus.Timeout, ((CopilotException)unanswered.InnerException).Status);
                Assert.IsNotEmpty(fresh.CallAsync("session.mode.get", null, default(CancellationToken), Turn).Result.ToString());
            }
        }

        [Test]
        public void ErrorsCarryStatusAndRpcCode()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                client.StartAsync().Wait();
                var e = Assert.Throws<AggregateException>(() => client.CallAsync("no.such.method").Wait());
                var ce = (CopilotException)e.InnerException;
                Assert.AreEqual(CopilotStatus.Rpc, ce.Status);
                Assert.AreEqual(-32601, ce.RpcCode);
                using (var missing = new CopilotClient(new CopilotClientOptions { CliPath = "/nonexistent/copilot" }))
                {
                    var nf = Assert.Throws<AggregateException>(() => missing.StartAsync().Wait());
                    Assert.AreEqual(CopilotStatus.CliNotFound, ((CopilotException)nf.InnerException).Status);
                }
            }
        }

        [Test]
        public void DisposingTheClientInsideAHandlerDoesNotDeadlock()
        {
            using (var env = new TestEnv("chat.yaml"))
            {
                var client = env.Client();
                var disposed = new ManualResetEventSlim();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    OnEvent = e => { if (e.Type == "assistant.message") { client.Dispose(); disposed.Set(); } },
                })).Result;
                var turn = session.SendAndWaitAsync("What is the capital of France?", Turn);
                Assert.IsTrue(disposed.Wait(TimeSpan.FromSeconds(60)), "the handler ran");
                // The wait ends instead of hanging, failing: its client is gone
                // before the turn's session.idle.
                Assert.IsTrue(((Task)turn).ContinueWith(t => { }).Wait(TimeSpan.FromSeconds(30)), "send_and_wait returned");
                Assert.IsTrue(turn.IsFaulted, "the turn of a disposed client did not fail");
                var gone = (CopilotException)turn.Exception.InnerException;
                Assert.AreEqual(CopilotStatus.InvalidState, gone.Status, gone.Message);
                session.Dispose();
            }
        }

        [Test]
        public void ProcessExitWithLiveHandlesDoesNotHang()
        {
            var probe = Path.Combine(TestEnv.Root, "target/dotnet/ExitProbe.exe");
            using (var env = new TestEnv("chat.yaml"))
            {
                var psi = new ProcessStartInfo("mono", "\"" + probe + "\" \"" + env.ProviderUrl + "\" \"" + env.Home + "\"")
                {
                    UseShellExecute = false,
                    RedirectStandardOutput = true,
                };
                psi.EnvironmentVariables["COPILOT_CLI_PATH"] = TestEnv.CliPath;
                var p = Process.Start(psi);
                // Read in the background: a probe that hangs must fail the test, not hang it.
                var output = p.StandardOutput.ReadToEndAsync();
                if (!p.WaitForExit(30000))
                {
                    p.Kill();
                    Assert.Fail("mono did not exit with live handles");
                }
                StringAssert.Contains("session live", output.Result);
                Assert.AreEqual(0, p.ExitCode);
            }
        }

        [Test]
        public void CrashedCliIsRestartedAndTheSessionContinues()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var states = new List<ClientState>();
                client.OnStateChange((s, why) => { lock (states) states.Add(s); });
                var session = client.CreateSessionAsync(env.Config()).Result;
                Assert.AreEqual("The capital of France is Paris.", session.SendAndWaitAsync("What is the capital of France?", Turn).Result.Content);
                var old = client.CliProcessId;
                Process.GetProcessById(old).Kill();
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (client.CliProcessId == old || client.CliProcessId == 0 || client.State != ClientState.Connected)
                {
                    Assert.Less(DateTime.UtcNow, deadline, "not restarted");
                    Thread.Sleep(20);
                }
                Assert.AreEqual("The capital of Italy is Rome.", session.SendAndWaitAsync("And the capital of Italy?", Turn).Result.Content);
                lock (states) CollectionAssert.Contains(states, ClientState.Restarting);
            }
        }

        /// <summary>A client on the hostile fake CLI (tests/hostile/fake_cli.py) in a mode.</summary>
        private static CopilotClient FakeCliClient(string mode, CopilotClientOptions options)
        {
            var env = new Dictionary<string, string>();
            foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
                env[(string)e.Key] = (string)e.Value;
            env["FAKE_CLI_MODE"] = mode;
            options.CliPath = Path.Combine(TestEnv.Root, "tests/hostile/fake_cli.py");
            options.Environment = env;
            options.AutoRestart = false;
            return new CopilotClient(options);
        }

        [Test]
        public void DroppedInputIsCountedInStats()
        {
            // The fake answers a send with an event nested a million levels deep, one with
            // invalid UTF-8 and one for an unknown session, then session.idle.
            using (var client = FakeCliClient("bad_events", new CopilotClientOptions()))
            {
                var idle = new ManualResetEventSlim();
                var session = client.CreateSessionAsync(new SessionConfig
                {
                    OnEvent = e => { if (e.Type == "session.idle") idle.Set(); },
                }).Result;
                Assert.AreEqual(0, client.Stats.DroppedMessages);
                session.SendAsync("hi").Wait();
                Assert.IsTrue(idle.Wait(TimeSpan.FromSeconds(30)), "no session.idle after the bad events");
                var stats = client.Stats;
                Assert.AreEqual(3, stats.DroppedMessages, stats.LastDropReason);
                Assert.IsNotNull(stats.LastDropReason);
                session.Dispose();
            }
        }

        [Test]
        public void RequestTimeoutBoundsAnUnansweredRequest()
        {
            // The fake goes mute once the session exists.
            using (var client = FakeCliClient("mute", new CopilotClientOptions { RequestTimeout = TimeSpan.FromMilliseconds(1500) }))
            {
                var session = client.CreateSessionAsync(new SessionConfig()).Result;
                var e = Assert.Throws<AggregateException>(() => session.SendAsync("hi").Wait());
                var timeout = (CopilotException)e.InnerException;
                Assert.AreEqual(CopilotStatus.Timeout, timeout.Status);
                StringAssert.Contains("no reply", timeout.Message);
                session.Dispose();
            }
        }

        [Test]
        public void ExtraEnvironmentAddsToTheInheritedOne()
        {
            // The fake CLI's mode comes from ExtraEnvironment alone: muted, the send gets
            // no reply (without it the fake answers and this fails).
            var options = new CopilotClientOptions
            {
                CliPath = Path.Combine(TestEnv.Root, "tests/hostile/fake_cli.py"),
                ExtraEnvironment = new Dictionary<string, string> { { "FAKE_CLI_MODE", "mute" } },
                AutoRestart = false,
                RequestTimeout = TimeSpan.FromSeconds(1),
            };
            using (var client = new CopilotClient(options))
            {
                var session = client.CreateSessionAsync(new SessionConfig()).Result;
                var e = Assert.Throws<AggregateException>(() => session.SendAsync("hi").Wait());
                Assert.AreEqual(CopilotStatus.Timeout, ((CopilotException)e.InnerException).Status);
                session.Dispose();
            }
        }

        [Test]
        public void StallGuardFiresWhenTheTurnGoesSilent()
        {
            using (var env = new TestEnv("stall.yaml"))
            using (var client = env.Client())
            {
                var session = client.CreateSessionAsync(env.Config()).Result;
                var e = Assert.Throws<AggregateException>(() => session.SendAndWaitAsync(
                    new MessageOptions { Prompt = "This request never gets an answer." }, Turn,
                    new WaitOptions { MaxSilence = TimeSpan.FromSeconds(1), AbortOnStall = true }).Wait());
                Assert.AreEqual(CopilotStatus.Stalled, ((CopilotException)e.InnerException).Status);
            }
        }
    }
}
