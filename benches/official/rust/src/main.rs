//! The official Rust crate (github-copilot-sdk) against benches/peer: one turn,
//! events into a subscriber, tool calls answered by a handler (the peer times
//! those). It is connected through `Client::from_streams` over TCP.
//!   official-rust-bench HOST:PORT EXPECTED_EVENTS
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
    let stream = tokio::net::TcpStream::connect(&args[1]).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (read, write) = stream.into_split();
    let client = Client::from_streams(read, write, std::env::current_dir().unwrap())?;
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
