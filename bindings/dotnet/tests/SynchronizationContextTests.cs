using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using GitHub.Copilot.Rpc;
using NUnit.Framework;

namespace GitHub.Copilot.Tests
{
    /// <summary>A single-threaded SynchronizationContext like a UI toolkit's: one thread runs the
    /// posted callbacks one at a time, first in, first out, and is the context's thread (Current
    /// there is this context).</summary>
    internal sealed class PumpContext : SynchronizationContext, IDisposable
    {
        private readonly BlockingCollection<KeyValuePair<SendOrPostCallback, object>> _queue =
            new BlockingCollection<KeyValuePair<SendOrPostCallback, object>>();
        internal readonly Thread Thread;
        /// <summary>Exceptions that escaped a posted callback (a UI loop would crash on them).</summary>
        internal readonly List<Exception> Errors = new List<Exception>();
        private int _posts;

        internal PumpContext()
        {
            Thread = new Thread(Loop) { IsBackground = true, Name = "ui-pump" };
            Thread.Start();
        }

        /// <summary>How many callbacks were posted.</summary>
        internal int Posts { get { return Volatile.Read(ref _posts); } }

        private void Loop()
        {
            SetSynchronizationContext(this);
            foreach (var item in _queue.GetConsumingEnumerable())
            {
                try { item.Key(item.Value); }
                catch (Exception e) { lock (Errors) Errors.Add(e); }
            }
        }

        public override void Post(SendOrPostCallback d, object state)
        {
            Interlocked.Increment(ref _posts);
            _queue.Add(new KeyValuePair<SendOrPostCallback, object>(d, state));
        }

        public override void Send(SendOrPostCallback d, object state)
        {
            if (Thread.CurrentThread == Thread) { d(state); return; }
            Exception error = null;
            using (var done = new ManualResetEventSlim())
            {
                Post(_ => { try { d(state); } catch (Exception e) { error = e; } finally { done.Set(); } }, null);
                done.Wait();
            }
            if (error != null) throw new InvalidOperationException("Send failed", error);
        }

        public override SynchronizationContext CreateCopy() { return this; }

        /// <summary>Runs <paramref name="f"/> on the pump thread, as a UI event handler would
        /// (awaits in it come back to the pump), and gives its outcome.</summary>
        internal Task<T> Run<T>(Func<Task<T>> f)
        {
            var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            Post(async _ =>
            {
                try { tcs.SetResult(await f()); }
                catch (Exception e) { tcs.SetException(e); }
            }, null);
            return tcs.Task;
        }

        /// <summary>Waits until every callback posted before this call has run.</summary>
        internal void Drain()
        {
            Assert.IsTrue(Run(() => Task.FromResult(true)).Wait(TimeSpan.FromSeconds(20)), "the pump drained");
        }

        public void Dispose()
        {
            _queue.CompleteAdding();
            Thread.Join(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>SessionConfig/CopilotClientOptions.UseSynchronizationContext: handlers on the
    /// application's UI thread.</summary>
    [TestFixture]
    public class SynchronizationContextTests
    {
        private const string Paris = "What is the weather in Paris? Use the get_weather tool.";
        private const string Oslo = "What is the weather in Oslo? Use the get_weather tool.";
        private static readonly TimeSpan Turn = TimeSpan.FromSeconds(60);

        /// <summary>Every handler call, in the order the handlers ran, with the thread each ran on.</summary>
        private sealed class Recorder
        {
            internal readonly List<string> Calls = new List<string>();
            internal readonly List<Thread> Threads = new List<Thread>();
            internal readonly List<string> EventIds = new List<string>();
            internal readonly StringBuilder Deltas = new StringBuilder();
            internal readonly TaskCompletionSource<bool> Idle = new TaskCompletionSource<bool>();

            internal void Record(string what)
            {
                lock (Calls) { Calls.Add(what); Threads.Add(Thread.CurrentThread); }
            }

            internal void Event(SessionEvent e)
            {
                Record("event:" + e.Type);
                lock (Calls)
                {
                    EventIds.Add(e.Id);
                    var d = e as AssistantMessageDeltaEvent;
                    if (d != null) Deltas.Append(d.Data.DeltaContent);
                }
                if (e is SessionIdleEvent) Idle.TrySetResult(true);
            }

            /// <summary>The calls (and their threads) so far.</summary>
            internal List<KeyValuePair<string, Thread>> Snapshot()
            {
                lock (Calls) return Calls.Zip(Threads, (c, t) => new KeyValuePair<string, Thread>(c, t)).ToList();
            }
        }

        private static SessionConfig WeatherConfig(TestEnv env, Recorder rec, bool useContext)
        {
            return env.Config(new SessionConfig
            {
                Streaming = true,
                UseSynchronizationContext = useContext,
                Tools = new[]
                {
                    CopilotTool.Define<WeatherArgs>("get_weather", "Current weather for a city", (args, inv) =>
                    {
                        rec.Record("tool:" + args.City);
                        if (args.City == "Oslo") throw new InvalidOperationException("no weather for Oslo");
                        return Task.FromResult<object>("18C and sunny");
                    }),
                },
                OnPermissionRequest = (r, inv) =>
                {
                    rec.Record("permission:" + r.Kind);
                    return Task.FromResult(PermissionDecision.ApproveOnce());
                },
                OnEvent = rec.Event,
            });
        }

        /// <summary>Opted in, with the session and client made on a UI-like thread: every event
        /// handler (config OnEvent and a later On&lt;T&gt; added from another thread), the tool,
        /// the permission handler and the client's state/lifecycle callbacks run on that thread,
        /// in wire order (session.idle last), and a turn whose handlers all wait for the pump
        /// completes; a throwing tool on the pump still fails just that call.</summary>
        [Test]
        public void OptedInHandlersRunOnTheCapturedContextInOrder()
        {
            using (var env = new TestEnv("weather_tool.yaml"))
            using (var pump = new PumpContext())
            {
                var rec = new Recorder();
                var client = pump.Run(() => Task.FromResult(env.Client(o => o.UseSynchronizationContext = true))).Result;
                try
                {
                    // Registered from the test thread: they still run on the context captured at construction.
                    client.OnStateChange((state, reason) => rec.Record("state:" + state));
                    client.OnLifecycle(e => rec.Record("lifecycle:" + e.Type));

                    var config = WeatherConfig(env, rec, true);
                    var session = pump.Run(() => client.CreateSessionAsync(config)).Result;
                    // Subscribed from the test thread, after creation: runs on the context captured at creation.
                    session.On<AssistantMessageEvent>(m => rec.Record("on:assistant.message"));

                    var answer = pump.Run(() => session.SendAndWaitAsync(Paris, Turn)).Result;
                    Assert.AreEqual("It is 18C and sunny in Paris.", answer.Content);
                    Assert.IsTrue(rec.Idle.Task.Wait(TimeSpan.FromSeconds(20)), "session.idle reached the handler");
                    pump.Drain();
                    var calls = rec.Snapshot();
                    string deltas;
                    List<string> eventIds;
                    lock (rec.Calls) { deltas = rec.Deltas.ToString(); eventIds = new List<string>(rec.EventIds); }

                    // Every handler ran on the pump thread.
                    var offPump = calls.Where(c => c.Value != pump.Thread).Select(c => c.Key).ToList();
                    CollectionAssert.IsEmpty(offPump, "handlers that ran off the pump thread");
                    lock (pump.Errors) CollectionAssert.IsEmpty(pump.Errors, "exceptions escaped to the pump");
                    Assert.GreaterOrEqual(pump.Posts, calls.Count, "each handler call was posted");

                    var names = calls.Select(c => c.Key).ToList();
                    CollectionAssert.Contains(names, "state:Connected");
                    CollectionAssert.Contains(names, "lifecycle:session.created");
                    var turn = names.Where(n => !n.StartsWith("state:") && !n.StartsWith("lifecycle:")).ToList();
                    Assert.AreEqual(1, turn.Count(n => n == "permission:custom-tool"), string.Join(", ", turn));
                    Assert.AreEqual(1, turn.Count(n => n == "tool:Paris"), string.Join(", ", turn));
                    CollectionAssert.Contains(turn, "event:assistant.message_delta");
                    CollectionAssert.Contains(turn, "on:assistant.message");
                    // In order: the permission, then the tool, then its completion event, then the answer.
                    Assert.Less(turn.IndexOf("permission:custom-tool"), turn.IndexOf("tool:Paris"));
                    Assert.Less(turn.IndexOf("tool:Paris"), turn.IndexOf("event:tool.execution_complete"));
                    Assert.Less(turn.IndexOf("event:tool.execution_complete"), turn.LastIndexOf("event:assistant.message"));
                    Assert.AreEqual("event:session.idle", turn.Last(), string.Join(", ", turn));
                    // The streamed deltas arrived in order, and the persisted events in the session's order.
                    Assert.AreEqual(answer.Content, deltas);
                    var persisted = session.GetEventsAsync().Result.Select(e => e.Id).ToList();
                    var seen = eventIds.Where(id => persisted.Contains(id)).ToList();
                    Assert.GreaterOrEqual(seen.Count, 5, "persisted events seen by the handler");
                    CollectionAssert.AreEqual(persisted.Where(id => seen.Contains(id)).ToList(), seen);

                    // A tool that throws on the pump fails that call only, as without the option.
                    var second = pump.Run(() => client.CreateSessionAsync(WeatherConfig(env, rec, true))).Result;
                    var failed = pump.Run(() => second.SendAndWaitAsync(Oslo, Turn)).Result;
                    Assert.AreEqual("I could not get the weather for Oslo.", failed.Content);
                    pump.Drain();
                    var all = rec.Snapshot();
                    CollectionAssert.Contains(all.Select(c => c.Key).ToList(), "tool:Oslo");
                    CollectionAssert.IsEmpty(all.Where(c => c.Value != pump.Thread).Select(c => c.Key).ToList());
                    lock (pump.Errors) CollectionAssert.IsEmpty(pump.Errors);
                }
                finally
                {
                    client.StopAsync().Wait();
                    client.Dispose();
                }
            }
        }

        /// <summary>Not opted in (today's behaviour), even though the session and client were made
        /// on the pump thread with its context current: no handler runs on the pump; event,
        /// state and lifecycle handlers run on the library's callback thread, the tool and
        /// permission handlers on the thread pool.</summary>
        [Test]
        public void WithoutTheOptInHandlersDoNotRunOnTheContext()
        {
            using (var env = new TestEnv("weather_tool.yaml"))
            using (var pump = new PumpContext())
            {
                var rec = new Recorder();
                var client = pump.Run(() => Task.FromResult(env.Client())).Result;
                try
                {
                    client.OnStateChange((state, reason) => rec.Record("state:" + state));
                    client.OnLifecycle(e => rec.Record("lifecycle:" + e.Type));
                    var config = WeatherConfig(env, rec, false);
                    var session = pump.Run(() => client.CreateSessionAsync(config)).Result;
                    var answer = pump.Run(() => session.SendAndWaitAsync(Paris, Turn)).Result;
                    Assert.AreEqual("It is 18C and sunny in Paris.", answer.Content);
                    Assert.IsTrue(rec.Idle.Task.Wait(TimeSpan.FromSeconds(20)), "session.idle reached the handler");
                    var calls = rec.Snapshot();
                    var names = calls.Select(c => c.Key).ToList();
                    CollectionAssert.Contains(names, "tool:Paris");
                    CollectionAssert.Contains(names, "permission:custom-tool");
                    CollectionAssert.Contains(names, "event:session.idle");
                    CollectionAssert.Contains(names, "state:Connected");

                    var onPump = calls.Where(c => c.Value == pump.Thread).Select(c => c.Key).ToList();
                    CollectionAssert.IsEmpty(onPump, "handlers that ran on the pump thread");
                    var callbackThreads = calls.Where(c => c.Key.StartsWith("event:") || c.Key.StartsWith("state:") || c.Key.StartsWith("lifecycle:"))
                        .Select(c => c.Value).Distinct().ToList();
                    Assert.AreEqual(1, callbackThreads.Count, "events, state and lifecycle all on the one callback thread");
                    Assert.IsFalse(callbackThreads[0].IsThreadPoolThread, "the callback thread is the library's own");
                    // As in the official SDK, tool and permission handlers start on the callback
                    // thread (no thread-pool hop before them); these complete synchronously.
                    foreach (var c in calls.Where(c => c.Key.StartsWith("tool:") || c.Key.StartsWith("permission:")))
                        Assert.AreEqual(callbackThreads[0], c.Value, c.Key + " started on the callback thread");
                }
                finally
                {
                    client.StopAsync().Wait();
                    client.Dispose();
                }
            }
        }

        /// <summary>Without a context, a tool handler starts on the callback thread (as in the
        /// official SDK) and, after an await that yields, continues on the thread pool: the
        /// callback thread is free meanwhile, so the handler can wait for an event (here the
        /// session.info its own session.log makes) without deadlock, and the turn completes.</summary>
        [Test]
        public void ToolHandlersStartOnTheCallbackThreadAndContinueOnThePool()
        {
            using (var env = new TestEnv("weather_tool.yaml"))
            {
                Thread started = null, resumed = null, eventThread = null;
                // The event handler completes this on the callback thread; without
                // RunContinuationsAsynchronously the handler's second await would resume
                // there whenever the log event comes after the log call's reply.
                var logged = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                CopilotSession session = null;
                var config = env.Config(new SessionConfig
                {
                    Tools = new[]
                    {
                        CopilotTool.Define<WeatherArgs>("get_weather", "Current weather for a city", async (args, inv) =>
                        {
                            started = Thread.CurrentThread;
                            await session.LogAsync("looking up " + args.City).ConfigureAwait(false);
                            resumed = Thread.CurrentThread;
                            var seen = await Task.WhenAny(logged.Task, Task.Delay(20000)).ConfigureAwait(false);
                            return seen == logged.Task ? "18C and sunny" : "the log event never came";
                        }),
                    },
                    OnPermissionRequest = (r, inv) => Task.FromResult(PermissionDecision.ApproveOnce()),
                    OnEvent = e =>
                    {
                        eventThread = Thread.CurrentThread;
                        if (e.Type == "session.info" && e.Raw.ToString().Contains("looking up Paris")) logged.TrySetResult(true);
                    },
                });
                var client = env.Client();
                try
                {
                    session = client.CreateSessionAsync(config).Result;
                    var answer = session.SendAndWaitAsync(Paris, Turn).Result;
                    Assert.IsTrue(logged.Task.IsCompleted, "the handler's log event was delivered while it waited");
                    Assert.AreEqual("It is 18C and sunny in Paris.", answer.Content);
                    Assert.AreSame(eventThread, started, "the handler started on the callback thread");
                    Assert.IsTrue(resumed.IsThreadPoolThread, "after its await it ran on the thread pool");
                }
                finally
                {
                    client.StopAsync().Wait();
                    client.Dispose();
                }
            }
        }
    }
}
