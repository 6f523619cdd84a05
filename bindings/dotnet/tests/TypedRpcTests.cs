using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using GitHub.Copilot.Rpc;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace GitHub.Copilot.Tests
{
    /// <summary>The generated typed RPC (src/Generated/Rpc.cs): client.Rpc and session.Rpc.</summary>
    [TestFixture]
    public class TypedRpcTests
    {
        private static readonly TimeSpan Turn = TimeSpan.FromSeconds(60);

        private static JObject PinnedApiSchema()
        {
            var cache = Environment.GetEnvironmentVariable("COPILOT_TEST_CACHE");
            if (string.IsNullOrEmpty(cache)) cache = Path.Combine(TestEnv.Root, "target/copilot-cache");
            var found = new List<string>();
            var pkg = Path.Combine(cache, "copilot/pkg");
            if (Directory.Exists(pkg))
                foreach (var platform in Directory.GetDirectories(pkg))
                    foreach (var version in Directory.GetDirectories(platform))
                    {
                        var f = Path.Combine(version, "schemas/api.schema.json");
                        if (File.Exists(f)) found.Add(f);
                    }
            Assert.AreEqual(1, found.Count, "want one unpacked CLI's api.schema.json under " + cache);
            return JObject.Parse(File.ReadAllText(found[0]));
        }

        private static string Pascal(string s)
        {
            return string.Concat(Regex.Split(s, "[^A-Za-z0-9]+").Where(p => p.Length > 0).Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1))).Replace("Github", "GitHub");
        }

        private const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;

        /// <summary>Every server- and session-scope method of the pinned api.schema.json is a typed
        /// method at the path its wire name gives (session.model.switchTo is Rpc.Model.SwitchToAsync).</summary>
        [Test]
        public void EveryServerAndSessionMethodOfThePinnedSchemaIsTyped()
        {
            var schema = PinnedApiSchema();
            var missing = new List<string>();
            int count = 0;
            foreach (var scope in new[] { "server", "session" })
            {
                var root = scope == "server" ? typeof(ServerRpc) : typeof(SessionRpc);
                var stack = new Stack<KeyValuePair<JObject, List<string>>>();
                stack.Push(new KeyValuePair<JObject, List<string>>((JObject)schema[scope], new List<string>()));
                while (stack.Count > 0)
                {
                    var top = stack.Pop();
                    foreach (var prop in top.Key.Properties())
                    {
                        var node = prop.Value as JObject;
                        if (node == null) continue;
                        var path = new List<string>(top.Value) { prop.Name };
                        if (node["rpcMethod"] == null)
                        {
                            stack.Push(new KeyValuePair<JObject, List<string>>(node, path));
                            continue;
                        }
                        count++;
                        var t = root;
                        foreach (var group in path.Take(path.Count - 1))
                        {
                            var p = t == null ? null : t.GetProperty(Pascal(group), Any);
                            t = p == null ? null : p.PropertyType;
                        }
                        var m = t == null ? null : t.GetMethod(Pascal(path.Last()) + "Async", Any);
                        if (m == null || !typeof(Task).IsAssignableFrom(m.ReturnType)) missing.Add((string)node["rpcMethod"]);
                        else if (m.IsPublic == (node["visibility"] != null && (string)node["visibility"] == "internal"))
                            missing.Add((string)node["rpcMethod"] + " (visibility)");
                    }
                }
            }
            CollectionAssert.IsEmpty(missing);
            Assert.GreaterOrEqual(count, 500);
        }

        /// <summary>Typed calls against the real CLI: server scope (ping), session scope (model, mode
        /// and name round trips), params and results both typed; protocol errors as from CallAsync.</summary>
        [Test]
        public void TypedCallsAgainstTheRealCli()
        {
            using (var env = new TestEnv("chat.yaml"))
            using (var client = env.Client())
            {
                var session = client.CreateSessionAsync(env.Config()).Result;

                var pong = client.Rpc.PingAsync(new PingRequest { Message = "typed" }).Result;
                StringAssert.Contains("typed", pong.Message);
                Assert.GreaterOrEqual(pong.ProtocolVersion, 1);
                Assert.Greater(pong.Timestamp, new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
                Assert.GreaterOrEqual(client.Rpc.PingAsync().Result.ProtocolVersion, 1, "params left out");

                var switched = session.Rpc.Model.SwitchToAsync(new ModelSwitchToRequest { ModelId = "gpt-5" }).Result;
                Assert.AreEqual("gpt-5", switched.ModelId);
                Assert.AreEqual("gpt-5", session.Rpc.Model.GetCurrentAsync().Result.ModelId);

                session.Rpc.Mode.SetAsync(new ModeSetRequest { Mode = SessionMode.Plan }).Wait();
                Assert.AreEqual(SessionMode.Plan, session.Rpc.Mode.GetAsync().Result);

                session.Rpc.Name.SetAsync(new NameSetRequest { Name = "typed session" }).Wait();
                Assert.AreEqual("typed session", session.Rpc.Name.GetAsync().Result.Name);

                // Session events inside a result decode to their generated classes.
                var log = session.Rpc.EventLog.ReadAsync().Result;
                Assert.IsNotEmpty(log.Events);
                var start = log.Events.OfType<SessionStartEvent>().FirstOrDefault();
                Assert.IsNotNull(start, string.Join(", ", log.Events.Select(x => x.Type)));
                Assert.AreEqual(session.SessionId, start.Data.SessionId);

                var failed = Assert.Throws<AggregateException>(() => session.Rpc.Model.SwitchToAsync(null).Wait());
                var e = failed.InnerException as CopilotException;
                Assert.IsNotNull(e, failed.InnerException.ToString());
                Assert.AreEqual(CopilotStatus.Rpc, e.Status);
                client.StopAsync().Wait();
            }
        }

        /// <summary>A union in the params: the pending permission request answered with a typed
        /// PermissionDecision variant, as the CallAsync test does with JSON.</summary>
        [Test]
        public void AUnionParamAnswersAPendingPermissionRequest()
        {
            using (var env = new TestEnv("weather_tool.yaml"))
            using (var client = env.Client())
            {
                int calls = 0;
                var asked = new TaskCompletionSource<string>();
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    Tools = new[] { CopilotTool.Define<WeatherArgs>("get_weather", "Current weather for a city", (a, inv) => { Interlocked.Increment(ref calls); return Task.FromResult<object>("18C and sunny"); }) },
                    OnPermissionRequest = (r, inv) => { asked.TrySetResult(inv.RequestId); return Task.FromResult(PermissionDecision.NoResult()); },
                })).Result;
                var turn = session.SendAndWaitAsync("What is the weather in Paris? Use the get_weather tool.", Turn);
                Assert.IsTrue(asked.Task.Wait(TimeSpan.FromSeconds(20)), "the permission handler ran");
                var answer = session.Rpc.Permissions.HandlePendingPermissionRequestAsync(new PermissionDecisionRequest
                {
                    RequestId = asked.Task.Result,
                    Result = new PermissionDecisionApproveOnce(),
                }).Result;
                Assert.IsTrue(answer.Success);
                Assert.AreEqual("It is 18C and sunny in Paris.", turn.Result.Data.Content);
                Assert.AreEqual(1, calls);
            }
        }
    }
}
