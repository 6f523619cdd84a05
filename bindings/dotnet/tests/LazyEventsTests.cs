using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace GitHub.Copilot.Tests
{
    /// <summary>Events as handlers get them: made from a batch of borrowed views
    /// (copilot_event_batch_fn), the class picked by the type string, the JSON decoded on
    /// first read. Offline: the batch callback is called directly with views built here.</summary>
    [TestFixture]
    public class LazyEventsTests
    {
        private const BindingFlags Any = BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
        private static readonly Assembly Lib = typeof(SessionEvent).Assembly;

        /// <summary>The lazy event the batch callback makes (internal SessionEvent.Create).</summary>
        private static SessionEvent Lazy(string type, string json)
        {
            var create = typeof(SessionEvent).GetMethod("Create", Any);
            return (SessionEvent)create.Invoke(null, new object[] { type, Encoding.UTF8.GetBytes(json) });
        }

        private static object Field(object o, string name)
        {
            for (var t = o.GetType(); t != null; t = t.BaseType)
            {
                var f = t.GetField(name, Any);
                if (f != null) return f.GetValue(o);
            }
            throw new MissingFieldException(name);
        }

        private const string Delta = "{\"id\":\"e-1\",\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"parentId\":null,"
            + "\"type\":\"assistant.message_delta\",\"data\":{\"messageId\":\"a1\",\"deltaContent\":\"h\\u00e9\\\"llo\"},\"ephemeral\":true,\"agentId\":\"sub-1\"}";

        [Test]
        public void TheClassComesFromTheTypeAndNothingIsParsedUntilRead()
        {
            var e = Lazy("assistant.message_delta", Delta);
            var d = e as AssistantMessageDeltaEvent;
            Assert.IsNotNull(d, e.GetType().Name);
            Assert.AreEqual("assistant.message_delta", e.Type);
            Assert.IsNull(Field(e, "_raw"), "no UTF-16 copy of the event yet");
            Assert.IsNull(Field(e, "_envelope"), "the envelope is not read yet");
            Assert.IsNull(Field(e, "_typed"), "the payload is not decoded yet");

            Assert.AreEqual("e-1", e.Id);
            Assert.AreEqual("2026-01-01T00:00:00.000Z", e.Timestamp);
            Assert.IsNull(e.ParentId);
            Assert.IsTrue(e.Ephemeral);
            Assert.AreEqual("sub-1", e.AgentId);
            Assert.IsNull(Field(e, "_typed"), "reading the envelope does not decode the payload");

            var data = d.Data;
            Assert.AreEqual("a1", data.MessageId);
            Assert.AreEqual("h\u00e9\"llo", data.DeltaContent);
            Assert.AreSame(data, d.Data, "decoded once");
            Assert.AreEqual("h\u00e9\"llo", d.DeltaContent);
            Assert.IsNull(e.DataError);
            Assert.IsNull(Field(e, "_raw"), "the typed payload needs no UTF-16 copy of the event");

            Assert.AreEqual(Delta, e.Raw);
            Assert.AreSame(e.Raw, e.Raw);
            Assert.AreEqual("a1", (string)((SessionEvent)d).Data["messageId"]);
            Assert.AreSame(((SessionEvent)d).Data, ((SessionEvent)d).Data);
        }

        [Test]
        public void LazyAndParsedEventsAgree()
        {
            var texts = new[]
            {
                Delta,
                // Data before type, escapes in the envelope, whitespace and unknown members.
                " {\n \"data\" : { \"content\" : \"c\", \"attachments\" : [ {\"type\":\"directory\",\"path\":\"/p\",\"displayName\":\"p\"} ] } ,"
                    + " \"x\":[1,{\"y\":\"}\"}], \"id\" : \"a\\u0062c\", \"type\":\"user.message\", \"timestamp\":\"t\", \"parentId\":\"p\\\\q\" }",
                "{\"type\":\"user.message\",\"id\":7,\"data\":{\"content\":\"n\"},\"ephemeral\":false}",
                "{\"type\":\"session.idle\",\"id\":\"i\",\"data\":{}}",
            };
            foreach (var text in texts)
            {
                var parsed = SessionEvent.Parse(text);
                var lazy = Lazy(parsed.Type, text);
                Assert.AreEqual(parsed.GetType(), lazy.GetType(), text);
                Assert.AreEqual(parsed.Id, lazy.Id, text);
                Assert.AreEqual(parsed.Timestamp, lazy.Timestamp, text);
                Assert.AreEqual(parsed.ParentId, lazy.ParentId, text);
                Assert.AreEqual(parsed.Ephemeral, lazy.Ephemeral, text);
                Assert.AreEqual(parsed.AgentId, lazy.AgentId, text);
                Assert.AreEqual(parsed.Raw, lazy.Raw, text);
                Assert.IsNull(lazy.DataError, text);
                Assert.IsTrue(JToken.DeepEquals(parsed.Data, lazy.Data), text);
                var typed = parsed.GetType().GetProperty("Data", parsed.GetType().BaseType.GetGenericArguments()[0]);
                Assert.AreEqual(Newtonsoft.Json.JsonConvert.SerializeObject(typed.GetValue(parsed, null)),
                    Newtonsoft.Json.JsonConvert.SerializeObject(typed.GetValue(lazy, null)), text);
            }
            var user = (UserMessageEvent)Lazy("user.message", texts[1]);
            Assert.AreEqual("abc", user.Id);
            Assert.AreEqual("p\\q", user.ParentId);
            Assert.IsInstanceOf<AttachmentDirectory>(user.Data.Attachments[0]);
        }

        [Test]
        public void DataThatDoesNotMatchKeepsTheClassAndSaysWhy()
        {
            // "content" is a string in the schema: Parse gives the base class, a lazy event keeps
            // its class (chosen before any parsing) with what did decode.
            var text = "{\"id\":\"x\",\"type\":\"assistant.message\",\"data\":{\"messageId\":\"m\",\"content\":{\"not\":\"a string\"}}}";
            Assert.AreEqual(typeof(SessionEvent), SessionEvent.Parse(text).GetType());
            var m = (AssistantMessageEvent)Lazy("assistant.message", text);
            Assert.IsNotNull(m.Data);
            Assert.AreEqual("m", m.Data.MessageId);
            Assert.IsNull(m.Data.Content);
            Assert.IsNotNull(m.DataError);
            Assert.AreEqual("x", m.Id);
            Assert.AreEqual("a string", (string)((SessionEvent)m).Data["content"]["not"]);

            foreach (var bad in new[] { "not json", "{\"type\":\"session.idle\",\"data\":5}", "{\"type\":\"session.idle\"}", "" })
            {
                var e = (SessionIdleEvent)Lazy("session.idle", bad);
                Assert.IsNotNull(e.Data, bad);
                Assert.IsNull(e.Data.Aborted, bad);
                Assert.IsNotNull(e.DataError, bad);
                Assert.AreEqual(bad, e.Raw);
                Assert.IsNotNull(((SessionEvent)e).Data, bad);
            }

            var unknown = Lazy("future.kind", "{\"type\":\"future.kind\",\"id\":\"f\",\"data\":{\"x\":1}}");
            Assert.AreEqual(typeof(SessionEvent), unknown.GetType());
            Assert.AreEqual("f", unknown.Id);
            Assert.AreEqual(1, (int)unknown.Data["x"]);
            Assert.IsNull(unknown.DataError);
        }

        [Test]
        public void ConcurrentReadersSeeOneDecoding()
        {
            for (int round = 0; round < 20; round++)
            {
                var e = (AssistantMessageDeltaEvent)Lazy("assistant.message_delta", Delta);
                var seen = new object[8];
                var ids = new string[8];
                var start = new ManualResetEventSlim();
                var threads = Enumerable.Range(0, 8).Select(k => new Thread(() =>
                {
                    start.Wait();
                    if (k % 2 == 0) ids[k] = e.Id;
                    seen[k] = e.Data;
                })).ToList();
                threads.ForEach(t => t.Start());
                start.Set();
                threads.ForEach(t => t.Join());
                Assert.IsTrue(seen.All(d => ReferenceEquals(d, seen[0])), "one typed payload");
                Assert.IsTrue(ids.Where((id, k) => k % 2 == 0).All(id => id == "e-1"));
            }
        }

        // ------------------------------------------------------------ the batch callback

        /// <summary>Views over NUL-terminated copies of the events; a null json leaves the
        /// pointer NULL (which the callback must never read: a skipped event).</summary>
        private sealed class Views : IDisposable
        {
            private readonly List<IntPtr> _blocks = new List<IntPtr>();
            internal readonly IntPtr Array;
            internal readonly int Count;

            internal Views(params string[] typeAndJson)
            {
                Count = typeAndJson.Length / 2;
                int size = IntPtr.Size * 3;
                Array = Marshal.AllocHGlobal(size * Math.Max(1, Count));
                _blocks.Add(Array);
                for (int k = 0; k < Count; k++)
                {
                    var json = typeAndJson[2 * k + 1];
                    Marshal.WriteIntPtr(Array, k * size, Utf8(typeAndJson[2 * k]));
                    Marshal.WriteIntPtr(Array, k * size + IntPtr.Size, json == null ? IntPtr.Zero : Utf8(json));
                    Marshal.WriteIntPtr(Array, k * size + 2 * IntPtr.Size, (IntPtr)(json == null ? 64 : Encoding.UTF8.GetByteCount(json)));
                }
            }

            private IntPtr Utf8(string s)
            {
                var bytes = Encoding.UTF8.GetBytes(s);
                var p = Marshal.AllocHGlobal(bytes.Length + 1);
                Marshal.Copy(bytes, 0, p, bytes.Length);
                Marshal.WriteByte(p, bytes.Length, 0);
                _blocks.Add(p);
                return p;
            }

            public void Dispose() { _blocks.ForEach(Marshal.FreeHGlobal); }
        }

        /// <summary>A sink as CopilotSession.On / On&lt;T&gt; make one, fed one batch.</summary>
        private static object Sink(Action<SessionEvent> handler, Type only)
        {
            var sinkType = Lib.GetType("GitHub.Copilot.Callbacks+EventSink", true);
            var sink = Activator.CreateInstance(sinkType, true);
            sinkType.GetField("Handler", Any).SetValue(sink, handler);
            var typesOf = typeof(SessionEvent).GetMethod("TypesOf", Any);
            sinkType.GetField("Types", Any).SetValue(sink, only == null ? null : typesOf.Invoke(null, new object[] { only }));
            return sink;
        }

        private static void Deliver(object sink, Views views)
        {
            var callbacks = Lib.GetType("GitHub.Copilot.Callbacks", true);
            var ud = (IntPtr)callbacks.GetMethod("Pin", Any).Invoke(null, new[] { sink });
            try
            {
                var batch = (Delegate)callbacks.GetField("EventBatch", Any).GetValue(null);
                batch.DynamicInvoke(ud, views.Array, (UIntPtr)(uint)views.Count);
            }
            finally
            {
                callbacks.GetMethod("Unpin", Any).Invoke(null, new object[] { ud });
            }
        }

        private static string Envelope(string type, string data) { return "{\"type\":\"" + type + "\",\"data\":" + data + "}"; }

        [Test]
        public void ABatchIsDeliveredInOrderPastThrowingHandlers()
        {
            var got = new List<string>();
            var sink = Sink(e =>
            {
                got.Add(e.Type + ":" + (e is AssistantMessageDeltaEvent ? ((AssistantMessageDeltaEvent)e).Data.DeltaContent : ""));
                if (got.Count == 2) throw new InvalidOperationException("a throwing subscriber");
            }, null);
            using (var views = new Views(
                "assistant.message_delta", Envelope("assistant.message_delta", "{\"messageId\":\"a\",\"deltaContent\":\"1\"}"),
                "assistant.message_delta", Envelope("assistant.message_delta", "{\"messageId\":\"a\",\"deltaContent\":\"2\"}"),
                "future.kind", Envelope("future.kind", "{}"),
                "assistant.message_delta", Envelope("assistant.message_delta", "{\"messageId\":\"a\",\"deltaContent\":\"3\"}"),
                "session.idle", ""))
            {
                Deliver(sink, views);
            }
            CollectionAssert.AreEqual(new[] { "assistant.message_delta:1", "assistant.message_delta:2", "future.kind:",
                "assistant.message_delta:3", "session.idle:" }, got);
        }

        [Test]
        public void AFilteredSinkSkipsOtherTypesBeforeTouchingTheirJson()
        {
            var got = new List<SessionEvent>();
            var sink = Sink(e => got.Add(e), typeof(AssistantMessageEvent));
            // The skipped events have no JSON at all (a NULL pointer): reading it would fail the batch.
            using (var views = new Views(
                "assistant.message_delta", null,
                "assistant.message", Envelope("assistant.message", "{\"messageId\":\"m\",\"content\":\"one\"}"),
                "session.idle", null,
                "assistant.message_delta", null,
                "assistant.message", Envelope("assistant.message", "{\"messageId\":\"m\",\"content\":\"two\"}")))
            {
                Deliver(sink, views);
            }
            CollectionAssert.AreEqual(new[] { "one", "two" }, got.Select(e => ((AssistantMessageEvent)e).Data.Content).ToArray());

            var typesOf = typeof(SessionEvent).GetMethod("TypesOf", Any);
            Assert.IsNull(typesOf.Invoke(null, new object[] { typeof(SessionEvent) }), "SessionEvent takes every type");
            CollectionAssert.AreEquivalent(new[] { "assistant.message" }, (IEnumerable<string>)typesOf.Invoke(null, new object[] { typeof(AssistantMessageEvent) }));
            CollectionAssert.AreEquivalent(new[] { "session.idle" }, (IEnumerable<string>)typesOf.Invoke(null, new object[] { typeof(SessionEvent<SessionIdleData>) }));
        }

        [Test]
        public void AnUnsubscribedSinkGetsNothingMoreOfItsBatch()
        {
            var got = new List<string>();
            object sink = null;
            sink = Sink(e =>
            {
                got.Add(((AssistantMessageDeltaEvent)e).Data.DeltaContent);
                if (got.Count == 2) sink.GetType().GetField("Active", Any).SetValue(sink, false); // as Dispose does
            }, typeof(AssistantMessageDeltaEvent));
            var list = new List<string>();
            for (int k = 1; k <= 5; k++)
            {
                list.Add("assistant.message_delta");
                list.Add(Envelope("assistant.message_delta", "{\"messageId\":\"a\",\"deltaContent\":\"" + k + "\"}"));
            }
            using (var views = new Views(list.ToArray())) Deliver(sink, views);
            CollectionAssert.AreEqual(new[] { "1", "2" }, got);
        }
    }
}
