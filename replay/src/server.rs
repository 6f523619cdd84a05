//! An axum router served on its own thread and current-thread runtime, for
//! both the replay and the record servers. Dropping it stops the server and
//! waits for its thread; open connections are dropped with the runtime.

use std::net::SocketAddr;

use crate::ReplayError;

pub(crate) struct ServerThread {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Binds `host:port` (0 = any free port) and serves `app` until stopped.
    pub fn start(
        host: &str,
        port: u16,
        name: &str,
        app: axum::Router,
    ) -> Result<Self, ReplayError> {
        let listener = std::net::TcpListener::bind((host, port))
            .map_err(|e| ReplayError::new(format!("cannot listen on {host}:{port}: {e}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ReplayError::new(format!("listener: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ReplayError::new(format!("listener: {e}")))?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let label = name.to_string();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    tokio::select! {
                        r = axum::serve(listener, app) => {
                            if let Err(e) = r {
                                eprintln!("{label}: server stopped: {e}");
                            }
                        }
                        _ = stop_rx => {}
                    }
                });
            })
            .map_err(|e| ReplayError::new(format!("cannot start server thread: {e}")))?;
        Ok(ServerThread {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://HOST:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits for the server thread; idempotent.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.stop();
    }
}
