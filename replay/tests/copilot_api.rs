//! The Copilot API stand-in: who `/copilot_internal/user` says a token belongs
//! to, and the log of requests for paths copilot-replay does not serve.

use std::collections::HashMap;
use std::path::PathBuf;

use copilot_replay::ReplayServer;
use serde_json::{json, Map, Value};

fn server() -> ReplayServer {
    let conversation =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conversations/weather_tool.yaml");
    ReplayServer::start_blocking(&[conversation], 0).unwrap()
}

async fn user(base: &str, token: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{base}/copilot_internal/user"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn any_token_signs_in_until_users_are_given_per_token() {
    let replay = server();
    let (status, anyone) = user(&replay.url(), "whatever").await;
    assert_eq!(status, 200);
    assert_eq!(anyone["endpoints"]["api"], json!(replay.url()));

    let mut alice = Map::new();
    alice.insert("login".into(), json!("alice"));
    replay.set_copilot_users_by_token(HashMap::from([("alice-token".to_string(), alice)]));
    let (status, known) = user(&replay.url(), "alice-token").await;
    assert_eq!((status, known["login"].clone()), (200, json!("alice")));
    let (status, _) = user(&replay.url(), "whatever").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn unserved_requests_are_answered_404_and_recorded() {
    let replay = server();
    let r = reqwest::Client::new()
        .post(format!("{}/mcp", replay.url()))
        .header("x-mcp-toolsets", "all")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let seen = replay.unserved_requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/mcp")
    );
    assert_eq!(seen[0].headers["x-mcp-toolsets"], json!("all"));
}

async fn post_json(url: String, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn ask_paris(base: &str) -> u16 {
    let body = json!({"model": "claude-sonnet-4.5", "messages": [
        {"role": "system", "content": "You are a test."},
        {"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."}]});
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

// One long-lived server, reconfigured per test over HTTP: what a harness in
// another language (the official Go e2e suite's) needs.
#[tokio::test]
async fn configure_swaps_the_conversations_and_forgets_requests() {
    let replay = server();
    let base = replay.url();
    assert_eq!(ask_paris(&base).await, 200);

    let (status, body) = post_json(
        format!("{base}/_replay/configure"),
        json!({"paths": ["/nonexistent/none.yaml"], "workdir": "/tmp/w"}),
    )
    .await;
    assert_eq!((status, body["conversations"].clone()), (200, json!(0)));
    let requests: Value = reqwest::get(format!("{base}/_replay/requests"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        requests,
        json!([]),
        "configure forgets the requests received before"
    );
    assert_eq!(ask_paris(&base).await, 400, "no conversations: no match");

    let weather =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conversations/weather_tool.yaml");
    let (status, body) = post_json(
        format!("{base}/_replay/configure"),
        json!({"paths": [weather]}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body["conversations"].as_u64().unwrap() >= 2, "{body}");
    assert_eq!(ask_paris(&base).await, 200);

    let bad = std::env::temp_dir().join(format!("replay-bad-{}.yaml", std::process::id()));
    std::fs::write(&bad, "conversations: [").unwrap();
    let (status, _) = post_json(
        format!("{base}/_replay/configure"),
        json!({"paths": [&bad]}),
    )
    .await;
    std::fs::remove_file(&bad).ok();
    assert_eq!(status, 400, "a file that does not parse is refused");
    assert_eq!(
        ask_paris(&base).await,
        200,
        "and the previous conversations stay"
    );
}

#[tokio::test]
async fn users_added_over_http_sign_in_with_their_fields() {
    let replay = server();
    let base = replay.url();
    let (status, _) = post_json(
        format!("{base}/_replay/users"),
        json!({"token": "bob-token", "user": {"login": "bob"}}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, bob) = user(&base, "bob-token").await;
    assert_eq!((status, bob["login"].clone()), (200, json!("bob")));
    let (status, _) = user(&base, "someone-else").await;
    assert_eq!(status, 401);
    let (status, _) = post_json(format!("{base}/_replay/users"), json!({"user": {}})).await;
    assert_eq!(status, 400);
}
