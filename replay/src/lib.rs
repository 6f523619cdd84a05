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

pub mod conversations;
mod http;
pub mod matcher;
pub mod normalize;
pub mod record;
mod server;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use conversations::Library;
pub use record::RecordServer;
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

/// State shared by the HTTP handlers.
pub(crate) struct Shared {
    pub library: Library,
    pub requests: Mutex<Vec<serde_json::Value>>,
    /// The HTTP headers of each request in `requests`, lower-case names.
    pub request_headers: Mutex<Vec<serde_json::Map<String, serde_json::Value>>>,
    /// Fields merged over the default `/copilot_internal/user` answer.
    pub copilot_user: Mutex<serde_json::Map<String, serde_json::Value>>,
    /// When set, the only tokens `/copilot_internal/user` accepts, each with
    /// fields of its own user; any other token is refused.
    pub users_by_token: Mutex<Option<HashMap<String, serde_json::Map<String, serde_json::Value>>>>,
    /// Requests for paths this server does not serve.
    pub unserved: Mutex<Vec<UnservedRequest>>,
    pub workdir: Mutex<Option<String>>,
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
            library,
            requests: Mutex::new(Vec::new()),
            request_headers: Mutex::new(Vec::new()),
            copilot_user: Mutex::new(serde_json::Map::new()),
            users_by_token: Mutex::new(None),
            unserved: Mutex::new(Vec::new()),
            workdir: Mutex::new(None),
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
        self.shared.requests.lock().unwrap().clone()
    }

    /// The headers of each chat-completions request (same order as `requests`):
    /// lower-case name to value (repeated headers joined with ",").
    pub fn request_headers(&self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        self.shared.request_headers.lock().unwrap().clone()
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
