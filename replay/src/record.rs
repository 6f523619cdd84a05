//! Record mode: a pass-through proxy to a real OpenAI-compatible provider that
//! writes every chat-completions exchange as a conversation in the YAML format
//! the replay mode loads, so an app can be recorded once and replayed offline.
//!
//! Requests are forwarded with their headers (the API key included) and the
//! upstream's reply goes back as it arrives, streamed replies chunk by chunk.
//! A conversation is the normalised request messages plus the assistant's
//! reply; a later request that extends a recorded conversation (the next turn,
//! or the request after a tool result) replaces it in the same file, so each
//! file ends up as one whole conversation. Files are rewritten atomically after
//! each exchange. Headers are never written, so keys stay out of recordings.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{json, Value};

use crate::conversations::Message;
use crate::server::ServerThread;
use crate::{normalize, ReplayError};

/// Largest request body forwarded (a long conversation with images fits).
const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;
/// How long stopping waits for replies still being relayed.
const RELAY_DRAIN: Duration = Duration::from_secs(10);

/// A running recorder on its own thread and runtime. Dropping it stops it.
pub struct RecordServer {
    server: ServerThread,
    recorder: Arc<Recorder>,
}

struct Recorder {
    /// The provider's base URL, e.g. `https://api.example.com/v1` (no trailing slash).
    upstream: String,
    client: reqwest::Client,
    book: Mutex<Book>,
    /// Replies still being relayed; stopping waits for them to be recorded.
    in_flight: (Mutex<usize>, Condvar),
}

/// Counts one relayed reply as in flight until dropped.
struct InFlight(Arc<Recorder>);

impl InFlight {
    fn new(rec: &Arc<Recorder>) -> InFlight {
        *rec.in_flight.0.lock().unwrap() += 1;
        InFlight(rec.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let (count, done) = &self.0.in_flight;
        *count.lock().unwrap() -= 1;
        done.notify_all();
    }
}

/// What has been recorded so far, and where.
struct Book {
    dir: PathBuf,
    workdir: Option<String>,
    models: Vec<String>,
    /// One entry per file: its path and its conversation's messages.
    files: Vec<(PathBuf, Vec<Message>)>,
    /// Number for the next new file's name.
    next_number: usize,
}

impl RecordServer {
    /// Proxies to `upstream` (the provider's base URL, ending in `/v1` or
    /// wherever its `/chat/completions` lives) and writes conversations under
    /// `out_dir` (created if missing). `workdir`, when given, is written as
    /// `${workdir}`. Binds `host:port` (0 = any free port).
    pub fn start(
        upstream: &str,
        out_dir: &Path,
        workdir: Option<&str>,
        host: &str,
        port: u16,
    ) -> Result<RecordServer, ReplayError> {
        let upstream = upstream.trim_end_matches('/').to_string();
        if !(upstream.starts_with("http://") || upstream.starts_with("https://")) {
            return Err(ReplayError::new(format!(
                "--upstream must be an http(s) URL, not {upstream:?}"
            )));
        }
        std::fs::create_dir_all(out_dir)
            .map_err(|e| ReplayError::new(format!("cannot create {}: {e}", out_dir.display())))?;
        // Recording again into the same folder continues its numbering.
        let existing = std::fs::read_dir(out_dir)
            .map_err(|e| ReplayError::new(format!("cannot list {}: {e}", out_dir.display())))?
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
            .count();
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| ReplayError::new(format!("HTTP client: {e}")))?;
        let recorder = Arc::new(Recorder {
            upstream,
            client,
            book: Mutex::new(Book {
                dir: out_dir.to_path_buf(),
                workdir: workdir.map(str::to_owned),
                models: Vec::new(),
                files: Vec::new(),
                next_number: existing + 1,
            }),
            in_flight: (Mutex::new(0), Condvar::new()),
        });
        let app = Router::new().fallback(proxy).with_state(recorder.clone());
        let server = ServerThread::start(host, port, "copilot-record", app)?;
        Ok(RecordServer { server, recorder })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `url() + "/v1"`: the `provider.baseUrl` for a BYOK session.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.url())
    }
}

impl Drop for RecordServer {
    fn drop(&mut self) {
        // A client may stop reading at `data: [DONE]`, before the exchange is
        // written: let replies in flight finish (bounded) before stopping.
        let (count, done) = &self.recorder.in_flight;
        let _ = done.wait_timeout_while(count.lock().unwrap(), RELAY_DRAIN, |n| *n > 0);
        self.server.stop();
    }
}

/// Headers that describe one hop, or that would make the body unreadable to us.
fn is_hop_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host"
            | "content-length"
            | "connection"
            | "transfer-encoding"
            | "keep-alive"
            | "upgrade"
            | "accept-encoding"
            | "proxy-authorization"
            | "te"
            | "trailer"
    )
}

fn forward_headers(from: &HeaderMap) -> HeaderMap {
    from.iter()
        .filter(|(name, _)| !is_hop_header(name))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

fn bad_gateway(message: String) -> Response {
    eprintln!("copilot-replay record: {message}");
    (
        StatusCode::BAD_GATEWAY,
        axum::Json(json!({"error": {"message": message, "type": "upstream_error"}})),
    )
        .into_response()
}

async fn proxy(State(rec): State<Arc<Recorder>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    // The client's base URL ends in /v1 like the upstream's: map one onto the other.
    let rest = path.strip_prefix("/v1").unwrap_or(path);
    let target = format!("{}{rest}", rec.upstream);
    let is_chat = parts.uri.path().ends_with("/chat/completions");
    let body = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(e) => return bad_gateway(format!("cannot read the request body: {e}")),
    };
    let upstream = rec
        .client
        .request(parts.method.clone(), &target)
        .headers(forward_headers(&parts.headers))
        .body(body.clone())
        .send()
        .await;
    let upstream = match upstream {
        Ok(r) => r,
        Err(e) => return bad_gateway(format!("{target}: {e}")),
    };
    let status = upstream.status();
    let headers = forward_headers(upstream.headers());
    let request_json = if is_chat && status.is_success() {
        serde_json::from_slice::<Value>(&body).ok()
    } else {
        None
    };

    // Pass the reply through as it arrives, keeping a copy to record at the end.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let mut stream = upstream;
    let in_flight = InFlight::new(&rec);
    tokio::spawn(async move {
        let _in_flight = in_flight;
        let mut copy = Vec::new();
        loop {
            match stream.chunk().await {
                Ok(Some(chunk)) => {
                    if request_json.is_some() {
                        copy.extend_from_slice(&chunk);
                    }
                    // A client that went away still gets its exchange recorded.
                    let _ = tx.send(Ok(chunk)).await;
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e))).await;
                    return;
                }
            }
        }
        if let Some(request) = request_json {
            match assistant_reply(&copy) {
                Some(reply) => rec.record(&request, reply),
                None => eprintln!(
                    "copilot-replay record: reply from {target} not understood; not recorded"
                ),
            }
        }
    });
    let mut response = Response::new(Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(rx),
    ));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The assistant messages of a reply, as raw chat messages: `choices[].message`
/// of a `chat.completion`, or the deltas of a server-sent event stream joined.
fn assistant_reply(body: &[u8]) -> Option<Vec<Value>> {
    if let Ok(completion) = serde_json::from_slice::<Value>(body) {
        let choices = completion.get("choices")?.as_array()?;
        let messages: Vec<Value> = choices
            .iter()
            .filter_map(|c| c.get("message").cloned())
            .collect();
        return (!messages.is_empty()).then_some(messages);
    }
    let text = std::str::from_utf8(body).ok()?;
    let mut content = String::new();
    // Tool calls by their stream index: (id, name, arguments). A map, not a
    // vector indexed by it: the index comes from upstream, and a huge one
    // must cost one entry, not a huge allocation.
    let mut calls: std::collections::BTreeMap<u64, (String, String, String)> = Default::default();
    let mut any = false;
    for line in text.lines() {
        let Some(data) = line.strip_prefix("data:").map(str::trim) else {
            continue;
        };
        if data == "[DONE]" {
            break;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        let Some(delta) = chunk.pointer("/choices/0/delta") else {
            continue;
        };
        any = true;
        if let Some(text) = delta.get("content").and_then(Value::as_str) {
            content.push_str(text);
        }
        for tc in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let index = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
            let call = calls.entry(index).or_default();
            if let Some(id) = tc.get("id").and_then(Value::as_str) {
                call.0 = id.to_string();
            }
            if let Some(f) = tc.get("function") {
                if let Some(name) = f.get("name").and_then(Value::as_str) {
                    call.1.push_str(name);
                }
                if let Some(args) = f.get("arguments").and_then(Value::as_str) {
                    call.2.push_str(args);
                }
            }
        }
    }
    if !any {
        return None;
    }
    let mut message = json!({"role": "assistant", "content": content});
    if !calls.is_empty() {
        message["tool_calls"] = calls
            .into_values()
            .map(|(id, name, arguments)| {
                json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
            })
            .collect();
    }
    Some(vec![message])
}

#[derive(Serialize)]
struct FileOut<'a> {
    models: &'a [String],
    conversations: [ConversationOut<'a>; 1],
}

#[derive(Serialize)]
struct ConversationOut<'a> {
    messages: &'a [Message],
}

impl Recorder {
    fn record(&self, request: &Value, reply: Vec<Value>) {
        // Normalise request and reply together, so tool call ids get the same
        // names here as in the next request that carries them.
        let mut whole = request.clone();
        if let Some(messages) = whole.get_mut("messages").and_then(Value::as_array_mut) {
            messages.extend(reply);
        } else {
            return;
        }
        let mut book = self.book.lock().unwrap();
        let messages = normalize::request(&whole, book.workdir.as_deref()).messages;
        if let Some(model) = request.get("model").and_then(Value::as_str) {
            if !book.models.iter().any(|m| m == model) {
                book.models.push(model.to_string());
            }
        }
        let extends = book.files.iter().position(|(_, recorded)| {
            recorded.len() <= messages.len() && messages[..recorded.len()] == recorded[..]
        });
        let index = match extends {
            Some(i) => {
                book.files[i].1 = messages;
                i
            }
            None => {
                let slug = slug(first_user_text(&messages));
                // Never overwrite a file this recorder did not write.
                let path = loop {
                    let path = book
                        .dir
                        .join(format!("{:03}-{slug}.yaml", book.next_number));
                    book.next_number += 1;
                    if !path.exists() {
                        break path;
                    }
                };
                book.files.push((path, messages));
                book.files.len() - 1
            }
        };
        let (path, messages) = &book.files[index];
        let file = FileOut {
            models: &book.models,
            conversations: [ConversationOut { messages }],
        };
        let result = serde_yaml_ng::to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|yaml| write_atomically(path, &yaml).map_err(|e| e.to_string()));
        match result {
            Ok(()) => eprintln!("copilot-replay record: wrote {}", path.display()),
            Err(e) => eprintln!(
                "copilot-replay record: cannot write {}: {e}",
                path.display()
            ),
        }
    }
}

fn first_user_text(messages: &[Message]) -> &str {
    messages
        .iter()
        .find(|m| m.role == "user")
        .and_then(|m| m.content.as_deref())
        .unwrap_or("conversation")
}

/// A short file-name form of a prompt: "what-is-the-weather-in-paris".
fn slug(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(6)
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        "conversation".into()
    } else {
        words.join("-")
    }
}

/// Temp file and rename: a killed recorder leaves the previous version whole
/// (synced first, so a crash of the machine does too).
/// Readers see the old file or the new one, never a part: a temporary file
/// beside it, synced, then renamed over it (tempfile's persist).
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(path).map(drop).map_err(|e| e.error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tool call index from upstream costs one entry whatever its value.
    #[test]
    fn a_huge_tool_call_index_is_one_entry() {
        let sse = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":18446744073709551615,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\ndata: [DONE]\n\n";
        let reply = assistant_reply(sse.as_bytes()).unwrap();
        assert_eq!(reply[0]["tool_calls"].as_array().unwrap().len(), 1);
        assert_eq!(reply[0]["tool_calls"][0]["id"], "c");
    }

    #[test]
    fn streamed_deltas_are_joined_into_one_message() {
        let sse = concat!(
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Let me \"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"check.\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"ci\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\":\\\"Paris\\\"}\"}}]}}]}\n\n",
            "data: [DONE]\n\n"
        );
        let reply = assistant_reply(sse.as_bytes()).unwrap();
        assert_eq!(reply[0]["content"], "Let me check.");
        assert_eq!(reply[0]["tool_calls"][0]["id"], "call_1");
        assert_eq!(reply[0]["tool_calls"][0]["function"]["name"], "get_weather");
        assert_eq!(
            reply[0]["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Paris\"}"
        );
    }

    #[test]
    fn non_streamed_choices_are_taken_in_order() {
        let body = br#"{"choices":[{"message":{"role":"assistant","content":"a"}},{"message":{"role":"assistant","content":"b"}}]}"#;
        let reply = assistant_reply(body).unwrap();
        assert_eq!(reply.len(), 2);
        assert_eq!(reply[1]["content"], "b");
        assert!(assistant_reply(b"not a reply").is_none());
    }

    #[test]
    fn slugs_are_short_and_safe() {
        assert_eq!(
            slug("What's the weather like in Paris today? Use it."),
            "what-s-the-weather-like-in"
        );
        assert_eq!(slug("???"), "conversation");
    }
}
