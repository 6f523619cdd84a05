using System;
using System.Runtime.InteropServices;
using System.IO;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>P/Invoke declarations for libcopilot (include/copilot.h).</summary>
    internal static class Native
    {
        private const string Lib = "copilot";

        /// <summary>The ABI version this wrapper was written against (COPILOT_ABI_VERSION).</summary>
        internal const uint AbiVersion = 1;

        /// <summary>copilot_event_batch_fn: <paramref name="events"/> points to
        /// <paramref name="count"/> <see cref="EventView"/>s, borrowed for the call.</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void EventBatchFn(IntPtr userData, IntPtr events, UIntPtr count);

        /// <summary>copilot_event_view: one event of a batch. The strings are NUL-terminated
        /// UTF-8; <see cref="JsonLen"/> excludes the NUL.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct EventView
        {
            internal byte* Type;
            internal byte* Json;
            internal UIntPtr JsonLen;
        }

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void ToolFn(IntPtr userData, IntPtr invocation, IntPtr invocationJson);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void PermissionFn(IntPtr userData, IntPtr request, IntPtr requestJson);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void RequestFn(IntPtr userData, IntPtr request, IntPtr requestJson);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void FreeFn(IntPtr userData);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void StateFn(IntPtr userData, int state, IntPtr reason);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void LifecycleFn(IntPtr userData, IntPtr type, IntPtr eventJson);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void NotificationFn(IntPtr userData, IntPtr method, IntPtr paramsJson);

        [DllImport(Lib)] internal static extern uint copilot_abi_version();
        [DllImport(Lib)] internal static extern IntPtr copilot_version();

        [DllImport(Lib)] internal static extern int copilot_error_status(IntPtr err);
        [DllImport(Lib)] internal static extern IntPtr copilot_error_message(IntPtr err);
        [DllImport(Lib)] [return: MarshalAs(UnmanagedType.I1)] internal static extern bool copilot_error_rpc_code(IntPtr err, out long code);
        [DllImport(Lib)] internal static extern IntPtr copilot_error_rpc_data(IntPtr err);
        [DllImport(Lib)] internal static extern void copilot_error_free(IntPtr err);
        [DllImport(Lib)] internal static extern void copilot_string_free(IntPtr s);

        [DllImport(Lib)] internal static extern int copilot_client_new(IntPtr optionsJson, out IntPtr client, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_start(IntPtr client, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_stop(IntPtr client, uint timeoutMs, out IntPtr err);
        [DllImport(Lib)] internal static extern void copilot_client_force_stop(IntPtr client);
        [DllImport(Lib)] internal static extern int copilot_client_call_timeout(IntPtr client, IntPtr method, IntPtr paramsJson, uint timeoutMs, out IntPtr result, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_ping(IntPtr client, IntPtr message, out IntPtr result, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_get_status(IntPtr client, out IntPtr result, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_get_auth_status(IntPtr client, out IntPtr result, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_list_sessions(IntPtr client, IntPtr filterJson, out IntPtr result, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_get_session_metadata(IntPtr client, IntPtr sessionId, out IntPtr result, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_create_session(IntPtr client, IntPtr config, out IntPtr session, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_resume_session(IntPtr client, IntPtr sessionId, IntPtr config, out IntPtr session, out IntPtr err);
        [DllImport(Lib)] internal static extern void copilot_client_free(IntPtr client);
        [DllImport(Lib)] internal static extern int copilot_client_get_state(IntPtr client);
        [DllImport(Lib)] internal static extern uint copilot_client_cli_pid(IntPtr client);
        [DllImport(Lib)] internal static extern int copilot_client_stats(IntPtr client, out IntPtr statsJson, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_on_state_change(IntPtr client, StateFn handler, IntPtr userData, FreeFn userDataFree, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_on_lifecycle(IntPtr client, LifecycleFn handler, IntPtr userData, FreeFn userDataFree, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_client_on_notification(IntPtr client, IntPtr method, NotificationFn handler, IntPtr userData, FreeFn userDataFree, out IntPtr err);

        [DllImport(Lib)] internal static extern int copilot_session_config_new(IntPtr configJson, out IntPtr config, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_config_add_tool(IntPtr config, IntPtr toolJson, ToolFn handler, IntPtr userData, FreeFn userDataFree, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_config_approve_all(IntPtr config, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_config_set_permission_handler(IntPtr config, PermissionFn handler, IntPtr userData, FreeFn userDataFree, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_config_set_handler(IntPtr config, IntPtr kind, RequestFn handler, IntPtr userData, FreeFn userDataFree, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_config_set_hook(IntPtr config, IntPtr hookType, RequestFn handler, IntPtr userData, FreeFn userDataFree, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_config_add_command(IntPtr config, IntPtr commandJson, RequestFn handler, IntPtr userData, FreeFn userDataFree, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_config_on_event_batch(IntPtr config, EventBatchFn handler, IntPtr userData, FreeFn userDataFree, out IntPtr err);
        [DllImport(Lib)] internal static extern void copilot_session_config_free(IntPtr config);

        [DllImport(Lib)] internal static extern IntPtr copilot_session_id(IntPtr session);
        [DllImport(Lib)] internal static extern IntPtr copilot_session_info_json(IntPtr session);
        [DllImport(Lib)] internal static extern int copilot_session_send(IntPtr session, IntPtr messageJson, out IntPtr messageId, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_send_and_wait(IntPtr session, IntPtr messageJson, uint timeoutMs, out IntPtr message, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_send_and_wait_opts(IntPtr session, IntPtr messageJson, IntPtr waitJson, out IntPtr message, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_set_model(IntPtr session, IntPtr modelId, IntPtr optionsJson, out IntPtr result, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_abort(IntPtr session, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_get_messages(IntPtr session, out IntPtr events, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_subscribe_batch(IntPtr session, EventBatchFn handler, IntPtr userData, FreeFn userDataFree, out ulong subscription, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_unsubscribe(IntPtr session, ulong subscription, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_session_call_timeout(IntPtr session, IntPtr method, IntPtr paramsJson, uint timeoutMs, out IntPtr result, out IntPtr err);

        /// <summary>A call limit in whole milliseconds for the native API: 0 for none, else at least 1.</summary>
        internal static uint TimeoutMs(TimeSpan? timeout)
        {
            if (timeout == null || timeout.Value == System.Threading.Timeout.InfiniteTimeSpan) return 0;
            if (timeout.Value < TimeSpan.Zero) throw new ArgumentOutOfRangeException("timeout");
            return (uint)Math.Min(uint.MaxValue, Math.Max(1, Math.Ceiling(timeout.Value.TotalMilliseconds)));
        }
        [DllImport(Lib)] internal static extern int copilot_session_destroy(IntPtr session, out IntPtr err);
        [DllImport(Lib)] internal static extern void copilot_session_free(IntPtr session);

        [DllImport(Lib)] internal static extern int copilot_tool_invocation_complete(IntPtr invocation, IntPtr resultJson, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_tool_invocation_fail(IntPtr invocation, IntPtr message, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_permission_request_respond(IntPtr request, IntPtr decisionJson, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_request_respond(IntPtr request, IntPtr resultJson, out IntPtr err);
        [DllImport(Lib)] internal static extern int copilot_request_fail(IntPtr request, IntPtr message, out IntPtr err);
        [DllImport(Lib)] internal static extern IntPtr copilot_request_kind(IntPtr request);

        /// <summary>A NUL-terminated UTF-8 copy of s in unmanaged memory; free with FreeUtf8.</summary>
        internal static IntPtr ToUtf8(string s)
        {
            if (s == null) return IntPtr.Zero;
            var bytes = Encoding.UTF8.GetBytes(s);
            var p = Marshal.AllocHGlobal(bytes.Length + 1);
            Marshal.Copy(bytes, 0, p, bytes.Length);
            Marshal.WriteByte(p, bytes.Length, 0);
            return p;
        }

        internal static void FreeUtf8(IntPtr p)
        {
            if (p != IntPtr.Zero) Marshal.FreeHGlobal(p);
        }

        /// <summary>Reads a NUL-terminated UTF-8 string the library owns.</summary>
        internal static string FromUtf8(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            int len = 0;
            while (Marshal.ReadByte(p, len) != 0) len++;
            return FromUtf8(p, len);
        }

        internal static string FromUtf8(IntPtr p, int len)
        {
            var bytes = new byte[len];
            Marshal.Copy(p, bytes, 0, len);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Parses JSON text keeping strings as they are: Json.NET's default turns strings
        /// that look like dates into DateTime values, which would change file contents and
        /// timestamps on the way through.</summary>
        internal static JToken ParseJson(string raw)
        {
            using (var r = new JsonTextReader(new StringReader(raw)) { DateParseHandling = DateParseHandling.None })
            {
                return JToken.ReadFrom(r);
            }
        }

        /// <summary>Reads and frees a string the library returned through an out-param.</summary>
        internal static string TakeString(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            var s = FromUtf8(p);
            copilot_string_free(p);
            return s;
        }

        /// <summary>Throws CopilotException for a failed status (freeing the error).</summary>
        internal static void Check(int status, IntPtr err)
        {
            if (status == 0) return;
            var message = FromUtf8(copilot_error_message(err));
            long code;
            long? rpcCode = copilot_error_rpc_code(err, out code) ? code : (long?)null;
            var data = FromUtf8(copilot_error_rpc_data(err));
            copilot_error_free(err);
            throw new CopilotException((CopilotStatus)status, message, rpcCode, data);
        }
    }
}
