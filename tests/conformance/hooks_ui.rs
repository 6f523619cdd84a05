//! Hooks beyond the basic tool hooks, elicitation and the other UI handlers, system message transforms, modes, resume with pending work, suspend, and several clients on one server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::{content, ensure, ok, Config, Ctx, Scenario};

pub fn all() -> Vec<Scenario> {
    vec![
        run!(
            "hooks_extended",
            should_allow_posttooluse_to_return_modifiedresult
        ),
        run!(
            "hooks_extended",
            should_invoke_agentstop_hook_and_apply_block_response
        ),
        run!(
            "hooks_extended",
            should_invoke_onerroroccurred_hook_when_error_occurs
        ),
        run!(
            "hooks_extended",
            should_invoke_onsessionend_hook_when_session_is_disconnected
        ),
        run!(
            "hooks_extended",
            should_invoke_posttoolusefailure_hook_for_failed_tool_result
        ),
        run!(
            "hooks_extended",
            should_invoke_userprompttransformed_hook_and_modify_transformed_prompt
        ),
        run!("hooks_extended", should_register_erroroccurred_hook),
    ]
}

type Calls = Arc<Mutex<Vec<Value>>>;

/// Records every call of hook `hook` (the `input` objects) and answers with `answer(input)`.
fn recorded_hook(
    cfg: Config,
    hook: &str,
    answer: impl Fn(&Value) -> Value + Send + Sync + 'static,
) -> (Config, Calls) {
    let seen: Calls = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let cfg = cfg.hook(hook, move |req| {
        s.lock().unwrap().push(req.clone());
        Some(answer(&req["input"]))
    });
    (cfg, seen)
}

fn calls(seen: &Calls) -> Vec<Value> {
    seen.lock().unwrap().clone()
}

/// Waits until `seen` holds at least `n` calls.
fn wait_calls(seen: &Calls, n: usize, what: &str) -> Result<Vec<Value>, String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let c = calls(seen);
        if c.len() >= n {
            return Ok(c);
        }
        if std::time::Instant::now() >= deadline {
            return Err(format!("{what}: {} calls of {n} after 15 s", c.len()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The base fields every hook input carries: a session id on the request, a
/// positive timestamp and a working directory.
fn base_fields(call: &Value) -> Result<(), String> {
    ensure(
        call["sessionId"].as_str().is_some_and(|s| !s.is_empty()),
        format!("hook call without sessionId: {call}"),
    )?;
    let input = &call["input"];
    ensure(
        input["timestamp"].as_f64().is_some_and(|t| t > 0.0),
        format!("hook input timestamp: {input}"),
    )?;
    ensure(
        input["cwd"].as_str().is_some_and(|s| !s.is_empty()),
        format!("hook input cwd: {input}"),
    )
}

fn should_allow_posttooluse_to_return_modifiedresult(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (cfg, seen) = recorded_hook(ctx.config(json!({})).approve_all(), "postToolUse", |i| {
        if i["toolName"] == "view" {
            json!({
                "modifiedResult": {"textResultForLlm": "modified by post hook", "resultType": "success", "toolTelemetry": {}},
                "suppressOutput": false,
            })
        } else {
            Value::Null
        }
    });
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let c = calls(&seen);
    ensure(
        c.iter().any(|c| c["input"]["toolName"] == "view"),
        format!("postToolUse ran for view: {c:?}"),
    )?;
    ensure(
        content(&answer).to_lowercase().contains("done"),
        format!("answer {}", content(&answer)),
    )?;
    // The model saw the hook's result, not the directory listing.
    let sent = ctx.requests();
    ensure(
        sent.iter().any(|r| {
            r["messages"].as_array().into_iter().flatten().any(|m| {
                m["role"] == "tool"
                    && m["content"]
                        .as_str()
                        .is_some_and(|t| t.contains("modified by post hook"))
            })
        }),
        "the model got the modified tool result",
    )?;
    ok(session.destroy(), "destroy")
}

fn should_invoke_agentstop_hook_and_apply_block_response(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let count = Arc::new(AtomicUsize::new(0));
    let n = count.clone();
    let (cfg, seen) = recorded_hook(ctx.config(json!({})).approve_all(), "agentStop", move |_| {
        if n.fetch_add(1, Ordering::SeqCst) == 0 {
            json!({"decision": "block", "reason": "Reply with exactly: AGENT_STOP_CONTINUED"})
        } else {
            Value::Null
        }
    });
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let c = wait_calls(&seen, 2, "agentStop")?;
    let (first, second) = (&c[0]["input"], &c[1]["input"]);
    ensure(
        first["stop_hook_active"] != true,
        format!("first agentStop: {first}"),
    )?;
    ensure(
        second["stop_hook_active"] == true,
        format!("second agentStop: {second}"),
    )?;
    ensure(
        first["stopReason"] == "end_turn",
        format!("first agentStop: {first}"),
    )?;
    ensure(
        first["transcriptPath"].is_string(),
        format!("first agentStop: {first}"),
    )?;
    ensure(
        content(&answer).contains("AGENT_STOP_CONTINUED"),
        format!("answer {}", content(&answer)),
    )?;
    ok(session.destroy(), "destroy")
}

/// A plain turn with an errorOccurred hook that must not run.
fn error_hook_stays_quiet(ctx: &Ctx, output: Value) -> Result<(), String> {
    let client = ctx.client();
    let (cfg, seen) = recorded_hook(
        ctx.config(json!({})).approve_all(),
        "errorOccurred",
        move |_| output.clone(),
    );
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(
        content(&answer).contains("Hi"),
        format!("answer {}", content(&answer)),
    )?;
    let c = calls(&seen);
    ensure(c.is_empty(), format!("errorOccurred should not run: {c:?}"))?;
    ok(session.destroy(), "destroy")
}

fn should_invoke_onerroroccurred_hook_when_error_occurs(ctx: &Ctx) -> Result<(), String> {
    error_hook_stays_quiet(ctx, Value::Null)
}

fn should_register_erroroccurred_hook(ctx: &Ctx) -> Result<(), String> {
    error_hook_stays_quiet(ctx, json!({"errorHandling": "skip"}))
}

fn should_invoke_onsessionend_hook_when_session_is_disconnected(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (cfg, seen) = recorded_hook(ctx.config(json!({})).approve_all(), "sessionEnd", |_| {
        Value::Null
    });
    let session = ok(client.create_session(&cfg), "create")?;
    ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ok(session.destroy(), "destroy")?;
    let c = wait_calls(&seen, 1, "sessionEnd")?;
    base_fields(&c[0])
}

fn should_invoke_posttoolusefailure_hook_for_failed_tool_result(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let cfg = ctx
        .config(json!({"availableTools": ["report_intent"]}))
        .approve_all();
    let (cfg, failures) = recorded_hook(cfg, "postToolUseFailure", |_| {
        json!({"additionalContext": "HOOK_FAILURE_GUIDANCE_APPLIED"})
    });
    let (cfg, posts) = recorded_hook(cfg, "postToolUse", |_| Value::Null);
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let f = wait_calls(&failures, 1, "postToolUseFailure")?;
    let input = &f[0]["input"];
    base_fields(&f[0])?;
    ensure(input["toolName"] == "view", format!("failure input {input}"))?;
    ensure(
        input["error"]
            .as_str()
            .is_some_and(|e| e.contains("does not exist")),
        format!("failure input {input}"),
    )?;
    ensure(
        input["toolArgs"]["path"]
            .as_str()
            .is_some_and(|p| p.contains("missing.txt")),
        format!("failure input {input}"),
    )?;
    let p = calls(&posts);
    ensure(p.is_empty(), format!("postToolUse should not run: {p:?}"))?;
    ensure(
        content(&answer).contains("HOOK_FAILURE_GUIDANCE_APPLIED"),
        format!("answer {}", content(&answer)),
    )?;
    ok(session.destroy(), "destroy")
}

fn should_invoke_userprompttransformed_hook_and_modify_transformed_prompt(
    ctx: &Ctx,
) -> Result<(), String> {
    let client = ctx.client();
    let replacement = ctx.prompt(0);
    let (cfg, seen) = recorded_hook(
        ctx.config(json!({})).approve_all(),
        "userPromptTransformed",
        move |_| json!({"modifiedTransformedPrompt": replacement}),
    );
    let session = ok(client.create_session(&cfg), "create")?;
    let sent = "Answer the request above.";
    let answer = ok(session.prompt(sent), "send_and_wait")?;
    let c = wait_calls(&seen, 1, "userPromptTransformed")?;
    base_fields(&c[0])?;
    let input = &c[0]["input"];
    ensure(
        input["prompt"].as_str().is_some_and(|p| p.contains(sent)),
        format!("input {input}"),
    )?;
    let transformed = input["transformedPrompt"].as_str().unwrap_or_default();
    ensure(
        transformed.contains(sent) && transformed.contains("<current_datetime>"),
        format!("transformed prompt {transformed}"),
    )?;
    ensure(
        content(&answer).contains("HOOKED_TRANSFORMED_PROMPT"),
        format!("answer {}", content(&answer)),
    )?;
    ok(session.destroy(), "destroy")
}
