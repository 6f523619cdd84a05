using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace GitHub.Copilot.Tests
{
    /// <summary>The generated event classes (src/Generated/SessionEvents.cs) against the pinned
    /// CLI's schema and a real turn.</summary>
    [TestFixture]
    public class TypedEventsTests
    {
        private const string Paris = "What is the weather in Paris? Use the get_weather tool.";

        /// <summary>The unpacked CLI's session-events.schema.json under the test cache, as
        /// scripts/gen-types.py and the Go tests find it.</summary>
        private static JObject PinnedSchema()
        {
            var cache = Environment.GetEnvironmentVariable("COPILOT_TEST_CACHE");
            if (string.IsNullOrEmpty(cache)) cache = Path.Combine(TestEnv.Root, "target/copilot-cache");
            var found = new List<string>();
            var pkg = Path.Combine(cache, "copilot/pkg");
            if (Directory.Exists(pkg))
                foreach (var platform in Directory.GetDirectories(pkg))
                    foreach (var version in Directory.GetDirectories(platform))
                    {
                        var f = Path.Combine(version, "schemas/session-events.schema.json");
                        if (File.Exists(f)) found.Add(f);
                    }
            Assert.AreEqual(1, found.Count, "want one unpacked CLI's session-events.schema.json under " + cache + ": " + string.Join(", ", found));
            return JObject.Parse(File.ReadAllText(found[0]));
        }

        private static List<string> SchemaEventTypes()
        {
            var schema = PinnedSchema();
            var defs = (JObject)schema["definitions"];
            var types = new List<string>();
            foreach (var alt in (JArray)defs["SessionEvent"]["anyOf"])
            {
                var name = ((string)alt["$ref"]).Split('/').Last();
                types.Add((string)defs[name]["properties"]["type"]["const"]);
            }
            return types;
        }

        private static string Envelope(string type, string data)
        {
            return "{\"id\":\"6b1c0a52-0000-4000-8000-000000000001\",\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"parentId\":null,"
                + "\"type\":" + JsonConvert.ToString(type) + ",\"data\":" + data + "}";
        }

        /// <summary>The official SDK's class name: "assistant.message_delta" -> AssistantMessageDeltaEvent.</summary>
        private static string ClassName(string type)
        {
            var name = string.Concat(Regex.Split(type, "[^A-Za-z0-9]+").Where(p => p.Length > 0).Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1)));
            return name.Replace("Github", "GitHub") + "Event";
        }

        [Test]
        public void EveryEventTypeInThePinnedSchemaParsesToItsOwnClass()
        {
            var types = SchemaEventTypes();
            Assert.AreEqual(types.Count, types.Distinct().Count());
            var classes = new HashSet<Type>();
            var failures = new List<string>();
            foreach (var type in types)
            {
                var raw = Envelope(type, "{}");
                var e = SessionEvent.Parse(raw);
                var t = e.GetType();
                if (t == typeof(SessionEvent) || t.Name != ClassName(type) || t.Namespace != "GitHub.Copilot")
                {
                    failures.Add(type + " -> " + t.FullName);
                    continue;
                }
                var data = t.GetProperty("Data", t.BaseType.GetGenericArguments()[0]);
                if (data == null || data.GetValue(e, null) == null) failures.Add(type + ": no typed Data");
                Assert.AreEqual(type, e.Type);
                Assert.AreEqual(raw, e.Raw);
                classes.Add(t);
            }
            CollectionAssert.IsEmpty(failures);
            Assert.AreEqual(types.Count, classes.Count, "one class per type");
            CollectionAssert.AreEquivalent(types, SessionEvent.KnownTypes, "the generated file describes the pinned schema");
            Assert.GreaterOrEqual(types.Count, 150);
        }

        [Test]
        public void EnvelopeFieldsAreRead()
        {
            var raw = "{\"id\":\"a\",\"timestamp\":\"2026-02-03T04:05:06.789Z\",\"parentId\":\"p\",\"ephemeral\":true,\"agentId\":\"sub-1\","
                + "\"type\":\"assistant.message\",\"data\":{\"messageId\":\"m1\",\"content\":\"hi\"}}";
            var e = SessionEvent.Parse(raw);
            var m = e as AssistantMessageEvent;
            Assert.IsNotNull(m, e.GetType().Name);
            Assert.AreEqual("a", m.Id);
            Assert.AreEqual("2026-02-03T04:05:06.789Z", m.Timestamp);
            Assert.AreEqual("p", m.ParentId);
            Assert.IsTrue(m.Ephemeral);
            Assert.AreEqual("sub-1", m.AgentId);
            Assert.AreEqual("hi", m.Data.Content);
            Assert.AreEqual("m1", m.Data.MessageId);
            // The shortcuts of the old hand-written class, and the JSON, stay.
            Assert.AreEqual("hi", m.Content);
            Assert.AreEqual("m1", m.MessageId);
            Assert.AreEqual("hi", (string)((SessionEvent)m).Data["content"]);
        }

        [Test]
        public void UnknownTypesAndMismatchedDataArriveAsTheBaseClass()
        {
            var unknown = Envelope("future.kind", "{\"x\":1}");
            var e = SessionEvent.Parse(unknown);
            Assert.AreEqual(typeof(SessionEvent), e.GetType());
            Assert.AreEqual("future.kind", e.Type);
            Assert.AreEqual(unknown, e.Raw);
            Assert.AreEqual(1, (int)e.Data["x"]);

            // "content" is a string in the schema.
            var mismatched = Envelope("assistant.message", "{\"messageId\":\"m\",\"content\":{\"not\":\"a string\"}}");
            e = SessionEvent.Parse(mismatched);
            Assert.AreEqual(typeof(SessionEvent), e.GetType());
            Assert.AreEqual("assistant.message", e.Type);
            Assert.AreEqual(mismatched, e.Raw);
            Assert.AreEqual("a string", (string)e.Data["content"]["not"]);

            // A number where the schema has a boolean, a string where it has an integer.
            foreach (var bad in new[] { Envelope("session.idle", "{\"aborted\":{}}"), Envelope("assistant.usage", "{\"model\":\"m\",\"inputTokens\":\"many\"}") })
            {
                e = SessionEvent.Parse(bad);
                Assert.AreEqual(typeof(SessionEvent), e.GetType(), bad);
                Assert.AreEqual(bad, e.Raw);
            }

            // Data that is not an object at all, and text that is not JSON.
            e = SessionEvent.Parse(Envelope("session.idle", "5"));
            Assert.AreEqual(typeof(SessionEvent), e.GetType());
            Assert.AreEqual("session.idle", e.Type);
            e = SessionEvent.Parse("not json");
            Assert.AreEqual(typeof(SessionEvent), e.GetType());
            Assert.AreEqual("not json", e.Raw);
            Assert.IsNull(e.Type);
        }

        [Test]
        public void EnumsKeepValuesNewerThanTheSchema()
        {
            var e = (UserMessageEvent)SessionEvent.Parse(Envelope("user.message", "{\"content\":\"c\",\"agentMode\":\"plan\"}"));
            Assert.AreEqual(UserMessageAgentMode.Plan, e.Data.AgentMode);
            Assert.IsTrue(e.Data.AgentMode == UserMessageAgentMode.Plan);
            e = (UserMessageEvent)SessionEvent.Parse(Envelope("user.message", "{\"content\":\"c\",\"agentMode\":\"dream\"}"));
            Assert.AreEqual("dream", e.Data.AgentMode.Value.Value);
            Assert.AreNotEqual(UserMessageAgentMode.Plan, e.Data.AgentMode.Value);
            e = (UserMessageEvent)SessionEvent.Parse(Envelope("user.message", "{\"content\":\"c\"}"));
            Assert.IsNull(e.Data.AgentMode);
            Assert.AreEqual("{\"content\":\"c\"}", JsonConvert.SerializeObject(e.Data));
        }

        [Test]
        public void DatesDecodeAsDateTimeOffsetAndStringsStayAsSent()
        {
            var e = (SessionStartEvent)SessionEvent.Parse(Envelope("session.start",
                "{\"sessionId\":\"2026-01-01T00:00:00Z\",\"version\":1,\"producer\":\"copilot\",\"copilotVersion\":\"1\",\"startTime\":\"2026-03-04T05:06:07.5+02:00\"}"));
            Assert.AreEqual(new DateTimeOffset(2026, 3, 4, 5, 6, 7, 500, TimeSpan.FromHours(2)), e.Data.StartTime);
            Assert.AreEqual(TimeSpan.FromHours(2), e.Data.StartTime.Offset);
            Assert.AreEqual("2026-01-01T00:00:00Z", e.Data.SessionId, "a string that looks like a date stays text");
        }

        [Test]
        public void UnionVariantsRoundTrip()
        {
            var data = "{\"content\":\"see these\",\"attachments\":["
                + "{\"type\":\"file\",\"path\":\"/a.go\",\"displayName\":\"a.go\",\"lineRange\":{\"start\":1,\"end\":3}},"
                + "{\"type\":\"directory\",\"path\":\"/src\",\"displayName\":\"src\"},"
                + "{\"type\":\"hologram\",\"x\":[1,2],\"when\":\"2026-01-01T00:00:00Z\"}]}";
            var e = SessionEvent.Parse(Envelope("user.message", data)) as UserMessageEvent;
            Assert.IsNotNull(e);
            var list = e.Data.Attachments;
            Assert.AreEqual(3, list.Count);
            var file = list[0] as AttachmentFile;
            Assert.IsNotNull(file, list[0].GetType().Name);
            Assert.AreEqual("file", file.Type);
            Assert.AreEqual("/a.go", file.Path);
            Assert.AreEqual(3, file.LineRange.End);
            var dir = list[1] as AttachmentDirectory;
            Assert.IsNotNull(dir, list[1].GetType().Name);
            Assert.AreEqual("directory", dir.Type);
            var unknown = list[2] as UnknownAttachment;
            Assert.IsNotNull(unknown, list[2].GetType().Name);
            Assert.AreEqual("hologram", unknown.Type);
            Assert.AreEqual("2026-01-01T00:00:00Z", (string)unknown.Raw["when"]);

            // Written back: the tag first, the unknown variant as received, nothing added.
            var json = JsonConvert.SerializeObject(e.Data);
            Assert.IsTrue(JToken.DeepEquals(JObject.Parse(data), JObject.Parse(json)), json);
            StringAssert.StartsWith("{\"type\":\"file\"", JsonConvert.SerializeObject(file));

            // And read again, with default settings.
            var back = JsonConvert.DeserializeObject<UserMessageData>(json);
            Assert.IsInstanceOf<AttachmentFile>(back.Attachments[0]);
            Assert.IsInstanceOf<AttachmentDirectory>(back.Attachments[1]);
            Assert.IsInstanceOf<UnknownAttachment>(back.Attachments[2]);
            Assert.AreEqual("/src", ((AttachmentDirectory)back.Attachments[1]).Path);

            // Built in code, as a host sending attachments would.
            var built = new UserMessageData { Content = "x", Attachments = new List<Attachment> { new AttachmentDirectory { Path = "/p", DisplayName = "p" } } };
            var again = JsonConvert.DeserializeObject<UserMessageData>(JsonConvert.SerializeObject(built));
            Assert.AreEqual("/p", ((AttachmentDirectory)again.Attachments[0]).Path);
        }

        [Test]
        public void ARealTurnWithAToolArrivesTyped()
        {
            using (var env = new TestEnv("weather_tool.yaml"))
            using (var client = env.Client())
            {
                var events = new List<SessionEvent>();
                var tool = CopilotTool.Define<WeatherArgs>("get_weather", "Current weather for a city",
                    (args, inv) => Task.FromResult<object>("18C and sunny"));
                var session = client.CreateSessionAsync(env.Config(new SessionConfig
                {
                    Tools = new[] { tool },
                    OnPermissionRequest = PermissionHandler.ApproveAll,
                    OnEvent = e => { lock (events) events.Add(e); },
                })).Result;
                var answer = session.SendAndWaitAsync(Paris, TimeSpan.FromSeconds(60)).Result;
                Assert.AreEqual("It is 18C and sunny in Paris.", answer.Data.Content);
                Assert.IsNotEmpty(answer.Data.MessageId);

                var known = new HashSet<string>(SessionEvent.KnownTypes);
                lock (events)
                {
                    var untyped = events.Where(e => known.Contains(e.Type) && e.GetType() == typeof(SessionEvent)).Select(e => e.Raw).ToList();
                    CollectionAssert.IsEmpty(untyped, "events of a schema type that did not get its class");
                    // Delivered events decode lazily: each one's payload matches its schema.
                    var mismatched = events.Where(e => e.DataError != null).Select(e => e.DataError + ": " + e.Raw).ToList();
                    CollectionAssert.IsEmpty(mismatched, "events whose data did not decode");
                    var types = string.Join(", ", events.Select(e => e.Type));
                    Assert.GreaterOrEqual(events.Count(e => e.GetType() != typeof(SessionEvent)), 8, types);
                    foreach (var e in events)
                    {
                        Assert.IsNotEmpty(e.Id, e.Raw);
                        Assert.IsNotEmpty(e.Timestamp, e.Raw);
                    }

                    var user = events.OfType<UserMessageEvent>().Single();
                    Assert.AreEqual(Paris, user.Data.Content);
                    var start = events.OfType<ToolExecutionStartEvent>().Single();
                    Assert.AreEqual("get_weather", start.Data.ToolName);
                    Assert.IsNotEmpty(start.Data.ToolCallId);
                    Assert.AreEqual("Paris", (string)start.Data.Arguments["city"]);
                    var done = events.OfType<ToolExecutionCompleteEvent>().Single();
                    Assert.AreEqual(start.Data.ToolCallId, done.Data.ToolCallId);
                    Assert.IsTrue(done.Data.Success);
                    Assert.AreEqual("18C and sunny", done.Data.Result.Content);
                    // A union field decodes to its variant: the tool's permission request.
                    var asked = events.OfType<PermissionRequestedEvent>().Single().Data.PermissionRequest;
                    Assert.IsInstanceOf<PermissionRequestCustomTool>(asked, asked.GetType().Name);
                    Assert.AreEqual("custom-tool", asked.Kind);
                    Assert.AreEqual("get_weather", ((PermissionRequestCustomTool)asked).ToolName);
                    var message = events.OfType<AssistantMessageEvent>().Last();
                    Assert.AreEqual("It is 18C and sunny in Paris.", message.Data.Content);
                    Assert.IsNotNull(events.OfType<SessionIdleEvent>().FirstOrDefault(), types);
                }

                // The history GetEventsAsync returns is typed the same way.
                var history = session.GetEventsAsync().Result;
                Assert.AreEqual(Paris, history.OfType<UserMessageEvent>().Single().Data.Content);
                Assert.AreEqual("get_weather", history.OfType<ToolExecutionStartEvent>().Single().Data.ToolName);
                CollectionAssert.IsEmpty(history.Where(e => known.Contains(e.Type) && e.GetType() == typeof(SessionEvent)).Select(e => e.Raw).ToList());
                client.StopAsync().Wait();
            }
        }
    }
}
