//! One live connection to a CLI server: the JSON-RPC peer, the child process
//! when we spawned it, how it ended, and the `connect` handshake.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::error::{Error, ErrorKind, Result};
use crate::rpc::frame::FrameError;
use crate::rpc::{codes, RpcPeer};
use crate::sync::Mutex;
use crate::transport::ChildProcess;

/// The only protocol version this library speaks.
pub const PROTOCOL_VERSION: u64 = 3;

/// One live connection to a CLI server.
pub(crate) struct Connection {
    pub peer: Arc<RpcPeer>,
    pub child: Option<ChildProcess>,
    closed: watch::Sender<Option<Error>>,
    reader: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Set before we close the connection on purpose, so its end is not a crash.
    intentional: Arc<AtomicBool>,
    pub server_version: String,
    /// The server's TCP port, for TCP transports.
    pub port: Option<u16>,
    /// The limit of requests that have none of their own (`requestTimeoutMs`).
    request_timeout: Option<Duration>,
}

impl Connection {
    pub fn new(
        peer: Arc<RpcPeer>,
        child: Option<ChildProcess>,
        closed: watch::Sender<Option<Error>>,
        reader: tokio::task::JoinHandle<()>,
        intentional: Arc<AtomicBool>,
        request_timeout: Option<Duration>,
    ) -> Connection {
        Connection {
            peer,
            child,
            closed,
            reader: Mutex::new(Some(reader)),
            intentional,
            server_version: String::new(),
            port: None,
            request_timeout,
        }
    }

    /// A request within the client's `requestTimeoutMs`.
    pub async fn request_value<P: serde::Serialize + ?Sized>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<Value> {
        self.request_within(method, params, None).await
    }

    /// `request_value`, failing with `Timeout` when it was not written and
    /// answered within `timeout` (`None`: the client's `requestTimeoutMs`).
    /// A reply that comes later is dropped.
    pub async fn request_within<P: serde::Serialize + ?Sized>(
        &self,
        method: &str,
        params: &P,
        timeout: Option<Duration>,
    ) -> Result<Value> {
        let limit = timeout.or(self.request_timeout);
        let raw = self.peer.request_within(method, params, limit).await?;
        serde_json::from_str(raw.get())
            .map_err(|e| Error::invalid_json(format!("{method} result: {e}")))
    }

    /// Fires once the connection is gone, with the reason.
    pub fn closed_watch(&self) -> watch::Receiver<Option<Error>> {
        self.closed.subscribe()
    }

    /// Why the reader saw the connection close, waiting briefly for it;
    /// `fallback` if it has not closed by then.
    pub async fn reader_account(&self, fallback: Error) -> Error {
        let mut closed = self.closed_watch();
        let account = tokio::time::timeout(Duration::from_secs(2), async {
            closed
                .wait_for(|c| c.is_some())
                .await
                .ok()
                .and_then(|c| c.clone())
        })
        .await;
        account.ok().flatten().unwrap_or(fallback)
    }

    pub fn closed_error(&self) -> Error {
        self.peer.closed_error()
    }

    /// Kills the child and stops reading; never blocks.
    pub fn kill(&self, reason: Error) {
        self.intentional.store(true, Ordering::SeqCst);
        self.end(reason);
    }

    /// Ends a connection found broken on our side: as `kill`, but the end
    /// counts as a crash (state Error, `autoRestart` applies).
    pub fn fail(&self, reason: Error) {
        if let Some(child) = &self.child {
            // The reader sees the CLI exit and restarts it if asked to.
            self.peer.fail_all(reason);
            child.kill();
        } else {
            self.end(reason);
        }
    }

    fn end(&self, reason: Error) {
        if let Some(child) = &self.child {
            child.kill();
        }
        self.peer.fail_all(reason.clone());
        self.closed.send_if_modified(|c| {
            let first = c.is_none();
            if first {
                *c = Some(reason);
            }
            first
        });
        if let Some(task) = self.reader.lock().take() {
            task.abort();
        }
        self.peer.drop_writer();
    }
}

pub(crate) async fn handshake(
    peer: &RpcPeer,
    token: Option<&str>,
    github_telemetry: bool,
) -> Result<String> {
    let mut params = match token {
        Some(t) => json!({ "token": t }),
        None => json!({}),
    };
    if github_telemetry {
        params["enableGitHubTelemetryForwarding"] = Value::Bool(true);
    }
    let result = match peer.request("connect", &params).await {
        Ok(r) => r,
        Err(e)
            if e.rpc_code == Some(codes::METHOD_NOT_FOUND)
                || e.message.contains("Unhandled method connect") =>
        {
            peer.request("ping", &json!({})).await?
        }
        Err(e) => return Err(e.context("connect")),
    };
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Hello {
        protocol_version: Option<u64>,
        #[serde(default)]
        version: Option<String>,
    }
    let hello: Hello = serde_json::from_str(result.get()).map_err(|e| {
        Error::new(
            ErrorKind::Connection,
            format!("unexpected handshake reply: {e}"),
        )
    })?;
    match hello.protocol_version {
        Some(PROTOCOL_VERSION) => Ok(hello.version.unwrap_or_default()),
        Some(v) => Err(Error::new(
            ErrorKind::ProtocolVersion,
            format!("Copilot CLI speaks protocol version {v}; libcopilot speaks version {PROTOCOL_VERSION}"),
        )),
        None => Err(Error::new(
            ErrorKind::ProtocolVersion,
            format!("Copilot CLI reported no protocol version; libcopilot speaks version {PROTOCOL_VERSION}"),
        )),
    }
}

pub(crate) async fn describe_close(why: FrameError, child: Option<&ChildProcess>) -> Error {
    match why {
        FrameError::Protocol(m) => {
            if let Some(c) = child {
                c.kill();
            }
            Error::disconnected(format!(
                "protocol error from Copilot CLI, connection closed: {m}"
            ))
        }
        FrameError::Eof | FrameError::Io(_) => match child {
            Some(c) => {
                // stdout closes as the process exits; give the reaper and the
                // stderr reader a moment so the error carries both.
                c.wait_exit_and_stderr(Duration::from_millis(80)).await;
                Error::disconnected(c.describe_exit())
            }
            None => Error::disconnected("the Copilot CLI server closed the connection"),
        },
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::frame::{encode_frame, FrameReader};
    use crate::rpc::read_loop;
    use tokio::io::AsyncWriteExt;

    /// A peer over in-memory pipes whose other end answers each request with `reply(method)`.
    async fn peer_with_server(reply: fn(&str) -> Value) -> Arc<RpcPeer> {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let (client_read, client_write) = tokio::io::split(client_io);
        let (server_read, mut server_write) = tokio::io::split(server_io);
        tokio::spawn(async move {
            let mut reader = FrameReader::new(server_read, 1 << 20);
            while let Ok(body) = reader.next_frame().await {
                let req: Value = serde_json::from_slice(&body).unwrap();
                let mut resp = reply(req["method"].as_str().unwrap());
                resp["jsonrpc"] = json!("2.0");
                resp["id"] = req["id"].clone();
                let frame = encode_frame(resp.to_string().as_bytes());
                server_write.write_all(&frame).await.unwrap();
            }
        });
        let peer = RpcPeer::new(Box::new(client_write));
        let reader_peer = peer.clone();
        tokio::spawn(async move {
            read_loop(client_read, reader_peer, 1 << 20, |_| async {}).await;
        });
        peer
    }

    #[tokio::test]
    async fn handshake_accepts_version_3_only_and_names_both_versions() {
        let ok = peer_with_server(
            |_| json!({"result": {"ok": true, "protocolVersion": 3, "version": "1.0.102"}}),
        )
        .await;
        assert_eq!(handshake(&ok, None, false).await.unwrap(), "1.0.102");

        let old = peer_with_server(|_| json!({"result": {"ok": true, "protocolVersion": 2}})).await;
        let err = handshake(&old, None, false).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::ProtocolVersion);
        assert!(
            err.message.contains("version 2") && err.message.contains("version 3"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn handshake_falls_back_to_ping_when_connect_is_unknown() {
        let peer = peer_with_server(|method| match method {
            "connect" => json!({"error": {"code": -32601, "message": "Unhandled method connect"}}),
            _ => json!({"result": {"message": "pong", "protocolVersion": 3}}),
        })
        .await;
        assert!(handshake(&peer, Some("t"), false).await.is_ok());
    }
}
