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
