//! Event fidelity, built-in and custom tools, tool results, and client/session lifecycle calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::rpc_edges::wait_until;
use crate::rpc_state::{call, listed, open};
use crate::scenarios::string_tool;
use crate::{content, ensure, ok, Client, Config, Ctx, Events, Scenario, Session, ToolOutcome};

pub fn all() -> Vec<Scenario> {
    vec![
        run!(
            "event_fidelity",
            should_emit_events_in_correct_order_for_tool_using_conversation
        ),
        run!("event_fidelity", should_include_valid_fields_on_all_events),
        run!(
            "event_fidelity",
            should_emit_tool_execution_events_with_correct_fields
        ),
        run!(
            "event_fidelity",
            should_emit_assistant_message_with_messageid
        ),
        run!(
            "event_fidelity",
            should_emit_assistant_usage_event_after_model_call
        ),
        run!(
            "event_fidelity",
            should_emit_session_usage_info_event_after_model_call
        ),
        run!(
            "event_fidelity",
            should_emit_pending_messages_modified_event_when_message_queue_changes
        ),
        run!("builtin_tools", should_capture_exit_code_in_output),
        run!("builtin_tools", should_capture_stderr_output),
        run!("builtin_tools", should_handle_nonexistent_file_gracefully),
        run!("builtin_tools", should_create_a_new_file),
        run!("builtin_tools", should_search_for_patterns_in_files),
        run!("builtin_tools", should_find_files_by_pattern),
        run!("builtin_tools", should_read_file_with_line_range),
        run!("builtin_tools", should_edit_a_file_successfully),
        run!("tools", low_level_tool_definition),
        run!("tools", ergonomic_tool_definition),
        run!("tools", ergonomic_tool_arity0),
        run!("tools", overrides_built_in_tool_with_custom_tool),
        run!(
            "tools",
            should_respect_availabletools_and_excludedtools_combined
        ),
        run!(
            "tools",
            clears_context_from_a_terminal_tool_and_starts_the_seeded_turn
        ),
        run!(
            "tool_results",
            should_handle_structured_toolresultobject_from_custom_tool
        ),
        run!(
            "tool_results",
            should_pass_validated_zod_parameters_to_tool_handler
        ),
        run!(
            "tool_results",
            should_preserve_tooltelemetry_and_not_stringify_structured_results_for_llm
        ),
        run!(
            "tool_results",
            should_handle_tool_result_with_rejected_resulttype
        ),
        run!(
            "tool_results",
            should_handle_tool_result_with_denied_resulttype
        ),
        run!(
            "session_lifecycle",
            should_list_created_sessions_after_sending_a_message
        ),
        run!("session_lifecycle", should_delete_session_permanently),
        run!(
            "session_lifecycle",
            should_return_events_via_getmessages_after_conversation
        ),
        run!(
            "session_lifecycle",
            should_support_multiple_concurrent_sessions
        ),
        run!(
            "session_lifecycle",
            should_isolate_events_between_concurrent_sessions
        ),
        run!(
            "client_lifecycle",
            should_return_last_session_id_after_sending_a_message
        ),
        run!("client_lifecycle", should_emit_session_lifecycle_events),
        run!(
            "ask_user",
            ask_user_does_not_block_sibling_tool_call_in_same_turn
        ),
        run!(
            "client_lifecycle",
            should_receive_session_deleted_lifecycle_event_when_deleted
        ),
        run!("client_api", should_delete_session_by_id),
        run!(
            "client_api",
            should_track_last_session_id_after_session_created
        ),
        run!("client", should_get_authenticated_status),
        run!("client", should_list_models_when_authenticated),
        run!("client_options", should_listen_on_configured_tcp_port),
        run!(
            "client_options",
            should_use_client_cwd_for_default_workingdirectory
        ),
        run!("abort", should_abort_during_active_streaming),
        // Not registered: ask_user/ask_user_does_not_block_sibling_tool_call_in_same_turn.
        // Its handler must wait for the sibling tool before answering; the C ABI
        // allows that (answer the copilot_request later, from another thread), but
        // abi.rs only wraps synchronous request handlers, and a handler that blocks
        // holds the client's single callback thread, so set_marker's callback
        // cannot run until it returns (observed: the 20 s wait timed out).
        run!(
            "streaming_fidelity",
            should_emit_streaming_deltas_with_reasoning_effort_configured
        ),
        run!(
            "session_todos_changed",
            fires_session_todos_changed_and_exposes_rows_and_dependencies
        ),
        run!("rewind", should_restore_tracked_file_and_conversation),
        // Not registered: telemetry/should_export_file_telemetry_for_sdk_interactions.
        // CLI 1.0.102 exports two more root traces besides the turn's
        // (`session.provisioning` at create, `session.mcp_startup_wait`), so
        // "all spans share one trace id" fails; every other assertion holds
        // within the turn's trace. libcopilot sends no traceparent, as the Node
        // SDK without onGetTraceContext.
        run!("canvas", canvas_list_discovers_declared_canvases),
    ]
}

const TURN: Duration = Duration::from_secs(120);

/// Opens an approve-all session recording its events and runs prompt 0 to the end of the turn.
fn one_turn(ctx: &Ctx) -> Result<(crate::Client, Session, Events, Value), String> {
    let (client, session, events) = open(ctx, json!({}))?;
    let answer = ok(
        session.send_and_wait(&json!({"prompt": ctx.prompt(0)}), TURN),
        "send_and_wait",
    )?;
    Ok((client, session, events, answer))
}

fn non_empty_str(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}

fn should_emit_events_in_correct_order_for_tool_using_conversation(
    ctx: &Ctx,
) -> Result<(), String> {
    ctx.write("hello.txt", "Hello World");
    let (_c, _s, events, _) = one_turn(ctx)?;
    let types = events.types();
    let user = types.iter().position(|t| t == "user.message");
    let assistant = types.iter().rposition(|t| t == "assistant.message");
    let idle = types.iter().rposition(|t| t == "session.idle");
    ensure(
        matches!((user, assistant), (Some(u), Some(a)) if u < a),
        format!("user.message before the last assistant.message: {types:?}"),
    )?;
    ensure(
        idle.is_some() && idle == Some(types.len() - 1),
        format!("session.idle is the last event: {types:?}"),
    )
}

fn should_include_valid_fields_on_all_events(ctx: &Ctx) -> Result<(), String> {
    let (_c, _s, events, _) = one_turn(ctx)?;
    let all = events.0.lock().unwrap().clone();
    ensure(!all.is_empty(), "events were delivered")?;
    for (t, e) in &all {
        ensure(non_empty_str(&e["id"]), format!("{t} has an id: {e}"))?;
        ensure(
            e["timestamp"].is_string(),
            format!("{t} has a timestamp: {e}"),
        )?;
    }
    let user = events
        .of_type("user.message")
        .first()
        .cloned()
        .ok_or("no user.message")?;
    ensure(
        user["data"]["content"].is_string(),
        format!("user.message content: {user}"),
    )?;
    let assistant = events
        .of_type("assistant.message")
        .first()
        .cloned()
        .ok_or("no assistant.message")?;
    ensure(
        assistant["data"]["messageId"].is_string() && assistant["data"]["content"].is_string(),
        format!("assistant.message fields: {assistant}"),
    )
}

fn should_emit_tool_execution_events_with_correct_fields(ctx: &Ctx) -> Result<(), String> {
    ctx.write("data.txt", "test data");
    let (_c, _s, events, _) = one_turn(ctx)?;
    let starts = events.of_type("tool.execution_start");
    let completes = events.of_type("tool.execution_complete");
    let start = starts.first().ok_or("no tool.execution_start")?;
    let complete = completes.first().ok_or("no tool.execution_complete")?;
    ensure(
        non_empty_str(&start["data"]["toolCallId"]) && non_empty_str(&start["data"]["toolName"]),
        format!("tool.execution_start fields: {start}"),
    )?;
    ensure(
        non_empty_str(&complete["data"]["toolCallId"]),
        format!("tool.execution_complete fields: {complete}"),
    )
}

fn should_emit_assistant_message_with_messageid(ctx: &Ctx) -> Result<(), String> {
    let (_c, _s, events, _) = one_turn(ctx)?;
    let msg = events
        .of_type("assistant.message")
        .first()
        .cloned()
        .ok_or("no assistant.message")?;
    ensure(
        non_empty_str(&msg["data"]["messageId"]),
        format!("messageId: {msg}"),
    )?;
    ensure(content(&msg).contains("pong"), format!("content: {msg}"))
}

fn should_emit_assistant_usage_event_after_model_call(ctx: &Ctx) -> Result<(), String> {
    let (_c, _s, events, _) = one_turn(ctx)?;
    let usage = events
        .of_type("assistant.usage")
        .last()
        .cloned()
        .ok_or(format!("no assistant.usage; saw {:?}", events.types()))?;
    ensure(
        non_empty_str(&usage["data"]["model"]),
        format!("model: {usage}"),
    )?;
    ensure(non_empty_str(&usage["id"]), format!("id: {usage}"))?;
    ensure(
        usage["timestamp"].is_string(),
        format!("timestamp: {usage}"),
    )
}

fn should_emit_session_usage_info_event_after_model_call(ctx: &Ctx) -> Result<(), String> {
    let (_c, _s, events, _) = one_turn(ctx)?;
    let info = events
        .of_type("session.usage_info")
        .last()
        .cloned()
        .ok_or(format!("no session.usage_info; saw {:?}", events.types()))?;
    let positive = |k: &str| info["data"][k].as_f64().is_some_and(|n| n > 0.0);
    ensure(
        positive("currentTokens") && positive("messagesLength") && positive("tokenLimit"),
        format!("usage info: {info}"),
    )
}

fn should_emit_pending_messages_modified_event_when_message_queue_changes(
    ctx: &Ctx,
) -> Result<(), String> {
    let (_c, _s, events, answer) = one_turn(ctx)?;
    ensure(
        !events.of_type("pending_messages.modified").is_empty(),
        format!("pending_messages.modified; saw {:?}", events.types()),
    )?;
    ensure(content(&answer).contains("18"), format!("answer: {answer}"))
}

/// Runs prompt 0 in an approve-all session; the final answer's text.
fn answer(ctx: &Ctx) -> Result<String, String> {
    let (_c, _s, _e, answer) = one_turn(ctx)?;
    Ok(content(&answer))
}

fn contains_all(text: &str, parts: &[&str]) -> Result<(), String> {
    ensure(
        parts.iter().all(|p| text.contains(p)),
        format!("answer lacks one of {parts:?}: {text}"),
    )
}

fn should_capture_exit_code_in_output(ctx: &Ctx) -> Result<(), String> {
    contains_all(&answer(ctx)?, &["hello", "world"])
}

fn should_capture_stderr_output(ctx: &Ctx) -> Result<(), String> {
    contains_all(&answer(ctx)?, &["error_msg"])
}

fn should_handle_nonexistent_file_gracefully(ctx: &Ctx) -> Result<(), String> {
    let text = answer(ctx)?.to_uppercase();
    let said = [
        "NOT FOUND",
        "NOT_FOUND",
        "NOT EXIST",
        "NO SUCH",
        "DOES NOT EXIST",
        "ERROR",
    ]
    .iter()
    .any(|p| text.contains(p) || text.contains(&p.replace(' ', "_")));
    ensure(said, format!("answer reports the missing file: {text}"))
}

fn should_create_a_new_file(ctx: &Ctx) -> Result<(), String> {
    contains_all(&answer(ctx)?, &["Created by test"])?;
    ensure(
        ctx.read("new_file.txt").contains("Created by test"),
        format!("new_file.txt: {}", ctx.read("new_file.txt")),
    )
}

fn should_read_file_with_line_range(ctx: &Ctx) -> Result<(), String> {
    ctx.write("lines.txt", "line1\nline2\nline3\nline4\nline5\n");
    contains_all(&answer(ctx)?, &["line2", "line4"])
}

fn should_edit_a_file_successfully(ctx: &Ctx) -> Result<(), String> {
    ctx.write("edit_me.txt", "Hello World\nGoodbye World\n");
    contains_all(&answer(ctx)?, &["Hi Universe"])?;
    ensure(
        ctx.read("edit_me.txt").contains("Hi Universe"),
        format!("edit_me.txt: {}", ctx.read("edit_me.txt")),
    )
}

fn should_search_for_patterns_in_files(ctx: &Ctx) -> Result<(), String> {
    ctx.write("data.txt", "apple\nbanana\napricot\ncherry\n");
    contains_all(&answer(ctx)?, &["apple", "apricot"])
}

fn should_find_files_by_pattern(ctx: &Ctx) -> Result<(), String> {
    std::fs::create_dir_all(ctx.env.home_path().join("src")).unwrap();
    ctx.write("src/index.ts", "export const index = 1;");
    ctx.write("README.md", "# Readme");
    contains_all(&answer(ctx)?, &["index.ts"])
}

/// Runs prompt 0 in a session built from `cfg` (approve-all added, events
/// recorded); the client comes back too, as the session's calls need it alive.
fn turn_with(ctx: &Ctx, cfg: Config) -> Result<(Client, Session, Events, String), String> {
    let client = ctx.client();
    let events = Events::default();
    let session = ok(
        client.create_session(&events.attach(cfg.approve_all())),
        "create",
    )?;
    let answer = ok(
        session.send_and_wait(&json!({"prompt": ctx.prompt(0)}), TURN),
        "send_and_wait",
    )?;
    Ok((client, session, events, content(&answer)))
}

fn enum_tool(name: &str, description: &str, param: &str, values: &[&str]) -> Value {
    json!({
        "name": name,
        "description": description,
        "parameters": {"type": "object", "properties": {param: {"type": "string", "enum": values}}, "required": [param]},
    })
}

/// The phase/search pair of tools; `search` answers for a keyword.
fn phase_and_search(
    ctx: &Ctx,
    extra: Value,
    search: fn(&str) -> String,
) -> Result<(String, String), String> {
    let phase = Arc::new(Mutex::new(String::new()));
    let p = phase.clone();
    let cfg = ctx
        .config(extra)
        .tool(
            enum_tool(
                "set_current_phase",
                "Sets the current phase of the agent",
                "phase",
                &["searching", "analyzing", "done"],
            ),
            move |inv| {
                let v = inv["arguments"]["phase"].as_str().unwrap_or("").to_string();
                *p.lock().unwrap() = v.clone();
                ToolOutcome::Result(json!(format!("Phase set to {v}")))
            },
        )
        .tool(
            json!({
                "name": "search_items",
                "description": "Search for items by keyword",
                "parameters": {"type": "object", "properties": {"keyword": {"type": "string"}}, "required": ["keyword"]},
            }),
            move |inv| match inv["arguments"]["keyword"].as_str() {
                Some("copilot") => ToolOutcome::Result(json!(search("copilot"))),
                other => ToolOutcome::Fail(format!("expected keyword 'copilot', got {other:?}")),
            },
        );
    let (_c, _s, _e, text) = turn_with(ctx, cfg)?;
    let phase = phase.lock().unwrap().clone();
    Ok((text, phase))
}

fn check_phase_and_search(text: &str, phase: &str) -> Result<(), String> {
    let lower = text.to_lowercase();
    ensure(lower.contains("analyzing"), format!("answer: {text}"))?;
    ensure(
        lower.contains("item_alpha") || lower.contains("item_beta"),
        format!("answer: {text}"),
    )?;
    ensure(phase == "analyzing", format!("phase set to {phase:?}"))
}

fn low_level_tool_definition(ctx: &Ctx) -> Result<(), String> {
    let (text, phase) = phase_and_search(
        ctx,
        json!({"availableTools": ["custom:*", "builtin:web_fetch"]}),
        |_| "Found: item_alpha, item_beta".to_string(),
    )?;
    check_phase_and_search(&text, &phase)
}

/// Java's annotation-derived tools: on the wire, the same declarations with the
/// handler's result text naming the keyword.
fn ergonomic_tool_definition(ctx: &Ctx) -> Result<(), String> {
    let (text, phase) = phase_and_search(
        ctx,
        json!({"availableTools": ["custom:*", "builtin:web_fetch"]}),
        |k| format!("Found: {k} -> item_alpha, item_beta"),
    )?;
    check_phase_and_search(&text, &phase)
}

fn ergonomic_tool_arity0(ctx: &Ctx) -> Result<(), String> {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let cfg = ctx.config(json!({"availableTools": ["custom:*"]})).tool(
        json!({"name": "get_status", "description": "Returns the current status",
               "parameters": {"type": "object", "properties": {}}}),
        move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            ToolOutcome::Result(json!("Status: OK"))
        },
    );
    let (_c, _s, _e, text) = turn_with(ctx, cfg)?;
    ensure(calls.load(Ordering::SeqCst) == 1, "get_status ran once")?;
    ensure(
        text.to_lowercase().contains("ok"),
        format!("answer: {text}"),
    )
}

fn overrides_built_in_tool_with_custom_tool(ctx: &Ctx) -> Result<(), String> {
    let queries = Arc::new(Mutex::new(Vec::new()));
    let q = queries.clone();
    let mut decl = string_tool("grep", "query");
    decl["description"] = json!("A custom grep implementation that overrides the built-in");
    decl["overridesBuiltInTool"] = json!(true);
    let cfg = ctx.config(json!({})).tool(decl, move |inv| {
        let query = inv["arguments"]["query"].as_str().unwrap_or("").to_string();
        q.lock().unwrap().push(query.clone());
        ToolOutcome::Result(json!(format!("CUSTOM_GREP_RESULT: {query}")))
    });
    let (_c, _s, _e, text) = turn_with(ctx, cfg)?;
    let queries = queries.lock().unwrap().clone();
    ensure(
        queries == ["hello"],
        format!("the custom grep ran with 'hello': {queries:?}"),
    )?;
    let lower = text.to_lowercase();
    ensure(
        ["hello", "search", "found"]
            .iter()
            .any(|w| lower.contains(w)),
        format!("answer: {text}"),
    )
}

fn should_respect_availabletools_and_excludedtools_combined(ctx: &Ctx) -> Result<(), String> {
    let (allowed, excluded) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (a, x) = (allowed.clone(), excluded.clone());
    let cfg = ctx
        .config(json!({
            "availableTools": ["allowed_tool", "excluded_tool"],
            "excludedTools": ["excluded_tool"],
        }))
        .tool(string_tool("allowed_tool", "input"), move |inv| {
            a.fetch_add(1, Ordering::SeqCst);
            let input = inv["arguments"]["input"].as_str().unwrap_or("");
            ToolOutcome::Result(json!(format!("ALLOWED_{}", input.to_uppercase())))
        })
        .tool(
            json!({"name": "excluded_tool", "description": "A tool that should be excluded",
                   "parameters": {"type": "object", "properties": {}}}),
            move |_| {
                x.fetch_add(1, Ordering::SeqCst);
                ToolOutcome::Result(json!("EXCLUDED_RESULT"))
            },
        );
    let (_c, _s, _e, text) = turn_with(ctx, cfg)?;
    ensure(allowed.load(Ordering::SeqCst) > 0, "allowed_tool ran")?;
    ensure(
        excluded.load(Ordering::SeqCst) == 0,
        "excluded_tool never ran",
    )?;
    ensure(text.contains("ALLOWED_TEST"), format!("answer: {text}"))?;
    // Beyond upstream: the exclusion wins (toolFilterPrecedence "excluded", the
    // official SDKs' default), so the model is never offered the tool.
    let offered: Vec<String> = ctx
        .requests()
        .iter()
        .flat_map(crate::session_api::tool_names)
        .collect();
    ensure(
        offered.iter().any(|t| t == "allowed_tool")
            && !offered.iter().any(|t| t == "excluded_tool"),
        format!("tools offered: {offered:?}"),
    )
}

fn clears_context_from_a_terminal_tool_and_starts_the_seeded_turn(ctx: &Ctx) -> Result<(), String> {
    let seed = "Reply with exactly FRESH_CONTEXT.";
    let slot: Arc<Mutex<Option<Arc<Session>>>> = Arc::default();
    let s = slot.clone();
    let mut decl = string_tool("clear_context", "prompt");
    decl["description"] = json!("Clears the conversation and starts a fresh context window");
    decl["isTerminal"] = json!(true);
    decl["defer"] = json!("never");
    let cfg =
        ctx.config(json!({}))
            .tool_deferred(decl, move |_, pending| {
                let session = s.lock().unwrap().clone();
                std::thread::spawn(move || {
                    let result = session.ok_or("no session yet".to_string()).and_then(|s| {
                        s.call("session.history.clearContext", &json!({"prompt": seed}))
                            .map_err(|e| e.to_string())
                    });
                    match result {
                        Ok(r) => pending.complete(&json!(format!(
                            "Cleared {} messages.",
                            r["messagesCleared"]
                        ))),
                        Err(e) => pending
                            .complete(&json!({"textResultForLlm": e, "resultType": "failure"})),
                    }
                });
            });
    let client = ctx.client();
    let events = Events::default();
    let session = Arc::new(ok(
        client.create_session(&events.attach(cfg.approve_all())),
        "create",
    )?);
    *slot.lock().unwrap() = Some(session.clone());
    let answer = ok(
        session.send_and_wait(&json!({"prompt": ctx.prompt(0)}), TURN),
        "send_and_wait",
    )?;
    slot.lock().unwrap().take();
    ensure(
        content(&answer).contains("FRESH_CONTEXT"),
        format!("answer: {answer}"),
    )?;
    let cleared = events.wait_for("session.context_cleared", Duration::from_secs(5), |_| true)?;
    ensure(
        cleared["data"]["messagesCleared"]
            .as_f64()
            .is_some_and(|n| n > 0.0)
            && cleared["data"]["initialMessage"] == seed,
        format!("session.context_cleared: {cleared}"),
    )?;
    let requests = ctx.requests();
    ensure(
        requests.len() == 2 && requests[1]["messages"].to_string().contains(seed),
        format!("two model requests, the second seeded: {requests:?}"),
    )
}

fn should_handle_structured_toolresultobject_from_custom_tool(ctx: &Ctx) -> Result<(), String> {
    let cfg = ctx
        .config(json!({}))
        .tool(string_tool("get_weather", "city"), |inv| {
            let city = inv["arguments"]["city"].as_str().unwrap_or("");
            ToolOutcome::Result(json!({
                "textResultForLlm": format!("The weather in {city} is sunny and 72°F"),
                "resultType": "success",
            }))
        });
    let (_c, _s, _e, text) = turn_with(ctx, cfg)?;
    let lower = text.to_lowercase();
    ensure(
        lower.contains("sunny") || lower.contains("72"),
        format!("answer: {text}"),
    )
}

fn should_pass_validated_zod_parameters_to_tool_handler(ctx: &Ctx) -> Result<(), String> {
    let seen = Arc::new(Mutex::new(Value::Null));
    let s = seen.clone();
    let decl = json!({
        "name": "calculate",
        "description": "Calculates a math expression",
        "parameters": {"type": "object", "properties": {
            "operation": {"type": "string", "enum": ["add", "subtract", "multiply"]},
            "a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["operation", "a", "b"]},
    });
    let cfg = ctx.config(json!({})).tool(decl, move |inv| {
        let args = inv["arguments"].clone();
        *s.lock().unwrap() = args.clone();
        let (a, b) = match (args["a"].as_f64(), args["b"].as_f64()) {
            (Some(a), Some(b)) => (a, b),
            _ => return ToolOutcome::Fail(format!("a and b are not numbers: {args}")),
        };
        let r = match args["operation"].as_str() {
            Some("add") => a + b,
            Some("subtract") => a - b,
            Some("multiply") => a * b,
            other => return ToolOutcome::Fail(format!("operation {other:?}")),
        };
        ToolOutcome::Result(json!(r.to_string()))
    });
    let (_c, _s, _e, text) = turn_with(ctx, cfg)?;
    let args = seen.lock().unwrap().clone();
    ensure(
        args["a"].is_number() && args["b"].is_number() && args["operation"] == "add",
        format!("handler arguments: {args}"),
    )?;
    ensure(text.contains("42"), format!("answer: {text}"))
}

fn should_preserve_tooltelemetry_and_not_stringify_structured_results_for_llm(
    ctx: &Ctx,
) -> Result<(), String> {
    let cfg = ctx.config(json!({})).tool(string_tool("analyze_code", "file"), |inv| {
        let file = inv["arguments"]["file"].as_str().unwrap_or("");
        ToolOutcome::Result(json!({
            "textResultForLlm": format!("Analysis of {file}: no issues found"),
            "resultType": "success",
            "toolTelemetry": {"metrics": {"analysisTimeMs": 150}, "properties": {"analyzer": "eslint"}},
        }))
    });
    let (_c, _s, events, text) = turn_with(ctx, cfg)?;
    ensure(
        text.to_lowercase().contains("no issues"),
        format!("answer: {text}"),
    )?;
    let last = ctx.requests().last().cloned().ok_or("no model request")?;
    let tool_results: Vec<Value> = last["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "tool")
        .cloned()
        .collect();
    ensure(
        tool_results.len() == 1,
        format!("tool results: {tool_results:?}"),
    )?;
    let sent = tool_results[0]["content"].to_string();
    ensure(
        !sent.contains("toolTelemetry") && !sent.contains("resultType"),
        format!("the model got the structured result stringified: {sent}"),
    )?;
    let complete = events
        .of_type("tool.execution_complete")
        .first()
        .cloned()
        .ok_or("no tool.execution_complete")?;
    ensure(
        complete["data"]["success"] == true,
        format!("tool.execution_complete: {complete}"),
    )?;
    let telemetry = &complete["data"]["toolTelemetry"];
    ensure(
        telemetry.is_null() || telemetry.as_object().is_some_and(|o| !o.is_empty()),
        format!("toolTelemetry: {telemetry}"),
    )
}

/// A tool with no parameters that answers with a `resultType` other than success.
fn no_arg_tool(name: &str, description: &str) -> Value {
    json!({"name": name, "description": description,
           "parameters": {"type": "object", "properties": {}}})
}

fn should_handle_tool_result_with_rejected_resulttype(ctx: &Ctx) -> Result<(), String> {
    let called = Arc::new(AtomicUsize::new(0));
    let c = called.clone();
    let cfg = ctx.config(json!({})).tool(
        no_arg_tool("deploy_service", "Deploys a service"),
        move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            ToolOutcome::Result(json!({
                "textResultForLlm": "Deployment rejected: policy violation - production deployments require approval",
                "resultType": "rejected",
            }))
        },
    );
    let client = ctx.client();
    let events = Events::default();
    let session = ok(
        client.create_session(&events.attach(cfg.approve_all())),
        "create",
    )?;
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    let complete = events.wait_for("tool.execution_complete", Duration::from_secs(60), |_| true)?;
    ensure(called.load(Ordering::SeqCst) == 1, "deploy_service ran")?;
    check_failed_result(&complete, "rejected", "Deployment rejected")?;
    events.wait_for("session.idle", Duration::from_secs(60), |_| true)?;
    Ok(())
}

fn check_failed_result(complete: &Value, code: &str, message: &str) -> Result<(), String> {
    let d = &complete["data"];
    ensure(
        d["success"] == false
            && d["error"]["code"] == code
            && d["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(message)),
        format!("tool.execution_complete: {complete}"),
    )
}

fn should_handle_tool_result_with_denied_resulttype(ctx: &Ctx) -> Result<(), String> {
    let cfg = ctx.config(json!({})).tool(
        no_arg_tool("access_secret", "A tool that returns a denied result"),
        |_| {
            ToolOutcome::Result(json!({
                "resultType": "denied",
                "textResultForLlm": "Access denied: insufficient permissions to read secrets",
            }))
        },
    );
    let (_c, _s, events, text) = turn_with(ctx, cfg)?;
    let complete = events
        .of_type("tool.execution_complete")
        .first()
        .cloned()
        .ok_or("no tool.execution_complete")?;
    check_failed_result(&complete, "denied", "Access denied")?;
    ensure(
        text.to_lowercase().contains("access denied"),
        format!("answer: {text}"),
    )
}

/// Waits until `session.list` shows every id in `ids`.
fn wait_listed(client: &Client, ids: &[String]) -> Result<(), String> {
    wait_until("the sessions to be listed", || {
        listed(client).is_ok_and(|l| ids.iter().all(|id| l.contains(id)))
    })
}

fn ask(session: &Session, prompt: &str) -> Result<String, String> {
    let answer = ok(
        session.send_and_wait(&json!({"prompt": prompt}), TURN),
        "send_and_wait",
    )?;
    Ok(content(&answer))
}

fn should_list_created_sessions_after_sending_a_message(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let first = ctx.approved_session(&client, json!({}))?;
    let second = ctx.approved_session(&client, json!({}))?;
    ask(&first, &ctx.prompt(0))?;
    ask(&second, &ctx.prompt(1))?;
    wait_listed(&client, &[first.id(), second.id()])
}

fn should_delete_session_permanently(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({}))?;
    let id = session.id();
    ask(&session, &ctx.prompt(0))?;
    wait_listed(&client, std::slice::from_ref(&id))?;
    ok(session.destroy(), "disconnect")?;
    call(&client, "session.delete", json!({"sessionId": id}))?;
    let after = listed(&client)?;
    ensure(
        !after.contains(&id),
        format!("still listed after delete: {after:?}"),
    )
}

fn should_return_events_via_getmessages_after_conversation(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({}))?;
    ask(&session, &ctx.prompt(0))?;
    let history = ok(session.get_messages(), "getMessages")?;
    let types: Vec<&str> = history
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["type"].as_str())
        .collect();
    ensure(
        ["session.start", "user.message", "assistant.message"]
            .iter()
            .all(|t| types.contains(t)),
        format!("history types: {types:?}"),
    )
}

/// Two sessions of one client, each recording its events, sent prompts 0 and 1 at once.
fn concurrent_pair(ctx: &Ctx) -> Result<[(Events, String); 2], String> {
    let client = ctx.client();
    let (e1, e2) = (Events::default(), Events::default());
    let s1 = ok(
        client.create_session(&e1.attach(ctx.config(json!({})).approve_all())),
        "create 1",
    )?;
    let s2 = ok(
        client.create_session(&e2.attach(ctx.config(json!({})).approve_all())),
        "create 2",
    )?;
    let (p1, p2) = (ctx.prompt(0), ctx.prompt(1));
    let (a1, a2) = std::thread::scope(|scope| {
        let t1 = scope.spawn(|| ask(&s1, &p1));
        let t2 = scope.spawn(|| ask(&s2, &p2));
        (t1.join().unwrap(), t2.join().unwrap())
    });
    Ok([(e1, a1?), (e2, a2?)])
}

fn should_support_multiple_concurrent_sessions(ctx: &Ctx) -> Result<(), String> {
    let [(_, a1), (_, a2)] = concurrent_pair(ctx)?;
    ensure(a1.contains('2'), format!("session 1 answered {a1}"))?;
    ensure(a2.contains('6'), format!("session 2 answered {a2}"))
}

fn should_isolate_events_between_concurrent_sessions(ctx: &Ctx) -> Result<(), String> {
    let [(e1, a1), (e2, a2)] = concurrent_pair(ctx)?;
    ensure(
        a1.contains("session_one_response"),
        format!("session 1 answered {a1}"),
    )?;
    ensure(
        a2.contains("session_two_response"),
        format!("session 2 answered {a2}"),
    )?;
    let said = |e: &Events| -> String {
        e.of_type("assistant.message")
            .iter()
            .map(content)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (t1, t2) = (said(&e1), said(&e2));
    ensure(
        !t1.contains("session_two_response"),
        format!("session 1 saw session 2's answer: {t1}"),
    )?;
    ensure(
        !t2.contains("session_one_response"),
        format!("session 2 saw session 1's answer: {t2}"),
    )
}

fn last_id(client: &Client) -> Result<Value, String> {
    Ok(call(client, "session.getLastId", json!({}))?["sessionId"].clone())
}

fn should_return_last_session_id_after_sending_a_message(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({}))?;
    ask(&session, &ctx.prompt(0))?;
    wait_until("session.getLastId to name a session", || {
        last_id(&client).is_ok_and(|v| v.as_str().is_some_and(|s| !s.is_empty()))
    })
}

/// The model calls `set_marker` and `ask_user` in one turn; the user-input
/// handler keeps its request and answers from another thread only once it saw
/// the sibling tool run, which it can only do if the pending question does not
/// hold the callback thread.
fn ask_user_does_not_block_sibling_tool_call_in_same_turn(ctx: &Ctx) -> Result<(), String> {
    let fired = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let observed = Arc::new(Mutex::new(None::<bool>));
    let (tool_fired, handler_fired, seen) = (fired.clone(), fired.clone(), observed.clone());
    let config = ctx
        .config(json!({}))
        .approve_all()
        .tool(
            json!({"name": "set_marker", "description": "Records a marker value",
                   "parameters": {"type": "object", "required": ["value"], "properties": {
                       "value": {"type": "string", "description": "Marker value"}}}}),
            move |call| {
                let (flag, cv) = &*tool_fired;
                *flag.lock().unwrap() = true;
                cv.notify_all();
                let value = call["arguments"]["value"].as_str().unwrap_or_default();
                ToolOutcome::Result(json!(format!("MARKER_{}", value.to_uppercase())))
            },
        )
        .handler_deferred("userInput", move |request, pending| {
            let answer = request["choices"][0]
                .as_str()
                .unwrap_or("Option A")
                .to_string();
            let (fired, seen) = (handler_fired.clone(), seen.clone());
            std::thread::spawn(move || {
                let (flag, cv) = &*fired;
                let (ran, _) = cv
                    .wait_timeout_while(flag.lock().unwrap(), Duration::from_secs(30), |f| !*f)
                    .unwrap();
                *seen.lock().unwrap() = Some(*ran);
                pending.respond(&json!({"answer": answer, "wasFreeform": false}));
            });
        });
    let client = ctx.client();
    let session = ok(client.create_session(&config), "create")?;
    ask(&session, &ctx.prompt(0))?;
    let observed = *observed.lock().unwrap();
    ensure(
        observed == Some(true),
        format!(
            "the handler saw the sibling tool run while its question was pending: {observed:?}"
        ),
    )
}

/// `session.lifecycle` notifications the client received, as (type, sessionId).
fn lifecycle_log(client: &Client) -> Arc<Mutex<Vec<(String, String)>>> {
    let log: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = log.clone();
    client.on_lifecycle(move |kind, event| {
        let sid = event["sessionId"].as_str().unwrap_or_default().to_string();
        sink.lock().unwrap().push((kind.to_string(), sid));
    });
    log
}

fn should_emit_session_lifecycle_events(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let log = lifecycle_log(&client);
    let session = ctx.approved_session(&client, json!({}))?;
    let id = session.id();
    ask(&session, &ctx.prompt(0))?;
    wait_until("a lifecycle notification for the session", || {
        log.lock().unwrap().iter().any(|(_, sid)| *sid == id)
    })?;
    let seen = log.lock().unwrap().clone();
    ensure(
        seen.iter()
            .any(|(kind, sid)| kind == "session.created" && *sid == id),
        format!("no session.created for the session: {seen:?}"),
    )
}

fn should_receive_session_deleted_lifecycle_event_when_deleted(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({}))?;
    let id = session.id();
    ask(&session, &ctx.prompt(0))?;
    let log = lifecycle_log(&client);
    call(&client, "session.delete", json!({"sessionId": id}))?;
    wait_until("session.deleted for the session", || {
        log.lock()
            .unwrap()
            .iter()
            .any(|(kind, sid)| kind == "session.deleted" && *sid == id)
    })
}

fn should_delete_session_by_id(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({}))?;
    let id = session.id();
    ask(&session, &ctx.prompt(0))?;
    wait_listed(&client, std::slice::from_ref(&id))?;
    ok(session.abort(), "abort")?;
    ok(session.destroy(), "disconnect")?;
    call(&client, "session.delete", json!({"sessionId": id}))?;
    let meta = call(&client, "session.getMetadata", json!({"sessionId": id}))?;
    ensure(
        meta["session"].is_null(),
        format!("metadata after delete: {meta}"),
    )
}

fn should_track_last_session_id_after_session_created(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({}))?;
    ask(&session, &ctx.prompt(0))?;
    let id = session.id();
    ok(session.destroy(), "disconnect")?;
    let last = last_id(&client)?;
    ensure(last == id.as_str(), format!("last id {last}, session {id}"))
}

fn signed_in_client(ctx: &Ctx) -> Result<Client, String> {
    ctx.started_client(json!({"githubToken": crate::common::TEST_GITHUB_TOKEN}))
}

fn should_get_authenticated_status(ctx: &Ctx) -> Result<(), String> {
    let client = signed_in_client(ctx)?;
    let status = call(&client, "auth.getStatus", json!({}))?;
    ensure(
        status["isAuthenticated"] == true,
        format!("auth status: {status}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_list_models_when_authenticated(ctx: &Ctx) -> Result<(), String> {
    let client = signed_in_client(ctx)?;
    let models = call(&client, "models.list", json!({}))?;
    ensure(
        models["models"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["id"] == "claude-sonnet-4.5")),
        format!("claude-sonnet-4.5 not listed: {models}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_listen_on_configured_tcp_port(ctx: &Ctx) -> Result<(), String> {
    let port = crate::free_port()?;
    let client = ctx.started_client(json!({"transport": "tcp", "port": port}))?;
    ensure(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        format!("nothing listens on the configured port {port}"),
    )?;
    let pong = call(&client, "ping", json!({"message": "fixed-port"}))?;
    ensure(
        pong["message"] == "pong: fixed-port",
        format!("pong {pong}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_use_client_cwd_for_default_workingdirectory(ctx: &Ctx) -> Result<(), String> {
    let cwd = ctx.env.home_path().join("client-cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    ctx.write("client-cwd/marker.txt", "I am in the client cwd");
    let client = ctx.started_client(json!({"cwd": cwd}))?;
    let mut fields = ctx.fields(json!({}));
    let dropped = fields.as_object_mut().unwrap().remove("workingDirectory");
    ensure(
        dropped.is_some(),
        "the harness's session names a working directory",
    )?;
    let cfg = ok(Config::new(&fields), "config_new")?.approve_all();
    let session = ok(client.create_session(&cfg), "create")?;
    let text = ask(&session, &ctx.prompt(0))?;
    ensure(text.contains("client cwd"), format!("answer: {text}"))
}

fn should_abort_during_active_streaming(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, events) = open(ctx, json!({"streaming": true}))?;
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    events.wait_for("assistant.message_delta", Duration::from_secs(60), |_| true)?;
    ok(session.abort(), "abort mid-stream")?;
    ok(
        session.send(&json!({"prompt": ctx.prompt(1)})),
        "send after abort",
    )?;
    let recovered = events.wait_for("assistant.message", Duration::from_secs(60), |m| {
        content(m).to_lowercase().contains("abort_recovery_ok")
    })?;
    ensure(
        content(&recovered)
            .to_lowercase()
            .contains("abort_recovery_ok"),
        format!("recovery answer: {recovered}"),
    )
}

fn should_emit_streaming_deltas_with_reasoning_effort_configured(ctx: &Ctx) -> Result<(), String> {
    let cfg = ctx.config(json!({"model": "gpt-5.4", "streaming": true, "reasoningEffort": "high"}));
    let (_c, session, events, text) = turn_with(ctx, cfg)?;
    ensure(
        !events.of_type("assistant.message_delta").is_empty(),
        format!("no assistant.message_delta; saw {:?}", events.types()),
    )?;
    ensure(text.contains("255"), format!("answer: {text}"))?;
    let history = ok(session.get_messages(), "getMessages")?;
    let start = history
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["type"] == "session.start")
        .cloned()
        .ok_or("no session.start in history")?;
    ensure(
        start["data"]["reasoningEffort"] == "high",
        format!("session.start: {start}"),
    )
}

fn fires_session_todos_changed_and_exposes_rows_and_dependencies(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, events) = open(ctx, json!({}))?;
    ok(
        session.send_and_wait(&json!({"prompt": ctx.prompt(0)}), TURN),
        "send_and_wait",
    )?;
    events.wait_for("session.todos_changed", Duration::from_secs(10), |_| true)?;
    let result = call(
        &session,
        "session.plan.readSqlTodosWithDependencies",
        json!({}),
    )?;
    let mut ids: Vec<&str> = result["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str())
        .collect();
    ids.sort();
    ensure(ids == ["alpha", "beta"], format!("rows: {result}"))?;
    ensure(
        result["dependencies"].as_array().is_some_and(|d| {
            d.iter()
                .any(|d| d["todoId"] == "beta" && d["dependsOn"] == "alpha")
        }),
        format!("dependencies: {result}"),
    )
}

fn same_file(actual: &Value, expected: &std::path::Path) -> bool {
    let canon = |p: &std::path::Path| {
        p.parent()
            .and_then(|d| d.canonicalize().ok())
            .map(|d| d.join(p.file_name().unwrap_or_default()))
            .unwrap_or_else(|| p.to_path_buf())
    };
    actual
        .as_str()
        .is_some_and(|a| canon(std::path::Path::new(a)) == canon(expected))
}

fn should_restore_tracked_file_and_conversation(ctx: &Ctx) -> Result<(), String> {
    let file = ctx.env.home_path().join("rewind-sdk.txt");
    let (_c, session, _e) = open(
        ctx,
        json!({"model": "claude-sonnet-4.5", "enableFileChangeTracking": true}),
    )?;
    let answer = ok(
        session.send_and_wait(&json!({"prompt": ctx.prompt(0)}), TURN),
        "send_and_wait",
    )?;
    ensure(
        content(&answer) == "SDK_REWIND_DONE",
        format!("answer: {answer}"),
    )?;
    ensure(
        ctx.read("rewind-sdk.txt") == "SDK rewind content",
        format!("file content: {:?}", ctx.read("rewind-sdk.txt")),
    )?;
    let list = || call(&session, "session.history.listRewindPoints", json!({}));
    wait_until("a rewind point that can restore files", || {
        list().is_ok_and(|p| {
            p["unavailableReason"].is_null() && p["points"][0]["canRestoreFiles"] == true
        })
    })?;
    let points = list()?;
    ensure(
        points["fileChangeTrackingEnabled"] == true
            && points["points"].as_array().is_some_and(|p| p.len() == 1)
            && points["points"][0]["fileCount"] == 1,
        format!("rewind points: {points}"),
    )?;
    let event_id = points["points"][0]["eventId"].clone();
    let preview = call(
        &session,
        "session.history.previewRewind",
        json!({"eventId": event_id}),
    )?;
    ensure(
        preview["available"] == true
            && preview["files"].as_array().is_some_and(|f| f.len() == 1)
            && same_file(&preview["files"][0]["path"], &file),
        format!("preview: {preview}"),
    )?;
    let rewind = call(
        &session,
        "session.history.rewind",
        json!({"eventId": event_id, "mode": "conversation-and-files"}),
    )?;
    ensure(
        rewind["outcome"] == "success"
            && rewind["eventsRemoved"].as_f64().is_some_and(|n| n > 0.0)
            && rewind["restoredFiles"]
                .as_array()
                .is_some_and(|f| f.len() == 1)
            && same_file(&rewind["restoredFiles"][0], &file),
        format!("rewind: {rewind}"),
    )?;
    ensure(!file.exists(), "the created file is gone after the rewind")?;
    let history = ok(session.get_messages(), "getMessages")?;
    ensure(
        !history
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["id"] == event_id),
        "the rewind point's event is gone from the history",
    )
}

/// The string form of a span attribute (JSON text for non-strings).
fn attr(span: &Value, name: &str) -> Option<String> {
    match &span["attributes"][name] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[allow(dead_code)] // unregistered: see all()
fn should_export_file_telemetry_for_sdk_interactions(ctx: &Ctx) -> Result<(), String> {
    let (source, tool, marker) = (
        "c-abi-telemetry-e2e",
        "echo_telemetry_marker",
        "copilot-sdk-telemetry-e2e",
    );
    let prompt = ctx.prompt(0);
    let path = ctx.env.home_path().join("telemetry.jsonl");
    // The SDKs' `telemetry` client option is lowered to these variables of the
    // CLI's environment; libcopilot's `env` option carries them.
    let mut env = ctx.env.child_env();
    let vars = env.as_object_mut().unwrap();
    for (k, v) in [
        ("COPILOT_OTEL_ENABLED", "true"),
        ("COPILOT_OTEL_EXPORTER_TYPE", "file"),
        ("COPILOT_OTEL_FILE_EXPORTER_PATH", path.to_str().unwrap()),
        ("COPILOT_OTEL_SOURCE_NAME", source),
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"),
    ] {
        vars.insert(k.into(), json!(v));
    }
    let client = ctx.started_client(json!({"env": env}))?;
    let mut decl = string_tool(tool, "value");
    decl["description"] = json!("Echoes a marker string for telemetry validation.");
    let cfg = ctx
        .config(json!({}))
        .tool(decl, |inv| {
            ToolOutcome::Result(inv["arguments"]["value"].clone())
        })
        .approve_all();
    let session = ok(client.create_session(&cfg), "create")?;
    let id = session.id();
    let text = ask(&session, &prompt)?;
    ensure(
        text.contains("TELEMETRY_E2E_DONE"),
        format!("answer: {text}"),
    )?;
    ok(session.destroy(), "disconnect")?;
    ok(client.stop(), "stop")?;

    let spans: Vec<Value> = std::fs::read_to_string(&path)
        .map_err(|e| format!("telemetry file {}: {e}", path.display()))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).map_err(|e| format!("{e}: {l}")))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|e| e["type"] == "span")
        .collect();
    ensure(!spans.is_empty(), "no spans exported")?;
    ensure(
        spans
            .iter()
            .all(|s| s["instrumentationScope"]["name"] == source),
        "every span carries the configured source name",
    )?;
    let mut traces: Vec<&str> = spans.iter().filter_map(|s| s["traceId"].as_str()).collect();
    traces.sort();
    traces.dedup();
    let roots: Vec<String> = spans
        .iter()
        .filter(|s| {
            s["parentSpanId"]
                .as_str()
                .is_none_or(|p| p.is_empty() || p == "0000000000000000")
        })
        .map(|s| format!("{} in {}", s["name"], s["traceId"]))
        .collect();
    ensure(
        traces.len() == 1,
        format!("one trace per turn; root spans: {roots:?}"),
    )?;
    ensure(
        spans.iter().all(|s| s["status"]["code"] != 2),
        "no span in error state",
    )?;
    let op = |s: &Value| attr(s, "gen_ai.operation.name");
    let agent = spans
        .iter()
        .find(|s| op(s).as_deref() == Some("invoke_agent"))
        .ok_or("no invoke_agent span")?;
    ensure(
        attr(agent, "gen_ai.conversation.id").as_deref() == Some(id.as_str()),
        format!("invoke_agent conversation id: {agent}"),
    )?;
    let parent = agent["parentSpanId"].as_str().unwrap_or("");
    ensure(
        parent.is_empty() || parent == "0000000000000000",
        format!("invoke_agent is a root span: {agent}"),
    )?;
    let agent_id = agent["spanId"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or("invoke_agent has no spanId")?;
    let chats: Vec<&Value> = spans
        .iter()
        .filter(|s| op(s).as_deref() == Some("chat"))
        .collect();
    ensure(!chats.is_empty(), "no chat spans")?;
    ensure(
        chats.iter().all(|c| c["parentSpanId"] == agent_id),
        "chat spans are children of invoke_agent",
    )?;
    ensure(
        chats
            .iter()
            .any(|c| attr(c, "gen_ai.input.messages").is_some_and(|m| m.contains(&prompt))),
        "a chat span's input carries the prompt",
    )?;
    ensure(
        chats.iter().any(|c| {
            attr(c, "gen_ai.output.messages").is_some_and(|m| m.contains("TELEMETRY_E2E_DONE"))
        }),
        "a chat span's output carries the answer",
    )?;
    let tool_span = spans
        .iter()
        .find(|s| op(s).as_deref() == Some("execute_tool"))
        .ok_or("no execute_tool span")?;
    ensure(
        tool_span["parentSpanId"] == agent_id
            && attr(tool_span, "gen_ai.tool.name").as_deref() == Some(tool)
            && attr(tool_span, "gen_ai.tool.call.id").is_some_and(|s| !s.is_empty())
            && attr(tool_span, "gen_ai.tool.call.arguments").as_deref()
                == Some(format!("{{\"value\":\"{marker}\"}}").as_str())
            && attr(tool_span, "gen_ai.tool.call.result").as_deref() == Some(marker),
        format!("execute_tool span: {tool_span}"),
    )
}

fn canvas_list_discovers_declared_canvases(ctx: &Ctx) -> Result<(), String> {
    let counter = json!({
        "id": "counter",
        "displayName": "Counter",
        "description": "A simple counter canvas for e2e testing",
        "inputSchema": {"type": "object", "properties": {"startValue": {"type": "number"}}},
        "actions": [{
            "name": "increment",
            "description": "Increment the counter",
            "inputSchema": {"type": "object", "properties": {"amount": {"type": "number"}}},
        }],
    });
    let (_c, session, _e) = open(ctx, json!({"canvases": [counter]}))?;
    let result = call(&session, "session.canvas.list", json!({}))?;
    let canvases = result["canvases"].as_array().cloned().unwrap_or_default();
    ensure(canvases.len() == 1, format!("canvases: {result}"))?;
    let c = &canvases[0];
    ensure(
        c["canvasId"] == "counter"
            && c["displayName"] == "Counter"
            && c["description"] == "A simple counter canvas for e2e testing",
        format!("canvas: {c}"),
    )
}
