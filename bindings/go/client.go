package copilot

/*
#include <stdlib.h>
#include "copilot.h"

extern copilot_status client_on_state(copilot_client *c, uintptr_t h, copilot_error **e);
extern copilot_status client_on_notification(copilot_client *c, const char *method, uintptr_t h, copilot_error **e);
extern copilot_status client_set_handler(copilot_client *c, const char *kind, uintptr_t h, copilot_error **e);
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// RuntimeConnection says how a Client reaches the Copilot CLI: a
// StdioConnection (the default), TCPConnection, URIConnection or
// InProcessConnection value in ClientOptions.Connection.
type RuntimeConnection interface {
	runtimeConnection()
}

// StdioConnection spawns the CLI and speaks JSON-RPC over its stdin/stdout.
type StdioConnection struct {
	// Path is the CLI executable; default COPILOT_CLI_PATH, else `copilot` on PATH.
	Path string
	// Args go before the server-mode flags.
	Args []string
	// Env, as KEY=VALUE entries, replaces the child's whole environment;
	// setting it and ClientOptions.Env both is an error.
	Env []string
}

// TCPConnection spawns the CLI listening on a loopback TCP port and connects to it.
type TCPConnection struct {
	// Port the CLI listens on; 0 lets it pick one.
	Port int
	// ConnectionToken is sent in the connect handshake.
	ConnectionToken string
	// Path, Args and Env are as in StdioConnection.
	Path string
	Args []string
	Env  []string
}

// URIConnection connects to a CLI server already running ("port",
// "host:port" or "http://host:port"); nothing is spawned.
type URIConnection struct {
	URL             string
	ConnectionToken string
}

// InProcessConnection hosts the Copilot runtime inside this process: the
// native library the CLI package ships (runtime.node), found next to the CLI
// (ClientOptions.CLIPath, COPILOT_CLI_PATH or copilot on PATH) or in the
// package it unpacked into its cache. No CLI process is started, so Start is
// fast; WorkingDirectory and Telemetry do not apply (the runtime shares this
// process's) and are refused. One runtime library per process. Experimental.
//
// Handlers the runtime installs for signals get SA_ONSTACK added, so Go's
// runtime survives them (a child reaped later, for one).
type InProcessConnection struct {
	// RuntimeLibrary is the library to load instead of the one found next to
	// the CLI (libcopilot addition).
	RuntimeLibrary string
}

func (StdioConnection) runtimeConnection()     {}
func (TCPConnection) runtimeConnection()       {}
func (URIConnection) runtimeConnection()       {}
func (InProcessConnection) runtimeConnection() {}

// ClientMode selects the defaults sessions start from.
type ClientMode string

const (
	// ModeCopilotCli is the default: the CLI's full tool set and context.
	ModeCopilotCli ClientMode = "copilot-cli"
	// ModeEmpty is for hosts serving many tenants: every session must name its
	// AvailableTools by source ("builtin:ask_user", "custom:*"), the environment
	// context leaves the system message, and telemetry, skills, memory, file
	// hooks, host git operations, custom instructions and plugins are off unless
	// a session sets them. It needs BaseDirectory, SessionFS or a URIConnection.
	ModeEmpty ClientMode = "empty"
)

// ClientOptions configure how the client reaches the Copilot CLI. The zero
// value spawns `copilot` (COPILOT_CLI_PATH, else PATH) over stdio.
type ClientOptions struct {
	// Connection is how to reach the CLI; nil is StdioConnection{}.
	Connection RuntimeConnection
	// WorkingDirectory is the spawned CLI's working directory.
	WorkingDirectory string
	// Env, as KEY=VALUE entries, replaces the child's whole environment when set.
	Env []string
	// ExtraEnv, as KEY=VALUE entries, adds to the inherited environment (or
	// to Env), replacing variables of the same name (libcopilot addition).
	ExtraEnv []string
	// LogLevel is passed as --log-level (none, error, warning, info, debug, all).
	LogLevel string
	// GitHubToken reaches the CLI only through an environment variable, never argv.
	GitHubToken string
	// UseLoggedInUser defaults to true unless GitHubToken is set.
	UseLoggedInUser *bool
	// AutoStart (default true) starts the client on the first CreateSession.
	AutoStart *bool
	// HandshakeTimeout bounds start-up (default 30 s).
	HandshakeTimeout time.Duration
	// AutoRestart (default true) respawns a CLI that dies unexpectedly and
	// resumes its sessions; RestartAttempts (default 3) bounds the tries.
	AutoRestart     *bool
	RestartAttempts int
	// KeepAliveInterval pings the CLI that often (0: never); one that does not
	// answer within PingTimeout (default 5 s) is treated as crashed.
	KeepAliveInterval time.Duration
	PingTimeout       time.Duration
	// RequestTimeout bounds every request that has no limit of its own
	// (Send, Call without a context deadline, CreateSession...), writing and
	// reply together (default 300 s; negative: no limit).
	RequestTimeout time.Duration
	// MaxEventQueueBytes is how much the library buffers for slow handlers
	// before it stops reading the CLI (default 32 MiB; nothing is dropped).
	MaxEventQueueBytes int
	// MaxOutgoingBytes is how much may wait to be written to the CLI
	// (default 64 MiB); a CLI that stops reading while it keeps asking is
	// disconnected with an error instead.
	MaxOutgoingBytes int
	// BaseDirectory is the spawned CLI's home for its state and credentials (COPILOT_HOME).
	BaseDirectory string
	// Mode: see ClientMode. Default ModeCopilotCli.
	Mode ClientMode
	// SessionFS makes this client the provider of every session's filesystem
	// (sent as `sessionFs.setProvider` at start): each session then needs
	// SessionConfig.CreateSessionFSProvider, or CreateSession fails with
	// StatusInvalidArgument.
	SessionFS *SessionFSConfig
	// RequestHandler makes this client the CLI's LLM inference provider: the
	// model's HTTP and WebSocket traffic (of every session on the server)
	// goes through it instead of the CLI's own network stack.
	RequestHandler *CopilotRequestHandler
	// SessionIdleTimeoutSeconds makes the CLI clean up sessions idle that
	// long (--session-idle-timeout; the CLI checks every 5 minutes). 0: never.
	SessionIdleTimeoutSeconds int
	// EnableRemoteSessions makes sessions in a GitHub repository reachable
	// from GitHub's web and mobile clients (--remote).
	EnableRemoteSessions bool
	// BuiltinPluginDirectories are absolute paths of trusted plugin
	// directories, set on the CLI at start (plugins.builtin.set).
	BuiltinPluginDirectories []string
	// Telemetry turns on the CLI's OpenTelemetry export.
	Telemetry *TelemetryConfig
	// OnListModels, when set, answers ListModels instead of the CLI's
	// models.list (a host that serves its own models, e.g. through BYOK).
	OnListModels func(ctx context.Context) ([]ModelInfo, error)
	// OnGitHubTelemetry, when set, receives the CLI's GitHub telemetry events
	// (gitHubTelemetry.event notifications; the client asks for them with
	// enableGitHubTelemetryForwarding). It runs on the library's callback
	// thread: return quickly. A panic in it is contained. Experimental.
	OnGitHubTelemetry func(notification *rpc.GitHubTelemetryNotification)

	// Deprecated: use Connection: StdioConnection{Path: ...}.
	CLIPath string
	// Deprecated: use Connection: StdioConnection{Args: ...}.
	CLIArgs []string
	// Deprecated: use WorkingDirectory.
	Cwd string
	// Deprecated: use Connection: TCPConnection{Port: ...}.
	UseTCP bool
	// Deprecated: use Connection: TCPConnection{Port: ...}.
	Port int
	// Deprecated: use Connection: URIConnection{URL: ...}.
	CLIUrl string
	// Deprecated: use the ConnectionToken of TCPConnection or URIConnection.
	ConnectionToken string
}

// TelemetryConfig configures the CLI's OpenTelemetry export; empty fields
// keep the CLI's defaults.
type TelemetryConfig struct {
	// OTLPEndpoint and OTLPProtocol ("grpc", "http/protobuf", ...) of a collector.
	OTLPEndpoint string `json:"otlpEndpoint,omitempty"`
	OTLPProtocol string `json:"otlpProtocol,omitempty"`
	// FilePath of a JSON Lines file to write spans and metrics to.
	FilePath     string `json:"filePath,omitempty"`
	ExporterType string `json:"exporterType,omitempty"`
	// SourceName replaces the instrumentation scope name.
	SourceName string `json:"sourceName,omitempty"`
	// CaptureContent records prompts and replies in the spans.
	CaptureContent *bool `json:"captureContent,omitempty"`
}

// connection resolves Connection and the deprecated fields into the wire
// options they stand for; an error names a contradiction.
func (o *ClientOptions) connection(m map[string]any) error {
	path, args, env := o.CLIPath, o.CLIArgs, []string(nil)
	switch c := o.Connection.(type) {
	case nil:
		if o.CLIUrl != "" {
			m["cliUrl"] = o.CLIUrl
		} else if o.UseTCP {
			m["transport"] = "tcp"
			if o.Port > 0 {
				m["port"] = o.Port
			}
		} else if os.Getenv("COPILOT_SDK_DEFAULT_CONNECTION") == "inprocess" {
			// As the official SDK: the environment may pick the in-process transport.
			m["transport"] = "inprocess"
		}
		if o.ConnectionToken != "" {
			m["connectionToken"] = o.ConnectionToken
		}
	case StdioConnection:
		path, args, env = c.Path, c.Args, c.Env
	case TCPConnection:
		path, args, env = c.Path, c.Args, c.Env
		m["transport"] = "tcp"
		if c.Port > 0 {
			m["port"] = c.Port
		}
		if c.ConnectionToken != "" {
			m["connectionToken"] = c.ConnectionToken
		}
	case URIConnection:
		if c.URL == "" {
			return &Error{Status: StatusInvalidArgument, Message: "URIConnection needs a URL"}
		}
		m["cliUrl"] = c.URL
		if c.ConnectionToken != "" {
			m["connectionToken"] = c.ConnectionToken
		}
	case InProcessConnection:
		m["transport"] = "inprocess"
		if c.RuntimeLibrary != "" {
			m["runtimeLibrary"] = c.RuntimeLibrary
		}
	default:
		return &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf("unknown RuntimeConnection %T", c)}
	}
	if path != "" {
		m["cliPath"] = path
	}
	if len(args) > 0 {
		m["cliArgs"] = args
	}
	if env != nil {
		if o.Env != nil {
			return &Error{Status: StatusInvalidArgument, Message: "set Env on the connection or on ClientOptions, not both"}
		}
		m["env"] = envMap(env)
	}
	return nil
}

func envMap(kvs []string) map[string]string {
	env := map[string]string{}
	for _, kv := range kvs {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

func (o *ClientOptions) toJSON() (string, error) {
	// The wrapper runs every client's callbacks from a goroutine (dispatch.go).
	m := map[string]any{"dispatch": "poll"}
	if o == nil {
		o = &ClientOptions{}
	}
	set := func(k string, v string) {
		if v != "" {
			m[k] = v
		}
	}
	cwd := o.WorkingDirectory
	if cwd == "" {
		cwd = o.Cwd
	}
	set("cwd", cwd)
	set("logLevel", o.LogLevel)
	set("githubToken", o.GitHubToken)
	set("baseDirectory", o.BaseDirectory)
	set("mode", string(o.Mode))
	if o.Env != nil {
		m["env"] = envMap(o.Env)
	}
	if err := o.connection(m); err != nil {
		return "", err
	}
	if len(o.ExtraEnv) > 0 {
		m["extraEnv"] = envMap(o.ExtraEnv)
	}
	if o.SessionIdleTimeoutSeconds > 0 {
		m["sessionIdleTimeoutSeconds"] = o.SessionIdleTimeoutSeconds
	}
	if o.EnableRemoteSessions {
		m["enableRemoteSessions"] = true
	}
	if o.OnGitHubTelemetry != nil {
		m["enableGitHubTelemetryForwarding"] = true
	}
	if len(o.BuiltinPluginDirectories) > 0 {
		m["builtinPluginDirectories"] = o.BuiltinPluginDirectories
	}
	if o.Telemetry != nil {
		m["telemetry"] = o.Telemetry
	}
	if o.UseLoggedInUser != nil {
		m["useLoggedInUser"] = *o.UseLoggedInUser
	}
	if o.AutoStart != nil {
		m["autoStart"] = *o.AutoStart
	}
	if o.HandshakeTimeout > 0 {
		m["handshakeTimeoutMs"] = o.HandshakeTimeout.Milliseconds()
	}
	if o.AutoRestart != nil {
		m["autoRestart"] = *o.AutoRestart
	}
	if o.RestartAttempts > 0 {
		m["restartAttempts"] = o.RestartAttempts
	}
	if o.KeepAliveInterval > 0 {
		m["keepAliveIntervalMs"] = o.KeepAliveInterval.Milliseconds()
	}
	if o.PingTimeout > 0 {
		m["pingTimeoutMs"] = o.PingTimeout.Milliseconds()
	}
	if o.RequestTimeout > 0 {
		m["requestTimeoutMs"] = o.RequestTimeout.Milliseconds()
	} else if o.RequestTimeout < 0 {
		m["requestTimeoutMs"] = 0
	}
	if o.MaxEventQueueBytes > 0 {
		m["maxEventQueueBytes"] = o.MaxEventQueueBytes
	}
	if o.MaxOutgoingBytes > 0 {
		m["maxOutgoingBytes"] = o.MaxOutgoingBytes
	}
	if o.SessionFS != nil {
		m["sessionFs"] = o.SessionFS.wire()
	}
	b, _ := json.Marshal(m)
	return string(b), nil
}

// Client is a connection to one Copilot CLI server and its sessions. Methods
// are safe for concurrent use, Close included (see there for calls in
// flight). Call Stop (graceful) or Close when done.
type Client struct {
	// conn is shared with RPC's requester, which must not point back at the
	// Client: a cycle through it would keep the finalizer below from running.
	conn *clientConn
	life *lifecycleHub
	// inference serves ClientOptions.RequestHandler; Close and Stop cancel
	// its exchanges.
	inference *inferenceProvider
	// RPC has one typed method per server-scope protocol method, generated
	// from the CLI's schema (models.list is RPC.Models.List).
	RPC *rpc.ServerRPC
	// onListModels is ClientOptions.OnListModels.
	onListModels func(ctx context.Context) ([]ModelInfo, error)
}

// clientConn is the native client, or why NewClient could not make one.
type clientConn struct {
	ref     handleRef[*C.copilot_client]
	initErr error
	// dispatch runs the client's callbacks; nil without a native client.
	dispatch *dispatchLoop
}

// acquire returns the native client for one call, which must release it
// after the call returns; it fails once the client is closed, or with
// NewClient's error when there never was one.
func (c *clientConn) acquire() (*C.copilot_client, error) {
	if c.initErr != nil {
		return nil, c.initErr
	}
	if h := c.ref.acquire(); h != nil {
		return h, nil
	}
	return nil, &Error{Status: StatusInvalidState, Message: "the client is closed"}
}

// NewClient creates a client; it does not start the CLI (Start, or the first
// CreateSession, does). Invalid options or a libcopilot that does not match
// this package's header do not panic: Start and every other call return that
// error (a *Error with StatusInvalidArgument, or the ABI mismatch).
func NewClient(opts *ClientOptions) *Client {
	cl := &Client{conn: &clientConn{}, life: &lifecycleHub{}}
	cl.RPC = rpc.NewServerRPC(requester{cl.conn})
	if opts != nil {
		cl.onListModels = opts.OnListModels
	}
	if abiError != nil {
		cl.conn.initErr = abiError
		return cl
	}
	wire, err := opts.toJSON()
	if err != nil {
		cl.conn.initErr = err
		return cl
	}
	js := cString(wire)
	defer free(js)
	var out *C.copilot_client
	var cerr *C.copilot_error
	if err := errorFrom(C.copilot_client_new(js, &out, &cerr), cerr); err != nil {
		cl.conn.initErr = err
		return cl
	}
	cl.conn.ref.init(out, freeClient)
	if cl.conn.dispatch, err = startDispatch(cl.conn, out); err != nil {
		cl.conn.initErr = err
	}
	if opts != nil && opts.RequestHandler != nil {
		kind := cString("llmInference")
		h := handleOf(inferenceRequests(cl, opts.RequestHandler))
		err := errorFrom(C.client_set_handler(out, kind, h, &cerr), cerr)
		free(kind)
		if err != nil {
			deleteHandle(h)
			cl.conn.initErr = err
		} else if err := cl.inference.watch(out); err != nil {
			cl.conn.initErr = err
		}
	}
	// Backstop: a client dropped without Close is freed (and its CLI killed) by the GC.
	runtime.SetFinalizer(cl, (*Client).Close)
	if opts != nil && opts.OnGitHubTelemetry != nil {
		if err := onGitHubTelemetry(out, opts.OnGitHubTelemetry); err != nil {
			cl.conn.initErr = err
		}
	}
	return cl
}

// onGitHubTelemetry registers fn for the client's gitHubTelemetry.event notifications.
func onGitHubTelemetry(client *C.copilot_client, fn func(*rpc.GitHubTelemetryNotification)) error {
	method := cString("gitHubTelemetry.event")
	defer free(method)
	h := handleOf(notificationHandler(func(_ string, raw []byte) {
		var n rpc.GitHubTelemetryNotification
		if json.Unmarshal(raw, &n) == nil {
			fn(&n)
		}
	}))
	var cerr *C.copilot_error
	if err := errorFrom(C.client_on_notification(client, method, h, &cerr), cerr); err != nil {
		deleteHandle(h)
		return err
	}
	return nil
}

// acquire returns the native client for one call; see clientConn.acquire.
func (c *Client) acquire() (*C.copilot_client, error) { return c.conn.acquire() }

func (c *Client) release() { c.conn.ref.release() }

func freeClient(h *C.copilot_client) { C.copilot_client_free(h) }

// blocking runs a blocking C call on its own goroutine so ctx can cancel the
// wait. The call itself finishes in the background, bounded by its own
// limits, still holding its handle's reference (call acquires and releases
// it), so a Close meanwhile cannot free the handle under it.
func blocking[T any](ctx context.Context, call func() (T, error)) (T, error) {
	if ctx == nil || ctx.Done() == nil {
		return call()
	}
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := call()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// timeoutMs is the time left before ctx's deadline in whole milliseconds (at
// least 1), or 0 when it has none: a native call given it ends with the
// context instead of outliving it in a goroutine.
func timeoutMs(ctx context.Context) C.uint32_t {
	if ctx == nil {
		return 0
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	left := time.Until(deadline).Milliseconds()
	if left < 1 {
		left = 1
	}
	if left > math.MaxUint32 {
		left = math.MaxUint32
	}
	return C.uint32_t(left)
}

// Start spawns (or connects to) the CLI and performs the handshake.
func (c *Client) Start(ctx context.Context) error {
	_, err := blocking(ctx, func() (struct{}, error) {
		h, err := c.acquire()
		if err != nil {
			return struct{}{}, err
		}
		defer c.release()
		var cerr *C.copilot_error
		return struct{}{}, errorFrom(C.copilot_client_start(h, &cerr), cerr)
	})
	return err
}

// Stop destroys live sessions, shuts the CLI down and waits for it (killing it
// after 10 s). The client may Start again.
func (c *Client) Stop() error {
	// The CLI will read no more answers: do not leave Transports waiting.
	c.cancelInference(errClientStopped, false)
	h, err := c.acquire()
	if err != nil {
		return nil
	}
	defer c.release()
	var cerr *C.copilot_error
	return errorFrom(C.copilot_client_stop(h, 10000, &cerr), cerr)
}

// ClientState is where a client is in its life.
type ClientState int

const (
	StateDisconnected ClientState = 0
	StateConnecting   ClientState = 1
	StateConnected    ClientState = 2
	// StateError: the connection broke and no restart is under way (or restarts failed).
	StateError ClientState = 3
	// StateRestarting: the CLI died unexpectedly and is being respawned.
	StateRestarting ClientState = 4
)

// State returns the client's current state.
func (c *Client) State() ClientState {
	h, err := c.acquire()
	if err != nil {
		return StateDisconnected
	}
	defer c.release()
	return ClientState(C.copilot_client_get_state(h))
}

// Stats is what the library received but could not deliver.
type Stats struct {
	// DroppedMessages counts frames that were not JSON-RPC, malformed
	// events (invalid JSON or UTF-8, nested too deep) and events for
	// unknown sessions, since the client was created.
	DroppedMessages uint64 `json:"droppedMessages"`
	// LastDropReason says why the latest one was dropped ("" if none).
	LastDropReason string `json:"lastDropReason"`
}

// Stats reports dropped input (copilot_client_stats); it never blocks.
func (c *Client) Stats() (Stats, error) {
	var st Stats
	h, err := c.acquire()
	if err != nil {
		return st, err
	}
	defer c.release()
	var out *C.char
	var cerr *C.copilot_error
	if status := C.copilot_client_stats(h, &out, &cerr); status != C.COPILOT_OK {
		return st, errorFrom(status, cerr)
	}
	var raw struct {
		DroppedMessages uint64  `json:"droppedMessages"`
		LastDropReason  *string `json:"lastDropReason"`
	}
	if err := json.Unmarshal([]byte(takeString(out)), &raw); err != nil {
		return st, err
	}
	st.DroppedMessages = raw.DroppedMessages
	if raw.LastDropReason != nil {
		st.LastDropReason = *raw.LastDropReason
	}
	return st, nil
}

// PID is the process id of the CLI the client spawned, or 0.
func (c *Client) PID() int {
	h, err := c.acquire()
	if err != nil {
		return 0
	}
	defer c.release()
	return int(C.copilot_client_cli_pid(h))
}

// OnStateChange registers a handler of state changes (connecting, connected,
// disconnected, restarting, error); reason explains errors and restarts.
func (c *Client) OnStateChange(handler func(state ClientState, reason string)) error {
	h, err := c.acquire()
	if err != nil {
		return err
	}
	defer c.release()
	handle := handleOf(stateHandler(handler))
	var cerr *C.copilot_error
	if err := errorFrom(C.client_on_state(h, handle, &cerr), cerr); err != nil {
		deleteHandle(handle)
		return err
	}
	return nil
}

// RuntimePort is the TCP port of the CLI server: the one a TCPConnection's
// CLI listens on (its own pick when Port was 0), or a URIConnection's; 0
// over stdio and while not started.
func (c *Client) RuntimePort() int {
	h, err := c.acquire()
	if err != nil {
		return 0
	}
	defer c.release()
	return int(C.copilot_client_runtime_port(h))
}

// ForceStop kills the CLI at once.
func (c *Client) ForceStop() {
	c.cancelInference(errClientStopped, false)
	if h, err := c.acquire(); err == nil {
		C.copilot_client_force_stop(h)
		c.release()
	}
}

// Close kills the client's CLI (if still running) and frees the client. It
// never waits: new calls of the client fail with ErrInvalidState from its
// start, and so do its sessions' calls that need the CLI. Calls already in
// flight, including one whose cancelled context returned while its native
// call goes on, keep the client: the CLI is killed at once, so calls waiting
// on it fail with ErrInvalidState, and the native client is freed when the
// last of them returns, never under one (until then its state handlers may
// still run). Idempotent; legal in handlers, on the callback thread.
func (c *Client) Close() {
	h, busy := c.conn.ref.close()
	if h == nil {
		return
	}
	runtime.SetFinalizer(c, nil)
	c.conn.dispatch.stop()
	c.cancelInference(errClientClosed, true)
	if busy > 0 {
		// Stops the CLI as the free would, so the calls in flight end now.
		C.copilot_client_force_stop(h)
	}
	c.release()
}

// Call invokes any client-scoped protocol method with JSON-marshalable params
// and unmarshals the result into out (if non-nil). A deadline on ctx also
// limits the native call (copilot_client_call_timeout); without one it waits
// as long as the connection lives.
func (c *Client) Call(ctx context.Context, method string, params any, out any) error {
	raw, err := requester{c.conn}.Request(ctx, method, params)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// requester sends requests for the typed RPC methods (rpc.Requester) and Call.
type requester struct {
	conn *clientConn
}

// Request sends one JSON-RPC request (copilot_client_call_timeout, bounded by
// ctx's deadline or the client's requestTimeoutMs) and returns its raw result.
func (r requester) Request(ctx context.Context, method string, params any) (json.RawMessage, error) {
	raw, err := blocking(ctx, func() (string, error) {
		p, err := marshalParams(params)
		if err != nil {
			return "", err
		}
		h, err := r.conn.acquire()
		if err != nil {
			return "", err
		}
		defer r.conn.ref.release()
		m, pj := cString(method), cString(p)
		defer free(m)
		defer free(pj)
		var res *C.char
		var cerr *C.copilot_error
		err = errorFrom(C.copilot_client_call_timeout(h, m, pj, timeoutMs(ctx), &res, &cerr), cerr)
		return takeString(res), err
	})
	return json.RawMessage(raw), err
}

func marshalParams(params any) (string, error) {
	if params == nil {
		return "{}", nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return "", &Error{Status: StatusInvalidJSON, Message: err.Error()}
	}
	return string(b), nil
}

// PingResponse is the result of Ping.
type PingResponse struct {
	Message         string    `json:"message"`
	Timestamp       time.Time `json:"timestamp"`
	ProtocolVersion *int      `json:"protocolVersion,omitempty"`
}

// Ping checks the server answers (`ping`).
func (c *Client) Ping(ctx context.Context, message string) (*PingResponse, error) {
	var r PingResponse
	params := map[string]any{}
	if message != "" {
		params["message"] = message
	}
	if err := c.Call(ctx, "ping", params, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// SessionMetadata describes a persisted session (`session.list`).
type SessionMetadata struct {
	SessionID    string          `json:"sessionId"`
	StartTime    time.Time       `json:"startTime"`
	ModifiedTime time.Time       `json:"modifiedTime"`
	Summary      *string         `json:"summary,omitempty"`
	IsRemote     bool            `json:"isRemote"`
	Context      *SessionContext `json:"context,omitempty"`
}

// SessionContext is where a session ran.
type SessionContext struct {
	WorkingDirectory string `json:"cwd"`
	GitRoot          string `json:"gitRoot,omitempty"`
	Repository       string `json:"repository,omitempty"`
	Branch           string `json:"branch,omitempty"`
}

// SessionListFilter narrows ListSessions; empty fields match any session.
type SessionListFilter struct {
	WorkingDirectory string `json:"cwd,omitempty"`
	GitRoot          string `json:"gitRoot,omitempty"`
	Repository       string `json:"repository,omitempty"`
	Branch           string `json:"branch,omitempty"`
}

// ensureStarted starts the client if it is not connected, as the official
// SDK's session-listing helpers do.
func (c *Client) ensureStarted(ctx context.Context) error {
	if c.State() == StateConnected {
		return nil
	}
	return c.Start(ctx)
}

// ListSessions lists persisted sessions (`session.list`), those matching
// filter when it is not nil. A session is listed once its first turn ended.
func (c *Client) ListSessions(ctx context.Context, filter *SessionListFilter) ([]SessionMetadata, error) {
	if err := c.ensureStarted(ctx); err != nil {
		return nil, err
	}
	var r struct {
		Sessions []SessionMetadata `json:"sessions"`
	}
	params := map[string]any{}
	if filter != nil {
		params["filter"] = filter
	}
	if err := c.Call(ctx, "session.list", params, &r); err != nil {
		return nil, err
	}
	return r.Sessions, nil
}

// GetSessionMetadata returns one persisted session's metadata
// (`session.getMetadata`), or nil when the CLI knows no such session (yet:
// a session appears once its first turn ended).
func (c *Client) GetSessionMetadata(ctx context.Context, sessionID string) (*SessionMetadata, error) {
	if err := c.ensureStarted(ctx); err != nil {
		return nil, err
	}
	var r struct {
		Session *SessionMetadata `json:"session"`
	}
	if err := c.Call(ctx, "session.getMetadata", map[string]any{"sessionId": sessionID}, &r); err != nil {
		return nil, err
	}
	return r.Session, nil
}

// GetStatusResponse is the CLI's version and protocol version.
type GetStatusResponse struct {
	Version         string `json:"version"`
	ProtocolVersion int    `json:"protocolVersion"`
}

// GetStatus returns the CLI's version and protocol version (`status.get`).
func (c *Client) GetStatus(ctx context.Context) (*GetStatusResponse, error) {
	var r GetStatusResponse
	if err := c.Call(ctx, "status.get", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetAuthStatusResponse says whether and how the CLI is signed in.
type GetAuthStatusResponse struct {
	IsAuthenticated bool    `json:"isAuthenticated"`
	AuthType        *string `json:"authType,omitempty"`
	Host            *string `json:"host,omitempty"`
	Login           *string `json:"login,omitempty"`
	StatusMessage   *string `json:"statusMessage,omitempty"`
}

// GetAuthStatus says whether and how the CLI is signed in (`auth.getStatus`).
func (c *Client) GetAuthStatus(ctx context.Context) (*GetAuthStatusResponse, error) {
	var r GetAuthStatusResponse
	if err := c.Call(ctx, "auth.getStatus", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetForegroundSessionID returns the session a TUI attached to this server
// shows, if any (`session.getForeground`).
func (c *Client) GetForegroundSessionID(ctx context.Context) (*string, error) {
	if err := c.ensureStarted(ctx); err != nil {
		return nil, err
	}
	var r struct {
		SessionID *string `json:"sessionId"`
	}
	if err := c.Call(ctx, "session.getForeground", nil, &r); err != nil {
		return nil, err
	}
	return r.SessionID, nil
}

// SetForegroundSessionID asks a TUI attached to this server to show the
// session (`session.setForeground`).
func (c *Client) SetForegroundSessionID(ctx context.Context, sessionID string) error {
	if err := c.ensureStarted(ctx); err != nil {
		return err
	}
	var r struct {
		Success bool   `json:"success"`
		Error   string `json:"error"`
	}
	if err := c.Call(ctx, "session.setForeground", map[string]any{"sessionId": sessionID}, &r); err != nil {
		return err
	}
	if !r.Success && r.Error != "" {
		return &Error{Status: StatusRPC, Message: "session.setForeground: " + r.Error}
	}
	return nil
}

// DeleteSession removes a session from disk (`session.delete`).
func (c *Client) DeleteSession(ctx context.Context, id string) error {
	if err := c.ensureStarted(ctx); err != nil {
		return err
	}
	var r struct {
		Success *bool  `json:"success"`
		Error   string `json:"error"`
	}
	if err := c.Call(ctx, "session.delete", map[string]any{"sessionId": id}, &r); err != nil {
		return err
	}
	if r.Success != nil && !*r.Success {
		// Worded as the official SDK words it: programs match on it.
		return &Error{Status: StatusRPC, Message: fmt.Sprintf("failed to delete session %s: %s", id, r.Error)}
	}
	return nil
}

// GetLastSessionID returns the most recent session's id, or nil (`session.getLastId`).
func (c *Client) GetLastSessionID(ctx context.Context) (*string, error) {
	if err := c.ensureStarted(ctx); err != nil {
		return nil, err
	}
	var r struct {
		SessionID *string `json:"sessionId"`
	}
	if err := c.Call(ctx, "session.getLastId", nil, &r); err != nil {
		return nil, err
	}
	return r.SessionID, nil
}

// ModelInfo describes a model (`models.list`).
type ModelInfo struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Capabilities json.RawMessage `json:"capabilities,omitempty"`
}

// ListModels lists the models available to the signed-in user (`models.list`).
//
// With ClientOptions.OnListModels set, the list is that handler's, and the
// CLI is not asked.
func (c *Client) ListModels(ctx context.Context) ([]ModelInfo, error) {
	if c.onListModels != nil {
		return c.onListModels(ctx)
	}
	var r struct {
		Models []ModelInfo `json:"models"`
	}
	if err := c.Call(ctx, "models.list", nil, &r); err != nil {
		return nil, err
	}
	return r.Models, nil
}
