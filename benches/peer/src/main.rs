//! A synthetic Copilot CLI for SDK-only benchmarks. It speaks just enough of
//! the protocol (`connect`, `ping`, `session.create`/`resume`,
//! `session.send`, `session.tools.handlePendingToolCall`) for any SDK, over
//! TCP (an external server URL) or over stdio (spawned as the SDK's CLI), and
//! on each `session.send` it:
//!
//! 1. writes `--events` `assistant.message_delta` events as fast as the socket
//!    takes them (frames pre-encoded, written in large batches, so the peer is
//!    never the bottleneck);
//! 2. runs `--tool-calls` sequential `external_tool.requested` round trips,
//!    timing each from the event's write to the tool result's arrival;
//! 3. ends the turn with `assistant.message` and `session.idle`.
//!
//! After each turn it prints one line to stdout:
//! `turn events=N write_s=S tool_calls=M rtt_p50_us=A rtt_p99_us=B`.
//!
//! Stdio: when an SDK spawns it as its CLI (`... --stdio`, with whatever
//! other flags that SDK passes, all ignored), stdin and stdout carry the
//! protocol, the sizes come from `BENCH_PEER_EVENTS` and
//! `BENCH_PEER_TOOL_CALLS`, and the turn line is appended to the file
//! `BENCH_PEER_REPORT` names.

use std::time::Instant;

use clap::Parser;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[derive(Parser, Clone, Copy)]
struct Args {
    /// Port to listen on (0 picks one; the line "listening on 127.0.0.1:PORT" names it).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// assistant.message_delta events per turn.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Sequential tool round trips per turn.
    #[arg(long, default_value_t = 0)]
    tool_calls: usize,
}

fn frame(body: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(body).unwrap();
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(&body);
    out
}

/// A `session.event` frame with its keys in the order the real CLI writes them
/// (`json!` would sort them, putting `type` last).
fn event(session: &str, kind: &str, data: Value) -> Vec<u8> {
    let ephemeral = if kind.ends_with("_delta") {
        r#","ephemeral":true"#
    } else {
        ""
    };
    let body = format!(
        r#"{{"jsonrpc":"2.0","method":"session.event","params":{{"sessionId":{},"event":{{"type":{},"data":{},"id":"00000000-0000-4000-8000-000000000000","timestamp":"2026-01-01T00:00:00.000Z","parentId":null{ephemeral}}}}}}}"#,
        Value::from(session),
        Value::from(kind),
        data
    );
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--stdio") {
        let size = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let args = Args {
            port: 0,
            events: size("BENCH_PEER_EVENTS"),
            tool_calls: size("BENCH_PEER_TOOL_CALLS"),
        };
        let report = Report::File(std::env::var("BENCH_PEER_REPORT").ok());
        let (read, write) = stdio_streams();
        serve(read, write, args, report).await;
        return;
    }
    let args = Args::parse();
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await.unwrap();
    println!("listening on {}", listener.local_addr().unwrap());
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (read, write) = stream.into_split();
        tokio::spawn(serve(read, write, args, Report::Stdout));
    }
}

/// The SDK's stdin and stdout, non-blocking: pipes (most SDKs) or a Unix
/// socket pair (libcopilot). tokio's Stdin/Stdout would hand every write to
/// a blocking thread, a hop the peer must not add.
fn stdio_streams() -> (
    Box<dyn AsyncRead + Unpin + Send>,
    Box<dyn AsyncWrite + Unpin + Send>,
) {
    use std::os::fd::FromRawFd;
    // SAFETY: fds 0 and 1 are this process's own and used nowhere else.
    let (stdin, stdout) = unsafe { (std::fs::File::from_raw_fd(0), std::fs::File::from_raw_fd(1)) };
    let is_fifo = |f: &std::fs::File| {
        use std::os::unix::fs::FileTypeExt;
        f.metadata().is_ok_and(|m| m.file_type().is_fifo())
    };
    let read: Box<dyn AsyncRead + Unpin + Send> = if is_fifo(&stdin) {
        Box::new(pipe::Receiver::from_file(stdin).unwrap())
    } else {
        Box::new(unix_stream(stdin))
    };
    let write: Box<dyn AsyncWrite + Unpin + Send> = if is_fifo(&stdout) {
        Box::new(pipe::Sender::from_file(stdout).unwrap())
    } else {
        Box::new(unix_stream(stdout))
    };
    (read, write)
}

fn unix_stream(f: std::fs::File) -> tokio::net::UnixStream {
    let s = std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(f));
    s.set_nonblocking(true).unwrap();
    tokio::net::UnixStream::from_std(s).expect("stdio is a pipe or a Unix socket")
}

/// Where the turn line goes: stdout over TCP; over stdio (stdout is the
/// protocol) the file named, if any.
#[derive(Clone)]
enum Report {
    Stdout,
    File(Option<String>),
}

impl Report {
    fn line(&self, line: &str) {
        match self {
            Report::Stdout => println!("{line}"),
            Report::File(Some(path)) => {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .unwrap();
                writeln!(f, "{line}").unwrap();
            }
            Report::File(None) => {}
        }
    }
}

/// What the reader hands the writer task: bytes to write, or a tool result arrived.
enum Out {
    Bytes(Vec<u8>),
    Turn(String, String),
}

async fn serve<R, W>(read: R, write: W, args: Args, report: Report)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel::<Out>();
    let (tool_tx, tool_rx) = mpsc::unbounded_channel::<()>();
    tokio::spawn(writer(write, rx, tool_rx, args, report));
    read_requests(read, tx, tool_tx).await;
}

/// Answers the SDK's requests until its input ends; `session.send` starts a
/// turn on the writer, a tool result ends one round trip.
async fn read_requests<R: AsyncRead + Unpin>(
    read: R,
    tx: mpsc::UnboundedSender<Out>,
    tool_tx: mpsc::UnboundedSender<()>,
) {
    let mut reader = BufReader::with_capacity(1 << 16, read);
    let mut line = String::new();
    loop {
        let mut length = None;
        loop {
            line.clear();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.strip_prefix("Content-Length:") {
                length = v.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length.unwrap_or(0)];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
        let params = msg.get("params").cloned().unwrap_or(Value::Null);
        let session = params
            .get("sessionId")
            .and_then(Value::as_str)
            .unwrap_or("s")
            .to_string();
        let result = match method {
            "connect" => json!({"ok": true, "protocolVersion": 3, "version": "bench-peer"}),
            "ping" => {
                json!({"message": params.get("message").cloned().unwrap_or(json!("")), "timestamp": 0, "protocolVersion": 3})
            }
            "session.create" | "session.resume" => json!({"sessionId": session}),
            "session.send" => json!({"messageId": "m1", "aborted": false}),
            "session.tools.handlePendingToolCall" => {
                let _ = tool_tx.send(());
                json!({"success": true})
            }
            "session.destroy" | "session.detach" | "session.disconnect" | "session.delete"
            | "runtime.shutdown" => json!({"success": true}),
            // What a CLI without the method answers (SDKs then fall back).
            _ => Value::Null,
        };
        if id.is_null() {
            continue;
        }
        let reply = if result.is_null() {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("Unhandled method {method}")}})
        } else {
            json!({"jsonrpc": "2.0", "id": id, "result": result})
        };
        let _ = tx.send(Out::Bytes(frame(&reply)));
        if method == "session.send" {
            let _ = tx.send(Out::Turn(session, "m1".into()));
        }
    }
}

async fn writer<W: AsyncWrite + Unpin>(
    mut w: W,
    mut rx: mpsc::UnboundedReceiver<Out>,
    mut tool_results: mpsc::UnboundedReceiver<()>,
    args: Args,
    report: Report,
) {
    while let Some(out) = rx.recv().await {
        let (session, message_id) = match out {
            Out::Bytes(b) => {
                if w.write_all(&b).await.is_err() {
                    return;
                }
                continue;
            }
            Out::Turn(s, m) => (s, m),
        };
        // 1. The flood, in 256 KiB batches.
        let delta = event(
            &session,
            "assistant.message_delta",
            json!({"messageId": "a1", "deltaContent": "0123456789012345678901234567890123456789"}),
        );
        let per_batch = (256 * 1024 / delta.len()).max(1);
        let batch = delta.repeat(per_batch);
        let started = Instant::now();
        let mut left = args.events;
        while left > 0 {
            let n = left.min(per_batch);
            if w.write_all(&batch[..n * delta.len()]).await.is_err() {
                return;
            }
            left -= n;
        }
        let write_s = started.elapsed().as_secs_f64();
        // 2. Sequential tool round trips.
        let mut rtts = Vec::with_capacity(args.tool_calls);
        for i in 0..args.tool_calls {
            let requested = event(
                &session,
                "external_tool.requested",
                json!({"requestId": format!("r{i}"), "toolCallId": format!("t{i}"), "toolName": "bench",
                       "arguments": {}, "sessionId": session}),
            );
            let t0 = Instant::now();
            if w.write_all(&requested).await.is_err() {
                return;
            }
            // Replies (to handlePendingToolCall) still go out meanwhile.
            loop {
                tokio::select! {
                    biased;
                    Some(()) = tool_results.recv() => break,
                    Some(out) = rx.recv() => {
                        if let Out::Bytes(b) = out {
                            if w.write_all(&b).await.is_err() { return; }
                        }
                    }
                }
            }
            rtts.push(t0.elapsed().as_secs_f64() * 1e6);
        }
        // 3. The end of the turn.
        let mut end = event(
            &session,
            "user.message",
            json!({"messageId": message_id, "content": "go"}),
        );
        end.extend(event(
            &session,
            "assistant.message",
            json!({"messageId": "a1", "originatingMessageId": message_id, "content": "done"}),
        ));
        end.extend(event(&session, "session.idle", json!({})));
        if w.write_all(&end).await.is_err() {
            return;
        }
        rtts.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let pct = |p: usize| rtts.get(rtts.len() * p / 100).copied().unwrap_or(0.0);
        report.line(&format!(
            "turn events={} write_s={write_s:.3} tool_calls={} rtt_p50_us={:.1} rtt_p99_us={:.1}",
            args.events,
            args.tool_calls,
            pct(50),
            pct(99)
        ));
    }
}
