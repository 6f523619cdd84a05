//! `session` scenarios beyond the lifecycle: attachments, request headers,
//! tool filters and system-message customisation as the model sees them,
//! send semantics, abort, logging, model switch, and a session destroyed from
//! inside its own event callback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::rpc_edges::wait_until;
use crate::rpc_state::{call, open};
use crate::scenarios::string_tool;
use crate::{content, ensure, ok, Ctx, Kind, Scenario, Session, ToolOutcome};

pub fn all() -> Vec<Scenario> {
    vec![
        run!("session", disposeasync_from_handler_does_not_deadlock),
        Scenario {
            area: "session",
            name: "handler_exception_does_not_halt_event_delivery",
            kind: Kind::NotApplicable(
                "exceptions thrown by an event handler are a host-language feature; a C callback returns normally",
            ),
        },
        Scenario {
            area: "session",
            name: "sendandwait_throws_operationcanceledexception_when_token_cancelled",
            kind: Kind::NotApplicable(
                ".NET CancellationToken; C bounds the wait with send_and_wait's timeout (the .NET wrapper's own tests cover its token)",
            ),
        },
        run!("session", send_returns_immediately_while_events_stream_in_background),
        run!("session", should_abort_a_session),
        run!("session", should_accept_blob_attachments),
        run!("session", should_send_with_directory_attachment),
        run!("session", should_send_with_selection_attachment),
        run!("session", should_send_with_github_reference_attachment),
        run!("session", should_send_with_custom_requestheaders),
        run!("session", should_create_a_session_with_availabletools),
        run!("session", should_create_a_session_with_excludedtools),
        run!(
            "session",
            should_create_a_session_with_customized_systemmessage_config
        ),
        run!("session", should_create_session_with_custom_config_dir),
        run!("session", should_create_session_with_custom_tool),
        run!("session", should_log_messages_at_various_levels),
        run!("session", should_set_model_on_existing_session),
        run!("session", should_set_model_with_reasoningeffort),
    ]
}

const TURN: Duration = Duration::from_secs(60);

/// The attachments of the last `user.message` in the session's history.
fn last_user_attachments(session: &Session) -> Result<Vec<Value>, String> {
    let history = ok(session.get_messages(), "getMessages")?;
    let user = history
        .as_array()
        .into_iter()
        .flatten()
        .rfind(|e| e["type"] == "user.message")
        .ok_or("no user.message in history")?;
    Ok(user["data"]["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// Sends prompt 0 with `attachments` and waits for the turn; returns the
/// attachments the CLI recorded on the user message.
fn send_with_attachments(ctx: &Ctx, attachments: Value) -> Result<Vec<Value>, String> {
    send_with_attachments_as(ctx, &ctx.bare_prompt(0), attachments)
}

fn send_with_attachments_as(
    ctx: &Ctx,
    prompt: &str,
    attachments: Value,
) -> Result<Vec<Value>, String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    ok(
        session.send_and_wait(&json!({"prompt": prompt, "attachments": attachments}), TURN),
        "send_and_wait with attachments",
    )?;
    last_user_attachments(&session)
}

/// The one recorded attachment, checked field by field against `expected`.
fn expect_single(got: &[Value], expected: &Value) -> Result<(), String> {
    ensure(got.len() == 1, format!("attachments {got:?}"))?;
    for (k, v) in expected.as_object().unwrap() {
        ensure(
            &got[0][k] == v,
            format!("attachment {k}: {} vs {v}", got[0][k]),
        )?;
    }
    Ok(())
}

fn disposeasync_from_handler_does_not_deadlock(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let slot: Arc<Mutex<Option<Arc<Session>>>> = Arc::default();
    let outcome: Arc<Mutex<Option<Result<(), String>>>> = Arc::default();
    let (s, o) = (slot.clone(), outcome.clone());
    let cfg = ctx.config(json!({})).approve_all().on_event(move |t, _| {
        if t == "user.message" {
            if let Some(session) = s.lock().unwrap().take() {
                let r = session.destroy().map_err(|e| e.to_string());
                *o.lock().unwrap() = Some(r);
            }
        }
    });
    let session = Arc::new(ok(client.create_session(&cfg), "create")?);
    *slot.lock().unwrap() = Some(session.clone());
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    wait_until("destroy from the event callback to return", || {
        outcome.lock().unwrap().is_some()
    })?;
    let result = outcome.lock().unwrap().take().unwrap();
    ensure(result.is_ok(), format!("destroy in callback: {result:?}"))
}

fn send_returns_immediately_while_events_stream_in_background(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, events) = open(ctx, json!({}))?;
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    ensure(
        events.of_type("session.idle").is_empty(),
        "send returned after the turn ended",
    )?;
    events.wait_for("session.idle", TURN, |_| true)?;
    let last = events
        .of_type("assistant.message")
        .last()
        .cloned()
        .ok_or("no assistant.message")?;
    ensure(content(&last).contains("done"), format!("answer {last}"))
}

fn should_abort_a_session(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, events) = open(ctx, json!({}))?;
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    events.wait_for("tool.execution_start", TURN, |_| true)?;
    ok(session.abort(), "abort")?;
    events.wait_for("session.idle", TURN, |_| true)?;
    let history = ok(session.get_messages(), "getMessages")?;
    ensure(
        history
            .as_array()
            .is_some_and(|h| h.iter().any(|e| e["type"] == "abort")),
        "history records the abort",
    )?;
    let answer = ok(session.prompt(&ctx.prompt(1)), "turn after abort")?;
    ensure(content(&answer).contains('4'), format!("answer {answer}"))
}

pub(crate) const PIXEL_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// Writes the 1x1 PNG the image scenarios attach or let the model view.
pub(crate) fn write_pixel_png(path: &std::path::Path) {
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(PIXEL_PNG)
        .unwrap();
    std::fs::write(path, png).unwrap();
}

fn should_accept_blob_attachments(ctx: &Ctx) -> Result<(), String> {
    write_pixel_png(&ctx.env.home_path().join("test-pixel.png"));
    // The model sees the prompt, then the blob's name and the image.
    let prompt = ctx.prompt(0).lines().next().unwrap_or_default().to_string();
    send_with_attachments_as(
        ctx,
        &prompt,
        json!([{"type": "blob", "data": PIXEL_PNG, "mimeType": "image/png",
                "displayName": "test-pixel.png"}]),
    )
    .map(|_| ())
}

fn should_send_with_directory_attachment(ctx: &Ctx) -> Result<(), String> {
    let dir = ctx.env.home_path().join("attached-directory");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("readme.txt"), "DIRECTORY_ATTACHMENT_SENTINEL").unwrap();
    let attachment = json!({"type": "directory", "path": dir, "displayName": "attached-directory"});
    let got = send_with_attachments(ctx, json!([attachment]))?;
    expect_single(&got, &attachment)
}

fn should_send_with_selection_attachment(ctx: &Ctx) -> Result<(), String> {
    let file = ctx.env.home_path().join("selected-file.cs");
    std::fs::write(&file, "class C { string Value = \"SELECTION_SENTINEL\"; }").unwrap();
    let attachment = json!({
        "type": "selection",
        "filePath": file,
        "displayName": "selected-file.cs",
        "text": "string Value = \"SELECTION_SENTINEL\";",
        "selection": {"start": {"line": 1, "character": 10}, "end": {"line": 1, "character": 45}},
    });
    let got = send_with_attachments(ctx, json!([attachment]))?;
    expect_single(&got, &attachment)
}

fn should_send_with_github_reference_attachment(ctx: &Ctx) -> Result<(), String> {
    let attachment = json!({
        "type": "github_reference",
        "number": 1234,
        "referenceType": "issue",
        "state": "open",
        "title": "Add E2E attachment coverage",
        "url": "https://github.com/github/copilot-sdk/issues/1234",
    });
    let got = send_with_attachments(ctx, json!([attachment]))?;
    expect_single(&got, &attachment)
}

fn should_send_with_custom_requestheaders(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    ok(
        session.send_and_wait(
            &json!({"prompt": ctx.prompt(0),
                    "requestHeaders": {"x-copilot-sdk-test-header": "c-request-headers"}}),
            TURN,
        ),
        "send_and_wait",
    )?;
    let headers = ctx.env.replay.request_headers();
    let last = headers.last().ok_or("the model was not called")?;
    ensure(
        last.get("x-copilot-sdk-test-header")
            .and_then(Value::as_str)
            .is_some_and(|v| v.contains("c-request-headers")),
        format!("headers of the model request: {last:?}"),
    )
}

/// Sends prompt 0 without waiting, then returns the first model request body.
fn first_model_request(ctx: &Ctx, extra: Value) -> Result<Value, String> {
    let (_c, session, events) = open(ctx, extra)?;
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    wait_until("the model request", || !ctx.requests().is_empty())?;
    // Let the turn finish before the session goes away.
    let _ = events.wait_for("session.idle", TURN, |_| true);
    Ok(ctx.requests()[0].clone())
}

pub(crate) fn tool_names(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["function"]["name"].as_str().map(String::from))
        .collect()
}

fn should_create_a_session_with_availabletools(ctx: &Ctx) -> Result<(), String> {
    let request = first_model_request(ctx, json!({"availableTools": ["view", "edit"]}))?;
    let mut names = tool_names(&request);
    names.sort();
    ensure(
        names == ["edit", "view"],
        format!("tools offered: {names:?}"),
    )
}

fn should_create_a_session_with_excludedtools(ctx: &Ctx) -> Result<(), String> {
    let request = first_model_request(ctx, json!({"excludedTools": ["view"]}))?;
    let names = tool_names(&request);
    ensure(
        names.iter().any(|n| n == "edit")
            && names.iter().any(|n| n == "grep")
            && !names.iter().any(|n| n == "view"),
        format!("tools offered: {names:?}"),
    )
}

pub(crate) fn system_message(request: &Value) -> String {
    request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["role"] == "system")
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn should_create_a_session_with_customized_systemmessage_config(ctx: &Ctx) -> Result<(), String> {
    let tone = "Respond in a warm, professional tone. Be thorough in explanations.";
    let appended = "Always mention quarterly earnings.";
    let request = first_model_request(
        ctx,
        json!({"systemMessage": {
            "mode": "customize",
            "sections": {
                "tone": {"action": "replace", "content": tone},
                "code_change_rules": {"action": "remove"},
            },
            "content": appended,
        }}),
    )?;
    let system = system_message(&request);
    ensure(system.contains(tone), "the replaced tone section")?;
    ensure(system.contains(appended), "the appended content")?;
    ensure(
        !system.contains("<code_change_instructions>"),
        "the removed section is gone",
    )
}

fn should_create_session_with_custom_config_dir(ctx: &Ctx) -> Result<(), String> {
    let dir = ctx.env.home_path().join("custom-config");
    let (_c, session, _) = open(ctx, json!({"configDir": dir}))?;
    let id = session.id();
    ensure(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        format!("session id {id}"),
    )?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "turn")?;
    ensure(content(&answer).contains('2'), format!("answer {answer}"))
}

fn should_create_session_with_custom_tool(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let cfg = ctx
        .config(json!({}))
        .tool(string_tool("get_secret_number", "key"), |inv| {
            let key = inv["arguments"]["key"].as_str().unwrap_or_default();
            ToolOutcome::Result(json!({
                "textResultForLlm": if key == "ALPHA" { "54321" } else { "unknown" },
                "resultType": "success",
            }))
        })
        .approve_all();
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "turn")?;
    ensure(
        content(&answer).contains("54321"),
        format!("answer {answer}"),
    )
}

fn should_log_messages_at_various_levels(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, events) = open(ctx, json!({}))?;
    let cases = [
        (
            json!({"message": "Info message"}),
            "session.info",
            "infoType",
        ),
        (
            json!({"message": "Warning message", "level": "warning"}),
            "session.warning",
            "warningType",
        ),
        (
            json!({"message": "Error message", "level": "error"}),
            "session.error",
            "errorType",
        ),
        (
            json!({"message": "Ephemeral message", "ephemeral": true}),
            "session.info",
            "infoType",
        ),
    ];
    for (params, _, _) in &cases {
        call(&session, "session.log", params.clone())?;
    }
    for (params, ty, kind) in &cases {
        let message = params["message"].clone();
        let event = events.wait_for(ty, Duration::from_secs(10), |e| {
            e["data"]["message"] == message
        })?;
        let expected = json!({ *kind: "notification", "message": message });
        ensure(
            event["data"] == expected,
            format!("{ty} data {} vs {expected}", event["data"]),
        )?;
    }
    Ok(())
}

fn switch_model(ctx: &Ctx, params: Value) -> Result<Value, String> {
    let (_c, session, events) = open(ctx, json!({}))?;
    call(&session, "session.model.switchTo", params)?;
    events.wait_for("session.model_change", Duration::from_secs(15), |_| true)
}

fn should_set_model_on_existing_session(ctx: &Ctx) -> Result<(), String> {
    let event = switch_model(ctx, json!({"modelId": "gpt-4.1"}))?;
    ensure(
        event["data"]["newModel"] == "gpt-4.1",
        format!("event {event}"),
    )
}

fn should_set_model_with_reasoningeffort(ctx: &Ctx) -> Result<(), String> {
    let event = switch_model(
        ctx,
        json!({"modelId": "gpt-5.4", "reasoningEffort": "high"}),
    )?;
    ensure(
        event["data"]["newModel"] == "gpt-5.4" && event["data"]["reasoningEffort"] == "high",
        format!("event {event}"),
    )
}
