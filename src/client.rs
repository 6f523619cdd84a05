//! The client: starts, supervises (keep-alive, restart) and stops one CLI
//! server connection, and opens sessions on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::watch;

pub use crate::connection::PROTOCOL_VERSION;
pub use crate::router::{ClientState, LifecycleHandler, StateHandler};

use crate::connection::{describe_close, handshake, Connection};
use crate::dispatch::Dispatcher;
use crate::error::{Error, ErrorKind, Result};
use crate::log::{log, Level};
use crate::options::{self, ClientOptions, Mode};
use crate::requests::RequestHandler;
use crate::router::{route_inbound, NotificationHandler, Router};
use crate::rpc::frame::DEFAULT_MAX_BODY_BYTES;
use crate::rpc::{read_loop, RpcPeer};
use crate::session::shared::SessionShared;
use crate::session::{Session, SessionConfig};
use crate::transport::{inprocess, stdio, tcp, ChildProcess, Transport};

pub(crate) struct ClientInner {
    pub options: ClientOptions,
    pub router: Arc<Router>,
    pub dispatcher: Dispatcher,
    /// Serialises start/stop so two starts never spawn two CLIs.
    lifecycle: tokio::sync::Mutex<()>,
    /// Set by stop/force_stop, cleared by start: no restart after the host stopped.
    stopped: AtomicBool,
}

impl ClientInner {
    pub fn connection(&self) -> Result<Arc<Connection>> {
        self.router.connection()
    }
}

impl ClientInner {
    /// Ends the client now, whoever else still holds it (a background
    /// session destroy, a restart, a call on another thread): sessions
    /// closed, host handlers released on this thread, the CLI killed, no
    /// restart. Idempotent. A C handle's free calls it, so host data never
    /// goes with a last reference dropped on a runtime worker (Mono hangs at
    /// exit on a managed call from a thread it has not seen).
    pub(crate) fn shut_down(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Host data (handlers, their user_data_free) is dropped only after
        // each lock is released: host code may call back into the library.
        // Queued callbacks see their session closed and do not run.
        self.router.close_sessions();
        // Queued client callbacks read these lists when they run: emptied
        // here, none runs after this returns.
        let state_handlers = std::mem::take(&mut *self.router.state_handlers.lock());
        drop(state_handlers);
        let notification_handlers = std::mem::take(&mut *self.router.notification_handlers.lock());
        drop(notification_handlers);
        let client_handlers = std::mem::take(&mut *self.router.client_handlers.lock());
        drop(client_handlers);
        self.router.freed.store(true, Ordering::SeqCst);
        let conn = self.router.conn.lock().take();
        if let Some(conn) = conn {
            conn.kill(Error::invalid_state("the client was freed"));
        }
    }
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// A Copilot client. Cheap to clone; all clones are one client. Dropping the
/// last clone kills the CLI it started (use `stop` for a graceful end).
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client> {
        // Tokens never reach a log, whatever message would carry them.
        for secret in [&options.github_token, &options.connection_token]
            .into_iter()
            .flatten()
        {
            crate::log::register_secret(secret);
        }
        let dispatcher = match options.dispatch {
            options::DispatchMode::Thread => {
                Dispatcher::start("copilot-callbacks", options.max_event_queue_bytes)
            }
            options::DispatchMode::Poll => Dispatcher::start_polled(options.max_event_queue_bytes),
        }
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot start callback thread: {e}"),
            )
        })?;
        Ok(Client {
            inner: Arc::new(ClientInner {
                options,
                router: Router::new(dispatcher.clone()),
                dispatcher,
                lifecycle: tokio::sync::Mutex::new(()),
                stopped: AtomicBool::new(false),
            }),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    pub fn state(&self) -> ClientState {
        *self.inner.router.state.lock()
    }

    /// True on this client's callback thread (where blocking waits are refused).
    /// Poll mode: the fd readable while callbacks wait; None otherwise.
    pub fn dispatch_fd(&self) -> Option<std::os::fd::RawFd> {
        self.inner.dispatcher.ready_fd()
    }

    pub fn is_callback_thread(&self) -> bool {
        self.inner.dispatcher.is_current_thread()
    }

    pub(crate) fn dispatcher(&self) -> &Dispatcher {
        &self.inner.dispatcher
    }

    /// The CLI's process id, while a spawned CLI is running.
    pub fn cli_pid(&self) -> Option<u32> {
        let conn = self.inner.router.conn.lock().clone()?;
        conn.child.as_ref().map(ChildProcess::pid)
    }

    /// The TCP port of the server while connected over TCP: the port a
    /// spawned CLI listens on with `"transport": "tcp"` (the one it chose
    /// when `port` was 0), or the `cliUrl` server's.
    pub fn runtime_port(&self) -> Option<u16> {
        self.inner.router.conn.lock().as_ref().and_then(|c| c.port)
    }

    /// The CLI version reported by the handshake.
    pub fn server_version(&self) -> Option<String> {
        self.inner
            .router
            .conn
            .lock()
            .as_ref()
            .map(|c| c.server_version.clone())
    }

    /// Spawns the CLI and performs the `connect` handshake (falling back to
    /// `ping`), accepting protocol version 3 only. Idempotent while connected.
    pub async fn start(&self) -> Result<()> {
        let _life = self.inner.lifecycle.lock().await;
        self.inner.stopped.store(false, Ordering::SeqCst);
        if let Some(conn) = self.inner.router.conn.lock().clone() {
            if !conn.peer.is_closed() {
                return Ok(());
            }
        }
        self.inner.router.set_state(ClientState::Connecting, None);
        match self.connect().await {
            Ok(conn) => {
                *self.inner.router.conn.lock() = Some(conn);
                self.inner.router.set_state(ClientState::Connected, None);
                Ok(())
            }
            Err(e) => {
                self.inner
                    .router
                    .set_state(ClientState::Error, Some(e.to_string()));
                Err(e)
            }
        }
    }

    /// Adds a state handler (connecting, connected, disconnected, restarting, error).
    pub fn on_state_change(&self, handler: StateHandler) {
        self.inner.router.state_handlers.lock().push(handler);
    }

    /// Adds a handler of `session.lifecycle` notifications (sessions created,
    /// deleted, updated, foregrounded or backgrounded on the server, by any client).
    pub fn on_lifecycle(&self, handler: LifecycleHandler) {
        self.on_notification(
            "session.lifecycle",
            Arc::new(move |_, params| {
                #[derive(serde::Deserialize)]
                struct Head<'a> {
                    #[serde(borrow, rename = "type")]
                    kind: Option<std::borrow::Cow<'a, str>>,
                }
                let head = serde_json::from_str::<Head>(params).ok();
                let kind = head.as_ref().and_then(|h| h.kind.as_deref()).unwrap_or("");
                handler(kind, params)
            }),
        );
    }

    /// Adds a handler of the CLI's `method` notifications (e.g.
    /// `gitHubTelemetry.event`).
    pub fn on_notification(&self, method: &str, handler: NotificationHandler) {
        self.inner
            .router
            .notification_handlers
            .lock()
            .push((method.to_string(), handler));
    }

    /// Sets the client-wide handler of `key` (`llmInference`), returning the
    /// one it replaces. With an `llmInference` handler, each connect makes
    /// this client the LLM inference provider (`llmInference.setProvider`), so
    /// it is set before the start: later, the CLI refuses it once sessions exist.
    pub fn set_client_handler(
        &self,
        key: &str,
        handler: RequestHandler,
    ) -> Result<Option<RequestHandler>> {
        if self.state() != ClientState::Disconnected {
            return Err(Error::invalid_state(format!(
                "the {key:?} handler is set before the client starts"
            )));
        }
        Ok(self
            .inner
            .router
            .client_handlers
            .lock()
            .insert(key.to_string(), handler))
    }

    /// Respawns a CLI that died unexpectedly, with backoff, and resumes every
    /// live session with its handlers; pending calls already failed. Gives up
    /// after `restartAttempts` tries, leaving the client in the Error state.
    async fn restart(self, why: Error) {
        let router = self.inner.router.clone();
        router.set_state(ClientState::Restarting, Some(why.message.clone()));
        let opts = &self.inner.options;
        let mut last = why;
        for attempt in 0..opts.restart_attempts {
            let delay =
                Duration::from_millis(opts.restart_delay_ms.saturating_mul(1 << attempt.min(16)));
            tokio::time::sleep(delay).await;
            let _life = self.inner.lifecycle.lock().await;
            if self.inner.stopped.load(Ordering::SeqCst) {
                return;
            }
            match self.connect().await {
                Ok(conn) => {
                    // A stop that came meanwhile wins over the new CLI.
                    if self.inner.stopped.load(Ordering::SeqCst) {
                        conn.kill(Error::invalid_state("the client was stopped"));
                        return;
                    }
                    *self.inner.router.conn.lock() = Some(conn.clone());
                    self.resume_all(&conn).await;
                    if self.inner.stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    router.set_state(ClientState::Connected, None);
                    log!(
                        Level::Info,
                        "client",
                        "Copilot CLI restarted (attempt {})",
                        attempt + 1
                    );
                    return;
                }
                Err(e) => {
                    log!(
                        Level::Warn,
                        "client",
                        "restart attempt {} failed: {e}",
                        attempt + 1
                    );
                    last = e;
                }
            }
        }
        router.set_state(
            ClientState::Error,
            Some(format!(
                "gave up restarting the Copilot CLI after {} attempts: {last}",
                opts.restart_attempts
            )),
        );
    }

    async fn resume_all(&self, conn: &Connection) {
        let sessions: Vec<_> = self
            .inner
            .router
            .sessions
            .lock()
            .values()
            .cloned()
            .collect();
        for s in sessions.into_iter().filter(|s| !s.is_closed()) {
            // Each resume is bounded (requestTimeoutMs); a stop ends the round.
            if self.inner.stopped.load(Ordering::SeqCst) || conn.peer.is_closed() {
                return;
            }
            // Valid: the same params opened the session.
            let Ok(params) = s.config.wire_params(&s.id, self.inner.options.mode) else {
                continue;
            };
            if let Err(e) = conn.request_value("session.resume", &params).await {
                log!(
                    Level::Warn,
                    "client",
                    "session {} not resumed after restart: {e}",
                    s.id
                );
                continue;
            }
            if let Err(e) = after_open(conn, &s.id, &s.config, self.inner.options.mode).await {
                log!(
                    Level::Warn,
                    "client",
                    "session {} resumed without all its settings after restart: {e}",
                    s.id
                );
            }
        }
    }

    async fn connect(&self) -> Result<Arc<Connection>> {
        let opts = &self.inner.options;
        let timeout = Duration::from_millis(opts.handshake_timeout_ms);
        let (transport, token) = if let Some(url) = &opts.cli_url {
            (
                tcp::connect_external(url).await?,
                opts.connection_token.clone(),
            )
        } else if opts.transport == options::Transport::Tcp {
            let token = opts
                .connection_token
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            (
                tcp::spawn(opts, opts.port, &token, timeout).await?,
                Some(token),
            )
        } else if opts.transport == options::Transport::InProcess {
            (inprocess::start(opts).await?, None)
        } else {
            (stdio::spawn(opts)?, None)
        };
        let Transport {
            reader,
            writer,
            child,
            port,
        } = transport;
        let peer = RpcPeer::with_limits(
            writer,
            opts.max_outgoing_bytes,
            self.inner.router.drops.clone(),
        );
        let (closed_tx, _) = watch::channel(None);
        let closed_tx2 = closed_tx.clone();
        let router = self.inner.router.clone();
        let reader_peer = peer.clone();
        let reader_child = child.clone();
        let intentional = Arc::new(AtomicBool::new(false));
        let closed_on_purpose = intentional.clone();
        // Only a connection that completed its handshake is restarted; a failed
        // start reports its own error.
        let established = Arc::new(AtomicBool::new(false));
        let was_established = established.clone();
        let client = Arc::downgrade(&self.inner);
        let task = tokio::spawn(async move {
            let peer_weak = Arc::downgrade(&reader_peer);
            let why = read_loop(reader, reader_peer.clone(), DEFAULT_MAX_BODY_BYTES, |msg| {
                route_inbound(&router, &peer_weak, msg)
            })
            .await;
            let reason = describe_close(why, reader_child.as_ref()).await;
            log!(
                Level::Info,
                "client",
                "connection closed: {}",
                reason.message
            );
            reader_peer.fail_all(reason.clone());
            closed_tx2.send_if_modified(|c| {
                let first = c.is_none();
                if first {
                    *c = Some(reason.clone());
                }
                first
            });
            if closed_on_purpose.load(Ordering::SeqCst) || !was_established.load(Ordering::SeqCst) {
                return;
            }
            let Some(inner) = client.upgrade() else {
                return;
            };
            let stopped = inner.stopped.load(Ordering::SeqCst);
            if !stopped && inner.options.auto_restart && reader_child.is_some() {
                // Respawn on a fresh task: this one must finish for the old connection to go.
                spawn_restart(inner, reason);
            } else if !stopped {
                let disconnected = if reader_child.is_some() {
                    ClientState::Error
                } else {
                    ClientState::Disconnected
                };
                router.set_state(disconnected, Some(reason.message));
            }
        });
        let request_timeout =
            (opts.request_timeout_ms > 0).then(|| Duration::from_millis(opts.request_timeout_ms));
        let mut conn = Connection::new(
            peer.clone(),
            child,
            closed_tx,
            task,
            intentional,
            request_timeout,
        );
        conn.port = port;
        let ready = async {
            let version = handshake(
                &peer,
                token.as_deref(),
                opts.enable_github_telemetry_forwarding,
            )
            .await?;
            if !opts.builtin_plugin_directories.is_empty() {
                // Before any session (the CLI refuses it once one is open),
                // so again after each restart; a refusal fails the start.
                let paths = json!({"paths": opts.builtin_plugin_directories});
                peer.request("plugins.builtin.set", &paths)
                    .await
                    .map_err(|e| e.context("plugins.builtin.set"))?;
            }
            if let Some(fs) = &opts.session_fs {
                // Refused once the server has sessions: the start fails with the reason.
                peer.request("sessionFs.setProvider", fs)
                    .await
                    .map_err(|e| e.context("sessionFs.setProvider"))?;
            }
            if self
                .inner
                .router
                .client_handlers
                .lock()
                .contains_key("llmInference")
            {
                // Before any session, as plugins.builtin.set: so after each restart too.
                peer.request("llmInference.setProvider", &json!({}))
                    .await
                    .map_err(|e| e.context("llmInference.setProvider"))?;
            }
            Ok::<_, Error>(version)
        };
        match tokio::time::timeout(timeout, ready).await {
            Ok(Ok(version)) => {
                conn.server_version = version;
                established.store(true, Ordering::SeqCst);
                let conn = Arc::new(conn);
                // A CLI that stops reading our replies while it keeps asking
                // is killed like a crashed one (autoRestart applies).
                let weak = Arc::downgrade(&conn);
                peer.set_fatal_hook(Box::new(move |why| {
                    if let Some(conn) = weak.upgrade() {
                        conn.fail(why);
                    }
                }));
                if opts.keep_alive_interval_ms > 0 {
                    tokio::spawn(keep_alive(
                        Arc::downgrade(&conn),
                        opts.keep_alive_interval_ms,
                        opts.ping_timeout_ms,
                    ));
                }
                Ok(conn)
            }
            Ok(Err(e)) => {
                let e = if e.kind == ErrorKind::Disconnected {
                    // A write can fail (broken pipe) before the reader sees the
                    // CLI exit; the reader's account names its exit status and stderr.
                    conn.reader_account(e).await
                } else {
                    e
                };
                conn.kill(e.clone());
                Err(e)
            }
            Err(_) => {
                let e = Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "Copilot CLI did not answer the handshake within {} ms",
                        timeout.as_millis()
                    ),
                );
                conn.kill(e.clone());
                Err(e)
            }
        }
    }

    /// Graceful stop: `session.destroy` for every live session, then
    /// `runtime.shutdown`, close stdin, wait for the CLI to exit, and kill it
    /// if it has not exited within `timeout`. Returns within about `timeout`
    /// plus 5 s counted from the call, whatever the CLI does: a restart in
    /// progress gives way, and a CLI that reads nothing is killed.
    pub async fn stop(&self, timeout: Duration) -> Result<()> {
        if self.is_callback_thread() {
            return Err(Error::new(
                ErrorKind::WrongThread,
                "stop cannot wait on the callback thread",
            ));
        }
        let deadline = Instant::now() + timeout;
        let remaining = || deadline.saturating_duration_since(Instant::now());
        self.inner.stopped.store(true, Ordering::SeqCst);
        // A restart holds the lifecycle lock while it resumes sessions; it
        // sees `stopped` and gives way, and past the deadline we go on.
        let _life = tokio::time::timeout(remaining(), self.inner.lifecycle.lock())
            .await
            .ok();
        let conn = self.inner.router.conn.lock().take();
        let Some(conn) = conn else {
            self.inner.router.set_state(ClientState::Disconnected, None);
            return Ok(());
        };
        let sessions = self.inner.router.take_sessions();
        let mut errors = Vec::new();
        if !conn.peer.is_closed() {
            for s in &sessions {
                let params = json!({"sessionId": &*s.id});
                let destroy =
                    conn.peer
                        .request_within("session.destroy", &params, Some(remaining()));
                if let Err(e) = destroy.await {
                    errors.push(e.context(&format!("session.destroy {}", s.id)));
                }
            }
            // Only a runtime we spawned is ours to shut down; an external server lives on.
            if conn.child.is_some() {
                let params = json!({});
                let limit = remaining().min(Duration::from_secs(10));
                let _ = conn
                    .peer
                    .request_within("runtime.shutdown", &params, Some(limit))
                    .await;
            }
        }
        for s in &sessions {
            s.close();
        }
        drop(sessions);
        conn.peer.close_writer();
        if let Some(child) = &conn.child {
            if child.wait_exit(remaining()).await.is_none() {
                child.kill();
                child.wait_exit(Duration::from_secs(5)).await;
            }
        }
        conn.kill(Error::invalid_state("the client was stopped"));
        self.inner.router.set_state(ClientState::Disconnected, None);
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Immediate stop: kills the CLI and fails pending calls; never waits.
    pub fn force_stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        let conn = self.inner.router.conn.lock().take();
        if let Some(conn) = conn {
            conn.kill(Error::invalid_state("the client was force-stopped"));
        }
        self.inner.router.close_sessions();
        self.inner.router.set_state(ClientState::Disconnected, None);
    }

    /// What the library could not deliver so far, as JSON:
    /// `{"droppedMessages": int, "lastDropReason": str|null}`.
    pub fn stats(&self) -> Value {
        let drops = &self.inner.router.drops;
        json!({
            "droppedMessages": drops.count(),
            "lastDropReason": drops.last_reason(),
        })
    }

    async fn ensure_started(&self) -> Result<()> {
        if self
            .inner
            .router
            .conn
            .lock()
            .as_ref()
            .is_some_and(|c| !c.peer.is_closed())
        {
            return Ok(());
        }
        if !self.inner.options.auto_start {
            return Err(Error::invalid_state(
                "the client is not started (autoStart is off): call start first",
            ));
        }
        self.start().await
    }

    /// Calls any client-scoped method with a JSON object of params.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.call_within(method, params, None).await
    }

    /// `call`, failing with `Timeout` after `timeout` (`None`: the client's
    /// `requestTimeoutMs`).
    pub async fn call_within(
        &self,
        method: &str,
        params: Value,
        timeout: Option<Duration>,
    ) -> Result<Value> {
        let conn = self.inner.connection()?;
        let params = if params.is_null() { json!({}) } else { params };
        conn.request_within(method, &params, timeout).await
    }

    /// `ping`: `{message, timestamp, protocolVersion?}`.
    /// `ping`, failing with `Timeout` after `pingTimeoutMs`.
    pub async fn ping(&self, message: Option<&str>) -> Result<Value> {
        let params = match message {
            Some(m) => json!({ "message": m }),
            None => json!({}),
        };
        let limit = Duration::from_millis(self.inner.options.ping_timeout_ms);
        tokio::time::timeout(limit, self.call("ping", params))
            .await
            .map_err(|_| {
                Error::timeout(format!("ping: no answer within {} ms", limit.as_millis()))
            })?
    }

    /// `status.get`: the CLI's `{version, protocolVersion}`.
    pub async fn get_status(&self) -> Result<Value> {
        self.call("status.get", json!({})).await
    }

    /// `auth.getStatus`: `{isAuthenticated, authType?, host?, login?,
    /// statusMessage?}`, whether the CLI is signed in to GitHub.
    pub async fn get_auth_status(&self) -> Result<Value> {
        self.call("auth.getStatus", json!({})).await
    }

    /// `session.list`: `{sessions: [{sessionId, startTime, modifiedTime,
    /// summary?, isRemote, context?}]}`, the sessions persisted on disk (a
    /// session is persisted by its first turn, not by its creation).
    /// `filter`: `None`, or an object `{cwd?, gitRoot?, repository?, branch?}`
    /// sent as `params.filter`; anything but an object is refused (the CLI
    /// would ignore it and list every session).
    pub async fn list_sessions(&self, filter: Option<Value>) -> Result<Value> {
        let params = match filter {
            None => json!({}),
            Some(filter @ Value::Object(_)) => json!({ "filter": filter }),
            Some(_) => {
                return Err(Error::invalid_json(
                    "session.list: the filter must be a JSON object like {\"cwd\": \"/path\"}",
                ))
            }
        };
        self.call("session.list", params).await
    }

    /// `session.getMetadata`: `{session?}`, the session's `session.list` entry,
    /// or `{}` when none is persisted under that id (an unknown id, or a
    /// session without a turn yet).
    pub async fn get_session_metadata(&self, session_id: &str) -> Result<Value> {
        if session_id.is_empty() {
            return Err(Error::invalid_argument("session_id is empty"));
        }
        self.call("session.getMetadata", json!({ "sessionId": session_id }))
            .await
    }

    /// `session.create`. The session is registered before the request goes
    /// out, because the CLI may send its events before the reply.
    pub async fn create_session(&self, config: SessionConfig) -> Result<Session> {
        let id = match config.fields.get("sessionId") {
            Some(Value::String(id)) => id.clone(),
            Some(_) => return Err(Error::invalid_json("sessionId must be a string")),
            None => uuid::Uuid::new_v4().to_string(),
        };
        self.open_session("session.create", &id, config).await
    }

    /// `session.resume` of a session kept on disk, with handlers registered again.
    pub async fn resume_session(&self, session_id: &str, config: SessionConfig) -> Result<Session> {
        self.open_session("session.resume", session_id, config)
            .await
    }

    async fn open_session(&self, method: &str, id: &str, config: SessionConfig) -> Result<Session> {
        if self.inner.options.session_fs.is_some() && !config.handlers.contains_key("sessionFs") {
            // The CLI would keep this session's state through a provider nobody answers.
            return Err(Error::invalid_argument(
                "the client is the session filesystem provider (sessionFs): the session needs a \"sessionFs\" handler",
            ));
        }
        let mut params = config.wire_params(id, self.inner.options.mode)?;
        if self.inner.options.enable_github_telemetry_forwarding {
            // As the official SDKs: the session asks for forwarding too.
            if let Value::Object(p) = &mut params {
                p.entry("enableGitHubTelemetryForwarding")
                    .or_insert(Value::Bool(true));
            }
        }
        self.ensure_started().await?;
        let conn = self.inner.connection()?;
        let destroying = self.inner.router.pending_destroys.lock().get(id).cloned();
        if let Some(mut done) = destroying {
            let _ = tokio::time::timeout(Duration::from_secs(10), done.wait_for(|d| *d)).await;
        }
        let shared = SessionShared::new(id, &config);
        self.inner
            .router
            .sessions
            .lock()
            .insert(id.to_string(), shared.clone());
        let opened = match conn.request_value(method, &params).await {
            Ok(result) => match after_open(&conn, id, &config, self.inner.options.mode).await {
                Ok(()) => Ok(result),
                Err(e) => {
                    // Not left running with settings the host did not get.
                    let _ = conn
                        .request_value("session.destroy", &json!({ "sessionId": id }))
                        .await;
                    Err(e)
                }
            },
            Err(e) => Err(e.context(method)),
        };
        match opened {
            Ok(result) => Ok(Session {
                shared,
                router: Arc::downgrade(&self.inner.router),
                info: Arc::new(result),
            }),
            Err(e) => {
                self.inner.router.sessions.lock().remove(id);
                shared.close();
                Err(e)
            }
        }
    }
}

/// What follows a session's create or resume: interest in MCP OAuth requests
/// when it has a handler for them (the CLI sends them only then), and the
/// options `session.create` does not take (`session.options.update`).
async fn after_open(conn: &Connection, id: &str, config: &SessionConfig, mode: Mode) -> Result<()> {
    if config.handlers.contains_key("mcpAuth") {
        let interest = json!({"sessionId": id, "eventType": "mcp.oauth_required"});
        conn.request_value("session.eventLog.registerInterest", &interest)
            .await
            .map_err(|e| e.context("session.eventLog.registerInterest"))?;
    }
    if let Some(patch) = config.options_patch(id, mode) {
        conn.request_value("session.options.update", &patch)
            .await
            .map_err(|e| e.context("session.options.update"))?;
    }
    Ok(())
}

/// Pings the CLI every `interval_ms`; one that is alive but gives no sign
/// of life within `timeout_ms` is killed, which the reader then treats as a
/// crash (restarting it with `autoRestart`). A sign of life is the ping's
/// reply or any bytes read meanwhile; while the reader is held back by the
/// host's full queue the reply cannot be read, and that silence is ours.
async fn keep_alive(conn: Weak<Connection>, interval_ms: u64, timeout_ms: u64) {
    loop {
        tokio::time::sleep(Duration::from_millis(interval_ms)).await;
        let Some(c) = conn.upgrade() else { return };
        if c.peer.is_closed() {
            return;
        }
        let reads = c.peer.reads();
        let params = json!({"message": "keep-alive"});
        let limit = Some(Duration::from_millis(timeout_ms));
        match c.peer.request_within("ping", &params, limit).await {
            Ok(_) => {}
            Err(e) if e.kind != ErrorKind::Timeout => return,
            Err(_) if c.peer.reads() != reads || c.peer.waiting_on_host() => {}
            Err(_) => {
                log!(Level::Warn, "client", "Copilot CLI gave no sign of life within {timeout_ms} ms of a keep-alive ping: killing it");
                if let Some(child) = &c.child {
                    child.kill();
                }
                return;
            }
        }
    }
}

/// A plain function (not async) so the restart future, which connects again,
/// does not become part of the reader future's type.
/// A restart that panics still ends in the Error state, with the reason.
fn spawn_restart(inner: Arc<ClientInner>, reason: Error) {
    let router = Arc::downgrade(&inner.router);
    let restart: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
        Box::pin(Client { inner }.restart(reason));
    let task = tokio::spawn(restart);
    tokio::spawn(async move {
        if let Err(e) = task.await {
            if let Some(router) = router.upgrade() {
                let why = format!("restarting the Copilot CLI failed: {e}");
                log!(Level::Error, "client", "{why}");
                router.set_state(ClientState::Error, Some(why));
            }
        }
    });
}
