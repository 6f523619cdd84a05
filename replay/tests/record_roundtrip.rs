//! Record mode end to end at the HTTP level: a replay server stands in as the
//! upstream provider, the recorder proxies a two-request tool conversation
//! (one JSON reply, one streamed), and the recording then replays the same.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
    // Both requests reached the upstream (headers: see headers_and_paths_are_forwarded).
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

/// What the echo upstream saw of one request: path, authorization, api-key.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// A stand-in provider that notes each request's path and credentials and
/// answers every request with the same one-choice `chat.completion`.
async fn echo_upstream() -> (String, Seen) {
    use axum::extract::{Request, State};
    async fn echo(State(seen): State<Seen>, request: Request) -> axum::Json<Value> {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        seen.lock().unwrap().push((
            request.uri().path().to_string(),
            header("authorization"),
            header("api-key"),
        ));
        axum::Json(json!({
            "id": "c1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "echo reply"}}],
        }))
    }
    let seen = Seen::default();
    let app = axum::Router::new().fallback(echo).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// Polls until `dir` holds `n` YAML files (recording ends after the reply).
async fn wait_for_files(dir: &Path, n: usize) -> Vec<PathBuf> {
    for _ in 0..100 {
        if yaml_files(dir).len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    yaml_files(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_and_paths_are_forwarded() {
    let client = reqwest::Client::new();
    let (upstream, seen) = echo_upstream().await;
    let out = tempfile::tempdir().unwrap();
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "same prompt"}]});
    let send = |base: String, path: &'static str| {
        let request = if path == "/models" {
            client.get(format!("{base}{path}"))
        } else {
            client.post(format!("{base}{path}")).json(&chat)
        };
        async move {
            let r = request
                .header("authorization", SECRET)
                .header("api-key", "key-abc-789")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };

    let recorder = RecordServer::start(&upstream, out.path(), None, "127.0.0.1", 0).unwrap();
    let body = send(recorder.base_url(), "/chat/completions").await;
    assert!(body.contains("echo reply"), "{body}");
    send(recorder.base_url(), "/models").await;
    let files = wait_for_files(out.path(), 1).await;
    drop(recorder);
    // The path after /v1 is appended to the upstream's; credentials pass unchanged.
    let expected = |path: &str| {
        (
            path.to_string(),
            SECRET.to_string(),
            "key-abc-789".to_string(),
        )
    };
    assert_eq!(
        *seen.lock().unwrap(),
        [expected("/v1/chat/completions"), expected("/v1/models")]
    );
    assert_eq!(
        files.len(),
        1,
        "only chat completions are recorded: {files:?}"
    );
    let first = std::fs::read_to_string(&files[0]).unwrap();
    assert!(first.contains("echo reply"), "{first}");
    assert!(
        !first.contains("secret-xyz") && !first.contains("key-abc"),
        "{first}"
    );

    // A second recorder on the same folder adds a file and leaves the first alone,
    // even for a conversation that would get the same name.
    let recorder = RecordServer::start(&upstream, out.path(), None, "127.0.0.1", 0).unwrap();
    send(recorder.base_url(), "/chat/completions").await;
    let files = wait_for_files(out.path(), 2).await;
    drop(recorder);
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(std::fs::read_to_string(&files[0]).unwrap(), first);
}
