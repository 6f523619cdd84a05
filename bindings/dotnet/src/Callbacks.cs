using System;
using System.Runtime.InteropServices;
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
        internal static readonly Native.EventFn Event = OnEvent;
        internal static readonly Native.ToolFn Tool = OnTool;
        internal static readonly Native.PermissionFn Permission = OnPermission;
        internal static readonly Native.RequestFn Request = OnRequest;
        internal static readonly Native.FreeFn FreeUserData = OnFree;
        internal static readonly Native.StateFn State = OnState;
        internal static readonly Native.LifecycleFn Lifecycle = OnLifecycle;
        internal static readonly Native.NotificationFn Notification = OnNotification;

        /// <summary>A handler of one CLI notification method (copilot_client_on_notification); Active
        /// is cleared when its registration is disposed (the native registration itself lives until
        /// the client is freed). Handler gets the method and the params as JSON text.</summary>
        internal sealed class NotificationSink
        {
            internal Action<string, string> Handler;
            internal volatile bool Active = true;
        }

        private static void OnNotification(IntPtr userData, IntPtr method, IntPtr json)
        {
            try
            {
                var sink = Target<NotificationSink>(userData);
                if (sink == null || !sink.Active) return;
                sink.Handler(Native.FromUtf8(method), Native.FromUtf8(json));
            }
            catch
            {
                // A throwing handler must not stop later notifications.
            }
        }

        /// <summary>Runs work items on the thread pool one at a time, in the order they were
        /// queued, each after the previous one's task completed.</summary>
        internal sealed class SerialQueue
        {
            private readonly object _lock = new object();
            private Task _tail = Task.FromResult(true);

            /// <summary>Queues work (exceptions it throws, or its task ends with, are dropped).</summary>
            internal void Enqueue(Func<Task> work)
            {
                Func<Task> safe = async () => { try { await work().ConfigureAwait(false); } catch { } };
                lock (_lock)
                {
                    _tail = _tail.ContinueWith(_ => safe(), System.Threading.CancellationToken.None,
                        TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
                }
            }
        }

        /// <summary>A lifecycle handler; Active is cleared when its registration is disposed
        /// (the native registration itself lives until the client is freed).</summary>
        internal sealed class LifecycleSink
        {
            internal Action<SessionLifecycleEvent> Handler;
            internal volatile bool Active = true;
        }

        private static void OnLifecycle(IntPtr userData, IntPtr type, IntPtr json)
        {
            try
            {
                var sink = Target<LifecycleSink>(userData);
                if (sink == null || !sink.Active) return;
                sink.Handler(SessionLifecycleEvent.Parse(Native.FromUtf8(json)));
            }
            catch
            {
                // A throwing handler must not stop later notifications.
            }
        }

        private static void OnState(IntPtr userData, int state, IntPtr reason)
        {
            try
            {
                var handler = Target<Action<ClientState, string>>(userData);
                if (handler != null) handler((ClientState)state, Native.FromUtf8(reason));
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

        /// <summary>An event subscription; Active is cleared by unsubscribe.</summary>
        internal sealed class EventSink
        {
            internal Action<SessionEvent> Handler;
            internal volatile bool Active = true;
        }

        private static void OnEvent(IntPtr userData, IntPtr type, IntPtr json, UIntPtr len)
        {
            try
            {
                var sink = Target<EventSink>(userData);
                if (sink == null || !sink.Active) return;
                sink.Handler(SessionEvent.Parse(Native.FromUtf8(json, (int)len.ToUInt32())));
            }
            catch
            {
                // A throwing subscriber must not stop event delivery.
            }
        }

        private static void OnTool(IntPtr userData, IntPtr invocation, IntPtr json)
        {
            string raw;
            CopilotTool tool;
            try
            {
                tool = Target<CopilotTool>(userData);
                raw = Native.FromUtf8(json);
            }
            catch (Exception e)
            {
                FailTool(invocation, e.Message);
                return;
            }
            // Handlers run on the thread pool so a slow tool never holds up events.
            Task.Run(async () =>
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
            Task.Run(async () =>
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
        /// copilot_request_fail with its message. Handlers start on the thread pool, so the
        /// callback thread goes back to delivering events at once; a serial sink runs its
        /// requests one at a time in arrival order (the session filesystem needs its writes
        /// and appends applied in the order the CLI sent them).</summary>
        internal sealed class RequestSink
        {
            internal readonly Func<string, JObject, Task<object>> Handle;
            private readonly object _lock = new object();
            private Task _tail;

            internal RequestSink(Func<string, JObject, Task<object>> handle, bool serial)
            {
                Handle = handle;
                if (serial) _tail = Task.FromResult(true);
            }

            /// <summary>Runs work (which never throws) on the thread pool, after the previous
            /// request's work when serial.</summary>
            internal void Schedule(Func<Task> work)
            {
                if (_tail == null) { Task.Run(work); return; }
                lock (_lock)
                {
                    _tail = _tail.ContinueWith(_ => work(), System.Threading.CancellationToken.None,
                        TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
                }
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
