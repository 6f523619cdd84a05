//! What the model was sent, as tests see it: `ReplayServer::model_requests`,
//! the JSON Lines log (`log_requests_to`, `--requests FILE`) and
//! `GET /_replay/requests`; and the binary's shell-friendly mode
//! (`--print-url`, `--url-file`, `--exit-on-stdin-eof`).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use copilot_replay::ReplayServer;
use serde_json::{json, Value};

const PARIS: &str = "What is the weather in Paris? Use the get_weather tool.";

fn weather_conversation() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conversations/weather_tool.yaml")
}

fn first_request() -> Value {
    json!({
        "model": "claude-sonnet-4.5",
        "messages": [
            {"role": "system", "content": "You are a test. marker-1234"},
            {"role": "user", "content": PARIS},
        ],
    })
}

fn second_request() -> Value {
    let mut body = first_request();
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(
        json!({"role": "assistant", "content": null, "tool_calls": [{
            "id": "call_a", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
        }]}),
    );
    messages.push(json!({"role": "tool", "tool_call_id": "call_a", "content": "18C and sunny"}));
    body
}

async fn post(url: &str, body: &Value) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("authorization", "Bearer secret-key-42")
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `GET /_replay/requests` without the headers each entry carries.
async fn received_over_http(root_url: &str) -> Value {
    let mut all = requests_with_headers(root_url).await;
    for r in all.as_array_mut().unwrap() {
        assert!(r["headers"].is_object(), "{r}");
        r.as_object_mut().unwrap().remove("headers");
    }
    all
}

async fn requests_with_headers(root_url: &str) -> Value {
    let r = reqwest::get(format!("{root_url}/_replay/requests"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_file_and_endpoint_list_each_model_request() {
    let replay = ReplayServer::start_blocking(&[weather_conversation()], 0).unwrap();
    assert_eq!(received_over_http(&replay.url()).await, json!([]));

    // One request before the log is opened: it is written when the log opens.
    let first = first_request();
    assert_eq!(
        post(&format!("{}/chat/completions", replay.base_url()), &first).await,
        200
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    replay.log_requests_to(&log).unwrap();
    assert_eq!(log_lines(&log).len(), 1);

    // The second, without /v1, and one matching nothing: logged all the same.
    let second = second_request();
    assert_eq!(
        post(&format!("{}/chat/completions", replay.url()), &second).await,
        200
    );
    let unknown = json!({"model": "m", "messages": [{"role": "user", "content": "unrecorded"}]});
    assert_eq!(
        post(&format!("{}/chat/completions", replay.base_url()), &unknown).await,
        400
    );

    let expected = json!([
        {"method": "POST", "path": "/v1/chat/completions", "body": first},
        {"method": "POST", "path": "/chat/completions", "body": second},
        {"method": "POST", "path": "/v1/chat/completions", "body": unknown},
    ]);
    assert_eq!(Value::Array(log_lines(&log)), expected);
    assert_eq!(received_over_http(&replay.url()).await, expected);
    let in_process: Vec<Value> = replay
        .model_requests()
        .iter()
        .map(|r| r.to_json())
        .collect();
    assert_eq!(Value::Array(in_process), expected);
    // Headers stay in process; the log and the endpoint never carry the key.
    assert_eq!(
        replay.model_requests()[0].headers["authorization"],
        json!("Bearer secret-key-42")
    );
    assert!(!std::fs::read_to_string(&log)
        .unwrap()
        .contains("secret-key"));
    let over_http = requests_with_headers(&replay.url()).await;
    assert_eq!(
        over_http[0]["headers"]["authorization"],
        json!("<redacted>")
    );
    assert!(!over_http.to_string().contains("secret-key"));
    assert_eq!(
        over_http[0]["headers"]["content-type"],
        json!("application/json")
    );
    // The endpoint is not a request for an unserved path.
    assert!(replay.unserved_requests().is_empty());
}

/// Kills the child if the test fails before it exits by itself.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `f` until it yields a value (10 s at most).
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_mode_prints_one_url_line_logs_and_exits_when_stdin_closes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let url_file = dir.path().join("url");
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_copilot-replay"))
            .arg("--print-url")
            .arg("--exit-on-stdin-eof")
            .arg("--requests")
            .arg(&log)
            .arg("--url-file")
            .arg(&url_file)
            .arg("--")
            .arg(weather_conversation())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base_url = line
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("COPILOT_REPLAY_URL="))
        .unwrap_or_else(|| panic!("not a COPILOT_REPLAY_URL line: {line:?}"))
        .to_string();
    assert!(
        base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/v1"),
        "{base_url}"
    );
    assert_eq!(
        std::fs::read_to_string(&url_file).unwrap(),
        format!("{base_url}\n")
    );
    let root_url = base_url.strip_suffix("/v1").unwrap();

    // The log is readable while the server runs, a line per request.
    assert_eq!(log_lines(&log), Vec::<Value>::new());
    assert_eq!(
        post(&format!("{base_url}/chat/completions"), &first_request()).await,
        200
    );
    let lines = eventually("the logged request", || {
        Some(log_lines(&log)).filter(|l| !l.is_empty())
    });
    assert_eq!(
        lines,
        vec![json!({"method": "POST", "path": "/v1/chat/completions", "body": first_request()})]
    );
    assert_eq!(received_over_http(root_url).await, Value::Array(lines));

    // Closing stdin stops it, cleanly; stdout had that one line only.
    drop(child.0.stdin.take());
    let status = eventually("copilot-replay to exit", || child.0.try_wait().unwrap());
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "stdout after the URL line");
}

#[test]
fn without_print_url_the_human_line_is_kept() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_copilot-replay"))
            .arg("--exit-on-stdin-eof")
            .arg(weather_conversation())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("copilot-replay listening on http://127.0.0.1:"),
        "{line:?}"
    );
    drop(child.0.stdin.take());
    let status = eventually("copilot-replay to exit", || child.0.try_wait().unwrap());
    assert!(status.success(), "{status}");
}
