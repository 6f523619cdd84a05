using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace GitHub.Copilot
{
    /// <summary>How the client reaches the Copilot CLI; every property optional.</summary>
    /// <summary>How a client reaches the Copilot runtime, as the official SDK names it:
    /// a CLI child on stdio (the default) or TCP, a running server by URL, or the runtime
    /// loaded into this process.</summary>
    public abstract class RuntimeConnection
    {
        internal RuntimeConnection() { }

        public static StdioRuntimeConnection ForStdio(string path = null, IList<string> args = null)
        { return new StdioRuntimeConnection { Path = path, Args = args }; }

        public static TcpRuntimeConnection ForTcp(int port = 0, string connectionToken = null, string path = null, IList<string> args = null)
        { return new TcpRuntimeConnection { Port = port, ConnectionToken = connectionToken, Path = path, Args = args }; }

        public static UriRuntimeConnection ForUri(string url, string connectionToken = null)
        { return new UriRuntimeConnection { Url = url, ConnectionToken = connectionToken }; }

        /// <summary>The runtime library the CLI package ships (runtime.node), loaded into this
        /// process: found next to the CLI (CliPath, COPILOT_CLI_PATH or copilot on PATH) or in
        /// the package the CLI unpacked into its cache. No CLI process; WorkingDirectory and
        /// telemetry do not apply. One runtime library per process. Experimental.</summary>
        public static InProcessRuntimeConnection ForInProcess()
        { return new InProcessRuntimeConnection(); }

        internal abstract void WriteTo(JObject options);
    }

    public abstract class ChildProcessRuntimeConnection : RuntimeConnection
    {
        internal ChildProcessRuntimeConnection() { }
        /// <summary>The CLI executable (overrides CopilotClientOptions.CliPath).</summary>
        public string Path { get; set; }
        public IList<string> Args { get; set; }

        internal void WriteCommand(JObject o)
        {
            if (Path != null) o["cliPath"] = Path;
            if (Args != null) o["cliArgs"] = new JArray(Args);
        }
    }

    public sealed class StdioRuntimeConnection : ChildProcessRuntimeConnection
    {
        internal StdioRuntimeConnection() { }
        internal override void WriteTo(JObject o) { WriteCommand(o); }
    }

    public sealed class TcpRuntimeConnection : ChildProcessRuntimeConnection
    {
        internal TcpRuntimeConnection() { }
        public int Port { get; set; }
        public string ConnectionToken { get; set; }
        internal override void WriteTo(JObject o)
        {
            WriteCommand(o);
            o["transport"] = "tcp";
            if (Port > 0) o["port"] = Port;
            if (ConnectionToken != null) o["connectionToken"] = ConnectionToken;
        }
    }

    public sealed class UriRuntimeConnection : RuntimeConnection
    {
        internal UriRuntimeConnection() { }
        public string Url { get; set; }
        public string ConnectionToken { get; set; }
        internal override void WriteTo(JObject o)
        {
            o["cliUrl"] = Url;
            if (ConnectionToken != null) o["connectionToken"] = ConnectionToken;
        }
    }

    public sealed class InProcessRuntimeConnection : RuntimeConnection
    {
        internal InProcessRuntimeConnection() { }
        /// <summary>The runtime library to load instead of the one found next to the CLI
        /// (libcopilot addition).</summary>
        public string RuntimeLibrary { get; set; }
        internal override void WriteTo(JObject o)
        {
            o["transport"] = "inprocess";
            if (RuntimeLibrary != null) o["runtimeLibrary"] = RuntimeLibrary;
        }
    }

    public sealed class CopilotClientOptions
    {
        /// <summary>How to reach the runtime (RuntimeConnection.ForStdio, ForTcp, ForUri,
        /// ForInProcess); wins over CliPath/CliArgs/UseTcp/Port/CliUrl/ConnectionToken. Null: those.</summary>
        public RuntimeConnection Connection { get; set; }
        /// <summary>The CLI executable; default COPILOT_CLI_PATH, else `copilot` on PATH.</summary>
        public string CliPath { get; set; }
        public IList<string> CliArgs { get; set; }
        /// <summary>When set, the child's whole environment.</summary>
        public IDictionary<string, string> Environment { get; set; }
        /// <summary>Variables added to the inherited environment (or to Environment),
        /// replacing those of the same name.</summary>
        public IDictionary<string, string> ExtraEnvironment { get; set; }
        public string WorkingDirectory { get; set; }
        public string LogLevel { get; set; }
        /// <summary>Passed to the CLI only through an environment variable, never argv.</summary>
        public string GitHubToken { get; set; }
        public bool? UseLoggedInUser { get; set; }
        public bool? AutoStart { get; set; }
        /// <summary>Spawn the CLI listening on a TCP port (Port, or one it picks).</summary>
        public bool UseTcp { get; set; }
        public int Port { get; set; }
        /// <summary>Connect to a running server instead ("port", "host:port", "http://host:port").</summary>
        public string CliUrl { get; set; }
        public string ConnectionToken { get; set; }
        /// <summary>Respawn a CLI that dies unexpectedly and resume its sessions (default true).</summary>
        public bool? AutoRestart { get; set; }
        public int RestartAttempts { get; set; }
        /// <summary>Ping the CLI this often; one that does not answer within PingTimeout counts as crashed.</summary>
        public TimeSpan? KeepAliveInterval { get; set; }
        public TimeSpan? PingTimeout { get; set; }
        /// <summary>Limit of every request with no limit of its own (SendAsync, CallAsync
        /// without a timeout, CreateSessionAsync...), writing and reply together
        /// (default 300 s; TimeSpan.Zero: no limit).</summary>
        public TimeSpan? RequestTimeout { get; set; }
        /// <summary>Bytes buffered for slow handlers before the library stops reading the
        /// CLI (default 32 MiB; nothing is dropped).</summary>
        public long? MaxEventQueueBytes { get; set; }
        /// <summary>Bytes that may wait to be written to the CLI (default 64 MiB); a CLI that
        /// stops reading while it keeps asking is disconnected with an error instead.</summary>
        public long? MaxOutgoingBytes { get; set; }
        /// <summary>The spawned CLI's home for its state and credentials (COPILOT_HOME).</summary>
        public string BaseDirectory { get; set; }
        /// <summary>"empty" for hosts serving many tenants: every session names its AvailableTools
        /// by source ("builtin:ask_user", "custom:*"), the environment context leaves the system
        /// message, and telemetry, skills, memory, file hooks, host git operations, custom
        /// instructions and plugins are off unless a session sets them. Needs BaseDirectory or
        /// CliUrl. Null: "copilot-cli".</summary>
        public string Mode { get; set; }
        /// <summary>This client provides each session's filesystem (see <see cref="SessionFsConfig"/>):
        /// every session then needs <see cref="SessionConfig.CreateSessionFsProvider"/>.</summary>
        public SessionFsConfig SessionFs { get; set; }
        /// <summary>Lists the models instead of the CLI: <see cref="CopilotClient.ListModelsAsync"/>
        /// then calls it and neither starts the client nor asks the CLI (e.g. in BYOK mode, the
        /// models of your own provider).</summary>
        public Func<CancellationToken, Task<IList<ModelInfo>>> OnListModels { get; set; }
        /// <summary>Receives the GitHub telemetry events the CLI forwards to this client
        /// (<c>gitHubTelemetry.event</c> notifications, copilot_client_on_notification). Setting it
        /// sends <c>enableGitHubTelemetryForwarding: true</c> in the handshake and in every session
        /// this client creates or resumes. Calls run on the thread pool (or the captured context, see
        /// <see cref="UseSynchronizationContext"/>) one at a time, in arrival order, each after the
        /// previous call's task ended; an exception is swallowed. Experimental.</summary>
        public Func<GitHub.Copilot.Rpc.GitHubTelemetryNotification, Task> OnGitHubTelemetry { get; set; }
        /// <summary>Run the client's own callbacks on the <see cref="SynchronizationContext"/> that is
        /// current on the thread constructing the <see cref="CopilotClient"/> (e.g. a UI thread),
        /// captured then: <see cref="CopilotClient.OnStateChange"/>, <see cref="CopilotClient.OnLifecycle(Action{SessionLifecycleEvent})"/>,
        /// <see cref="CopilotClient.OnNotification"/> and <see cref="OnGitHubTelemetry"/>, also those
        /// registered later from another thread. Default false (libcopilot addition). Each call is
        /// posted (<see cref="SynchronizationContext.Post"/>) in arrival order, which the handlers
        /// see in that order as long as the context runs posts first in, first out (the WinForms,
        /// WPF and GTK# contexts do); the library's callback thread never waits for the context.
        /// Sessions choose for themselves with <see cref="SessionConfig.UseSynchronizationContext"/>.
        /// False, or no context current at construction: the callbacks run as before, on the
        /// library's callback thread (telemetry on the thread pool).</summary>
        public bool UseSynchronizationContext { get; set; }

        internal string ToJson()
        {
            var o = new JObject();
            if (CliPath != null) o["cliPath"] = CliPath;
            if (CliArgs != null) o["cliArgs"] = new JArray(CliArgs);
            if (Environment != null) o["env"] = JObject.FromObject(Environment);
            if (ExtraEnvironment != null) o["extraEnv"] = JObject.FromObject(ExtraEnvironment);
            if (WorkingDirectory != null) o["cwd"] = WorkingDirectory;
            if (LogLevel != null) o["logLevel"] = LogLevel;
            if (GitHubToken != null) o["githubToken"] = GitHubToken;
            if (UseLoggedInUser.HasValue) o["useLoggedInUser"] = UseLoggedInUser.Value;
            if (AutoStart.HasValue) o["autoStart"] = AutoStart.Value;
            if (UseTcp) { o["transport"] = "tcp"; if (Port > 0) o["port"] = Port; }
            if (CliUrl != null) o["cliUrl"] = CliUrl;
            if (ConnectionToken != null) o["connectionToken"] = ConnectionToken;
            if (AutoRestart.HasValue) o["autoRestart"] = AutoRestart.Value;
            if (RestartAttempts > 0) o["restartAttempts"] = RestartAttempts;
            if (KeepAliveInterval.HasValue) o["keepAliveIntervalMs"] = (long)KeepAliveInterval.Value.TotalMilliseconds;
            if (PingTimeout.HasValue) o["pingTimeoutMs"] = (long)PingTimeout.Value.TotalMilliseconds;
            if (RequestTimeout.HasValue) o["requestTimeoutMs"] = (long)RequestTimeout.Value.TotalMilliseconds;
            if (MaxEventQueueBytes.HasValue) o["maxEventQueueBytes"] = MaxEventQueueBytes.Value;
            if (MaxOutgoingBytes.HasValue) o["maxOutgoingBytes"] = MaxOutgoingBytes.Value;
            if (BaseDirectory != null) o["baseDirectory"] = BaseDirectory;
            if (Mode != null) o["mode"] = Mode;
            if (SessionFs != null) o["sessionFs"] = SessionFs.ToJson();
            if (OnGitHubTelemetry != null) o["enableGitHubTelemetryForwarding"] = true;
            if (Connection != null) Connection.WriteTo(o);
            return o.ToString(Formatting.None);
        }
    }

    /// <summary>Owns one native client; releasing it never blocks.</summary>
    internal sealed class ClientHandle : SafeHandle
    {
        internal ClientHandle(IntPtr h) : base(IntPtr.Zero, true) { SetHandle(h); }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { Native.copilot_client_free(handle); return true; }
    }

    /// <summary>A connection to one Copilot CLI server and its sessions. Thread-safe.
    /// Dispose (or StopAsync) when done; live clients are disposed at process exit.</summary>
    public sealed class CopilotClient : IDisposable, IRawCaller
    {
        private readonly ClientHandle _handle;
        private readonly SessionFsConfig _sessionFs;
        private readonly Func<CancellationToken, Task<IList<ModelInfo>>> _onListModels;
        /// <summary>Where client-level callbacks run (CopilotClientOptions.UseSynchronizationContext).</summary>
        private readonly Callbacks.HandlerContext _handlers;
        private global::GitHub.Copilot.Rpc.ServerRpc _rpc;

        /// <summary>Typed server-scope methods, grouped as on the wire (src/Generated/Rpc.cs, the
        /// official SDK's names): <c>await client.Rpc.Models.ListAsync()</c>. Each is a
        /// <see cref="CallAsync"/> with typed params and result.</summary>
        public global::GitHub.Copilot.Rpc.ServerRpc Rpc
        {
            get { return _rpc ?? (_rpc = new global::GitHub.Copilot.Rpc.ServerRpc(this)); }
        }

        static CopilotClient()
        {
            // No P/Invoke here: a static constructor that throws becomes a TypeInitializationException,
            // so loading the library (and its failure) happens in NativeLoader.Ensure.
            AppDomain.CurrentDomain.ProcessExit += (s, e) => LiveHandles.DisposeAll();
        }

        /// <summary>Creates a client (the CLI starts with the first session, or StartAsync).
        /// Throws CopilotException when libcopilot.so cannot be loaded (saying where it looked)
        /// or is of another ABI version.</summary>
        public CopilotClient(CopilotClientOptions options = null)
        {
            NativeLoader.Ensure();
            options = options ?? new CopilotClientOptions();
            _sessionFs = options.SessionFs;
            _onListModels = options.OnListModels;
            _handlers = Callbacks.HandlerContext.Capture(options.UseSynchronizationContext);
            _handle = NewHandle(options);
            if (options.OnGitHubTelemetry != null)
            {
                var handler = options.OnGitHubTelemetry;
                // The queue posts to the captured context itself; the notification is decoded on the
                // callback thread.
                var queue = new Callbacks.SerialQueue(_handlers);
                AddNotificationHandler("gitHubTelemetry.event", (method, json) =>
                {
                    var notification = DecodeTelemetry(json);
                    queue.Enqueue(() => handler(notification) ?? Task.FromResult(true));
                }, Callbacks.HandlerContext.Default);
            }
        }

        /// <summary>A gitHubTelemetry.event's params; what decodes of them when a member has an
        /// unexpected type.</summary>
        private static GitHub.Copilot.Rpc.GitHubTelemetryNotification DecodeTelemetry(string json)
        {
            var o = Native.ParseJson(json ?? "{}") as JObject ?? new JObject();
            try { return TypedJson.Decode<GitHub.Copilot.Rpc.GitHubTelemetryNotification>(o); }
            catch (Exception)
            {
                var e = o["event"] as JObject ?? new JObject();
                var restricted = o["restricted"];
                return new GitHub.Copilot.Rpc.GitHubTelemetryNotification
                {
                    SessionId = Json.Str(o, "sessionId"),
                    Restricted = restricted != null && restricted.Type == JTokenType.Boolean && (bool)restricted,
                    Event = new GitHub.Copilot.Rpc.GitHubTelemetryEvent
                    {
                        Kind = Json.Str(e, "kind") ?? "",
                        SessionId = Json.Str(e, "session_id"),
                        CreatedAt = Json.Str(e, "created_at"),
                        ModelCallId = Json.Str(e, "model_call_id"),
                    },
                };
            }
        }

        /// <summary>copilot_client_on_notification for <paramref name="method"/>; the sink's
        /// handler runs on the client's callback thread, or is posted to <paramref name="context"/>.</summary>
        private Callbacks.NotificationSink AddNotificationHandler(string method, Action<string, string> handler, Callbacks.HandlerContext context)
        {
            var sink = new Callbacks.NotificationSink { Handler = handler, Context = context };
            With(h =>
            {
                var m = Native.ToUtf8(method);
                var ud = Callbacks.Pin(sink);
                try
                {
                    IntPtr err;
                    var status = Native.copilot_client_on_notification(h, m, Callbacks.Notification, ud, Callbacks.FreeUserData, out err);
                    if (status != 0) Callbacks.Unpin(ud);
                    Native.Check(status, err);
                }
                finally { Native.FreeUtf8(m); }
                return true;
            });
            return sink;
        }

        /// <summary>Adds a handler of the CLI's <paramref name="method"/> notifications (JSON-RPC
        /// notifications the library does not handle itself, e.g. <c>gitHubTelemetry.event</c>;
        /// copilot_client_on_notification) with the method and its params. Add it before the
        /// client starts to miss none. It runs on the client's callback thread (or the context
        /// captured with <see cref="CopilotClientOptions.UseSynchronizationContext"/>), one
        /// notification at a time in wire order, so it must return quickly; an exception it throws
        /// is swallowed. Disposing the result stops calls to <paramref name="handler"/>; the
        /// registration itself is released with the client (libcopilot addition).</summary>
        public IDisposable OnNotification(string method, Action<string, JToken> handler)
        {
            if (method == null) throw new ArgumentNullException("method");
            if (handler == null) throw new ArgumentNullException("handler");
            var sink = AddNotificationHandler(method, (m, json) => handler(m, json == null ? null : Native.ParseJson(json)), _handlers);
            return new NotificationRegistration(sink);
        }

        private sealed class NotificationRegistration : IDisposable
        {
            private readonly Callbacks.NotificationSink _sink;
            internal NotificationRegistration(Callbacks.NotificationSink sink) { _sink = sink; }
            public void Dispose() { _sink.Active = false; }
        }

        // The P/Invokes of the two public entry points live in methods of their own, never
        // inlined: Mono resolves a method's P/Invoke targets when it compiles the method, which
        // must come after NativeLoader.Ensure has pointed "copilot" at the library it found.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static ClientHandle NewHandle(CopilotClientOptions options)
        {
            var json = Native.ToUtf8(options.ToJson());
            try
            {
                IntPtr client, err;
                Native.Check(Native.copilot_client_new(json, out client, out err), err);
                var handle = new ClientHandle(client);
                LiveHandles.Add(handle);
                return handle;
            }
            finally { Native.FreeUtf8(json); }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static string NativeVersion() { return Native.FromUtf8(Native.copilot_version()); }

        /// <summary>libcopilot's version. Throws CopilotException when the library cannot be loaded.</summary>
        public static string LibraryVersion { get { NativeLoader.Ensure(); return NativeVersion(); } }

        internal T With<T>(Func<IntPtr, T> call)
        {
            bool added = false;
            try
            {
                _handle.DangerousAddRef(ref added);
                return call(_handle.DangerousGetHandle());
            }
            catch (ObjectDisposedException)
            {
                throw new CopilotException(CopilotStatus.InvalidState, "the client is disposed");
            }
            finally
            {
                if (added) _handle.DangerousRelease();
            }
        }

        /// <summary>Runs a blocking native call off the caller's thread; cancellation
        /// returns at once (the call finishes in the background within its own limits).
        /// `longRunning` calls (a whole turn) get a thread of their own: on the thread
        /// pool, many concurrent turns would starve the handlers their turns wait for.</summary>
        internal static Task<T> Blocking<T>(Func<T> call, CancellationToken ct, bool longRunning = false)
        {
            if (ct.IsCancellationRequested) return Task.FromCanceled<T>(ct);
            var work = longRunning
                ? Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                : Task.Run(call);
            if (!ct.CanBeCanceled) return work;
            var tcs = new TaskCompletionSource<T>();
            var reg = ct.Register(() => tcs.TrySetCanceled(ct));
            work.ContinueWith(t =>
            {
                reg.Dispose();
                if (t.IsFaulted) tcs.TrySetException(t.Exception.InnerExceptions);
                else if (t.IsCanceled) tcs.TrySetCanceled();
                else tcs.TrySetResult(t.Result);
            }, TaskScheduler.Default);
            return tcs.Task;
        }

        /// <summary>The client's current state.</summary>
        public ClientState State { get { return With(h => (ClientState)Native.copilot_client_get_state(h)); } }

        /// <summary>What the library received but could not deliver
        /// (<c>copilot_client_stats</c>): frames that were not JSON-RPC, malformed events
        /// and events for unknown sessions, counted since the client was created. Never blocks.</summary>
        public ClientStats Stats
        {
            get
            {
                return With(h =>
                {
                    IntPtr json, err;
                    Native.Check(Native.copilot_client_stats(h, out json, out err), err);
                    var o = JObject.Parse(Native.TakeString(json));
                    return new ClientStats
                    {
                        DroppedMessages = (long)o["droppedMessages"],
                        LastDropReason = (string)o["lastDropReason"],
                    };
                });
            }
        }

        /// <summary>The process id of the CLI this client spawned, or 0.</summary>
        public int CliProcessId { get { return With(h => (int)Native.copilot_client_cli_pid(h)); } }

        /// <summary>Registers a handler of state changes (connecting, connected, disconnected,
        /// restarting, error); the string explains errors and restarts. Runs on the callback thread,
        /// or on the context captured with <see cref="CopilotClientOptions.UseSynchronizationContext"/>;
        /// an exception it throws is swallowed.</summary>
        public void OnStateChange(Action<ClientState, string> handler)
        {
            With(h =>
            {
                var ud = Callbacks.Pin(new Callbacks.StateSink { Handler = handler, Context = _handlers });
                IntPtr err;
                var status = Native.copilot_client_on_state_change(h, Callbacks.State, ud, Callbacks.FreeUserData, out err);
                if (status != 0) Callbacks.Unpin(ud);
                Native.Check(status, err);
                return true;
            });
        }

        /// <summary>Adds a handler of session lifecycle notifications (<c>session.lifecycle</c>,
        /// copilot_client_on_lifecycle): the server tells every connected client when any session is
        /// created, deleted or updated, whichever client caused it. Add it before creating sessions
        /// to miss none. It runs on the client's callback thread (or is posted to the context
        /// captured with <see cref="CopilotClientOptions.UseSynchronizationContext"/>), one
        /// notification at a time in wire order, so it must return quickly and must not wait for a
        /// turn there (SendAndWaitAsync would fail with WrongThread); an exception it throws is swallowed.
        /// The C API cannot remove a lifecycle handler: disposing the result only stops calls to
        /// <paramref name="handler"/>, and the registration itself is released when the client is.
        /// (The official SDK's <c>OnLifecycle&lt;T&gt;</c> filters by type; pattern-match on the
        /// subclasses, e.g. <see cref="SessionCreatedEvent"/>, instead.)</summary>
        public IDisposable OnLifecycle(Action<SessionLifecycleEvent> handler)
        {
            if (handler == null) throw new ArgumentNullException("handler");
            var sink = new Callbacks.LifecycleSink { Handler = handler, Context = _handlers };
            With(h =>
            {
                var ud = Callbacks.Pin(sink);
                IntPtr err;
                var status = Native.copilot_client_on_lifecycle(h, Callbacks.Lifecycle, ud, Callbacks.FreeUserData, out err);
                if (status != 0) Callbacks.Unpin(ud);
                Native.Check(status, err);
                return true;
            });
            return new LifecycleRegistration(sink);
        }

        private sealed class LifecycleRegistration : IDisposable
        {
            private readonly Callbacks.LifecycleSink _sink;
            internal LifecycleRegistration(Callbacks.LifecycleSink sink) { _sink = sink; }
            public void Dispose() { _sink.Active = false; }
        }

        /// <summary>Spawns (or connects to) the CLI and performs the handshake.</summary>
        public Task StartAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return Blocking(() => With(h => { IntPtr err; Native.Check(Native.copilot_client_start(h, out err), err); return true; }), cancellationToken);
        }

        /// <summary>Destroys live sessions, shuts the CLI down and waits for it (killing it after 10 s).</summary>
        public Task StopAsync()
        {
            return Blocking(() => With(h => { IntPtr err; Native.Check(Native.copilot_client_stop(h, 10000, out err), err); return true; }), CancellationToken.None);
        }

        /// <summary>Kills the CLI at once.</summary>
        public Task ForceStopAsync()
        {
            With(h => { Native.copilot_client_force_stop(h); return true; });
            return Task.FromResult(true);
        }

        /// <summary>Calls any client-scoped protocol method; returns its JSON result.
        /// With <paramref name="timeout"/>, fails with <see cref="CopilotException"/> (status Timeout)
        /// when no reply came in time (copilot_client_call_timeout); without, waits as long as the connection lives.</summary>
        public async Task<JToken> CallAsync(string method, JObject parameters = null, CancellationToken cancellationToken = default(CancellationToken), TimeSpan? timeout = null)
        {
            var raw = await CallRawAsync(method, (parameters ?? new JObject()).ToString(Formatting.None), cancellationToken, timeout).ConfigureAwait(false);
            return JToken.Parse(raw);
        }

        /// <summary>CallAsync with the params and the result as JSON text (the typed <c>Rpc</c> layer's path).</summary>
        internal Task<string> CallRawAsync(string method, string parameters, CancellationToken cancellationToken, TimeSpan? timeout = null)
        {
            var limit = Native.TimeoutMs(timeout);
            return Blocking(() => With(h =>
            {
                IntPtr m = Native.ToUtf8(method), pj = Native.ToUtf8(parameters);
                try
                {
                    IntPtr result, err;
                    Native.Check(Native.copilot_client_call_timeout(h, m, pj, limit, out result, out err), err);
                    return Native.TakeString(result);
                }
                finally { Native.FreeUtf8(m); Native.FreeUtf8(pj); }
            }), cancellationToken);
        }

        Task<string> IRawCaller.CallRawAsync(string method, string parameters, CancellationToken cancellationToken)
        {
            return CallRawAsync(method, parameters, cancellationToken);
        }

        /// <summary>Starts the client unless it is connected, as the official SDK's helpers do
        /// before each call.</summary>
        private Task EnsureStartedAsync(CancellationToken cancellationToken)
        {
            return State == ClientState.Connected ? Task.FromResult(true) : StartAsync(cancellationToken);
        }

        /// <summary>A client-scope call of the official helpers: starts the client if needed,
        /// then <paramref name="method"/> with <paramref name="parameters"/> (copilot_client_call).</summary>
        private async Task<JObject> HelperCallAsync(string method, JObject parameters, CancellationToken cancellationToken)
        {
            await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
            var raw = await CallRawAsync(method, (parameters ?? new JObject()).ToString(Formatting.None), cancellationToken).ConfigureAwait(false);
            return Object(raw);
        }

        /// <summary>A helper with a typed C function of its own (copilot_client_ping, _get_status, ...):
        /// starts the client if needed, then runs <paramref name="call"/>(handle, out result, out err)
        /// with <paramref name="arg"/> as a UTF-8 string (or NULL).</summary>
        private async Task<JObject> HelperNativeAsync(NativeHelper call, string arg, CancellationToken cancellationToken)
        {
            await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
            var raw = await Blocking(() => With(h =>
            {
                var a = Native.ToUtf8(arg);
                try
                {
                    IntPtr result, err;
                    Native.Check(call(h, a, out result, out err), err);
                    return Native.TakeString(result);
                }
                finally { Native.FreeUtf8(a); }
            }), cancellationToken).ConfigureAwait(false);
            return Object(raw);
        }

        private delegate int NativeHelper(IntPtr client, IntPtr arg, out IntPtr result, out IntPtr err);

        private static JObject Object(string raw)
        {
            return string.IsNullOrEmpty(raw) ? new JObject() : Native.ParseJson(raw) as JObject ?? new JObject();
        }

        // The typed C functions in NativeHelper's shape.
        private static int NativePing(IntPtr h, IntPtr message, out IntPtr result, out IntPtr err) { return Native.copilot_client_ping(h, message, out result, out err); }
        private static int NativeStatus(IntPtr h, IntPtr unused, out IntPtr result, out IntPtr err) { return Native.copilot_client_get_status(h, out result, out err); }
        private static int NativeAuthStatus(IntPtr h, IntPtr unused, out IntPtr result, out IntPtr err) { return Native.copilot_client_get_auth_status(h, out result, out err); }
        private static int NativeListSessions(IntPtr h, IntPtr filter, out IntPtr result, out IntPtr err) { return Native.copilot_client_list_sessions(h, filter, out result, out err); }
        private static int NativeSessionMetadata(IntPtr h, IntPtr sessionId, out IntPtr result, out IntPtr err) { return Native.copilot_client_get_session_metadata(h, sessionId, out result, out err); }

        /// <summary>Checks the server answers (<c>ping</c> with <c>{"message"?}</c>,
        /// copilot_client_ping), starting the client if needed. The result converts to the echoed
        /// message (a string), which is what this method returned before it returned
        /// <see cref="PingResponse"/>.</summary>
        public async Task<PingResponse> PingAsync(string message = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return TypedJson.Decode<PingResponse>(await HelperNativeAsync(NativePing, message, cancellationToken).ConfigureAwait(false));
        }

        /// <summary>The CLI's version and protocol version (<c>status.get</c>,
        /// copilot_client_get_status), starting the client if needed.</summary>
        public async Task<GetStatusResponse> GetStatusAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return TypedJson.Decode<GetStatusResponse>(await HelperNativeAsync(NativeStatus, null, cancellationToken).ConfigureAwait(false));
        }

        /// <summary>Whether and how the CLI is signed in (<c>auth.getStatus</c>,
        /// copilot_client_get_auth_status), starting the client if needed. Signed out is a result
        /// (IsAuthenticated false), not an error.</summary>
        public async Task<GetAuthStatusResponse> GetAuthStatusAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return TypedJson.Decode<GetAuthStatusResponse>(await HelperNativeAsync(NativeAuthStatus, null, cancellationToken).ConfigureAwait(false));
        }

        /// <summary>The persisted sessions (<c>session.list</c>, with <c>{"filter"}</c> when
        /// <paramref name="filter"/> is set; copilot_client_list_sessions), starting the client if
        /// needed. A session is listed once its first turn ended, and until it is deleted.</summary>
        public async Task<IList<SessionMetadata>> ListSessionsAsync(SessionListFilter filter = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            var f = filter == null ? null : JObject.FromObject(filter, TypedJson.Serializer).ToString(Formatting.None);
            var r = await HelperNativeAsync(NativeListSessions, f, cancellationToken).ConfigureAwait(false);
            var list = new List<SessionMetadata>();
            foreach (var s in r["sessions"] as JArray ?? new JArray())
                if (s is JObject o) list.Add(SessionMetadata.From(o));
            return list;
        }

        /// <summary>ListSessionsAsync with no filter.</summary>
        public Task<IList<SessionMetadata>> ListSessionsAsync(CancellationToken cancellationToken)
        {
            return ListSessionsAsync(null, cancellationToken);
        }

        /// <summary>One persisted session's metadata (<c>session.getMetadata</c> with
        /// <c>{"sessionId"}</c>, answered <c>{"session"?}</c>; copilot_client_get_session_metadata),
        /// or null when the CLI keeps no such session (an unknown or deleted id, or a session
        /// before its first turn ended). Starts the client if needed.</summary>
        public async Task<SessionMetadata> GetSessionMetadataAsync(string sessionId, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (sessionId == null) throw new ArgumentNullException("sessionId");
            var r = await HelperNativeAsync(NativeSessionMetadata, sessionId, cancellationToken).ConfigureAwait(false);
            return SessionMetadata.From(r["session"] as JObject);
        }

        /// <summary>The session a TUI attached to this server shows (<c>session.getForeground</c>),
        /// or null (copilot_client_call); starts the client if needed. Only a server in TUI+server mode
        /// (--ui-server) has one.</summary>
        public async Task<string> GetForegroundSessionIdAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            var r = await HelperCallAsync("session.getForeground", null, cancellationToken).ConfigureAwait(false);
            return Json.Str(r, "sessionId");
        }

        /// <summary>Asks a TUI attached to this server to show the session
        /// (<c>session.setForeground</c> with <c>{"sessionId"}</c>, copilot_client_call); starts the
        /// client if needed.
        /// Throws <see cref="CopilotException"/> (Status Rpc) when the CLI answers
        /// <c>{"success": false, "error"}</c>.</summary>
        public async Task SetForegroundSessionIdAsync(string sessionId, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (sessionId == null) throw new ArgumentNullException("sessionId");
            var r = await HelperCallAsync("session.setForeground", new JObject { ["sessionId"] = sessionId }, cancellationToken).ConfigureAwait(false);
            var ok = r["success"];
            if (ok != null && ok.Type == JTokenType.Boolean && !(bool)ok)
                throw new CopilotException(CopilotStatus.Rpc, "session.setForeground: " + (Json.Str(r, "error") ?? "failed"));
        }

        /// <summary>Deletes a session and its data from disk (<c>session.delete</c> with
        /// <c>{"sessionId"}</c>, copilot_client_call); it cannot be resumed afterwards. Starts the
        /// client if needed.
        /// Throws <see cref="CopilotException"/> (Status Rpc) when the CLI answers
        /// <c>{"success": false, "error"}</c>.</summary>
        public async Task DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (sessionId == null) throw new ArgumentNullException("sessionId");
            var r = await HelperCallAsync("session.delete", new JObject { ["sessionId"] = sessionId }, cancellationToken).ConfigureAwait(false);
            if (r["success"] != null && r["success"].Type == JTokenType.Boolean && !(bool)r["success"])
                throw new CopilotException(CopilotStatus.Rpc, "session.delete: " + (string)r["error"]);
        }

        /// <summary>The most recently used session's id (<c>session.getLastId</c>,
        /// copilot_client_call), or null; starts the client if needed.</summary>
        public async Task<string> GetLastSessionIdAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            var r = await HelperCallAsync("session.getLastId", null, cancellationToken).ConfigureAwait(false);
            return Json.Str(r, "sessionId");
        }

        /// <summary>The models available: what <see cref="CopilotClientOptions.OnListModels"/> gives
        /// when set (the CLI is neither started nor asked), else the CLI's <c>models.list</c>
        /// (copilot_client_call), starting the client if needed; each entry keeps its JSON in
        /// <see cref="ModelInfo.Raw"/>. Not cached. The CLI's full shape: <c>client.Rpc.Models.ListAsync()</c>.</summary>
        public async Task<IList<ModelInfo>> ListModelsAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            if (_onListModels != null)
            {
                var given = await _onListModels(cancellationToken).ConfigureAwait(false);
                return given == null ? new List<ModelInfo>() : new List<ModelInfo>(given);
            }
            var r = await HelperCallAsync("models.list", null, cancellationToken).ConfigureAwait(false);
            var list = new List<ModelInfo>();
            foreach (var m in r["models"] as JArray ?? new JArray())
                if (m is JObject o) list.Add(ModelInfo.From(o));
            return list;
        }

        /// <summary>Adds a handler of the lifecycle notifications of type <typeparamref name="T"/>
        /// (e.g. <see cref="SessionCreatedEvent"/>; <see cref="SessionLifecycleEvent"/> for all), as
        /// the official SDK's <c>OnLifecycle&lt;T&gt;</c>. See <see cref="OnLifecycle(Action{SessionLifecycleEvent})"/>.</summary>
        public IDisposable OnLifecycle<T>(Action<T> handler) where T : SessionLifecycleEvent
        {
            if (handler == null) throw new ArgumentNullException("handler");
            return OnLifecycle(e => { var t = e as T; if (t != null) handler(t); });
        }

        /// <summary>Creates a session (session.create), starting the client if needed. With
        /// <see cref="SessionConfig.UseSynchronizationContext"/>, the calling thread's
        /// SynchronizationContext is captured here for the session's handlers.</summary>
        public Task<CopilotSession> CreateSessionAsync(SessionConfig config = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return OpenAsync(null, config, cancellationToken);
        }

        /// <summary>Resumes a persisted session (session.resume) with its handlers registered again.
        /// With <see cref="SessionConfig.UseSynchronizationContext"/>, the calling thread's
        /// SynchronizationContext is captured here for the session's handlers.</summary>
        public Task<CopilotSession> ResumeSessionAsync(string sessionId, SessionConfig config = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return OpenAsync(sessionId, config, cancellationToken);
        }

        private Task<CopilotSession> OpenAsync(string resumeId, SessionConfig config, CancellationToken ct)
        {
            // Captured on the caller's thread, before the work moves to the thread pool.
            var handlers = Callbacks.HandlerContext.Capture(config != null && config.UseSynchronizationContext);
            return Blocking(() => With(h =>
            {
                var cfg = (config ?? new SessionConfig()).Build(resumeId, _sessionFs, handlers);
                try
                {
                    IntPtr session, err;
                    if (resumeId == null)
                    {
                        Native.Check(Native.copilot_client_create_session(h, cfg, out session, out err), err);
                    }
                    else
                    {
                        var id = Native.ToUtf8(resumeId);
                        try { Native.Check(Native.copilot_client_resume_session(h, id, cfg, out session, out err), err); }
                        finally { Native.FreeUtf8(id); }
                    }
                    return new CopilotSession(session, handlers);
                }
                finally { Native.copilot_session_config_free(cfg); }
            }), ct);
        }

        /// <summary>Stops the client (<see cref="StopAsync"/>) and frees it, as the official SDK's
        /// DisposeAsync (a Task here: netstandard2.0 has no ValueTask).</summary>
        public async Task DisposeAsync()
        {
            try { await StopAsync().ConfigureAwait(false); }
            catch (CopilotException) { }
            Dispose();
        }

        /// <summary>Frees the client without blocking (its CLI is killed if still running).</summary>
        public void Dispose()
        {
            LiveHandles.Remove(_handle);
            _handle.Dispose();
        }
    }

    /// <summary>Every live native handle, disposed at ProcessExit so Mono does
    /// not wait forever for library threads that called into managed code.</summary>
    internal static class LiveHandles
    {
        private static readonly HashSet<SafeHandle> Handles = new HashSet<SafeHandle>();

        internal static void Add(SafeHandle h) { lock (Handles) Handles.Add(h); }
        internal static void Remove(SafeHandle h) { lock (Handles) Handles.Remove(h); }

        internal static void DisposeAll()
        {
            SafeHandle[] all;
            lock (Handles) { all = new SafeHandle[Handles.Count]; Handles.CopyTo(all); Handles.Clear(); }
            // Sessions first, then clients: a client's free kills its CLI.
            foreach (var h in all) if (!(h is ClientHandle)) try { h.Dispose(); } catch { }
            foreach (var h in all) if (h is ClientHandle) try { h.Dispose(); } catch { }
        }
    }

    /// <summary>Input the library had to drop (see <see cref="CopilotClient.Stats"/>).</summary>
    public sealed class ClientStats
    {
        /// <summary>How many inbound messages were dropped.</summary>
        public long DroppedMessages { get; internal set; }
        /// <summary>Why the latest one was dropped; null if none was.</summary>
        public string LastDropReason { get; internal set; }
    }
}
