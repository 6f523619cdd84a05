//! The HTTP surface. OpenAI-compatible (BYOK): `POST /v1/chat/completions`
//! answered as JSON or as server-sent events, and `GET /v1/models`. Copilot
//! API (a CLI started with `COPILOT_API_URL` and `COPILOT_DEBUG_GITHUB_API_URL`
//! pointing here and a GitHub token): `GET /copilot_internal/user` answers
//! every bearer token (or only those given users per token) with a signed-in
//! user whose API endpoint is this server, `GET /models` lists the snapshot's
//! models with capabilities, and the agent-memory endpoints answer "disabled".
//! For tests: `GET /_replay/requests` answers the chat-completions requests
//! received so far as a JSON array of `{"method", "path", "body"}`.
//! Anything else is answered 404 and recorded.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::conversations::Message;
use crate::matcher::{self, Outcome};
use crate::{normalize, Shared};

/// Characters of assistant text per streamed chunk (several chunks per reply,
/// so clients see several `assistant.message_delta` events).
const STREAM_CHUNK_CHARS: usize = 24;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route("/models", get(models))
        .route("/copilot_internal/user", get(copilot_user))
        .route("/agents/{*rest}", get(agent_memory).post(agent_memory))
        .route("/_replay/requests", get(received_requests))
        .route("/_replay/configure", post(configure))
        .route("/_replay/users", post(add_user))
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found(
    State(shared): State<Arc<Shared>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    // Logged like an unmatched conversation: a client asking for an endpoint
    // this server lacks is otherwise invisible.
    eprintln!("copilot-replay: 404 for {method} {}", uri.path());
    shared
        .unserved
        .lock()
        .unwrap()
        .push(crate::UnservedRequest {
            method: method.to_string(),
            path: uri.path().to_string(),
            headers: header_map(&headers),
        });
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        "copilot-replay serves /v1/chat/completions, /v1/models, /copilot_internal/user and /agents/*/memory",
    )
}

/// Lower-case header names to values (repeated headers joined with ",").
fn header_map(headers: &axum::http::HeaderMap) -> serde_json::Map<String, Value> {
    let mut names = serde_json::Map::new();
    for name in headers.keys() {
        let joined: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        names.insert(name.as_str().to_string(), Value::String(joined.join(",")));
    }
    names
}

/// The snapshot's models, in both the OpenAI and the Copilot API shape.
async fn models(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let library = shared.library.read().unwrap().clone();
    let ids = if library.models.is_empty() {
        vec!["claude-sonnet-4.5".to_string()]
    } else {
        library.models.clone()
    };
    Json(json!({
        "object": "list",
        "data": ids.iter().map(|id| json!({
            "id": id,
            "object": "model",
            "owned_by": "copilot-replay",
            "name": id,
            "capabilities": {
                "supports": {"vision": true},
                "limits": {"max_context_window_tokens": 128000},
            },
        })).collect::<Vec<_>>(),
    }))
}

/// The Copilot user behind any bearer token (or, with users by token, behind
/// each known one); 401 otherwise. Its API endpoint is this server (from the
/// request's `Host`), so model traffic comes back here.
async fn copilot_user(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' ').map(|(_, t)| t.trim()))
        .filter(|t| !t.is_empty());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let own = match (&*shared.users_by_token.lock().unwrap(), token) {
        (Some(users), Some(t)) => match users.get(t) {
            Some(fields) => Some(fields.clone()),
            None => return unauthorized(),
        },
        _ => None,
    };
    match (token, host) {
        (Some(_), Some(host)) => {
            let mut user = json!({
                "login": "copilot-replay-user",
                "copilot_plan": "individual_pro",
                "is_mcp_enabled": true,
                "analytics_tracking_id": "copilot-replay",
                "endpoints": {
                    "api": format!("http://{host}"),
                    "telemetry": "https://localhost:1/telemetry",
                },
            });
            let extra = shared.copilot_user.lock().unwrap().clone();
            user.as_object_mut().unwrap().extend(extra);
            user.as_object_mut()
                .unwrap()
                .extend(own.unwrap_or_default());
            Json(user).into_response()
        }
        _ => unauthorized(),
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "Bad credentials"})),
    )
        .into_response()
}

/// `{"paths": [..], "workdir": ".."}`: serve these conversation files from now
/// on (a path that does not exist serves none, so a test without a recording
/// gets 400s), with `${workdir}` standing for `workdir`, and forget the
/// requests received so far. For harnesses that keep one server across tests.
async fn configure(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let paths: Vec<std::path::PathBuf> = body
        .get("paths")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(Into::into).collect())
        .unwrap_or_default();
    let existing: Vec<_> = paths.into_iter().filter(|p| p.exists()).collect();
    let library = match crate::conversations::Library::load(&existing) {
        Ok(library) => library,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_conversation",
                &e.to_string(),
            )
        }
    };
    let count = library.conversations.len();
    *shared.library.write().unwrap() = Arc::new(library);
    *shared.workdir.lock().unwrap() = body
        .get("workdir")
        .and_then(Value::as_str)
        .map(str::to_string);
    shared.reveal_credentials.store(
        body.get("revealCredentials").and_then(Value::as_bool) == Some(true),
        std::sync::atomic::Ordering::Relaxed,
    );
    shared.received.lock().unwrap().requests.clear();
    Json(json!({"conversations": count})).into_response()
}

/// `{"token": "..", "user": {..}}`: `/copilot_internal/user` accepts this token
/// with these fields over the default user; once one is added, other tokens get 401.
async fn add_user(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let Some(token) = body.get("token").and_then(Value::as_str) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    let fields = body
        .get("user")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    shared
        .users_by_token
        .lock()
        .unwrap()
        .get_or_insert_with(Default::default)
        .insert(token.to_string(), fields);
    Json(json!({})).into_response()
}

/// The chat-completions requests received so far, oldest first.
async fn received_requests(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let received = shared.received.lock().unwrap();
    Json(Value::Array(
        received
            .requests
            .iter()
            .map(|r| {
                // The headers too, unlike the log file: a harness checks what
                // the CLI sent (provider routing, request headers). Credentials
                // stay in the process unless the harness asked for them.
                let mut headers = r.headers.clone();
                let reveal = shared
                    .reveal_credentials
                    .load(std::sync::atomic::Ordering::Relaxed);
                for (name, value) in headers.iter_mut() {
                    if !reveal
                        && matches!(
                            name.as_str(),
                            "authorization" | "api-key" | "x-api-key" | "cookie"
                        )
                    {
                        *value = Value::String("<redacted>".into());
                    }
                }
                let mut j = r.to_json();
                j["headers"] = Value::Object(headers);
                j
            })
            .collect(),
    ))
}

/// Agent memory is off: `.../enabled` says so, `.../recent` has none.
async fn agent_memory(uri: axum::http::Uri) -> Json<Value> {
    let path = uri.path();
    Json(if path.ends_with("/enabled") {
        json!({"enabled": false})
    } else if path.ends_with("/recent") {
        json!({"memories": []})
    } else {
        json!({})
    })
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"message": message, "type": code, "code": code}})),
    )
        .into_response()
}

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: String,
) -> Response {
    let Ok(request) = serde_json::from_str::<Value>(&body) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "request body is not JSON",
        );
    };
    shared.received.lock().unwrap().push(crate::ModelRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        body: request.clone(),
        headers: header_map(&headers),
    });
    let workdir = shared.workdir.lock().unwrap().clone();
    let normalized = normalize::request(&request, workdir.as_deref());
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("claude-sonnet-4.5")
        .to_string();
    let stream = request
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let usage = stream
        && request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let library = shared.library.read().unwrap().clone();
    match matcher::find(&library, Some(&model), &normalized.messages) {
        Outcome::Reply(messages) => {
            let workdir = workdir.unwrap_or_default();
            if stream {
                sse_response(&model, &messages, usage, &workdir)
            } else {
                Json(completion(&model, &messages, &workdir)).into_response()
            }
        }
        Outcome::Error(e) => {
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            let code = e.code.clone().unwrap_or_else(|| "rate_limited".into());
            let message = e
                .message
                .clone()
                .unwrap_or_else(|| "Rate limited by test snapshot".into());
            let mut resp = error_response(status, &code, &message);
            if let Some(secs) = e.retry_after_seconds {
                resp.headers_mut()
                    .insert("retry-after", secs.to_string().parse().unwrap());
            }
            resp
        }
        Outcome::Hold => {
            // Headers now, body never: the client sees a model that stalls.
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(1);
            shared.held.lock().unwrap().push(tx);
            let content_type = if stream {
                "text/event-stream"
            } else {
                "application/json"
            };
            Response::builder()
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from_stream(
                    tokio_stream::wrappers::ReceiverStream::new(rx),
                ))
                .unwrap()
        }
        Outcome::NoMatch(why) => {
            eprintln!("copilot-replay: 400 for POST /chat/completions: {why}");
            // 400, never 5xx: the CLI retries 5xx for about 16 s before failing.
            error_response(StatusCode::BAD_REQUEST, "no_matching_conversation", &why)
        }
    }
}

fn tool_calls_json(m: &Message, workdir: &str) -> Option<Vec<Value>> {
    let calls = m.tool_calls.as_ref()?;
    Some(
        calls
            .iter()
            .enumerate()
            .map(|(i, tc)| {
                let f = tc.function.as_ref();
                json!({
                    "id": if tc.id.is_empty() { format!("call_{i}") } else { tc.id.clone() },
                    "type": "function",
                    "function": {
                        "name": normalize::expand_tool_name(f.map(|f| f.name.as_str()).unwrap_or("")),
                        "arguments": expand_workdir(f.map(|f| f.arguments.as_str()).unwrap_or("{}"), workdir, true),
                    },
                })
            })
            .collect(),
    )
}

fn expand_workdir(text: &str, workdir: &str, json_escape: bool) -> String {
    if workdir.is_empty() {
        return text.to_string();
    }
    let value = if json_escape {
        serde_json::to_string(workdir)
            .unwrap()
            .trim_matches('"')
            .to_string()
    } else {
        workdir.to_string()
    };
    text.replace(normalize::WORKDIR, &value)
}

/// A `chat.completion`; several assistant messages in a row become several
/// choices, which the CLI treats as consecutive messages.
fn completion(model: &str, messages: &[&Message], workdir: &str) -> Value {
    let choices: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(index, m)| {
            let tool_calls = tool_calls_json(m, workdir);
            let finish = if tool_calls.is_some() {
                "tool_calls"
            } else {
                "stop"
            };
            json!({
                "index": index,
                "message": {
                    "role": "assistant",
                    "content": m.content.as_deref().map(|c| expand_workdir(c, workdir, false)),
                    "refusal": m.refusal,
                    "tool_calls": tool_calls,
                },
                "finish_reason": finish,
                "logprobs": null,
            })
        })
        .collect();
    json!({
        "id": "replay-completion",
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "choices": choices,
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The first assistant message as `chat.completion.chunk` events (a stream
/// carries one choice; the CLI asks again for what follows).
fn sse_response(model: &str, messages: &[&Message], usage: bool, workdir: &str) -> Response {
    let m = messages[0];
    let created = now();
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({
            "id": "replay-completion",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
    };
    let mut chunks = Vec::new();
    let content = m
        .content
        .as_deref()
        .map(|c| expand_workdir(c, workdir, false))
        .unwrap_or_default();
    let chars: Vec<char> = content.chars().collect();
    for piece in chars.chunks(STREAM_CHUNK_CHARS) {
        chunks.push(chunk(
            json!({"role": "assistant", "content": piece.iter().collect::<String>()}),
            None,
        ));
    }
    let tool_calls = tool_calls_json(m, workdir);
    for (i, tc) in tool_calls.iter().flatten().enumerate() {
        chunks.push(chunk(
            json!({"role": "assistant", "tool_calls": [{
                "index": i,
                "id": tc["id"],
                "type": "function",
                "function": {"name": tc["function"]["name"], "arguments": tc["function"]["arguments"]},
            }]}),
            None,
        ));
    }
    let finish = if tool_calls.is_some() {
        "tool_calls"
    } else {
        "stop"
    };
    chunks.push(chunk(json!({}), Some(finish)));
    let mut body = String::new();
    for c in chunks {
        body.push_str(&format!("data: {c}\n\n"));
    }
    if usage {
        let u = json!({
            "id": "replay-completion", "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [], "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        });
        body.push_str(&format!("data: {u}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(body))
        .unwrap()
}
