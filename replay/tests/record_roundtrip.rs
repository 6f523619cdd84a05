//! Record mode end to end at the HTTP level: a replay server stands in as the
//! upstream provider, the recorder proxies a two-request tool conversation
//! (one JSON reply, one streamed), and the recording then replays the same.

use std::path::PathBuf;

use copilot_replay::{RecordServer, ReplayServer};
use serde_json::{json, Value};

const SECRET: &str = "Bearer secret-xyz-123456";

fn weather_conversation() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conversations/weather_tool.yaml")
}

fn first_request() -> Value {
    json!({
        "model": "claude-sonnet-4.5",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."},
        ],
    })
}

fn second_request(tool_call_id: &str) -> Value {
    let mut body = first_request();
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(
        json!({"role": "assistant", "content": null, "tool_calls": [{
            "id": tool_call_id, "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
        }]}),
    );
    messages
        .push(json!({"role": "tool", "tool_call_id": tool_call_id, "content": "18C and sunny"}));
    body["stream"] = json!(true);
    body
}

async fn post(client: &reqwest::Client, base: &str, body: &Value) -> (u16, String) {
    let response = client
        .post(format!("{base}/chat/completions"))
        .header("authorization", SECRET)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The streamed reply's text, joined from its deltas.
fn streamed_text(sse: &str) -> String {
    sse.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c.pointer("/choices/0/delta/content")?
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// Both requests through `base`: the tool call, then the streamed answer.
async fn converse(client: &reqwest::Client, base: &str) -> (Value, String) {
    let (status, body) = post(client, base, &first_request()).await;
    assert_eq!(status, 200, "{body}");
    let first: Value = serde_json::from_str(&body).unwrap();
    let call = first["choices"][0]["message"]["tool_calls"][0].clone();
    assert_eq!(call["function"]["name"], "get_weather");
    let id = call["id"].as_str().unwrap().to_string();
    let (status, body) = post(client, base, &second_request(&id)).await;
    assert_eq!(status, 200, "{body}");
    (call, streamed_text(&body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_conversation_replays_the_same() {
    let client = reqwest::Client::new();
    let upstream = ReplayServer::start_blocking(&[weather_conversation()], 0).unwrap();
    let out = tempfile::tempdir().unwrap();
    let recorder =
        RecordServer::start(&upstream.base_url(), out.path(), None, "127.0.0.1", 0).unwrap();

    let (live_call, live_text) = converse(&client, &recorder.base_url()).await;
    assert_eq!(live_text, "It is 18C and sunny in Paris.");
    // The upstream saw both requests, with the client's credentials passed on.
    assert_eq!(upstream.requests().len(), 2);

    // Recording happens as the reply ends; give the writer a moment.
    let mut files = Vec::new();
    for _ in 0..50 {
        files = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        let done = files.len() == 1
            && std::fs::read_to_string(&files[0])
                .unwrap()
                .contains("It is 18C and sunny in Paris.");
        if done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(files.len(), 1, "one conversation, one file: {files:?}");
    let yaml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(!yaml.contains("secret-xyz"), "no credentials in {yaml}");
    assert!(
        yaml.contains("${system}"),
        "system prompt normalised: {yaml}"
    );
    assert!(
        yaml.contains("toolcall_0"),
        "tool call ids normalised: {yaml}"
    );

    // Offline: the recording alone answers the same requests the same way.
    drop(recorder);
    drop(upstream);
    let replay = ReplayServer::start_blocking(&[out.path().to_path_buf()], 0).unwrap();
    let (call, text) = converse(&client, &replay.base_url()).await;
    assert_eq!(call["function"], live_call["function"]);
    assert_eq!(text, live_text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_pass_through_unrecorded() {
    let client = reqwest::Client::new();
    let upstream = ReplayServer::start_blocking(&[weather_conversation()], 0).unwrap();
    let out = tempfile::tempdir().unwrap();
    let recorder =
        RecordServer::start(&upstream.base_url(), out.path(), None, "127.0.0.1", 0).unwrap();
    let unknown = json!({"model": "m", "messages": [{"role": "user", "content": "unrecorded"}]});
    let (status, body) = post(&client, &recorder.base_url(), &unknown).await;
    assert_eq!(status, 400, "the upstream's status, unchanged");
    assert!(body.contains("no_matching_conversation"), "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}
