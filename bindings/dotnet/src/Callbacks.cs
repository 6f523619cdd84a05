using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>The native callbacks. Each is a static method held by a static
    /// delegate (never collected); user_data is a GCHandle freed only in
    /// FreeUserData. No exception ever crosses into native code.</summary>
    internal static class Callbacks
    {
        internal static readonly Native.EventBatchFn EventBatch = OnEventBatch;
        internal static readonly Native.ToolFn Tool = OnTool;
        internal static readonly Native.PermissionFn Permission = OnPermission;
        internal static readonly Native.RequestFn Request = OnRequest;
        internal static readonly Native.FreeFn FreeUserData = OnFree;
        internal static readonly Native.StateFn State = OnState;
        internal static readonly Native.LifecycleFn Lifecycle = OnLifecycle;
        internal static readonly Native.NotificationFn Notification = OnNotification;

        /// <summary>Where a session's or a client's handlers run: the one choke point every
        /// dispatch goes through. Without a context (the default, or no
        /// SynchronizationContext.Current at capture time): synchronous handlers (events, state,
        /// lifecycle, notifications) run inline on the library's callback thread; tool and
        /// permission handlers start there and continue on the thread pool after their first
        /// await that yields, as in the official SDK; host requests and hooks (which may wait
        /// for a user) start on the thread pool. With one (UseSynchronizationContext), every handler is posted to it with
        /// SynchronizationContext.Post and the callback thread returns at once: it never waits
        /// for the context's thread, so a UI thread blocked in a call cannot deadlock it, and
        /// answers go out (from any thread, as the C API allows) when the handler's task ends.
        /// Posts are made from the callback thread in arrival order, so handlers keep the wire
        /// order as long as the context runs posts first in, first out, as the WinForms, WPF
        /// and GTK# contexts do. Callers copy everything the library lends (strings, JSON) into
        /// managed objects before dispatching.</summary>
        internal sealed class HandlerContext
        {
            /// <summary>Today's behaviour: no context.</summary>
            internal static readonly HandlerContext Default = new HandlerContext(null);

            private readonly SynchronizationContext _context;

            private HandlerContext(SynchronizationContext context) { _context = context; }

            /// <summary>The calling thread's SynchronizationContext.Current when
            /// <paramref name="enabled"/>, else (or when there is none) <see cref="Default"/>.</summary>
            internal static HandlerContext Capture(bool enabled)
            {
                var c = enabled ? SynchronizationContext.Current : null;
                return c == null ? Default : new HandlerContext(c);
            }

            /// <summary>Whether handlers are posted to a captured context.</summary>
            internal bool Posts { get { return _context != null; } }

            /// <summary>Posts <paramref name="action"/> (which must not throw); false when there
            /// is no context or the context refused the post (e.g. its window is gone).</summary>
            private bool TryPost(Action action)
            {
                if (_context == null) return false;
                try
                {
                    _context.Post(state => ((Action)state)(), action);
                    return true;
                }
                catch
                {
                    return false;
                }
            }

            /// <summary>Runs a synchronous handler (which must not throw): posted to the context,
            /// else inline on the calling (callback) thread.</summary>
            internal void Invoke(Action handler)
            {
                if (!TryPost(handler)) handler();
            }

            /// <summary>Starts a tool or permission handler (whose task never faults) as the
            /// official .NET SDK does: on the calling (callback) thread, where it runs until its
            /// first await that does not complete at once, then on the thread pool. No thread-pool
            /// hop before it starts: that hop was most of what the wrapper added to a tool round
            /// trip. Posted to the context when one was captured.</summary>
            internal void Start(Func<Task> work)
            {
                if (_context != null)
                {
                    Run(work);
                    return;
                }
                try { work(); }
                catch { } // async lambdas put their exceptions in their task; this is a backstop
            }

            /// <summary>Starts an asynchronous handler (whose task never faults): posted to the
            /// context, else on the thread pool. The returned task ends when the handler's does.</summary>
            internal Task Run(Func<Task> work)
            {
                if (_context == null) return Task.Run(work);
                var done = new TaskCompletionSource<bool>();
                Action start = () =>
                {
                    Task t;
                    try { t = work() ?? Task.FromResult(true); }
                    catch { done.TrySetResult(true); return; }
                    t.ContinueWith(_ => done.TrySetResult(true), CancellationToken.None,
                        TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                };
                if (!TryPost(start)) return Task.Run(work);
                return done.Task;
            }
        }

        /// <summary>A handler of one CLI notification method (copilot_client_on_notification); Active
        /// is cleared when its registration is disposed (the native registration itself lives until
        /// the client is freed). Handler gets the method and the params as JSON text.</summary>
        internal sealed class NotificationSink
        {
            internal Action<string, string> Handler;
            internal HandlerContext Context = HandlerContext.Default;
            internal volatile bool Active = true;
        }

        private static void OnNotification(IntPtr userData, IntPtr method, IntPtr json)
        {
            try
            {
                var sink = Target<NotificationSink>(userData);
                if (sink == null || !sink.Active) return;
                // Copied now: the strings are borrowed for this call only.
                string m = Native.FromUtf8(method), j = Native.FromUtf8(json);
                sink.Context.Invoke(() =>
                {
                    try { if (sink.Active) sink.Handler(m, j); }
                    catch { } // A throwing handler must not stop later notifications.
                });
            }
            catch
            {
            }
        }

        /// <summary>Runs work items one at a time, in the order they were queued, each after
        /// the previous one's task completed: on the thread pool, or posted to the captured
        /// context (<see cref="HandlerContext"/>).</summary>
        internal sealed class SerialQueue
        {
            private readonly object _lock = new object();
            private readonly HandlerContext _context;
            private Task _tail = Task.FromResult(true);

            internal SerialQueue(HandlerContext context = null) { _context = context ?? HandlerContext.Default; }

            /// <summary>Queues work (exceptions it throws, or its task ends with, are dropped).</summary>
            internal void Enqueue(Func<Task> work)
            {
                Func<Task> safe = async () => { try { await work().ConfigureAwait(false); } catch { } };
                var context = _context;
                lock (_lock)
                {
                    _tail = _tail.ContinueWith(_ => context.Posts ? context.Run(safe) : safe(), CancellationToken.None,
                        TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
                }
            }
        }

        /// <summary>A lifecycle handler; Active is cleared when its registration is disposed
        /// (the native registration itself lives until the client is freed).</summary>
        internal sealed class LifecycleSink
        {
            internal Action<SessionLifecycleEvent> Handler;
            internal HandlerContext Context = HandlerContext.Default;
            internal volatile bool Active = true;
        }

        private static void OnLifecycle(IntPtr userData, IntPtr type, IntPtr json)
        {
            try
            {
                var sink = Target<LifecycleSink>(userData);
                if (sink == null || !sink.Active) return;
                var e = SessionLifecycleEvent.Parse(Native.FromUtf8(json));
                sink.Context.Invoke(() =>
                {
                    try { if (sink.Active) sink.Handler(e); }
                    catch { } // A throwing handler must not stop later notifications.
                });
            }
            catch
            {
            }
        }

        /// <summary>A state-change handler and where it runs.</summary>
        internal sealed class StateSink
        {
            internal Action<ClientState, string> Handler;
            internal HandlerContext Context = HandlerContext.Default;
        }

        private static void OnState(IntPtr userData, int state, IntPtr reason)
        {
            try
            {
                var sink = Target<StateSink>(userData);
                if (sink == null) return;
                var s = (ClientState)state;
                var r = Native.FromUtf8(reason);
                sink.Context.Invoke(() =>
                {
                    try { sink.Handler(s, r); }
                    catch { }
                });
            }
            catch
            {
            }
        }

        internal static IntPtr Pin(object target)
        {
            return GCHandle.ToIntPtr(GCHandle.Alloc(target));
        }

        internal static void Unpin(IntPtr userData)
        {
            GCHandle.FromIntPtr(userData).Free();
        }

        private static T Target<T>(IntPtr userData) where T : class
        {
            return GCHandle.FromIntPtr(userData).Target as T;
        }

        private static void OnFree(IntPtr userData)
        {
            try { Unpin(userData); } catch { }
        }

        /// <summary>An event subscription (copilot_session_config_on_event_batch or
        /// copilot_session_subscribe_batch); Active is cleared by unsubscribe.</summary>
        internal sealed class EventSink
        {
            internal Action<SessionEvent> Handler;
            internal HandlerContext Context = HandlerContext.Default;
            internal volatile bool Active = true;
            /// <summary>The event types the handler takes (On&lt;T&gt;), or null for every type:
            /// the others are skipped on their type string, before anything is copied or parsed.</summary>
            internal ICollection<string> Types;
            /// <summary>The type strings met so far; only the callback thread, one batch at a
            /// time, touches it.</summary>
            internal readonly EventTypeCache Seen = new EventTypeCache();
        }

        /// <summary>The type strings a sink has met, by their UTF-8 bytes: a flood of events of a
        /// few types makes no string (and asks the filter nothing) per event.</summary>
        internal sealed class EventTypeCache
        {
            internal sealed class Entry
            {
                internal byte[] Utf8;
                internal string Type;
                internal bool Wanted;
            }

            private readonly Entry[] _entries = new Entry[16];
            private int _last, _next;

            /// <summary>The entry of the NUL-terminated <paramref name="type"/>, made on first sight.</summary>
            internal unsafe Entry Lookup(byte* type, ICollection<string> wanted)
            {
                var entries = _entries;
                for (int k = 0, i = _last; k < entries.Length; k++, i = (i + 1) & (entries.Length - 1))
                {
                    var e = entries[i];
                    if (e == null) continue;
                    var u = e.Utf8;
                    int j = 0;
                    while (j < u.Length && type[j] == u[j]) j++;
                    if (j == u.Length && type[j] == 0)
                    {
                        _last = i;
                        return e;
                    }
                }
                int len = 0;
                while (type[len] != 0) len++;
                var bytes = new byte[len];
                if (len > 0) Marshal.Copy((IntPtr)type, bytes, 0, len);
                var s = Encoding.UTF8.GetString(bytes);
                var entry = new Entry { Utf8 = bytes, Type = s, Wanted = wanted == null || wanted.Contains(s) };
                _last = _next;
                entries[_next] = entry;
                _next = (_next + 1) & (entries.Length - 1);
                return entry;
            }
        }

        /// <summary>One batch of events (those of one read of the CLI's output), in wire order:
        /// each event the sink wants becomes a lazy <see cref="SessionEvent"/> over a copy of its
        /// UTF-8 JSON (the views are borrowed for this call only), decoded when a handler reads it.
        /// Without a context the handler runs inline here, event by event; with one each event is
        /// posted on its own, in order (as one call per event did).</summary>
        private static unsafe void OnEventBatch(IntPtr userData, IntPtr events, UIntPtr count)
        {
            try
            {
                var sink = Target<EventSink>(userData);
                if (sink == null || !sink.Active) return;
                var views = (Native.EventView*)events;
                var n = (long)count.ToUInt64();
                var context = sink.Context;
                var posts = context.Posts;
                for (long i = 0; i < n; i++)
                {
                    var v = views + i;
                    if (v->Type == null) continue;
                    var type = sink.Seen.Lookup(v->Type, sink.Types);
                    if (!type.Wanted) continue;
                    var len = (int)v->JsonLen.ToUInt64();
                    var json = new byte[len];
                    if (len > 0) Marshal.Copy((IntPtr)v->Json, json, 0, len);
                    var e = SessionEvent.Create(type.Type, json);
                    if (posts)
                    {
                        context.Invoke(() =>
                        {
                            try { if (sink.Active) sink.Handler(e); }
                            catch { } // A throwing subscriber must not stop event delivery.
                        });
                        continue;
                    }
                    if (!sink.Active) return;
                    try { sink.Handler(e); }
                    catch { } // A throwing subscriber must not stop event delivery.
                }
            }
            catch
            {
            }
        }

        /// <summary>A custom tool registered with a session, and where its handler runs.</summary>
        internal sealed class ToolSink
        {
            internal CopilotTool Tool;
            internal HandlerContext Context = HandlerContext.Default;
        }

        private static void OnTool(IntPtr userData, IntPtr invocation, IntPtr json)
        {
            string raw;
            CopilotTool tool;
            HandlerContext context;
            try
            {
                var sink = Target<ToolSink>(userData);
                tool = sink.Tool;
                context = sink.Context;
                raw = Native.FromUtf8(json);
            }
            catch (Exception e)
            {
                FailTool(invocation, e.Message);
                return;
            }
            // Started here (or posted to the captured context); the invocation is completed
            // when the handler's task ends.
            context.Start(async () =>
            {
                try
                {
                    var o = JObject.Parse(raw);
                    var inv = new ToolInvocation
                    {
                        SessionId = (string)o["sessionId"],
                        ToolCallId = (string)o["toolCallId"],
                        ToolName = (string)o["toolName"],
                        Arguments = o["arguments"],
                    };
                    var result = await tool.Handler(inv).ConfigureAwait(false);
                    CompleteTool(invocation, ResultJson(result));
                }
                catch (Exception e)
                {
                    FailTool(invocation, e.Message);
                }
            });
        }

        private static string ResultJson(object result)
        {
            if (result == null) return "\"\"";
            var s = result as string;
            if (s != null) return JsonConvert.SerializeObject(s);
            var r = result as ToolResultObject;
            if (r != null)
            {
                var o = new JObject { ["textResultForLlm"] = r.TextResultForLlm ?? "" };
                if (r.ResultType != null) o["resultType"] = r.ResultType;
                return o.ToString(Formatting.None);
            }
            var t = result as JToken;
            return t != null ? t.ToString(Formatting.None) : JsonConvert.SerializeObject(result);
        }

        private static void CompleteTool(IntPtr invocation, string json)
        {
            var p = Native.ToUtf8(json);
            try { IntPtr err; Native.copilot_tool_invocation_complete(invocation, p, out err); if (err != IntPtr.Zero) Native.copilot_error_free(err); }
            finally { Native.FreeUtf8(p); }
        }

        private static void FailTool(IntPtr invocation, string message)
        {
            var p = Native.ToUtf8(message ?? "tool failed");
            try { IntPtr err; Native.copilot_tool_invocation_fail(invocation, p, out err); if (err != IntPtr.Zero) Native.copilot_error_free(err); }
            finally { Native.FreeUtf8(p); }
        }

        /// <summary>A permission handler and what its invocations carry.</summary>
        internal sealed class PermissionSink
        {
            internal Func<PermissionRequest, PermissionInvocation, Task<GitHub.Copilot.Rpc.PermissionDecision>> Handler;
            internal string SessionId;
            internal bool ManagedSettingsEnabled;
            internal HandlerContext Context = HandlerContext.Default;
        }

        private static void OnPermission(IntPtr userData, IntPtr request, IntPtr json)
        {
            PermissionSink sink = null;
            string raw = null;
            try
            {
                sink = Target<PermissionSink>(userData);
                raw = Native.FromUtf8(json);
            }
            catch { }
            var context = sink != null ? sink.Context : HandlerContext.Default;
            context.Start(async () =>
            {
                string answer = null;
                try
                {
                    var o = (JObject)Native.ParseJson(raw);
                    PermissionRequestedData data;
                    var req = PermissionWire.Request(o, out data);
                    var requestId = Json.Str(o, "requestId");
#pragma warning disable CS0618 // the obsolete PermissionRequest.RequestId is still filled in
                    req.RequestId = requestId;
#pragma warning restore CS0618
                    var invocation = new PermissionInvocation
                    {
                        SessionId = sink.SessionId,
                        ManagedSettingsEnabled = sink.ManagedSettingsEnabled,
                        RequestId = requestId,
                        Data = data,
                        Raw = o,
                    };
                    var decision = await sink.Handler(req, invocation).ConfigureAwait(false);
                    if (decision != null) answer = PermissionWire.Json(decision);
                }
                catch { }
                var p = Native.ToUtf8(answer ?? "{\"kind\":\"user-not-available\"}");
                try { IntPtr err; Native.copilot_permission_request_respond(request, p, out err); if (err != IntPtr.Zero) Native.copilot_error_free(err); }
                finally { Native.FreeUtf8(p); }
            });
        }

        /// <summary>The target of a host request registration (copilot_request_fn): Handle gets
        /// the request's kind (copilot_request_kind: "elicitation", "command:deploy",
        /// "sessionFs.readFile", ...) and JSON, and gives the result (a JToken, any
        /// JSON-serialisable value, or null for JSON null); an exception answers
        /// copilot_request_fail with its message. Handlers start on the thread pool (or are
        /// posted to the captured context), so the callback thread goes back to delivering
        /// events at once; a serial sink runs its requests one at a time in arrival order (the
        /// session filesystem needs its writes and appends applied in the order the CLI sent them).</summary>
        internal sealed class RequestSink
        {
            internal readonly Func<string, JObject, Task<object>> Handle;
            private readonly HandlerContext _context;
            private readonly SerialQueue _serial;

            internal RequestSink(Func<string, JObject, Task<object>> handle, bool serial, HandlerContext context = null)
            {
                Handle = handle;
                _context = context ?? HandlerContext.Default;
                if (serial) _serial = new SerialQueue(_context);
            }

            /// <summary>Runs work (which never throws) on the thread pool or the captured
            /// context, after the previous request's work when serial.</summary>
            internal void Schedule(Func<Task> work)
            {
                if (_serial == null) _context.Run(work);
                else _serial.Enqueue(work);
            }
        }

        private static void OnRequest(IntPtr userData, IntPtr request, IntPtr json)
        {
            RequestSink sink = null;
            string raw = null, kind = null;
            try
            {
                sink = Target<RequestSink>(userData);
                raw = Native.FromUtf8(json);
                kind = Native.FromUtf8(Native.copilot_request_kind(request));
            }
            catch { }
            if (sink == null)
            {
                AnswerRequest(request, null, "no handler");
                return;
            }
            sink.Schedule(async () =>
            {
                string result = null, failure = null;
                try
                {
                    var output = await sink.Handle(kind, (JObject)Native.ParseJson(raw)).ConfigureAwait(false);
                    var t = output as JToken;
                    result = output == null ? "null" : t != null ? t.ToString(Formatting.None) : JsonConvert.SerializeObject(output);
                }
                catch (Exception e)
                {
                    failure = e.Message ?? e.GetType().Name;
                }
                AnswerRequest(request, result, failure);
            });
        }

        /// <summary>copilot_request_respond with result, or copilot_request_fail with failure.</summary>
        private static void AnswerRequest(IntPtr request, string result, string failure)
        {
            try
            {
                IntPtr err;
                if (failure == null)
                {
                    var p = Native.ToUtf8(result);
                    try { Native.copilot_request_respond(request, p, out err); } finally { Native.FreeUtf8(p); }
                }
                else
                {
                    var p = Native.ToUtf8(failure);
                    try { Native.copilot_request_fail(request, p, out err); } finally { Native.FreeUtf8(p); }
                }
                if (err != IntPtr.Zero) Native.copilot_error_free(err);
            }
            catch { }
        }
    }
}
