//! The official Rust crate's row of benches/e2e.py: the same steps as
//! benches/c/e2e_bench.c, against the real CLI (spawned by the crate over
//! stdio) and copilot-replay.
//!   official-rust-e2e CLI_PATH SESSION_JSON REPEATS CONCURRENT
//! Prints one JSON line: start_ms, create_ms, plain_ms[], tool_ms[],
//! concurrent_s, concurrent_ms[].
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use github_copilot_sdk::handler::ApproveAllHandler;
use github_copilot_sdk::tool::ToolHandler;
use github_copilot_sdk::types::{
    MessageOptions, ProviderConfig, SessionConfig, Tool, ToolInvocation, ToolResult,
};
use github_copilot_sdk::{CliProgram, Client, ClientOptions, Error};
use serde_json::{json, Value};

const PLAIN: &str = "What is the capital of France?";
const TOOL: &str = "What is the weather in Paris? Use the get_weather tool.";

struct Weather;

#[async_trait]
impl ToolHandler for Weather {
    async fn call(&self, _invocation: ToolInvocation) -> Result<ToolResult, Error> {
        Ok(ToolResult::Text("18C and sunny".into()))
    }
}

fn config(base: &Value) -> SessionConfig {
    let p = &base["provider"];
    let mut provider = ProviderConfig::new(p["baseUrl"].as_str().unwrap())
        .with_provider_type(p["type"].as_str().unwrap());
    provider.api_key = p["apiKey"].as_str().map(str::to_string);
    provider.wire_api = p["wireApi"].as_str().map(str::to_string);
    let mut config = SessionConfig::default()
        .with_permission_handler(Arc::new(ApproveAllHandler))
        .with_tools(vec![Tool::new("get_weather")
            .with_description("Current weather for a city")
            .with_parameters(json!({"type": "object", "properties": {"city": {"type": "string"}},
                                    "required": ["city"]}))
            .with_handler(Arc::new(Weather))]);
    config.model = base["model"].as_str().map(str::to_string);
    config.provider = Some(provider);
    config.working_directory = base["workingDirectory"].as_str().map(PathBuf::from);
    config
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

async fn turn(client: &Client, base: &Value, prompt: &str) -> Result<f64, Error> {
    let session = client.create_session(config(base)).await?;
    timed_turn(&session, prompt).await
}

async fn timed_turn(session: &github_copilot_sdk::session::Session, prompt: &str) -> Result<f64, Error> {
    let t0 = Instant::now();
    session
        .send_and_wait(MessageOptions::new(prompt).with_wait_timeout(Duration::from_secs(120)))
        .await?;
    Ok(ms(t0))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let (cli, base): (&str, Value) = (&args[1], serde_json::from_str(&args[2]).unwrap());
    let (repeats, concurrent): (usize, usize) = (args[3].parse().unwrap(), args[4].parse().unwrap());

    let t0 = Instant::now();
    let mut options = ClientOptions::default();
    options.program = CliProgram::Path(PathBuf::from(cli));
    options.use_logged_in_user = Some(false);
    let client = Client::start(options).await?;
    let start_ms = ms(t0);
    let t0 = Instant::now();
    let first = client.create_session(config(&base)).await?;
    let create_ms = ms(t0);
    timed_turn(&first, PLAIN).await?;
    let (mut plain_ms, mut tool_ms) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        plain_ms.push(turn(&client, &base, PLAIN).await?);
        tool_ms.push(turn(&client, &base, TOOL).await?);
    }
    let mut sessions = Vec::new();
    for _ in 0..concurrent {
        sessions.push(client.create_session(config(&base)).await?);
    }
    let t0 = Instant::now();
    let turns = sessions.iter().map(|s| timed_turn(s, TOOL));
    let concurrent_ms: Vec<f64> = futures_util::future::try_join_all(turns).await?;
    let concurrent_s = t0.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"start_ms": start_ms, "create_ms": create_ms, "plain_ms": plain_ms,
               "tool_ms": tool_ms, "concurrent_s": concurrent_s, "concurrent_ms": concurrent_ms})
    );
    let _ = client.stop().await;
    Ok(())
}
