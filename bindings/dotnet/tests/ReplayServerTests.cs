using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using GitHub.Copilot.Testing;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace GitHub.Copilot.Tests
{
    /// <summary>What the model was sent, from <see cref="ReplayServer.Requests"/>.</summary>
    [TestFixture]
    public class ReplayServerTests
    {
        private const string Paris = "What is the weather in Paris? Use the get_weather tool.";

        [Test]
        public void TheModelReceivesTheSystemMessageAndTheToolResult()
        {
            const string marker = "Answer like a weather reporter (marker 7f3a).";
            using (var env = new TestEnv("weather_tool.yaml"))
            using (var client = env.Client())
            {
                int calls = 0;
                var tool = CopilotTool.Define<WeatherArgs>("get_weather", "Current weather for a city", (args, inv) =>
                {
                    Interlocked.Increment(ref calls);
                    return Task.FromResult<object>("18C and sunny");
                });
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    SystemMessage = new JObject { ["mode"] = "append", ["content"] = marker },
                    Tools = new[] { tool },
                    OnPermissionRequest = PermissionHandler.ApproveAll,
                })).Result;
                var answer = session.SendAndWaitAsync(Paris, TimeSpan.FromSeconds(60)).Result;
                Assert.AreEqual("It is 18C and sunny in Paris.", answer.Content);
                Assert.AreEqual(1, calls);

                var requests = env.Replay.Requests();
                Assert.AreEqual(2, requests.Count, "the tool call's request and the answer's");
                foreach (var r in requests)
                {
                    Assert.AreEqual("POST", r.Method);
                    StringAssert.EndsWith("/chat/completions", r.Path);
                    CollectionAssert.Contains(r.ToolNames, "get_weather");
                    Assert.AreEqual("system", (string)r.Messages[0]["role"]);
                    StringAssert.Contains(marker, ReplayRequest.Text(r.Messages[0]));
                }
                // The second request ends with the tool's result, answering the first's call.
                var messages = requests[1].Messages;
                var call = messages[messages.Count - 2];
                var result = messages[messages.Count - 1];
                Assert.AreEqual("get_weather", (string)call.SelectToken("tool_calls[0].function.name"));
                Assert.AreEqual("tool", (string)result["role"]);
                Assert.AreEqual((string)call.SelectToken("tool_calls[0].id"), (string)result["tool_call_id"]);
                StringAssert.Contains("18C and sunny", ReplayRequest.Text(result));
                client.StopAsync().Wait();
            }
        }

        [Test]
        public void DisposeStopsTheServer()
        {
            var env = new TestEnv("chat.yaml");
            var pid = env.Replay.ProcessId;
            Assert.IsEmpty(env.Replay.Requests());
            env.Dispose();
            Assert.IsFalse(System.IO.Directory.Exists("/proc/" + pid), "copilot-replay still running (or unreaped)");
        }
    }
}
