//! `permissions` scenarios: rejected, denied and unanswered permission
//! requests, the handler after a resume, server-side approve-all, shell
//! permission kinds, and two permission requests answered only once both arrived.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::abi::PendingPermission;
use crate::rpc_state::call;
use crate::{alias, content, ensure, ok, Ctx, Events, Scenario, Session, ToolOutcome};

pub fn all() -> Vec<Scenario> {
    vec![
        run!(
            "permissions",
            should_deny_permission_when_handler_returns_denied
        ),
        alias(
            "permissions",
            "deny_permission",
            should_deny_permission_when_handler_returns_denied,
        ),
        run!("permissions", should_resume_session_with_permission_handler),
        alias(
            "permissions",
            "resume_session_with_permission_handler",
            should_resume_session_with_permission_handler,
        ),
        run!("permissions", permission_handler_for_shell_commands),
        run!(
            "permissions",
            should_short_circuit_permission_handler_when_set_approve_all_enabled
        ),
        run!(
            "permissions",
            should_handle_concurrent_permission_requests_from_parallel_tools
        ),
        run!(
            "permissions",
            should_deny_tool_operations_when_handler_explicitly_denies
        ),
        run!(
            "permissions",
            should_deny_tool_operations_when_handler_explicitly_denies_after_resume
        ),
        run!(
            "permissions",
            should_handle_permission_handler_errors_gracefully
        ),
    ]
}

/// The default session config, recording its events and every permission
/// request, each answered with `decision` (`None`: freed unanswered).
fn recording(
    ctx: &Ctx,
    decision: Option<Value>,
) -> (crate::Config, Events, Arc<Mutex<Vec<Value>>>) {
    let events = Events::default();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let cfg = events.attach(ctx.config(json!({}))).permission(move |req| {
        s.lock().unwrap().push(req.clone());
        decision.clone()
    });
    (cfg, events, seen)
}

/// The prompt of the snapshot that contains `needle`.
fn prompt_with(ctx: &Ctx, needle: &str) -> String {
    ctx.prompts()
        .into_iter()
        .find(|p| p.contains(needle))
        .unwrap_or_else(|| panic!("no prompt containing {needle:?}"))
}

/// A failed `tool.execution_complete` whose error message contains `text`.
fn failed_with(events: &Events, text: &str) -> bool {
    events.of_type("tool.execution_complete").iter().any(|e| {
        e["data"]["success"] == false
            && e["data"]["error"]["message"]
                .as_str()
                .is_some_and(|m| m.to_lowercase().contains(&text.to_lowercase()))
    })
}

fn should_deny_permission_when_handler_returns_denied(ctx: &Ctx) -> Result<(), String> {
    let original = "protected content";
    ctx.write("protected.txt", original);
    let client = ctx.client();
    let (cfg, events, _) = recording(ctx, Some(json!({"kind": "reject"})));
    let session = ok(client.create_session(&cfg), "create")?;
    ok(session.prompt(&ctx.prompt(0)), "turn")?;
    ensure(
        failed_with(&events, "user rejected"),
        "a tool call failed as rejected by the user",
    )?;
    ensure(
        ctx.read("protected.txt") == original,
        "the file is unchanged",
    )
}

fn denied_run(ctx: &Ctx, session: &Session, events: &Events) -> Result<(), String> {
    ok(session.prompt(&prompt_with(ctx, "--version")), "turn")?;
    ensure(
        failed_with(events, "Permission denied"),
        "a tool call failed with permission denied",
    )
}

fn should_deny_tool_operations_when_handler_explicitly_denies(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (cfg, events, _) = recording(ctx, Some(json!({"kind": "user-not-available"})));
    let session = ok(client.create_session(&cfg), "create")?;
    denied_run(ctx, &session, &events)
}

fn should_deny_tool_operations_when_handler_explicitly_denies_after_resume(
    ctx: &Ctx,
) -> Result<(), String> {
    let client = ctx.client();
    let first = ok(
        client.create_session(&ctx.config(json!({})).approve_all()),
        "create",
    )?;
    ok(first.prompt(&prompt_with(ctx, "1+1")), "first turn")?;
    let (cfg, events, _) = recording(ctx, Some(json!({"kind": "user-not-available"})));
    let resumed = ok(client.resume_session(&first.id(), &cfg), "resume")?;
    denied_run(ctx, &resumed, &events)
}

fn should_resume_session_with_permission_handler(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let first = ok(
        client.create_session(&ctx.config(json!({})).approve_all()),
        "create",
    )?;
    ok(first.prompt(&prompt_with(ctx, "1+1")), "first turn")?;
    let (cfg, _, seen) = recording(ctx, Some(json!({"kind": "approve-once"})));
    let resumed = ok(client.resume_session(&first.id(), &cfg), "resume")?;
    ok(resumed.prompt(&prompt_with(ctx, "resumed")), "resumed turn")?;
    let asked = seen.lock().unwrap().len();
    ensure(asked > 0, "the resumed session asked its handler")
}

/// C has no exceptions: a handler that fails frees the request unanswered,
/// which the library reports to the CLI as a denial.
fn should_handle_permission_handler_errors_gracefully(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (cfg, _, seen) = recording(ctx, None);
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = content(&ok(session.prompt(&ctx.prompt(0)), "turn")?).to_lowercase();
    ensure(!seen.lock().unwrap().is_empty(), "the handler was asked")?;
    ensure(
        ["fail", "cannot", "unable", "permission"]
            .iter()
            .any(|w| answer.contains(w)),
        format!("answer {answer}"),
    )
}

fn should_short_circuit_permission_handler_when_set_approve_all_enabled(
    ctx: &Ctx,
) -> Result<(), String> {
    let client = ctx.client();
    let (cfg, _, seen) = recording(ctx, Some(json!({"kind": "approve-once"})));
    let session = ok(client.create_session(&cfg), "create")?;
    call(
        &session,
        "session.permissions.setApproveAll",
        json!({"enabled": true}),
    )?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "turn");
    call(
        &session,
        "session.permissions.setApproveAll",
        json!({"enabled": false}),
    )?;
    let answer = content(&answer?);
    ensure(seen.lock().unwrap().is_empty(), "the handler was not asked")?;
    ensure(answer.contains("test"), format!("answer {answer}"))
}

fn permission_handler_for_shell_commands(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (cfg, _, seen) = recording(ctx, Some(json!({"kind": "approve-once"})));
    let session = ok(client.create_session(&cfg), "create")?;
    ok(session.prompt(&ctx.prompt(0)), "turn")?;
    let kinds: Vec<Value> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| r["permissionRequest"]["kind"].clone())
        .collect();
    ensure(
        kinds.iter().any(|k| k == "shell"),
        format!("permission kinds {kinds:?}"),
    )
}

fn should_handle_concurrent_permission_requests_from_parallel_tools(
    ctx: &Ctx,
) -> Result<(), String> {
    let pending: Arc<Mutex<Vec<PendingPermission>>> = Arc::default();
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let called: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let (p, s) = (pending.clone(), seen.clone());
    let events = Events::default();
    let mut cfg =
        events
            .attach(ctx.config(
                json!({"availableTools": ["first_permission_tool", "second_permission_tool"]}),
            ))
            // Answers only once both requests are waiting: neither blocks the other.
            .permission_deferred(move |req, handle| {
                s.lock().unwrap().push(req.clone());
                let mut waiting = p.lock().unwrap();
                waiting.push(handle);
                if waiting.len() == 2 {
                    for h in waiting.drain(..) {
                        h.respond(&json!({"kind": "approve-once"}));
                    }
                }
            });
    for name in ["first_permission_tool", "second_permission_tool"] {
        let c = called.clone();
        cfg = cfg.tool(
            json!({"name": name, "description": format!("{name} for the concurrent permission test"),
                   "parameters": {"type": "object", "properties": {}}}),
            move |_| {
                c.lock().unwrap().push(name);
                ToolOutcome::Result(json!({
                    "textResultForLlm": format!("{name} completed after permission approval"),
                    "resultType": "rejected",
                }))
            },
        );
    }
    let client = ctx.client();
    let session = ok(client.create_session(&cfg), "create")?;
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    events.wait_for("session.idle", Duration::from_secs(60), |_| true)?;

    let requests = seen.lock().unwrap().clone();
    ensure(
        requests.len() == 2,
        format!("{} permission requests", requests.len()),
    )?;
    for name in ["first_permission_tool", "second_permission_tool"] {
        ensure(
            requests
                .iter()
                .any(|r| r["permissionRequest"]["toolName"] == name),
            format!("a permission request for {name}: {requests:?}"),
        )?;
        ensure(
            called.lock().unwrap().contains(&name),
            format!("{name} ran"),
        )?;
        ensure(
            failed_with(
                &events,
                &format!("{name} completed after permission approval"),
            ),
            format!("{name}'s result reached the session"),
        )?;
    }
    Ok(())
}
