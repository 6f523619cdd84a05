//! Handlers the CLI calls for features beyond a plain session, against the
//! real CLI and copilot-replay: the LLM inference provider (`llmInference.*`,
//! client-wide), BYOK bearer tokens (`providerToken.getToken`), canvases
//! (`canvas.*`) and forwarded GitHub telemetry (`gitHubTelemetry.event`).

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{ask, client_with, TestEnv};
use copilot::{Client, ErrorKind, HostRequest, SessionConfig};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// What the llmInference handler saw: every exchange's start params.
type Starts = Arc<Mutex<Vec<Value>>>;

/// Makes `client` the LLM inference provider with a handler that performs
/// each exchange itself, sending it where the CLI would have (copilot-replay),
/// and streams the answer back with `llmInference.httpResponse*`. The handler
/// acknowledges on the callback thread; a task does the HTTP and the calls.
fn forward_inference(client: &Client) -> (Starts, tokio::task::JoinHandle<()>) {
    let starts: Starts = Arc::default();
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Value)>();
    let seen = starts.clone();
    client
        .set_client_handler(
            "llmInference",
            Arc::new(move |req: HostRequest| {
                let method = req.kind().to_string();
                let params: Value = serde_json::from_str(req.json()).unwrap();
                if method == "llmInference.httpRequestStart" {
                    seen.lock().unwrap().push(params.clone());
                }
                req.respond(json!({}));
                let _ = tx.send((method, params));
            }),
        )
        .unwrap();
    let caller = client.clone();
    let task = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut open: HashMap<String, (Value, Vec<u8>)> = HashMap::new();
        while let Some((method, p)) = rx.recv().await {
            let id = p["requestId"].as_str().unwrap().to_string();
            if method == "llmInference.httpRequestStart" {
                open.insert(id, (p, Vec::new()));
                continue;
            }
            let Some((_, body)) = open.get_mut(&id) else {
                continue;
            };
            body.extend_from_slice(p["data"].as_str().unwrap_or("").as_bytes());
            if p["cancel"] == json!(true) {
                open.remove(&id);
                continue;
            }
            if p["end"] != json!(true) {
                continue;
            }
            let (start, body) = open.remove(&id).unwrap();
            let caller = caller.clone();
            let http = http.clone();
            tokio::spawn(async move { exchange(&caller, &http, &id, &start, body).await });
        }
    });
    (starts, task)
}

async fn exchange(client: &Client, http: &reqwest::Client, id: &str, start: &Value, body: Vec<u8>) {
    let method = reqwest::Method::from_bytes(start["method"].as_str().unwrap().as_bytes()).unwrap();
    let mut request = http.request(method, start["url"].as_str().unwrap());
    for (name, values) in start["headers"].as_object().unwrap() {
        if matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding"
        ) {
            continue;
        }
        for v in values.as_array().unwrap() {
            request = request.header(name, v.as_str().unwrap());
        }
    }
    if !body.is_empty() {
        request = request.body(body);
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            let _ = client
                .call(
                    "llmInference.httpResponseStart",
                    json!({"requestId": id, "status": 502, "headers": {}}),
                )
                .await;
            let chunk = json!({"requestId": id, "data": "", "end": true, "error": {"message": e.to_string()}});
            let _ = client.call("llmInference.httpResponseChunk", chunk).await;
            return;
        }
    };
    let mut headers = serde_json::Map::new();
    for (name, value) in response.headers() {
        let list = headers.entry(name.as_str()).or_insert_with(|| json!([]));
        list.as_array_mut()
            .unwrap()
            .push(json!(value.to_str().unwrap_or("")));
    }
    let status = response.status();
    client
        .call(
            "llmInference.httpResponseStart",
            json!({"requestId": id, "status": status.as_u16(),
                   "statusText": status.canonical_reason().unwrap_or(""), "headers": headers}),
        )
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    for (data, end) in [(text.as_str(), false), ("", true)] {
        client
            .call(
                "llmInference.httpResponseChunk",
                json!({"requestId": id, "data": data, "end": end}),
            )
            .await
            .unwrap();
    }
}

fn chat_completions(starts: &Starts) -> Vec<Value> {
    starts
        .lock()
        .unwrap()
        .iter()
        .filter(|s| {
            s["url"]
                .as_str()
                .unwrap_or("")
                .ends_with("/chat/completions")
        })
        .cloned()
        .collect()
}

/// With an llmInference handler the client is the provider: the CLI hands it
/// the model's HTTP exchanges (each naming its session) instead of calling
/// the network, and a turn completes on what the handler answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_inference_provider_carries_a_turn() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client = client_with(&env, json!({}));
    let (starts, task) = forward_inference(&client);
    let cfg = SessionConfig::from_json(&env.session_fields(json!({})).to_string()).unwrap();
    let session = client.create_session(cfg).await.unwrap();

    let answer = ask(&session, "What is the capital of France?").await;
    assert_eq!(answer, "The capital of France is Paris.");
    let calls = chat_completions(&starts);
    assert_eq!(
        calls.len(),
        1,
        "one model request, through the handler: {calls:?}"
    );
    assert_eq!(calls[0]["method"], "POST");
    assert_eq!(calls[0]["sessionId"], session.id());
    assert_eq!(
        env.replay.model_requests().len(),
        1,
        "the replay server saw the one exchange the handler forwarded"
    );

    // The CLI takes a provider only before sessions exist: a started client refuses.
    let late = client.set_client_handler(
        "llmInference",
        Arc::new(|r: HostRequest| r.respond(json!({}))),
    );
    assert_eq!(late.err().map(|e| e.kind), Some(ErrorKind::InvalidState));
    task.abort();
    client.stop(Duration::from_secs(10)).await.unwrap();
}

/// A BYOK provider with `hasBearerTokenProvider` gets its token from the
/// session's providerToken handler before every model request: the CLI keeps
/// no copy, so each request carries the token the handler gave for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_provider_is_asked_before_each_model_request() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client = client_with(&env, json!({}));
    let (starts, task) = forward_inference(&client);
    let mut fields = env.session_fields(json!({}));
    let provider = fields["provider"].as_object_mut().unwrap();
    provider.remove("apiKey");
    provider.insert("hasBearerTokenProvider".into(), json!(true));
    let mut cfg = SessionConfig::from_json(&fields.to_string()).unwrap();
    let asked: Arc<Mutex<Vec<Value>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let (log, n) = (asked.clone(), count.clone());
    cfg.handlers.insert(
        "providerToken".into(),
        Arc::new(move |req: HostRequest| {
            log.lock()
                .unwrap()
                .push(serde_json::from_str(req.json()).unwrap());
            let token = format!("token-{}", n.fetch_add(1, Ordering::SeqCst) + 1);
            req.respond(json!({ "token": token }));
        }),
    );
    let session = client.create_session(cfg).await.unwrap();

    assert_eq!(
        ask(&session, "What is the capital of France?").await,
        "The capital of France is Paris."
    );
    assert_eq!(
        ask(&session, "And the capital of Italy?").await,
        "The capital of Italy is Rome."
    );
    let auth: Vec<Value> = chat_completions(&starts)
        .iter()
        .map(|s| s["headers"]["authorization"].clone())
        .collect();
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 2, "one token per model request: {asked:?}");
    assert_eq!(
        auth,
        vec![json!(["Bearer token-1"]), json!(["Bearer token-2"])]
    );
    for a in &asked {
        assert_eq!(a["providerName"], "default", "{a}");
        assert_eq!(a["sessionId"], session.id(), "{a}");
    }
    task.abort();
    client.stop(Duration::from_secs(10)).await.unwrap();
}

/// Canvases declared in the session config are the session's: the CLI lists
/// them, and opening one, invoking an action and closing it each reach the
/// session's canvas handler, whose answers come back to the caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canvas_handler_opens_acts_and_closes() {
    let env = TestEnv::new(&[]);
    let client = client_with(&env, json!({}));
    let canvas = json!({
        "id": "counter",
        "displayName": "Counter",
        "description": "A counter",
        "inputSchema": {"type": "object", "properties": {"start": {"type": "number"}}},
        "actions": [{"name": "increment", "description": "Adds to the counter"}],
    });
    let mut cfg = SessionConfig::from_json(
        &env.session_fields(json!({ "canvases": [canvas] }))
            .to_string(),
    )
    .unwrap();
    let calls: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let log = calls.clone();
    cfg.handlers.insert(
        "canvas".into(),
        Arc::new(move |req: HostRequest| {
            let p: Value = serde_json::from_str(req.json()).unwrap();
            log.lock().unwrap().push((req.kind().to_string(), p.clone()));
            match req.kind() {
                "canvas.open" => req.respond(json!({
                    "url": format!("https://example.test/{}/{}", p["canvasId"].as_str().unwrap(), p["instanceId"].as_str().unwrap()),
                    "title": "Counter",
                })),
                "canvas.action.invoke" => req.respond(json!({ "count": 3 + p["input"]["amount"].as_i64().unwrap() })),
                _ => req.respond(Value::Null),
            }
        }),
    );
    let session = client.create_session(cfg).await.unwrap();

    let list = session
        .call("session.canvas.list", json!({}))
        .await
        .unwrap();
    assert_eq!(list["canvases"][0]["canvasId"], "counter", "{list}");
    let opened = session
        .call(
            "session.canvas.open",
            json!({"canvasId": "counter", "instanceId": "counter-1", "input": {"start": 3}}),
        )
        .await
        .unwrap();
    assert_eq!(
        opened["url"], "https://example.test/counter/counter-1",
        "{opened}"
    );
    let acted = session
        .call(
            "session.canvas.action.invoke",
            json!({"instanceId": "counter-1", "actionName": "increment", "input": {"amount": 2}}),
        )
        .await
        .unwrap();
    assert_eq!(acted["result"]["count"], 5, "{acted}");
    session
        .call("session.canvas.close", json!({"instanceId": "counter-1"}))
        .await
        .unwrap();
    let calls = calls.lock().unwrap().clone();
    let kinds: Vec<&str> = calls.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["canvas.open", "canvas.action.invoke", "canvas.close"]
    );
    for (_, p) in &calls {
        assert_eq!(p["sessionId"], session.id());
        assert_eq!(p["canvasId"], "counter");
        assert_eq!(p["instanceId"], "counter-1");
    }
    client.stop(Duration::from_secs(10)).await.unwrap();
}

/// With `enableGitHubTelemetryForwarding` the CLI forwards its GitHub
/// telemetry as `gitHubTelemetry.event` notifications, which reach the
/// client's notification handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_telemetry_is_forwarded_as_notifications() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client = client_with(&env, json!({ "enableGitHubTelemetryForwarding": true }));
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Value)>();
    client.on_notification(
        "gitHubTelemetry.event",
        Arc::new(move |method, params| {
            let _ = tx.send((method.to_string(), serde_json::from_str(params).unwrap()));
        }),
    );
    let cfg = SessionConfig::from_json(&env.session_fields(json!({})).to_string()).unwrap();
    let session = client.create_session(cfg).await.unwrap();
    ask(&session, "What is the capital of France?").await;
    let (method, params) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("a telemetry notification within 30 s")
        .unwrap();
    assert_eq!(method, "gitHubTelemetry.event");
    assert!(
        params["event"]["kind"]
            .as_str()
            .is_some_and(|k| !k.is_empty()),
        "{params}"
    );
    client.stop(Duration::from_secs(10)).await.unwrap();
}
