//! copilot-replay: an offline OpenAI-compatible model server that replays
//! recorded conversations (YAML), so the real Copilot CLI can run with a BYOK
//! provider and no network.
//!
//! Matching follows the upstream SDK harness: requests are normalised (see
//! `normalize`), and the first stored conversation of which a request is a
//! strict prefix, followed by an assistant message, supplies the reply.
//!
//! `record` is the other direction: a proxy to a real provider that writes
//! conversations in the same format.
//!
//! What the model was sent is kept for tests: `ReplayServer::model_requests`
//! in process, `GET /_replay/requests` over HTTP, and a JSON Lines file
//! (`ReplayServer::log_requests_to`, the binary's `--requests FILE`).

pub mod conversations;
mod http;
pub mod matcher;
pub mod normalize;
pub mod record;
mod server;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use conversations::Library;
pub use record::{write_atomically, RecordServer};
use server::ServerThread;

/// Loading or serving failed.
#[derive(Debug, Clone)]
pub struct ReplayError {
    message: String,
}

impl ReplayError {
    pub(crate) fn new(message: String) -> Self {
        ReplayError { message }
    }
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReplayError {}

/// A request for a path copilot-replay does not serve.
#[derive(Debug, Clone)]
pub struct UnservedRequest {
    pub method: String,
    pub path: String,
    /// Lower-case header names to values.
    pub headers: serde_json::Map<String, serde_json::Value>,
}

/// One chat-completions request the server received (whether or not a
/// conversation matched it).
#[derive(Debug, Clone)]
pub struct ModelRequest {
    /// `POST`.
    pub method: String,
    /// `/v1/chat/completions` or `/chat/completions`.
    pub path: String,
    /// The JSON body as received (model, messages, tools, ...).
    pub body: serde_json::Value,
    /// Lower-case header names to values (repeated headers joined with ",").
    pub headers: serde_json::Map<String, serde_json::Value>,
}

impl ModelRequest {
    /// `{"method", "path", "body"}`: one line of the `--requests` log. Headers
    /// are left out there, since they carry the API key; `GET /_replay/requests`
    /// adds them (in memory only).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"method": self.method, "path": self.path, "body": self.body})
    }
}

/// The model requests received, and the file they are logged to.
#[derive(Default)]
pub(crate) struct Received {
    pub requests: Vec<ModelRequest>,
    pub log: Option<(PathBuf, std::fs::File)>,
}

impl Received {
    /// Keeps `request` and appends its line to the log, unbuffered, in one
    /// write (a reader treats a line without its newline as still coming).
    pub fn push(&mut self, request: ModelRequest) {
        if let Some((path, file)) = &mut self.log {
            let mut line = request.to_json().to_string();
            line.push('\n');
            if let Err(e) = file.write_all(line.as_bytes()) {
                eprintln!("copilot-replay: cannot write {}: {e}", path.display());
            }
        }
        self.requests.push(request);
    }
}

/// State shared by the HTTP handlers.
pub(crate) struct Shared {
    /// The conversations served; `POST /_replay/configure` swaps them.
    pub library: std::sync::RwLock<Arc<Library>>,
    pub received: Mutex<Received>,
    /// Fields merged over the default `/copilot_internal/user` answer.
    pub copilot_user: Mutex<serde_json::Map<String, serde_json::Value>>,
    /// When set, the only tokens `/copilot_internal/user` accepts, each with
    /// fields of its own user; any other token is refused.
    pub users_by_token: Mutex<Option<HashMap<String, serde_json::Map<String, serde_json::Value>>>>,
    /// Requests for paths this server does not serve.
    pub unserved: Mutex<Vec<UnservedRequest>>,
    pub workdir: Mutex<Option<String>>,
    /// Set by `POST /_replay/configure {"revealCredentials": true}`: the
    /// request log then keeps credential headers, for a harness that checks
    /// which key reached which provider. Off by default.
    pub reveal_credentials: std::sync::atomic::AtomicBool,
    /// Senders of held responses; kept so those bodies never end.
    pub held: Mutex<Vec<tokio::sync::mpsc::Sender<Result<String, std::io::Error>>>>,
}

/// A running replay server on its own thread and runtime. Dropping it stops it.
pub struct ReplayServer {
    server: ServerThread,
    shared: Arc<Shared>,
}

impl ReplayServer {
    /// Loads one YAML file or every `*.yaml`/`*.yml` below a directory per path,
    /// binds 127.0.0.1:`port` (0 = any free port) and starts serving.
    pub fn start_blocking(paths: &[PathBuf], port: u16) -> Result<ReplayServer, ReplayError> {
        Self::start_on("127.0.0.1", paths, port)
    }

    /// As `start_blocking`, on another host address.
    pub fn start_on(host: &str, paths: &[PathBuf], port: u16) -> Result<ReplayServer, ReplayError> {
        let library = Library::load(paths)?;
        let shared = Arc::new(Shared {
            library: std::sync::RwLock::new(Arc::new(library)),
            received: Mutex::new(Received::default()),
            copilot_user: Mutex::new(serde_json::Map::new()),
            users_by_token: Mutex::new(None),
            unserved: Mutex::new(Vec::new()),
            workdir: Mutex::new(None),
            reveal_credentials: Default::default(),
            held: Mutex::new(Vec::new()),
        });
        // Stopping drops open connections, held ones included.
        let server =
            ServerThread::start(host, port, "copilot-replay", http::router(shared.clone()))?;
        Ok(ReplayServer { server, shared })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `url() + "/v1"`: the `provider.baseUrl` for a BYOK session.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// Every chat-completions request body received so far, in order.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let received = self.shared.received.lock().unwrap();
        received.requests.iter().map(|r| r.body.clone()).collect()
    }

    /// The headers of each chat-completions request (same order as `requests`):
    /// lower-case name to value (repeated headers joined with ",").
    pub fn request_headers(&self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let received = self.shared.received.lock().unwrap();
        received
            .requests
            .iter()
            .map(|r| r.headers.clone())
            .collect()
    }

    /// Every chat-completions request received so far, in order, with its
    /// method and path (what `GET /_replay/requests` answers, plus headers).
    pub fn model_requests(&self) -> Vec<ModelRequest> {
        self.shared.received.lock().unwrap().requests.clone()
    }

    /// Logs every chat-completions request to `file` (created, or truncated)
    /// as one JSON line `{"method", "path", "body"}`: those received so far at
    /// once, each later one as it arrives, so another process can read the
    /// file while the server runs. Replaces an earlier log file.
    pub fn log_requests_to(&self, file: &Path) -> Result<(), ReplayError> {
        let cannot =
            |e: std::io::Error| ReplayError::new(format!("cannot write {}: {e}", file.display()));
        let mut f = std::fs::File::create(file).map_err(cannot)?;
        let mut received = self.shared.received.lock().unwrap();
        let earlier: String = received
            .requests
            .iter()
            .map(|r| format!("{}\n", r.to_json()))
            .collect();
        f.write_all(earlier.as_bytes()).map_err(cannot)?;
        received.log = Some((file.to_path_buf(), f));
        Ok(())
    }

    /// Fields (login, quota_snapshots, ...) merged over the signed-in user that
    /// `GET /copilot_internal/user` answers with; later calls add to earlier ones.
    pub fn set_copilot_user(&self, fields: serde_json::Map<String, serde_json::Value>) {
        self.shared.copilot_user.lock().unwrap().extend(fields);
    }

    /// Gives each of these bearer tokens a user of its own (fields merged over the
    /// default user, e.g. `login`) and refuses every other token with 401, so
    /// tests can tell which token a CLI used. Replaces earlier calls.
    pub fn set_copilot_users_by_token(
        &self,
        users: HashMap<String, serde_json::Map<String, serde_json::Value>>,
    ) {
        *self.shared.users_by_token.lock().unwrap() = Some(users);
    }

    /// Requests for paths this server does not serve (answered 404), in order:
    /// for checking what a CLI asked of services pointed here (e.g. an MCP URL).
    pub fn unserved_requests(&self) -> Vec<UnservedRequest> {
        self.shared.unserved.lock().unwrap().clone()
    }

    /// The directory that stands for `${workdir}` in conversations.
    pub fn set_workdir(&self, dir: &str) {
        *self.shared.workdir.lock().unwrap() = Some(dir.to_string());
    }

    /// Stops serving and waits for the server thread (as dropping it does).
    pub fn shutdown(mut self) {
        self.server.stop();
    }
}
