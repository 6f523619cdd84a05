//! The official Rust crate (github-copilot-sdk) against benches/peer: one turn,
//! events into a subscriber, tool calls answered by a handler (the peer times
//! those). It is connected through `Client::from_streams` over TCP, or over
//! the pipes of the peer it spawns (`stdio:PATH`).
//!   official-rust-bench HOST:PORT|stdio:PEER_PATH EXPECTED_EVENTS
//! Prints: rust: events=N seconds=S events_per_s=X
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use github_copilot_sdk::handler::ApproveAllHandler;
use github_copilot_sdk::tool::ToolHandler;
use github_copilot_sdk::types::{MessageOptions, SessionConfig, Tool, ToolInvocation, ToolResult};
use github_copilot_sdk::{Client, Error};

struct Bench;

#[async_trait]
impl ToolHandler for Bench {
    async fn call(&self, _invocation: ToolInvocation) -> Result<ToolResult, Error> {
        Ok(ToolResult::Text("ok".into()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let expected: u64 = args[2].parse().unwrap();
    let cwd = std::env::current_dir().unwrap();
    // stdio:PATH: the peer spawned as the CLI, its pipes handed to the crate
    // as its own stdio transport does; else HOST:PORT.
    let (client, _child) = if let Some(path) = args[1].strip_prefix("stdio:") {
        let mut child = tokio::process::Command::new(path)
            .arg("--stdio")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let (read, write) = (child.stdout.take().unwrap(), child.stdin.take().unwrap());
        (Client::from_streams(read, write, cwd)?, Some(child))
    } else {
        let stream = tokio::net::TcpStream::connect(&args[1]).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (read, write) = stream.into_split();
        (Client::from_streams(read, write, cwd)?, None)
    };
    client.verify_protocol_version().await?;
    let config = SessionConfig::default()
        .with_permission_handler(Arc::new(ApproveAllHandler))
        .with_tools(vec![Tool::new("bench").with_description("benchmark tool").with_handler(Arc::new(Bench))]);
    let session = client.create_session(config).await?;
    let deltas = Arc::new(AtomicU64::new(0));
    let counter = deltas.clone();
    let mut events = session.subscribe();
    tokio::spawn(async move {
        // A lagged receiver has lost events; keep counting what arrives.
        loop {
            match events.recv().await {
                Ok(e) if e.event_type == "assistant.message_delta" => {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(e) if matches!(e.kind(), github_copilot_sdk::subscription::RecvErrorKind::Lagged(_)) => {}
                Err(_) => break,
            }
        }
    });
    let started = Instant::now();
    session
        .send_and_wait(MessageOptions::new("go").with_wait_timeout(Duration::from_secs(600)))
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let got = deltas.load(Ordering::Relaxed);
    println!("rust: events={got} seconds={seconds:.3} events_per_s={:.0} delivered={got}/{expected}", got as f64 / seconds);
    Ok(())
}
