//! `copilot-replay record` with the real CLI: a turn with a tool call goes
//! CLI → recorder → stand-in provider (a replay server), and the recording
//! alone then serves the same turn to a fresh session.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestEnv;
use copilot::{Client, ClientOptions, PermissionPolicy, SessionConfig, ToolInvocation};
use copilot_replay::{RecordServer, ReplayServer};
use serde_json::{json, Value};

const PROMPT: &str = "What is the weather in Paris? Use the get_weather tool.";

/// One turn against the provider at `base_url`; returns the answer and the tool calls seen.
async fn weather_turn(env: &TestEnv, base_url: &str) -> (String, usize) {
    let client =
        Client::new(ClientOptions::from_json(&env.client_options_json()).unwrap()).unwrap();
    let mut fields = env.session_fields(json!({"streaming": true}));
    fields["provider"]["baseUrl"] = json!(base_url);
    let mut cfg = SessionConfig::from_json(&fields.to_string()).unwrap();
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    cfg.tools
        .push(common::weather_tool(move |inv: ToolInvocation| {
            *counter.lock().unwrap() += 1;
            inv.complete(json!("18C and sunny"))
        }));
    cfg.permission = Some(PermissionPolicy::ApproveAll);
    let session = client.create_session(cfg).await.unwrap();
    let answer = session
        .send_and_wait(json!({ "prompt": PROMPT }), Duration::from_secs(60))
        .await
        .unwrap()
        .expect("an assistant.message");
    client.stop(Duration::from_secs(10)).await.unwrap();
    let text = answer.data::<Value>().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    let n = *calls.lock().unwrap();
    (text, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_then_replay_with_the_real_cli() {
    let env = TestEnv::new(&["weather_tool.yaml"]);
    let out = tempfile::tempdir().unwrap();
    let workdir = env.home_path().to_str().unwrap().to_string();
    let recorder = RecordServer::start(
        &env.replay.base_url(),
        out.path(),
        Some(&workdir),
        "127.0.0.1",
        0,
    )
    .unwrap();

    let (live, live_calls) = weather_turn(&env, &recorder.base_url()).await;
    assert_eq!(live, "It is 18C and sunny in Paris.");
    assert_eq!(live_calls, 1);
    let upstream_requests = env.replay.requests().len();
    assert!(
        upstream_requests >= 2,
        "the CLI's requests reached the upstream"
    );
    drop(recorder); // waits for the server thread; recordings are already written

    let files: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty(), "the turn was recorded");
    let yaml: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(
        yaml.contains(PROMPT) && yaml.contains("get_weather"),
        "{yaml}"
    );

    let replay = ReplayServer::start_blocking(&[out.path().to_path_buf()], 0).unwrap();
    replay.set_workdir(&workdir);
    let (offline, offline_calls) = weather_turn(&env, &replay.base_url()).await;
    assert_eq!(offline, live);
    assert_eq!(offline_calls, 1);
    assert_eq!(
        replay.requests().len(),
        upstream_requests,
        "every request answered from the recording"
    );
}
