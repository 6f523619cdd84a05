//! Session-scoped RPC scenarios (`rpc_session_state`): model, mode, plan,
//! workspace files, name, metadata, usage, permissions, history and fork,
//! each a generic call through `copilot_session_call` / `copilot_client_call`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::abi::Rpc;
use crate::{content, ensure, ok, Ctx, Events, Scenario, Session};

/// Session ids `session.list` reports (on a client).
pub(crate) fn listed(client: &impl Rpc) -> Result<Vec<String>, String> {
    let list = call(client, "session.list", json!({}))?;
    Ok(list["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["sessionId"].as_str().map(String::from))
        .collect())
}

pub fn all() -> Vec<Scenario> {
    vec![
        run!(
            "rpc_session_state",
            should_call_session_rpc_model_getcurrent
        ),
        run!("rpc_session_state", should_call_session_rpc_model_switchto),
        run!(
            "rpc_session_state",
            should_set_and_get_each_session_mode_value
        ),
        run!("rpc_session_state", should_get_and_set_session_mode),
        run!("rpc_session_state", should_read_update_and_delete_plan),
        run!("rpc_session_state", should_call_workspace_file_rpc_methods),
        run!(
            "rpc_session_state",
            should_reject_workspace_file_path_traversal
        ),
        run!(
            "rpc_session_state",
            should_create_workspace_file_with_nested_path_auto_creating_dirs
        ),
        run!(
            "rpc_session_state",
            should_report_error_reading_nonexistent_workspace_file
        ),
        run!(
            "rpc_session_state",
            should_update_existing_workspace_file_with_update_operation
        ),
        run!(
            "rpc_session_state",
            should_reject_empty_or_whitespace_session_name
        ),
        run!(
            "rpc_session_state",
            should_emit_title_changed_event_each_time_name_set_is_called
        ),
        run!("rpc_session_state", should_get_and_set_session_metadata),
        run!(
            "rpc_session_state",
            should_fork_session_with_persisted_messages
        ),
        run!(
            "rpc_session_state",
            should_handle_forking_session_without_persisted_events
        ),
        run!(
            "rpc_session_state",
            should_fork_session_to_event_id_excluding_boundary_event
        ),
        run!(
            "rpc_session_state",
            should_report_error_when_forking_session_to_unknown_event_id
        ),
        run!(
            "rpc_session_state",
            should_call_session_usage_and_permission_rpcs
        ),
        run!(
            "rpc_session_state",
            should_report_implemented_errors_for_unsupported_session_rpc_paths
        ),
        run!(
            "rpc_session_state",
            should_compact_session_history_after_messages
        ),
        run!(
            "rpc_session_state",
            should_report_processing_and_context_metadata
        ),
    ]
}

const EVENT_WAIT: Duration = Duration::from_secs(15);

/// A session with approve-all and `extra` fields, recording its events.
pub(crate) fn open(ctx: &Ctx, extra: Value) -> Result<(crate::Client, Session, Events), String> {
    open_with(ctx, ctx.config(extra))
}

/// As `open`, with a config of the caller's (e.g. `ctx.byok_config`).
pub(crate) fn open_with(
    ctx: &Ctx,
    config: crate::Config,
) -> Result<(crate::Client, Session, Events), String> {
    let client = ctx.client();
    let events = Events::default();
    let session = ok(
        client.create_session(&events.attach(config.approve_all())),
        "create",
    )?;
    Ok((client, session, events))
}

/// Calls a method on a client or session and reports failures with its name.
pub(crate) fn call(target: &impl Rpc, method: &str, params: Value) -> Result<Value, String> {
    ok(target.call(method, &params), method)
}

/// The error text of a call expected to fail.
pub(crate) fn call_err(target: &impl Rpc, method: &str, params: Value) -> Result<String, String> {
    match target.call(method, &params) {
        Ok(v) => Err(format!("{method} succeeded unexpectedly: {v}")),
        Err(e) => Ok(e.message),
    }
}

/// The runtime knew the method: its error is not "Unhandled method".
pub(crate) fn not_unhandled(message: &str) -> Result<(), String> {
    ensure(
        !message.to_ascii_lowercase().contains("unhandled method"),
        format!("method not implemented: {message}"),
    )
}

/// The user and assistant messages of a session's persisted history, in order.
pub(crate) fn conversation(session: &Session) -> Result<Vec<(String, String)>, String> {
    let history = ok(session.get_messages(), "getMessages")?;
    Ok(history
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let role = match e["type"].as_str()? {
                "user.message" => "user",
                "assistant.message" => "assistant",
                _ => return None,
            };
            Some((role.to_string(), content(e)))
        })
        .collect())
}

/// `prefix` plus a time-based suffix, for names no earlier run used.
pub(crate) fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos:x}")
}

fn should_call_session_rpc_model_getcurrent(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let current = call(&session, "session.model.getCurrent", json!({}))?;
    ensure(
        current["modelId"].as_str().is_some_and(|m| !m.is_empty()),
        format!("getCurrent {current}"),
    )
}

fn should_call_session_rpc_model_switchto(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let before = call(&session, "session.model.getCurrent", json!({}))?;
    ensure(before["modelId"].is_string(), format!("before {before}"))?;
    let result = call(
        &session,
        "session.model.switchTo",
        json!({"modelId": "gpt-5.4", "reasoningEffort": "high"}),
    )?;
    let after = call(&session, "session.model.getCurrent", json!({}))?;
    ensure(result["modelId"] == "gpt-5.4", format!("switchTo {result}"))?;
    ensure(after["modelId"] == "gpt-5.4", format!("after {after}"))
}

/// `session.mode.get` answers the mode as a bare string (or `{mode}`).
fn mode(session: &Session) -> Result<String, String> {
    let v = call(session, "session.mode.get", json!({}))?;
    Ok(v.as_str()
        .or_else(|| v["mode"].as_str())
        .unwrap_or_default()
        .to_string())
}

fn should_set_and_get_each_session_mode_value(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    for m in ["interactive", "plan", "autopilot"] {
        call(&session, "session.mode.set", json!({"mode": m}))?;
        let got = mode(&session)?;
        ensure(got == m, format!("set {m}, got {got}"))?;
    }
    Ok(())
}

fn should_get_and_set_session_mode(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    ensure(mode(&session)? == "interactive", "initial mode")?;
    for m in ["plan", "interactive"] {
        call(&session, "session.mode.set", json!({"mode": m}))?;
        ensure(mode(&session)? == m, format!("mode after set {m}"))?;
    }
    Ok(())
}

fn empty_content(v: &Value) -> bool {
    v["content"].is_null() || v["content"] == ""
}

fn should_read_update_and_delete_plan(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let initial = call(&session, "session.plan.read", json!({}))?;
    ensure(
        initial["exists"] == false && empty_content(&initial),
        format!("initial {initial}"),
    )?;
    let plan = "# Test Plan\n\n- Step 1\n- Step 2";
    call(&session, "session.plan.update", json!({"content": plan}))?;
    let updated = call(&session, "session.plan.read", json!({}))?;
    ensure(
        updated["exists"] == true && updated["content"] == plan,
        format!("after update {updated}"),
    )?;
    call(&session, "session.plan.delete", json!({}))?;
    let deleted = call(&session, "session.plan.read", json!({}))?;
    ensure(
        deleted["exists"] == false && empty_content(&deleted),
        format!("after delete {deleted}"),
    )
}

fn files(session: &Session) -> Result<Vec<String>, String> {
    let v = call(session, "session.workspaces.listFiles", json!({}))?;
    let list = v["files"]
        .as_array()
        .ok_or_else(|| format!("listFiles {v}"))?;
    Ok(list
        .iter()
        .filter_map(|f| f.as_str().map(String::from))
        .collect())
}

fn read_file(session: &Session, path: &str) -> Result<String, String> {
    let v = call(
        session,
        "session.workspaces.readFile",
        json!({"path": path}),
    )?;
    Ok(v["content"].as_str().unwrap_or_default().to_string())
}

fn create_file(session: &Session, path: &str, content: &str) -> Result<Value, String> {
    call(
        session,
        "session.workspaces.createFile",
        json!({"path": path, "content": content}),
    )
}

fn should_call_workspace_file_rpc_methods(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    files(&session)?;
    create_file(&session, "test.txt", "Hello, workspace!")?;
    ensure(
        files(&session)?.iter().any(|f| f == "test.txt"),
        "listFiles has test.txt",
    )?;
    let text = read_file(&session, "test.txt")?;
    ensure(text == "Hello, workspace!", format!("readFile {text:?}"))?;
    let ws = call(&session, "session.workspaces.getWorkspace", json!({}))?;
    ensure(
        ws["workspace"]["id"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        format!("getWorkspace {ws}"),
    )
}

fn should_reject_workspace_file_path_traversal(ctx: &Ctx) -> Result<(), String> {
    for path in [
        "../escaped.txt",
        "../../escaped.txt",
        "nested/../../../escaped.txt",
    ] {
        let (_c, session, _) = open(ctx, json!({}))?;
        let create = call_err(
            &session,
            "session.workspaces.createFile",
            json!({"path": path, "content": "should not land outside workspace"}),
        )?;
        let read = call_err(
            &session,
            "session.workspaces.readFile",
            json!({"path": path}),
        )?;
        for e in [&create, &read] {
            ensure(
                e.to_lowercase().contains("workspace files directory"),
                format!("{path}: {e}"),
            )?;
        }
    }
    Ok(())
}

fn should_create_workspace_file_with_nested_path_auto_creating_dirs(
    ctx: &Ctx,
) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let path = format!("{}/subdir/file.txt", unique("nested"));
    create_file(&session, &path, "nested content")?;
    ensure(read_file(&session, &path)? == "nested content", "content")?;
    ensure(
        files(&session)?.iter().any(|f| f.ends_with("file.txt")),
        "listed",
    )
}

fn should_report_error_reading_nonexistent_workspace_file(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let path = format!("{}.txt", unique("never-exists"));
    call_err(
        &session,
        "session.workspaces.readFile",
        json!({"path": path}),
    )
    .map(|_| ())
}

fn should_update_existing_workspace_file_with_update_operation(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, events) = open(ctx, json!({}))?;
    let path = format!("{}.txt", unique("reused"));
    create_file(&session, &path, "v1")?;
    create_file(&session, &path, "v2")?;
    events.wait_for("session.workspace_file_changed", EVENT_WAIT, |e| {
        e["data"]["path"] == path.as_str() && e["data"]["operation"] == "update"
    })?;
    ensure(read_file(&session, &path)? == "v2", "content is v2")
}

fn should_reject_empty_or_whitespace_session_name(ctx: &Ctx) -> Result<(), String> {
    for name in ["", "   ", "\t\n  \r"] {
        let (_c, session, _) = open(ctx, json!({}))?;
        let e = call_err(&session, "session.name.set", json!({"name": name}))?;
        ensure(e.to_lowercase().contains("empty"), format!("{name:?}: {e}"))?;
    }
    Ok(())
}

fn should_emit_title_changed_event_each_time_name_set_is_called(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, events) = open(ctx, json!({}))?;
    for title in [unique("Title-A"), unique("Title-B")] {
        call(&session, "session.name.set", json!({"name": title}))?;
        events.wait_for("session.title_changed", EVENT_WAIT, |e| {
            e["data"]["title"] == title.as_str()
        })?;
    }
    Ok(())
}

fn should_get_and_set_session_metadata(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    call(
        &session,
        "session.name.set",
        json!({"name": "SDK test session"}),
    )?;
    let name = call(&session, "session.name.get", json!({}))?;
    ensure(name["name"] == "SDK test session", format!("name {name}"))?;
    let sources = call(&session, "session.instructions.getSources", json!({}))?;
    ensure(sources["sources"].is_array(), format!("sources {sources}"))
}

fn fork(client: &crate::Client, params: Value) -> Result<String, String> {
    let v = ok(client.call("sessions.fork", &params), "sessions.fork")?;
    v["sessionId"]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .map(String::from)
        .ok_or_else(|| format!("fork {v}"))
}

fn has(conv: &[(String, String)], role: &str, pred: impl Fn(&str) -> bool) -> bool {
    conv.iter().any(|(r, c)| r == role && pred(c))
}

fn should_fork_session_with_persisted_messages(ctx: &Ctx) -> Result<(), String> {
    let (source_prompt, fork_prompt) = (ctx.prompt(0), ctx.prompt(1));
    let (client, session, _) = open(ctx, json!({}))?;
    let answer = content(&ok(session.prompt(&source_prompt), "source turn")?);
    ensure(
        answer.contains("FORK_SOURCE_ALPHA"),
        format!("answer {answer}"),
    )?;
    let source = conversation(&session)?;
    ensure(
        has(&source, "user", |c| c == source_prompt),
        "source has prompt",
    )?;
    ensure(
        has(&source, "assistant", |c| c.contains("FORK_SOURCE_ALPHA")),
        "source has answer",
    )?;

    let fork_id = fork(&client, json!({"sessionId": session.id()}))?;
    ensure(fork_id != session.id(), "fork has a new id")?;
    let forked = ok(
        client.resume_session(&fork_id, &ctx.config(json!({})).approve_all()),
        "resume fork",
    )?;
    let forked_conv = conversation(&forked)?;
    ensure(
        forked_conv.len() >= source.len() && forked_conv[..source.len()] == source[..],
        format!("fork starts with the source: {forked_conv:?} vs {source:?}"),
    )?;
    let answer = content(&ok(forked.prompt(&fork_prompt), "fork turn")?);
    ensure(
        answer.contains("FORK_CHILD_BETA"),
        format!("fork answer {answer}"),
    )?;
    ensure(
        !conversation(&session)?
            .iter()
            .any(|(_, c)| *c == fork_prompt),
        "the source does not see the fork's prompt",
    )?;
    let after = conversation(&forked)?;
    ensure(
        has(&after, "user", |c| c == fork_prompt),
        "fork has its prompt",
    )?;
    ensure(
        has(&after, "assistant", |c| c.contains("FORK_CHILD_BETA")),
        "fork has its answer",
    )
}

fn should_handle_forking_session_without_persisted_events(ctx: &Ctx) -> Result<(), String> {
    let (client, session, _) = open(ctx, json!({}))?;
    match client.call("sessions.fork", &json!({"sessionId": session.id()})) {
        Err(e) => {
            let text = e.message.to_lowercase();
            ensure(
                text.contains("not found or has no persisted events"),
                format!("fork error {text}"),
            )?;
            not_unhandled(&text)
        }
        Ok(v) => {
            let id = v["sessionId"].as_str().unwrap_or_default().to_string();
            ensure(
                !id.trim().is_empty() && id != session.id(),
                format!("fork {v}"),
            )?;
            let forked = ok(
                client.resume_session(&id, &ctx.config(json!({})).approve_all()),
                "resume fork",
            )?;
            ensure(conversation(&forked)?.is_empty(), "fork has no messages")
        }
    }
}

fn should_fork_session_to_event_id_excluding_boundary_event(ctx: &Ctx) -> Result<(), String> {
    let (first, second) = (ctx.prompt(0), ctx.prompt(1));
    let (client, session, _) = open(ctx, json!({}))?;
    ok(session.prompt(&first), "first turn")?;
    ok(session.prompt(&second), "second turn")?;
    let history = ok(session.get_messages(), "getMessages")?;
    let boundary = history
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["type"] == "user.message" && e["data"]["content"] == second.as_str())
        .and_then(|e| e["id"].as_str())
        .ok_or("second user.message not in history")?
        .to_string();
    let fork_id = fork(
        &client,
        json!({"sessionId": session.id(), "toEventId": boundary}),
    )?;
    ensure(fork_id != session.id(), "fork has a new id")?;
    let forked = ok(
        client.resume_session(&fork_id, &ctx.config(json!({})).approve_all()),
        "resume fork",
    )?;
    let forked_events = ok(forked.get_messages(), "fork getMessages")?;
    ensure(
        !forked_events
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["id"] == boundary.as_str()),
        "boundary event excluded",
    )?;
    let conv = conversation(&forked)?;
    ensure(has(&conv, "user", |c| c == first), "first prompt kept")?;
    ensure(
        !has(&conv, "user", |c| c == second),
        "second prompt excluded",
    )
}

fn should_report_error_when_forking_session_to_unknown_event_id(ctx: &Ctx) -> Result<(), String> {
    let (client, session, _) = open(ctx, json!({}))?;
    ok(session.prompt(&ctx.prompt(0)), "turn")?;
    let bogus = "5b8f2a57-2c0e-4d53-9a47-6f3c1d9e0b11";
    match client.call(
        "sessions.fork",
        &json!({"sessionId": session.id(), "toEventId": bogus}),
    ) {
        Ok(v) => Err(format!("fork to an unknown event succeeded: {v}")),
        Err(e) => {
            let text = e.message.to_lowercase();
            ensure(
                text.contains(&format!("event {bogus} not found")),
                format!("fork error {text}"),
            )?;
            not_unhandled(&text)
        }
    }
}

/// Every `tokenCount` in a `tokenDetails` map is non-negative.
fn token_counts_ok(details: &Value) -> bool {
    details
        .as_object()
        .map(|m| {
            m.values()
                .all(|d| d["tokenCount"].as_f64().unwrap_or(0.0) >= 0.0)
        })
        .unwrap_or(true)
}

fn should_call_session_usage_and_permission_rpcs(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let metrics = call(&session, "session.usage.getMetrics", json!({}))?;
    ensure(
        metrics["sessionStartTime"].is_string(),
        format!("metrics {metrics}"),
    )?;
    ensure(
        metrics["totalNanoAiu"].as_f64().unwrap_or(0.0) >= 0.0
            && token_counts_ok(&metrics["tokenDetails"]),
        format!("metrics {metrics}"),
    )?;
    for m in metrics["modelMetrics"]
        .as_object()
        .ok_or_else(|| format!("modelMetrics {metrics}"))?
        .values()
    {
        ensure(
            m["totalNanoAiu"].as_f64().unwrap_or(0.0) >= 0.0 && token_counts_ok(&m["tokenDetails"]),
            format!("model metric {m}"),
        )?;
    }
    let approve = call(
        &session,
        "session.permissions.setApproveAll",
        json!({"enabled": true}),
    )?;
    ensure(
        approve["success"] == true,
        format!("setApproveAll {approve}"),
    )?;
    let reset = call(
        &session,
        "session.permissions.resetSessionApprovals",
        json!({}),
    )?;
    ensure(reset["success"] == true, format!("reset {reset}"))?;
    call(
        &session,
        "session.permissions.setApproveAll",
        json!({"enabled": false}),
    )
    .map(|_| ())
}

fn should_report_implemented_errors_for_unsupported_session_rpc_paths(
    ctx: &Ctx,
) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    for (method, params) in [
        (
            "session.history.truncate",
            json!({"eventId": "missing-event"}),
        ),
        (
            "session.mcp.oauth.login",
            json!({"serverName": "missing-server"}),
        ),
    ] {
        not_unhandled(&call_err(&session, method, params)?)?;
    }
    Ok(())
}

/// `session.metadata.recomputeContextTokens` for the session's model: the
/// result and a reader of its integer fields (-1 when absent).
fn recompute_context_tokens(session: &Session) -> Result<(Value, impl Fn(&str) -> i64), String> {
    let re = call(
        session,
        "session.metadata.recomputeContextTokens",
        json!({"modelId": "claude-sonnet-4.5"}),
    )?;
    let fields = re.clone();
    Ok((re, move |k: &str| fields[k].as_i64().unwrap_or(-1)))
}

fn should_compact_session_history_after_messages(ctx: &Ctx) -> Result<(), String> {
    // BYOK: signed in, the Copilot API's model limits cap promptTokenLimit below
    // the 128000 the scenario asks for and then checks.
    let (_c, session, _) = open_with(ctx, ctx.byok_config(json!({})))?;
    let processing = |s: &Session| -> Result<Value, String> {
        Ok(call(s, "session.metadata.isProcessing", json!({}))?["processing"].clone())
    };
    ensure(processing(&session)? == false, "idle before the turn")?;
    ok(session.prompt(&ctx.prompt(0)), "turn")?;
    ensure(processing(&session)? == false, "idle after the turn")?;

    let info = call(
        &session,
        "session.metadata.contextInfo",
        json!({"promptTokenLimit": 128000, "outputTokenLimit": 4096,
               "selectedModel": "claude-sonnet-4.5"}),
    )?;
    let ci = &info["contextInfo"];
    ensure(!ci.is_null(), format!("contextInfo {info}"))?;
    let n = |k: &str| ci[k].as_i64().unwrap_or(-1);
    ensure(
        ci["modelName"] == "claude-sonnet-4.5",
        format!("model {ci}"),
    )?;
    ensure(n("promptTokenLimit") == 128000, format!("limit {ci}"))?;
    ensure(n("limit") >= n("promptTokenLimit"), format!("limit {ci}"))?;
    ensure(
        n("totalTokens") > 0 && n("systemTokens") > 0 && n("conversationTokens") > 0,
        format!("token counts {ci}"),
    )?;
    ensure(
        n("toolDefinitionsTokens") >= 0
            && n("totalTokens")
                == n("systemTokens") + n("conversationTokens") + n("toolDefinitionsTokens"),
        format!("token sum {ci}"),
    )?;

    let (re, r) = recompute_context_tokens(&session)?;
    ensure(
        r("systemTokenCount") > 0
            && r("messagesTokenCount") > 0
            && r("totalTokens") == r("systemTokenCount") + r("messagesTokenCount"),
        format!("recompute {re}"),
    )?;

    let compact = call(&session, "session.history.compact", json!({}))?;
    ensure(
        compact["success"] == true && compact["messagesRemoved"].as_i64().unwrap_or(-1) >= 0,
        format!("compact {compact}"),
    )?;
    let w = &compact["contextWindow"];
    if !w.is_null() {
        let c = |k: &str| w[k].as_i64().unwrap_or(-1);
        ensure(
            c("messagesLength") >= 0 && c("currentTokens") >= 0,
            format!("window {w}"),
        )?;
        if !w["conversationTokens"].is_null() {
            ensure(
                (0..=c("currentTokens")).contains(&c("conversationTokens")),
                format!("window {w}"),
            )?;
        }
    }
    call(&session, "session.name.get", json!({})).map(|_| ())
}

fn is_processing(session: &Session) -> Result<bool, String> {
    let v = call(session, "session.metadata.isProcessing", json!({}))?;
    v["processing"]
        .as_bool()
        .ok_or_else(|| format!("isProcessing {v}"))
}

fn should_report_processing_and_context_metadata(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, events) = open(ctx, json!({}))?;
    ensure(!is_processing(&session)?, "idle before send")?;
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    // The replayed turn can finish between two polls; then the idle event stands
    // in for the "processing" observation.
    let deadline = std::time::Instant::now() + EVENT_WAIT;
    while !is_processing(&session)? && events.of_type("session.idle").is_empty() {
        ensure(
            std::time::Instant::now() < deadline,
            "processing never started",
        )?;
    }
    events.wait_for("session.idle", Duration::from_secs(60), |_| true)?;
    ensure(!is_processing(&session)?, "idle after the turn")?;
    let info = call(
        &session,
        "session.metadata.contextInfo",
        json!({"promptTokenLimit": 200000, "outputTokenLimit": 4096,
               "selectedModel": "claude-sonnet-4.5"}),
    )?;
    ensure(
        info["contextInfo"]["modelName"] == "claude-sonnet-4.5",
        format!("contextInfo {info}"),
    )?;
    let (re, r) = recompute_context_tokens(&session)?;
    ensure(
        r("totalTokens") >= r("messagesTokenCount") && r("totalTokens") >= r("systemTokenCount"),
        format!("recompute {re}"),
    )
}

// ---- rpc_session_state_extras ----

pub fn extras() -> Vec<Scenario> {
    vec![
        run!("rpc_session_state_extras", should_list_models_for_session),
        run!(
            "rpc_session_state_extras",
            should_report_session_activity_when_idle
        ),
        run!(
            "rpc_session_state_extras",
            should_get_and_set_allowall_permissions
        ),
        run!(
            "rpc_session_state_extras",
            should_read_empty_sql_todos_for_fresh_session
        ),
        run!(
            "rpc_session_state_extras",
            should_get_telemetry_engagement_id
        ),
        run!(
            "rpc_session_state_extras",
            should_get_current_tool_metadata_after_initialization
        ),
        run!(
            "rpc_session_state_extras",
            should_add_byok_provider_and_model_at_runtime
        ),
        run!(
            "rpc_session_state_extras",
            should_return_empty_completions_when_host_does_not_provide_them
        ),
        run!(
            "rpc_session_state_extras",
            should_report_visibility_as_unsynced_for_local_session
        ),
        run!(
            "rpc_session_state_extras",
            should_get_context_attribution_and_heaviest_messages_after_turn
        ),
        run!(
            "rpc_session_state_extras",
            should_update_and_clear_live_subagent_settings
        ),
        run!("rpc_session_state_extras", should_reload_session_plugins),
    ]
}

fn should_list_models_for_session(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let v = call(&session, "session.model.list", json!({}))?;
    let list = v["list"].as_array().ok_or_else(|| format!("list {v}"))?;
    ensure(
        !list.is_empty()
            && list
                .iter()
                .any(|m| m.to_string().contains("claude-sonnet-4.5")),
        format!("models {v}"),
    )
}

fn should_report_session_activity_when_idle(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let a = call(&session, "session.metadata.activity", json!({}))?;
    ensure(
        a["hasActiveWork"] == false && a["abortable"] == false,
        format!("activity {a}"),
    )
}

fn should_get_and_set_allowall_permissions(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let get = |s: &Session| -> Result<Value, String> {
        Ok(call(s, "session.permissions.getMode", json!({}))?["mode"].clone())
    };
    ensure(get(&session)? == "manual", "initial mode is manual")?;
    for m in ["allow-all", "manual"] {
        let set = call(&session, "session.permissions.setMode", json!({"mode": m}))?;
        ensure(
            set["success"] == true && set["mode"] == m,
            format!("setMode {m}: {set}"),
        )?;
        ensure(get(&session)? == m, format!("getMode after {m}"))?;
    }
    Ok(())
}

fn should_read_empty_sql_todos_for_fresh_session(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let v = call(&session, "session.plan.readSqlTodos", json!({}))?;
    ensure(
        v["rows"].as_array().is_some_and(|r| r.is_empty()),
        format!("todos {v}"),
    )
}

fn should_get_telemetry_engagement_id(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    call(&session, "session.telemetry.getEngagementId", json!({})).map(|_| ())
}

fn should_get_current_tool_metadata_after_initialization(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let answer = content(&ok(session.prompt(&ctx.prompt(0)), "turn")?);
    ensure(!answer.trim().is_empty(), "an answer")?;
    let v = call(&session, "session.tools.getCurrentMetadata", json!({}))?;
    let tools = v["tools"]
        .as_array()
        .ok_or_else(|| format!("metadata {v}"))?;
    ensure(
        !tools.is_empty()
            && tools
                .iter()
                .all(|t| t["name"].as_str().is_some_and(|n| !n.trim().is_empty())),
        format!("tools {v}"),
    )
}

fn should_add_byok_provider_and_model_at_runtime(ctx: &Ctx) -> Result<(), String> {
    // Signed in: the provider registry cannot be combined with a session-level
    // BYOK provider.
    let (_c, session, _) = open(ctx, json!({}))?;
    let added = call(
        &session,
        "session.provider.add",
        json!({
            "providers": [{
                "name": "c-e2e-provider",
                "type": "openai",
                "wireApi": "completions",
                "baseUrl": "https://models.example.test/v1",
                "apiKey": "provider-key",
                "headers": {"x-provider": "c"},
            }],
            "models": [{
                "id": "small",
                "provider": "c-e2e-provider",
                "name": "C Added Model",
                "maxPromptTokens": 4096,
            }],
        }),
    )?;
    ensure(
        added["models"].as_array().is_some_and(|m| m.len() == 1),
        format!("provider.add {added}"),
    )?;
    let id = "c-e2e-provider/small";
    call(&session, "session.model.switchTo", json!({"modelId": id}))?;
    let current = call(&session, "session.model.getCurrent", json!({}))?;
    ensure(current["modelId"] == id, format!("current {current}"))
}

fn should_return_empty_completions_when_host_does_not_provide_them(
    ctx: &Ctx,
) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let v = call(
        &session,
        "session.completions.request",
        json!({"offset": 5, "text": "Use @ to mention context"}),
    )?;
    ensure(
        v["items"].as_array().is_some_and(|i| i.is_empty()),
        format!("completions {v}"),
    )
}

fn should_report_visibility_as_unsynced_for_local_session(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let unsynced =
        |v: &Value| v["synced"] == false && v["status"].is_null() && v["shareUrl"].is_null();
    let set = call(
        &session,
        "session.visibility.set",
        json!({"status": "unshared"}),
    )?;
    ensure(unsynced(&set), format!("set {set}"))?;
    let get = call(&session, "session.visibility.get", json!({}))?;
    ensure(unsynced(&get), format!("get {get}"))
}

fn should_get_context_attribution_and_heaviest_messages_after_turn(
    ctx: &Ctx,
) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let answer = content(&ok(session.prompt(&ctx.prompt(0)), "turn")?);
    ensure(
        answer.contains("CONTEXT_METADATA_OK"),
        format!("answer {answer}"),
    )?;
    let a = call(
        &session,
        "session.metadata.getContextAttribution",
        json!({}),
    )?;
    ensure(
        !a["contextAttribution"].is_null(),
        format!("attribution {a}"),
    )?;
    let h = call(
        &session,
        "session.metadata.getContextHeaviestMessages",
        json!({"limit": 5}),
    )?;
    ensure(
        h["totalTokens"].as_i64().is_some_and(|t| t >= 0),
        format!("heaviest {h}"),
    )
}

fn should_update_and_clear_live_subagent_settings(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    call(
        &session,
        "session.tools.updateSubagentSettings",
        json!({"subagents": {
            "agents": {"general-purpose": {
                "contextTier": "long_context", "effortLevel": "low", "model": "gpt-5-mini"}},
            "disabledSubagents": ["legacy-agent"],
        }}),
    )?;
    call(&session, "session.tools.updateSubagentSettings", json!({})).map(|_| ())
}

fn should_reload_session_plugins(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    call(&session, "session.plugins.reload", json!({}))?;
    let v = call(&session, "session.plugins.list", json!({}))?;
    let plugins = v["plugins"].as_array().ok_or_else(|| format!("list {v}"))?;
    ensure(
        plugins
            .iter()
            .all(|p| p["name"].as_str().is_some_and(|n| !n.trim().is_empty())),
        format!("plugins {v}"),
    )
}
