//! Hooks beyond the basic tool hooks, elicitation and the other UI handlers, system message transforms, modes, resume with pending work, suspend, and several clients on one server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::lifecycle::elicitation_capability;
use crate::{alias, content, ensure, ok, Config, Ctx, Scenario, Session};

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
        run!("elicitation", defaults_capabilities_when_not_provided),
        run!(
            "elicitation",
            should_report_elicitation_capability_based_on_handler_presence
        ),
        run!("elicitation", confirm_returns_true_when_handler_accepts),
        run!("elicitation", confirm_returns_false_when_handler_declines),
        run!("elicitation", select_returns_selected_option),
        run!("elicitation", input_returns_freeform_value),
        run!("elicitation", elicitation_returns_all_action_shapes),
        run!("elicitation", elicitation_throws_when_capability_is_missing),
        run!(
            "system_message_transform",
            should_invoke_transform_callbacks_with_section_content
        ),
        run!(
            "system_message_transform",
            should_apply_transform_modifications_to_section_content
        ),
        run!(
            "system_message_transform",
            should_work_with_static_overrides_and_transforms_together
        ),
        run!(
            "system_message_sections",
            should_use_replaced_identity_section_in_response
        ),
        run!(
            "system_message_sections",
            should_use_replaced_preamble_section_in_response
        ),
        run!(
            "mode_handlers",
            should_invoke_auto_mode_switch_handler_when_rate_limited
        ),
        run!(
            "compaction",
            should_not_emit_compaction_events_when_infinite_sessions_disabled
        ),
        run!(
            "multi_client",
            both_clients_see_tool_request_and_completion_events
        ),
        run!(
            "multi_client",
            one_client_approves_permission_and_both_see_the_result
        ),
        run!(
            "multi_client",
            one_client_rejects_permission_and_both_see_the_result
        ),
        run!(
            "multi_client",
            two_clients_register_different_tools_and_agent_uses_both
        ),
        alias(
            "rust_multi_client",
            "both_clients_see_tool_request_and_completion_events",
            rust_both_clients_see_tool_request_and_completion_events,
        ),
        alias(
            "rust_multi_client",
            "two_clients_register_different_tools_and_agent_uses_both",
            rust_two_clients_register_different_tools_and_agent_uses_both,
        ),
        run!("multi_client", disconnecting_client_removes_its_tools),
        alias(
            "rust_multi_client",
            "disconnecting_client_removes_its_tools",
            rust_disconnecting_client_removes_its_tools,
        ),
        run!(
            "mode_handlers",
            should_invoke_exit_plan_mode_handler_when_model_uses_tool
        ),
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
    let (cfg, seen) = recorded_hook(
        ctx.config(json!({})).approve_all(),
        "agentStop",
        move |_| {
            if n.fetch_add(1, Ordering::SeqCst) == 0 {
                json!({"decision": "block", "reason": "Reply with exactly: AGENT_STOP_CONTINUED"})
            } else {
                Value::Null
            }
        },
    );
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
    let (cfg, failures) = recorded_hook(
        cfg,
        "postToolUseFailure",
        |_| json!({"additionalContext": "HOOK_FAILURE_GUIDANCE_APPLIED"}),
    );
    let (cfg, posts) = recorded_hook(cfg, "postToolUse", |_| Value::Null);
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let f = wait_calls(&failures, 1, "postToolUseFailure")?;
    let input = &f[0]["input"];
    base_fields(&f[0])?;
    ensure(
        input["toolName"] == "view",
        format!("failure input {input}"),
    )?;
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

/// `8-4-4-4-12` hex digits.
fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A session whose elicitation handler answers with `answers` in turn (and
/// records each request), plus a permission handler that approves.
fn queued_elicitation(
    ctx: &Ctx,
    client: &crate::Client,
    answers: Vec<Value>,
) -> Result<(crate::Session, Calls), String> {
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(answers)));
    let seen: Calls = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let cfg = ctx
        .config(json!({}))
        .permission(|_| Some(json!({"kind": "approve-once"})))
        .handler("elicitation", move |req| {
            s.lock().unwrap().push(req.clone());
            queue.lock().unwrap().pop_front()
        });
    let session = ok(client.create_session(&cfg), "create")?;
    ensure(
        elicitation_capability(&session) == true,
        format!("elicitation capability with a handler: {}", session.info()),
    )?;
    Ok((session, seen))
}

/// `session.ui.elicitation` from the host: the CLI asks the session's own handler.
fn elicit(session: &crate::Session, message: &str, schema: Value) -> Result<Value, String> {
    ok(
        session.call(
            "session.ui.elicitation",
            &json!({"message": message, "requestedSchema": schema}),
        ),
        "session.ui.elicitation",
    )
}

fn confirm_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"confirmed": {"type": "boolean", "default": true}},
        "required": ["confirmed"],
    })
}

fn confirmed(result: &Value) -> bool {
    result["action"] == "accept" && result["content"]["confirmed"] == true
}

fn defaults_capabilities_when_not_provided(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ok(
        client.create_session(&ctx.config(json!({})).approve_all()),
        "create",
    )?;
    ensure(
        is_uuid(&session.id()),
        format!("session id {}", session.id()),
    )?;
    ensure(
        session.info()["sessionId"] == session.id().as_str(),
        format!("create result {}", session.info()),
    )?;
    ok(session.destroy(), "destroy")?;
    ok(client.stop(), "stop")
}

fn should_report_elicitation_capability_based_on_handler_presence(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (with_handler, _) = queued_elicitation(
        ctx,
        &client,
        vec![json!({"action": "accept", "content": {}})],
    )?;
    ok(with_handler.destroy(), "destroy first")?;
    let without = ok(
        client.create_session(&ctx.config(json!({})).approve_all()),
        "create without handler",
    )?;
    ensure(
        elicitation_capability(&without) != true,
        format!("capability without a handler: {}", without.info()),
    )?;
    ok(without.destroy(), "destroy second")?;
    ok(client.stop(), "stop")
}

/// The official SDKs refuse the call themselves when the session reports no
/// elicitation capability; CLI 1.0.102 takes it and never answers. A host
/// sees the same capability in the create result, and a call limit turns the
/// wait into an error.
fn elicitation_throws_when_capability_is_missing(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({}))?;
    ensure(
        elicitation_capability(&session) != true,
        format!("capability without a handler: {}", session.info()),
    )?;
    let refused = session.call_timeout(
        "session.ui.elicitation",
        &json!({"message": "Enter name", "requestedSchema": {
            "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}),
        500,
    );
    match refused {
        Err(e) if e.status == copilot::ffi::copilot_status::COPILOT_ERR_TIMEOUT => {}
        other => return Err(format!("elicitation without a handler: {other:?}")),
    }
    ok(session.destroy(), "destroy")?;
    ok(client.stop(), "stop")
}

fn confirm_returns_true_when_handler_accepts(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (session, seen) = queued_elicitation(
        ctx,
        &client,
        vec![json!({"action": "accept", "content": {"confirmed": true}})],
    )?;
    let result = elicit(&session, "Confirm?", confirm_schema())?;
    ensure(confirmed(&result), format!("confirm result {result}"))?;
    let c = calls(&seen);
    ensure(
        c.len() == 1 && c[0]["message"] == "Confirm?",
        format!("handler requests {c:?}"),
    )?;
    ok(session.destroy(), "destroy")?;
    ok(client.stop(), "stop")
}

fn confirm_returns_false_when_handler_declines(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (session, seen) = queued_elicitation(ctx, &client, vec![json!({"action": "decline"})])?;
    let result = elicit(&session, "Confirm?", confirm_schema())?;
    ensure(
        result["action"] == "decline" && !confirmed(&result),
        format!("confirm result {result}"),
    )?;
    ensure(calls(&seen).len() == 1, "the handler was asked once")?;
    ok(session.destroy(), "destroy")?;
    ok(client.stop(), "stop")
}

fn select_returns_selected_option(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (session, seen) = queued_elicitation(
        ctx,
        &client,
        vec![json!({"action": "accept", "content": {"selection": "beta"}})],
    )?;
    let schema = json!({
        "type": "object",
        "properties": {"selection": {"type": "string", "enum": ["alpha", "beta"]}},
        "required": ["selection"],
    });
    let result = elicit(&session, "Choose", schema)?;
    ensure(
        result["action"] == "accept" && result["content"]["selection"] == "beta",
        format!("select result {result}"),
    )?;
    let c = calls(&seen);
    ensure(
        c.len() == 1
            && c[0]["message"] == "Choose"
            && c[0]["requestedSchema"]["properties"]["selection"]["enum"]
                == json!(["alpha", "beta"]),
        format!("handler requests {c:?}"),
    )?;
    ok(session.destroy(), "destroy")?;
    ok(client.stop(), "stop")
}

fn input_returns_freeform_value(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (session, seen) = queued_elicitation(
        ctx,
        &client,
        vec![json!({"action": "accept", "content": {"value": "typed value"}})],
    )?;
    let schema = json!({
        "type": "object",
        "properties": {"value": {
            "type": "string", "title": "Value", "description": "A value to test",
            "minLength": 1, "maxLength": 20, "default": "default",
        }},
        "required": ["value"],
    });
    let result = elicit(&session, "Enter value", schema)?;
    ensure(
        result["action"] == "accept" && result["content"]["value"] == "typed value",
        format!("input result {result}"),
    )?;
    let c = calls(&seen);
    ensure(
        c.len() == 1 && c[0]["requestedSchema"]["properties"]["value"]["maxLength"] == 20,
        format!("handler requests {c:?}"),
    )?;
    ok(session.destroy(), "destroy")?;
    ok(client.stop(), "stop")
}

fn elicitation_returns_all_action_shapes(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (session, seen) = queued_elicitation(
        ctx,
        &client,
        vec![
            json!({"action": "accept", "content": {"name": "Mona"}}),
            json!({"action": "decline"}),
            json!({"action": "cancel"}),
        ],
    )?;
    let schema = json!({
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
    });
    let accepted = elicit(&session, "Name?", schema.clone())?;
    let declined = elicit(&session, "Name?", schema.clone())?;
    let cancelled = elicit(&session, "Name?", schema)?;
    ensure(
        accepted["action"] == "accept" && accepted["content"]["name"] == "Mona",
        format!("accepted {accepted}"),
    )?;
    ensure(
        declined["action"] == "decline",
        format!("declined {declined}"),
    )?;
    ensure(
        cancelled["action"] == "cancel",
        format!("cancelled {cancelled}"),
    )?;
    ensure(calls(&seen).len() == 3, "the handler was asked three times")?;
    ok(session.destroy(), "destroy")?;
    ok(client.stop(), "stop")
}

/// Section contents a transform handler received, by section id.
type Sections = Arc<Mutex<std::collections::BTreeMap<String, String>>>;

/// A session whose system message customizes `sections` and whose transform
/// handler records each section's content and answers with `edit(id, content)`.
fn transform_session(
    ctx: &Ctx,
    client: &crate::Client,
    sections: Value,
    edit: impl Fn(&str, &str) -> String + Send + Sync + 'static,
) -> Result<(crate::Session, Sections), String> {
    let seen: Sections = Arc::new(Mutex::new(std::collections::BTreeMap::new()));
    let s = seen.clone();
    let cfg = ctx
        .config(json!({"systemMessage": {"mode": "customize", "sections": sections}}))
        .approve_all()
        .handler("systemMessageTransform", move |req| {
            let mut out = serde_json::Map::new();
            for (id, section) in req["sections"].as_object().into_iter().flatten() {
                let text = section["content"].as_str().unwrap_or_default();
                s.lock().unwrap().insert(id.clone(), text.to_string());
                out.insert(id.clone(), json!({"content": edit(id, text)}));
            }
            Some(json!({"sections": out}))
        });
    Ok((ok(client.create_session(&cfg), "create")?, seen))
}

fn should_invoke_transform_callbacks_with_section_content(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (session, seen) = transform_session(
        ctx,
        &client,
        json!({"identity": {"action": "transform"}, "tone": {"action": "transform"}}),
        |_, text| text.to_string(),
    )?;
    ctx.write("test.txt", "Hello transform!");
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(
        content(&answer).contains("Hello transform!"),
        format!("answer {}", content(&answer)),
    )?;
    let sections = seen.lock().unwrap().clone();
    ensure(
        sections.len() == 2 && sections.values().all(|t| !t.is_empty()),
        format!(
            "transformed sections {:?}",
            sections.keys().collect::<Vec<_>>()
        ),
    )?;
    ensure(
        sections.contains_key("identity") && sections.contains_key("tone"),
        format!(
            "transformed sections {:?}",
            sections.keys().collect::<Vec<_>>()
        ),
    )?;
    ok(session.destroy(), "destroy")
}

fn should_apply_transform_modifications_to_section_content(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (session, seen) = transform_session(
        ctx,
        &client,
        json!({"identity": {"action": "transform"}}),
        |_, text| format!("{text}\nTRANSFORM_MARKER"),
    )?;
    ctx.write("hello.txt", "Hello!");
    ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(
        seen.lock().unwrap().contains_key("identity"),
        "the identity transform ran",
    )?;
    let sent = ctx.requests();
    let first = sent.first().ok_or("no model request")?;
    ensure(
        crate::session_api::system_message(first).contains("TRANSFORM_MARKER"),
        "the system message carries the transformed identity section",
    )?;
    ok(session.destroy(), "destroy")
}

fn should_work_with_static_overrides_and_transforms_together(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (session, seen) = transform_session(
        ctx,
        &client,
        json!({"safety": {"action": "remove"}, "identity": {"action": "transform"}}),
        |_, text| text.to_string(),
    )?;
    ctx.write("combo.txt", "Combo test!");
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(
        content(&answer).contains("Combo test!"),
        format!("answer {}", content(&answer)),
    )?;
    ensure(
        seen.lock()
            .unwrap()
            .get("identity")
            .is_some_and(|t| !t.is_empty()),
        "the identity transform ran with its content",
    )?;
    ok(session.destroy(), "destroy")
}

/// The replaced section's text, which the recorded answer reflects.
const BOTANICA: &str = "You are a helpful gardening assistant called Botanica. You only answer questions about plants and gardening.";

fn replaced_section_answers(ctx: &Ctx, section: &str) -> Result<(), String> {
    let client = ctx.client();
    let cfg = ctx
        .config(json!({"systemMessage": {"mode": "customize", "sections": {
            section: {"action": "replace", "content": BOTANICA},
        }}}))
        .approve_all();
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let text = content(&answer).to_lowercase();
    ensure(
        ["botanica", "garden", "plant"]
            .iter()
            .any(|w| text.contains(w)),
        format!("answer reflects the replaced {section} section: {text}"),
    )?;
    let sent = ctx.requests();
    ensure(
        sent.first()
            .is_some_and(|r| crate::session_api::system_message(r).contains(BOTANICA)),
        format!("the system message carries the replaced {section} section"),
    )?;
    ok(session.destroy(), "destroy")
}

fn should_use_replaced_identity_section_in_response(ctx: &Ctx) -> Result<(), String> {
    replaced_section_answers(ctx, "identity")
}

fn should_use_replaced_preamble_section_in_response(ctx: &Ctx) -> Result<(), String> {
    replaced_section_answers(ctx, "preamble")
}

const EVENT_WAIT: Duration = Duration::from_secs(30);

/// (After `session.mode.set plan`, CLI 1.0.102 prefixes the user message with a
/// `<mode_changed_notice>` the recording lacks; copilot-replay ignores it.)
fn should_invoke_exit_plan_mode_handler_when_model_uses_tool(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let events = crate::Events::default();
    let seen: Calls = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let cfg =
        events
            .attach(ctx.config(json!({})))
            .approve_all()
            .handler("exitPlanMode", move |req| {
                s.lock().unwrap().push(req.clone());
                Some(json!({
                    "approved": true,
                    "selectedAction": "interactive",
                    "feedback": "Approved by the conformance test",
                }))
            });
    let session = ok(client.create_session(&cfg), "create")?;
    ok(
        session.call("session.mode.set", &json!({"mode": "plan"})),
        "session.mode.set plan",
    )?;
    let id = ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    ensure(!id.is_empty(), "send returned a message id")?;
    let summary = "Greeting file implementation plan";
    let actions = json!(["autopilot", "interactive", "exit_only"]);
    let requested = events.wait_for("exit_plan_mode.requested", EVENT_WAIT, |e| {
        e["data"]["summary"] == summary
    })?;
    ensure(
        requested["data"]["actions"] == actions
            && requested["data"]["recommendedAction"] == "interactive",
        format!("requested event {requested}"),
    )?;
    let completed = events.wait_for("exit_plan_mode.completed", EVENT_WAIT, |e| {
        e["data"]["approved"] == true
    })?;
    ensure(
        completed["data"]["selectedAction"] == "interactive"
            && completed["data"]["feedback"] == "Approved by the conformance test",
        format!("completed event {completed}"),
    )?;
    events.wait_for("session.idle", EVENT_WAIT, |_| true)?;
    let c = calls(&seen);
    ensure(c.len() == 1, format!("handler calls {c:?}"))?;
    let req = &c[0];
    ensure(
        req["sessionId"] == session.id().as_str()
            && req["summary"] == summary
            && req["actions"] == actions
            && req["recommendedAction"] == "interactive",
        format!("handler request {req}"),
    )?;
    ok(session.destroy(), "destroy")
}

fn should_invoke_auto_mode_switch_handler_when_rate_limited(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let events = crate::Events::default();
    let seen: Calls = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let cfg =
        events
            .attach(ctx.config(json!({})))
            .approve_all()
            .handler("autoModeSwitch", move |req| {
                s.lock().unwrap().push(req.clone());
                Some(json!({"response": "yes"}))
            });
    let session = ok(client.create_session(&cfg), "create")?;
    let id = ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    ensure(!id.is_empty(), "send returned a message id")?;
    let requested = events.wait_for("auto_mode_switch.requested", EVENT_WAIT, |e| {
        e["data"]["errorCode"] == "user_weekly_rate_limited"
    })?;
    ensure(
        requested["data"]["retryAfterSeconds"].as_f64() == Some(1.0),
        format!("requested event {requested}"),
    )?;
    events.wait_for("auto_mode_switch.completed", EVENT_WAIT, |e| {
        e["data"]["response"] == "yes"
    })?;
    events.wait_for("session.model_change", EVENT_WAIT, |e| {
        e["data"]["cause"] == "rate_limit_auto_switch"
    })?;
    events.wait_for("session.idle", EVENT_WAIT, |_| true)?;
    let c = calls(&seen);
    ensure(c.len() == 1, format!("handler calls {c:?}"))?;
    ensure(
        c[0]["sessionId"] == session.id().as_str()
            && c[0]["errorCode"] == "user_weekly_rate_limited"
            && c[0]["retryAfterSeconds"].as_f64() == Some(1.0),
        format!("handler request {}", c[0]),
    )?;
    ok(session.destroy(), "destroy")
}

const COMPACTION_EVENTS: [&str; 2] = ["session.compaction_start", "session.compaction_complete"];

/// The snapshot's prompt that starts with `start` (the exact recorded text).
fn prompt_starting(ctx: &Ctx, start: &str) -> Result<String, String> {
    ctx.prompts()
        .into_iter()
        .find(|p| p.starts_with(start))
        .ok_or_else(|| format!("snapshot has no prompt starting {start:?}"))
}

/// Not registered: CLI 1.0.102 reports `compactionTokensUsed.inputTokens` from
/// the API's usage, which the replay (like upstream's proxy) sends as 0, so
/// the upstream check `inputTokens > 0` fails; everything else here passes.
#[allow(dead_code)]
fn should_trigger_compaction_with_low_threshold_and_emit_events(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let events = crate::Events::default();
    let cfg = events
        .attach(ctx.config(json!({"infiniteSessions": {
            "enabled": true,
            "backgroundCompactionThreshold": 0.005,
            "bufferExhaustionThreshold": 0.01,
        }})))
        .approve_all();
    let session = ok(client.create_session(&cfg), "create")?;
    let turn = |p: String| -> Result<Value, String> {
        ok(
            session.send_and_wait(&json!({"prompt": p}), Duration::from_secs(120)),
            "send_and_wait",
        )
    };
    turn(prompt_starting(ctx, "Tell me a story about a dragon")?)?;
    turn(prompt_starting(ctx, "Continue the story")?)?;
    let wait = Duration::from_secs(60);
    let start = events.wait_for("session.compaction_start", wait, |_| true)?;
    let complete = events.wait_for("session.compaction_complete", wait, |e| {
        e["data"]["success"] == true
    })?;
    ensure(
        start["data"]["conversationTokens"]
            .as_f64()
            .is_some_and(|t| t > 0.0),
        format!("compaction_start {start}"),
    )?;
    let data = &complete["data"];
    ensure(
        data["compactionTokensUsed"]["inputTokens"]
            .as_f64()
            .is_some_and(|t| t > 0.0),
        format!(
            "compaction_complete tokens {}",
            data["compactionTokensUsed"]
        ),
    )?;
    let summary = data["summaryContent"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    ensure(
        ["<overview>", "<history>", "<checkpoint_title>"]
            .iter()
            .all(|t| summary.contains(t)),
        format!("summary {summary}"),
    )?;
    turn(prompt_starting(ctx, "Now describe the dragon's treasure")?)?;
    let answer = turn(prompt_starting(ctx, "What was the story about?")?)?;
    let text = content(&answer).to_lowercase();
    ensure(
        text.contains("kaedrith") && text.contains("dragon"),
        format!("answer after compaction {text}"),
    )?;
    ok(session.destroy(), "destroy")
}

fn should_not_emit_compaction_events_when_infinite_sessions_disabled(
    ctx: &Ctx,
) -> Result<(), String> {
    let client = ctx.client();
    let events = crate::Events::default();
    let cfg = events
        .attach(ctx.config(json!({"infiniteSessions": {"enabled": false}})))
        .approve_all();
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(
        content(&answer).contains('4'),
        format!("answer {}", content(&answer)),
    )?;
    let seen: Vec<String> = events
        .types()
        .into_iter()
        .filter(|t| COMPACTION_EVENTS.contains(&t.as_str()))
        .collect();
    ensure(seen.is_empty(), format!("compaction events {seen:?}"))?;
    ok(session.destroy(), "destroy")
}

/// How one SDK recorded the multi-client scenarios: the Rust tests restrict
/// `availableTools` to their custom tools and resume with `disableResume`; the
/// Node tests (`multi_client`) do neither.
#[derive(Clone, Copy)]
struct MultiClient {
    restrict_tools: bool,
}

const NODE_MULTI: MultiClient = MultiClient {
    restrict_tools: false,
};
const RUST_MULTI: MultiClient = MultiClient {
    restrict_tools: true,
};
const SHARED_TOKEN: &str = "conformance-multi-client-token";

/// The first client spawns the CLI on a TCP port; the second connects to it.
fn two_clients(ctx: &Ctx) -> Result<(crate::Client, crate::Client), String> {
    let (first, url) = ctx.tcp_server(SHARED_TOKEN)?;
    let second = ctx.joining_client(&url, SHARED_TOKEN, json!({}))?;
    Ok((first, second))
}

/// One session on two clients: client 1 creates it offering the tool `first`
/// (name, argument, result prefix), client 2 resumes it offering `second`;
/// `cfg1` adds to client 1's config (e.g. an event recorder).
fn session_on_two_clients(
    ctx: &Ctx,
    v: MultiClient,
    first: (&str, &'static str, &str),
    second: (&str, &'static str, &str),
    cfg1: impl FnOnce(Config) -> Config,
) -> Result<(crate::Client, crate::Client, Session, Session), String> {
    let (c1, c2) = two_clients(ctx)?;
    let both = [first.0, second.0];
    let config = cfg1(ctx.config(v.fields(Some(&both), false)).approve_all());
    let s1 = ok(
        c1.create_session(&echo_tool(config, first.0, first.1, first.2, "")),
        "create",
    )?;
    let config = ctx.config(v.fields(Some(&both), true)).approve_all();
    let s2 = ok(
        c2.resume_session(
            &s1.id(),
            &echo_tool(config, second.0, second.1, second.2, ""),
        ),
        "resume on client 2",
    )?;
    Ok((c1, c2, s1, s2))
}

/// Sends `prompt` and checks the answer contains `expected`.
fn answer_contains(session: &Session, prompt: &str, expected: &str) -> Result<(), String> {
    let answer = content(&ok(session.prompt(prompt), "send")?);
    ensure(
        answer.contains(expected),
        format!("answer to {prompt:?}: {answer}"),
    )
}

/// A tool answering `prefix + args[param] + suffix`.
fn echo_tool(cfg: Config, name: &str, param: &'static str, prefix: &str, suffix: &str) -> Config {
    let (prefix, suffix) = (prefix.to_string(), suffix.to_string());
    cfg.tool(crate::scenarios::string_tool(name, param), move |inv| {
        let input = inv["arguments"][param].as_str().unwrap_or_default();
        crate::ToolOutcome::Result(json!(format!("{prefix}{input}{suffix}")))
    })
}

impl MultiClient {
    /// Session fields: `tools` as `availableTools` (when this SDK restricted
    /// them, and `tools` is given), and `disableResume` on a resume.
    fn fields(&self, tools: Option<&[&str]>, resume: bool) -> Value {
        let mut f = json!({});
        if self.restrict_tools {
            if let Some(tools) = tools {
                f["availableTools"] = json!(tools);
            }
            if resume {
                f["disableResume"] = json!(true);
            }
        }
        f
    }
}

/// Waits until `events` holds more than `before` events of type `t`.
fn wait_new(events: &crate::Events, t: &str, before: usize) -> Result<(), String> {
    let deadline = std::time::Instant::now() + EVENT_WAIT;
    while events.of_type(t).len() <= before {
        if std::time::Instant::now() >= deadline {
            return Err(format!("no new {t}; saw {:?}", events.types()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn tool_events_both(ctx: &Ctx, v: MultiClient) -> Result<(), String> {
    let (c1, c2) = two_clients(ctx)?;
    let (e1, e2) = (crate::Events::default(), crate::Events::default());
    let cfg1 = echo_tool(
        e1.attach(ctx.config(v.fields(Some(&["magic_number"]), false)))
            .approve_all(),
        "magic_number",
        "seed",
        "MAGIC_",
        "_42",
    );
    let s1 = ok(c1.create_session(&cfg1), "create")?;
    let cfg2 = e2.attach(ctx.config(v.fields(None, true))).approve_all();
    let s2 = ok(c2.resume_session(&s1.id(), &cfg2), "resume on client 2")?;
    let answer = ok(s1.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(
        content(&answer).contains("MAGIC_hello_42"),
        format!("answer {}", content(&answer)),
    )?;
    for (who, events) in [("client 1", &e1), ("client 2", &e2)] {
        for t in ["external_tool.requested", "external_tool.completed"] {
            events
                .wait_for(t, EVENT_WAIT, |_| true)
                .map_err(|e| format!("{who}: {e}"))?;
        }
    }
    ok(s2.destroy(), "destroy on client 2")?;
    c2.force_stop();
    ok(s1.destroy(), "destroy")?;
    ok(c1.stop(), "stop")
}

fn both_clients_see_tool_request_and_completion_events(ctx: &Ctx) -> Result<(), String> {
    tool_events_both(ctx, NODE_MULTI)
}

fn rust_both_clients_see_tool_request_and_completion_events(ctx: &Ctx) -> Result<(), String> {
    tool_events_both(ctx, RUST_MULTI)
}

/// Client 1 decides permissions with `decision`; client 2 holds each request
/// without answering (leaves the decision to client 1). Both must see the
/// request and a completion of kind `result_kind`; `check` gets the answer.
fn permission_both(
    ctx: &Ctx,
    decision: Value,
    result_kind: &str,
    check: impl Fn(&Value) -> Result<(), String>,
) -> Result<(), String> {
    let (c1, c2) = two_clients(ctx)?;
    let (e1, e2) = (crate::Events::default(), crate::Events::default());
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    let cfg1 = e1.attach(ctx.config(json!({}))).permission(move |_| {
        a.fetch_add(1, Ordering::SeqCst);
        Some(decision.clone())
    });
    let s1 = ok(c1.create_session(&cfg1), "create")?;
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    let cfg2 = e2
        .attach(ctx.config(json!({})))
        .permission_deferred(move |_, pending| h.lock().unwrap().push(pending));
    let s2 = ok(c2.resume_session(&s1.id(), &cfg2), "resume on client 2")?;
    let answer = ok(s1.prompt(&ctx.prompt(0)), "send_and_wait")?;
    for (who, events) in [("client 1", &e1), ("client 2", &e2)] {
        events
            .wait_for("permission.requested", EVENT_WAIT, |_| true)
            .map_err(|e| format!("{who}: {e}"))?;
        events
            .wait_for("permission.completed", EVENT_WAIT, |e| {
                e["data"]["result"]["kind"] == result_kind
            })
            .map_err(|e| format!("{who}: {e}"))?;
    }
    ensure(
        !held.lock().unwrap().is_empty(),
        "client 2's handler saw the request",
    )?;
    ensure(
        asked.load(Ordering::SeqCst) > 0,
        "client 1 decided at least one permission request",
    )?;
    check(&answer)?;
    ok(s2.destroy(), "destroy on client 2")?;
    c2.force_stop();
    ok(s1.destroy(), "destroy")?;
    ok(c1.stop(), "stop")
}

fn one_client_approves_permission_and_both_see_the_result(ctx: &Ctx) -> Result<(), String> {
    permission_both(ctx, json!({"kind": "approve-once"}), "approved", |answer| {
        ensure(!content(answer).is_empty(), "the turn ended with an answer")?;
        ensure(
            ctx.read("hello.txt").contains("hello world"),
            "the approved write happened",
        )
    })
}

fn one_client_rejects_permission_and_both_see_the_result(ctx: &Ctx) -> Result<(), String> {
    ctx.write("protected.txt", "protected content");
    permission_both(
        ctx,
        json!({"kind": "reject"}),
        "denied-interactively-by-user",
        |_| {
            ensure(
                ctx.read("protected.txt") == "protected content",
                format!("protected.txt is unchanged: {}", ctx.read("protected.txt")),
            )
        },
    )
}

fn tools_of_both(ctx: &Ctx, v: MultiClient) -> Result<(), String> {
    let (c1, c2, s1, s2) = session_on_two_clients(
        ctx,
        v,
        ("city_lookup", "countryCode", "CITY_FOR_"),
        ("currency_lookup", "countryCode", "CURRENCY_FOR_"),
        |c| c,
    )?;
    answer_contains(&s1, &ctx.prompt(0), "CITY_FOR_US")?;
    answer_contains(
        &s1,
        &prompt_starting(ctx, "Now use the currency_lookup")?,
        "CURRENCY_FOR_US",
    )?;
    ok(s2.destroy(), "destroy on client 2")?;
    c2.force_stop();
    ok(s1.destroy(), "destroy")?;
    ok(c1.stop(), "stop")
}

fn two_clients_register_different_tools_and_agent_uses_both(ctx: &Ctx) -> Result<(), String> {
    tools_of_both(ctx, NODE_MULTI)
}

fn rust_two_clients_register_different_tools_and_agent_uses_both(ctx: &Ctx) -> Result<(), String> {
    tools_of_both(ctx, RUST_MULTI)
}

/// Once client 2 is gone, its tool leaves the model's tool list. (The recordings
/// also hold a `<tools_changed_notice>` CLI 1.0.102 no longer sends;
/// copilot-replay ignores such CLI notices.)
fn disconnect_removes_tools(ctx: &Ctx, v: MultiClient) -> Result<(), String> {
    let events = crate::Events::default();
    let (c1, c2, s1, _s2) = session_on_two_clients(
        ctx,
        v,
        ("stable_tool", "input", "STABLE_"),
        ("ephemeral_tool", "input", "EPHEMERAL_"),
        |c| events.attach(c),
    )?;
    answer_contains(&s1, &ctx.prompt(0), "STABLE_test1")?;
    answer_contains(
        &s1,
        &prompt_starting(ctx, "Use the ephemeral_tool")?,
        "EPHEMERAL_test2",
    )?;
    let before = events.of_type("session.tools_updated").len();
    c2.force_stop();
    wait_new(&events, "session.tools_updated", before)?;
    // The recording holds the prompt after the CLI's notice of the removed tool.
    let still_here = ctx
        .prompts()
        .into_iter()
        .find(|p| p.contains("with input 'still_here'"))
        .and_then(|p| {
            p.rsplit("</tools_changed_notice>")
                .next()
                .map(|t| t.trim().to_string())
        })
        .ok_or("snapshot has no still_here prompt")?;
    let after = ok(s1.prompt(&still_here), "send after client 2 left")?;
    let text = content(&after);
    ensure(
        text.contains("STABLE_still_here") && !text.contains("EPHEMERAL_"),
        format!("answer after client 2 left: {text}"),
    )?;
    ok(s1.destroy(), "destroy")?;
    ok(c1.stop(), "stop")
}

fn disconnecting_client_removes_its_tools(ctx: &Ctx) -> Result<(), String> {
    disconnect_removes_tools(ctx, NODE_MULTI)
}

fn rust_disconnecting_client_removes_its_tools(ctx: &Ctx) -> Result<(), String> {
    disconnect_removes_tools(ctx, RUST_MULTI)
}

/// Not registered, for two reasons: upstream also checks, through an LLM
/// request handler (`llmInference.setProvider`), that the sub-agent's inference
/// requests carry agentId/parentAgentId/interactionType, and libcopilot has no
/// request-handler API (this checks the hook half only); and CLI 1.0.102's
/// `task` result differs from the recording (a UUID agent_id instead of the
/// name, plus appended write_agent guidance), so copilot-replay finds no match.
#[allow(dead_code)]
fn should_invoke_pretooluse_and_posttooluse_hooks_for_sub_agent_tool_calls(
    ctx: &Ctx,
) -> Result<(), String> {
    let mut env = ctx.env.client_options()["env"].clone();
    env["COPILOT_EXP_COPILOT_CLI_SESSION_BASED_SUBAGENTS"] = json!("true");
    let client = ctx.started_client(json!({ "env": env }))?;
    ctx.write("subagent-test.txt", "Hello from subagent test!");
    let (cfg, pre) = recorded_hook(
        ctx.config(json!({})).approve_all(),
        "preToolUse",
        |_| json!({"permissionDecision": "allow"}),
    );
    let (cfg, post) = recorded_hook(cfg, "postToolUse", |_| Value::Null);
    let session = ok(client.create_session(&cfg), "create")?;
    ok(
        session.send_and_wait(&json!({"prompt": ctx.prompt(0)}), Duration::from_secs(120)),
        "send_and_wait",
    )?;
    let (pre, post) = (calls(&pre), calls(&post));
    let of = |c: &[Value], tool: &str| -> Vec<Value> {
        c.iter()
            .filter(|h| h["input"]["toolName"] == tool)
            .cloned()
            .collect()
    };
    let task_pre = of(&pre, "task");
    let view_pre = of(&pre, "view");
    ensure(
        !task_pre.is_empty(),
        format!("preToolUse for task: {pre:?}"),
    )?;
    ensure(
        !view_pre.is_empty(),
        format!("preToolUse for view: {pre:?}"),
    )?;
    ensure(
        !of(&post, "view").is_empty(),
        format!("postToolUse for view: {post:?}"),
    )?;
    ensure(
        view_pre[0]["input"]["sessionId"] != task_pre[0]["input"]["sessionId"],
        format!(
            "sub-agent hooks carry their own sessionId: view {} task {}",
            view_pre[0], task_pre[0]
        ),
    )?;
    ok(session.destroy(), "destroy")?;
    ok(client.stop(), "stop")
}
