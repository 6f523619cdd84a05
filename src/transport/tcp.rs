//! TCP transports: a CLI child listening on a port (`--port N`), or an external
//! server given by URL. Nagle is off and every frame goes out in one write, so
//! small messages are not held back by delayed ACKs.

use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::net::TcpStream;

use super::socket::SocketWriter;
use super::stdio::{child_command, resolve_cli_path};
use super::{ChildProcess, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::options::ClientOptions;

/// Environment variable that carries the connection token to a TCP child.
pub const CONNECTION_TOKEN_ENV: &str = "COPILOT_CONNECTION_TOKEN";

/// Connects with Nagle off; the reading half, and the writing half as a
/// `SocketWriter` (send with MSG_NOSIGNAL) on its own descriptor.
async fn connect_stream(addr: &str) -> Result<(TcpStream, SocketWriter)> {
    let stream = TcpStream::connect(addr).await.map_err(|e| {
        Error::new(
            ErrorKind::Connection,
            format!("cannot connect to Copilot CLI server at {addr}: {e}"),
        )
    })?;
    let io_err =
        |what: &str, e: std::io::Error| Error::new(ErrorKind::Connection, format!("{what}: {e}"));
    stream
        .set_nodelay(true)
        .map_err(|e| io_err("TCP_NODELAY", e))?;
    let std_stream = stream.into_std().map_err(|e| io_err("socket", e))?;
    let read_half = std_stream.try_clone().map_err(|e| io_err("socket", e))?;
    let reader = TcpStream::from_std(read_half).map_err(|e| io_err("socket", e))?;
    let writer = SocketWriter::new(OwnedFd::from(std_stream)).map_err(|e| io_err("socket", e))?;
    Ok((reader, writer))
}

/// Connects to a server this client did not start.
pub async fn connect_external(url: &str) -> Result<Transport> {
    let addr = crate::options::parse_cli_url(url)?;
    let (reader, writer) = connect_stream(&addr).await?;
    let port = reader.peer_addr().ok().map(|a| a.port());
    Ok(Transport {
        reader: Box::new(reader),
        writer: Box::new(writer),
        child: None,
        port,
    })
}

/// Spawns the CLI in TCP mode and connects once it reports its port.
pub async fn spawn(
    opts: &ClientOptions,
    port: u16,
    token: &str,
    timeout: Duration,
) -> Result<Transport> {
    let mut env = super::stdio::child_env(opts);
    env.retain(|(k, _)| k != CONNECTION_TOKEN_ENV);
    env.push((CONNECTION_TOKEN_ENV.into(), token.into()));
    let path = resolve_cli_path(opts, &env)?;
    let mut args = super::stdio::common_args(opts);
    if port > 0 {
        args.extend(["--port".into(), port.to_string()]);
    }
    let mut cmd: Command = child_command(&path);
    cmd.args(args)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = &opts.cwd {
        cmd.current_dir(cwd);
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::new(
            ErrorKind::Connection,
            format!("cannot start Copilot CLI {}: {e}", path.display()),
        )
    })?;
    let io_err = |e: std::io::Error| Error::new(ErrorKind::Connection, format!("CLI pipes: {e}"));
    let stdout = child.stdout.take().expect("stdout piped");
    let process = ChildProcess::adopt(child.id(), child.stderr.take()).map_err(io_err)?;
    drop(child);
    let port_rx = process.watch_stdout_for_port(stdout).map_err(io_err)?;
    let port = tokio::select! {
        p = port_rx => p.map_err(|_| ()),
        _ = tokio::time::sleep(timeout) => Err(()),
    };
    let port = match port {
        Ok(p) => p,
        Err(()) => {
            process.wait_exit(Duration::from_millis(50)).await;
            let why = if process.exit_status().is_some() {
                process.describe_exit()
            } else {
                format!(
                    "Copilot CLI did not report its port within {} ms",
                    timeout.as_millis()
                )
            };
            process.kill();
            return Err(Error::new(ErrorKind::Connection, why));
        }
    };
    match connect_stream(&format!("127.0.0.1:{port}")).await {
        Ok((reader, writer)) => Ok(Transport {
            reader: Box::new(reader),
            writer: Box::new(writer),
            child: Some(process),
            port: Some(port),
        }),
        Err(e) => {
            process.kill();
            Err(e)
        }
    }
}
