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

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use conversations::Library;
pub use record::RecordServer;

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

/// State shared by the HTTP handlers.
pub(crate) struct Shared {
    pub library: Library,
    pub requests: Mutex<Vec<serde_json::Value>>,
    pub workdir: Mutex<Option<String>>,
    /// Senders of held responses; kept so those bodies never end.
    pub held: Mutex<Vec<tokio::sync::mpsc::Sender<Result<String, std::io::Error>>>>,
}

/// A running replay server on its own thread and runtime. Dropping it stops it.
pub struct ReplayServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
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
        let listener = std::net::TcpListener::bind((host, port))
            .map_err(|e| ReplayError::new(format!("cannot listen on {host}:{port}: {e}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ReplayError::new(format!("listener: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ReplayError::new(format!("listener: {e}")))?;
        let shared = Arc::new(Shared {
            library,
            requests: Mutex::new(Vec::new()),
            workdir: Mutex::new(None),
            held: Mutex::new(Vec::new()),
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let app = http::router(shared.clone());
        let thread = std::thread::Builder::new()
            .name("copilot-replay".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("replay runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    tokio::select! {
                        r = axum::serve(listener, app) => {
                            if let Err(e) = r {
                                eprintln!("copilot-replay: server stopped: {e}");
                            }
                        }
                        _ = stop_rx => {}
                    }
                });
                // Dropping the runtime drops open connections, held ones included.
            })
            .map_err(|e| ReplayError::new(format!("cannot start server thread: {e}")))?;
        Ok(ReplayServer {
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `url() + "/v1"`: the `provider.baseUrl` for a BYOK session.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// Every chat-completions request body received so far, in order.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The directory that stands for `${workdir}` in conversations.
    pub fn set_workdir(&self, dir: &str) {
        *self.shared.workdir.lock().unwrap() = Some(dir.to_string());
    }

    /// Stops serving and waits for the server thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}
