//! Scenarios of the client surface, the extended hooks, built-in and
//! overriding tools, and permission kinds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::scenarios::string_tool;
use crate::{content, ensure, ok, Ctx, Events, Scenario, ToolOutcome};

pub fn all() -> Vec<Scenario> {
    vec![
        run!("client", should_start_ping_and_stop_stdio_client),
        run!("client", should_start_ping_and_stop_tcp_client),
        run!("client", should_get_status),
        run!("client", should_stop_client_with_active_session),
        run!("client", should_force_stop_client),
        run!(
            "hooks_extended",
            should_invoke_onuserpromptsubmitted_hook_when_sending_a_message
        ),
        run!(
            "hooks_extended",
            should_invoke_userpromptsubmitted_hook_and_modify_prompt
        ),
        run!("hooks_extended", should_invoke_sessionstart_hook),
        run!("tools", skippermission_sent_in_tool_definition),
        run!("tools", invokes_built_in_tools),
        run!(
            "permissions",
            should_invoke_permission_handler_for_write_operations
        ),
        run!("permissions", permission_handler_for_write_operations),
        run!("permissions", should_wait_for_slow_permission_handler),
        run!("permissions", async_permission_handler),
    ]
}

fn ping_cycle(ctx: &Ctx, extra: Value) -> Result<(), String> {
    let client = ctx.started_client(extra)?;
    let pong = ok(
        client.call("ping", &json!({"message": "test message"})),
        "ping",
    )?;
    ensure(
        pong["message"]
            .as_str()
            .is_some_and(|m| m.contains("test message")),
        format!("pong {pong}"),
    )?;
    ensure(
        pong["timestamp"].is_string() || pong["timestamp"].is_number(),
        format!("pong {pong}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_start_ping_and_stop_stdio_client(ctx: &Ctx) -> Result<(), String> {
    ping_cycle(ctx, json!({}))
}

fn should_start_ping_and_stop_tcp_client(ctx: &Ctx) -> Result<(), String> {
    ping_cycle(ctx, json!({"transport": "tcp"}))
}

fn should_get_status(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    ok(client.start(), "start")?;
    let status = ok(client.call("status.get", &json!({})), "status.get")?;
    ensure(
        status["version"].as_str().is_some_and(|v| !v.is_empty()),
        format!("status {status}"),
    )?;
    ensure(status["protocolVersion"] == 3, format!("status {status}"))
}

fn should_stop_client_with_active_session(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ok(client.create_session(&ctx.config(json!({}))), "create")?;
    ok(client.stop(), "stop with a live session")?;
    // The session was destroyed by the stop.
    ensure(
        session.send(&json!({"prompt": "hi"})).is_err(),
        "the session is gone after stop",
    )
}

fn should_force_stop_client(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ok(client.create_session(&ctx.config(json!({}))), "create")?;
    client.force_stop();
    ensure(
        session.send(&json!({"prompt": "hi"})).is_err(),
        "calls fail after force stop",
    )
}

fn hook_recorder(ctx: &Ctx, hook: &str, output: Value) -> (crate::Config, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let cfg = ctx.config(json!({})).approve_all().hook(hook, move |req| {
        s.lock().unwrap().push(req.clone());
        Some(output.clone())
    });
    (cfg, seen)
}

fn should_invoke_onuserpromptsubmitted_hook_when_sending_a_message(
    ctx: &Ctx,
) -> Result<(), String> {
    let client = ctx.client();
    let (cfg, seen) = hook_recorder(ctx, "userPromptSubmitted", Value::Null);
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(
        content(&answer).contains("Hello"),
        format!("answer {}", content(&answer)),
    )?;
    let calls = seen.lock().unwrap().clone();
    ensure(
        calls.iter().any(|c| {
            c["input"]["prompt"]
                .as_str()
                .is_some_and(|p| p.contains(&ctx.prompt(0)))
        }),
        format!("the hook saw the prompt: {calls:?}"),
    )
}

fn should_invoke_userpromptsubmitted_hook_and_modify_prompt(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let modified = ctx.prompt(0);
    let (cfg, seen) = hook_recorder(
        ctx,
        "userPromptSubmitted",
        json!({"modifiedPrompt": modified}),
    );
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt("Say something original"), "send_and_wait")?;
    ensure(!seen.lock().unwrap().is_empty(), "the hook ran")?;
    ensure(
        content(&answer).contains("HOOKED_PROMPT"),
        format!("answer {}", content(&answer)),
    )
}

fn should_invoke_sessionstart_hook(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (cfg, seen) = hook_recorder(
        ctx,
        "sessionStart",
        json!({"additionalContext": ctx.prompt(0)}),
    );
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(1)), "send_and_wait")?;
    ensure(!seen.lock().unwrap().is_empty(), "sessionStart ran")?;
    ensure(
        content(&answer).contains("Hi"),
        format!("answer {}", content(&answer)),
    )
}

fn skippermission_sent_in_tool_definition(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    let mut decl = string_tool("safe_lookup", "id");
    decl["skipPermission"] = json!(true);
    let cfg = ctx
        .config(json!({}))
        .tool(decl, |inv| {
            ToolOutcome::Result(json!(format!(
                "RESULT: {}",
                inv["arguments"]["id"].as_str().unwrap_or("")
            )))
        })
        .permission(move |_| {
            a.fetch_add(1, Ordering::SeqCst);
            Some(json!({"kind": "approve-once"}))
        });
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(
        content(&answer).contains("RESULT: test123"),
        format!("answer {}", content(&answer)),
    )?;
    ensure(
        asked.load(Ordering::SeqCst) == 0,
        "no permission request for a skipPermission tool",
    )
}

fn invokes_built_in_tools(ctx: &Ctx) -> Result<(), String> {
    ctx.write("README.md", "# ELIZA, the only chatbot you'll ever need\n");
    let client = ctx.client();
    let session = ok(
        client.create_session(&ctx.config(json!({})).approve_all()),
        "create",
    )?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(
        content(&answer).contains("ELIZA"),
        format!("answer {}", content(&answer)),
    )
}

/// Edits test.txt through the model with a recording permission handler.
fn write_permission(ctx: &Ctx) -> Result<(), String> {
    ctx.write("test.txt", "original content");
    let client = ctx.client();
    let kinds = Arc::new(Mutex::new(Vec::<String>::new()));
    let k = kinds.clone();
    let events = Events::default();
    let cfg = events.attach(ctx.config(json!({})).permission(move |req| {
        let kind = req["permissionRequest"]["kind"]
            .as_str()
            .unwrap_or("")
            .to_string();
        k.lock().unwrap().push(kind);
        Some(json!({"kind": "approve-once"}))
    }));
    let session = ok(client.create_session(&cfg), "create")?;
    ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let kinds = kinds.lock().unwrap().clone();
    ensure(
        kinds.iter().any(|k| k == "write"),
        format!("a write permission was asked: {kinds:?}"),
    )?;
    ensure(
        ctx.read("test.txt").contains("modified"),
        "the approved edit happened",
    )
}

fn should_invoke_permission_handler_for_write_operations(ctx: &Ctx) -> Result<(), String> {
    write_permission(ctx)
}

fn permission_handler_for_write_operations(ctx: &Ctx) -> Result<(), String> {
    write_permission(ctx)
}

/// A handler that answers later, from another thread.
fn slow_permission(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    let cfg = ctx.config(json!({})).permission(move |_| {
        a.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(300));
        Some(json!({"kind": "approve-once"}))
    });
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(asked.load(Ordering::SeqCst) >= 1, "the handler was asked")?;
    ensure(
        !content(&answer).is_empty(),
        "the turn finished after the slow answer",
    )
}

fn should_wait_for_slow_permission_handler(ctx: &Ctx) -> Result<(), String> {
    slow_permission(ctx)
}

fn async_permission_handler(ctx: &Ctx) -> Result<(), String> {
    slow_permission(ctx)
}
