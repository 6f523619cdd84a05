//! Scenarios of tools, user input, hooks and multi-turn conversations. Each asserts what the upstream test of the same
//! name asserts; prompts come from the snapshot itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::{alias, content, ensure, ok, Ctx, Events, Scenario, ToolOutcome};

pub fn all() -> Vec<Scenario> {
    vec![
        run!("tools", invokes_custom_tool),
        run!("tools", handles_tool_calling_errors),
        run!("tools", denies_custom_tool_when_permission_denied),
        run!("tools", can_receive_and_return_complex_types),
        run!(
            "tools",
            should_execute_multiple_custom_tools_in_parallel_single_turn
        ),
        run!("session", should_have_stateful_conversation),
        run!(
            "ask_user",
            should_invoke_user_input_handler_when_model_uses_ask_user_tool
        ),
        run!("ask_user", should_receive_choices_in_user_input_request),
        run!("ask_user", should_handle_freeform_user_input_response),
        run!("hooks", invoke_pre_tool_use_hook_when_model_runs_a_tool),
        alias(
            "hooks",
            "should_invoke_pretooluse_hook_when_model_runs_a_tool",
            invoke_pre_tool_use_hook_when_model_runs_a_tool,
        ),
        run!("hooks", invoke_both_hooks_for_single_tool_call),
        alias(
            "hooks",
            "should_invoke_both_pretooluse_and_posttooluse_hooks_for_single_tool_call",
            invoke_both_hooks_for_single_tool_call,
        ),
        alias(
            "hooks",
            "should_invoke_both_pretooluse_and_posttooluse_hooks_for_a_single_tool_call",
            invoke_both_hooks_for_single_tool_call,
        ),
        run!("hooks", invoke_post_tool_use_hook_after_model_runs_a_tool),
        run!("hooks", deny_tool_execution_when_pre_tool_use_returns_deny),
        run!("multi_turn", should_use_tool_results_from_previous_turns),
        run!(
            "multi_turn",
            should_handle_file_creation_then_reading_across_turns
        ),
    ]
}

pub(crate) fn string_tool(name: &str, param: &str) -> Value {
    json!({
        "name": name,
        "description": format!("{name} tool"),
        "parameters": {"type": "object", "properties": {param: {"type": "string"}}, "required": [param]},
    })
}

fn invokes_custom_tool(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let cfg = ctx
        .config(json!({}))
        .tool(string_tool("encrypt_string", "input"), |inv| {
            ToolOutcome::Result(json!(inv["arguments"]["input"]
                .as_str()
                .unwrap_or("")
                .to_uppercase()))
        })
        .approve_all();
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(
        content(&answer).contains("HELLO"),
        format!("answer: {}", content(&answer)),
    )
}

fn handles_tool_calling_errors(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let cfg = ctx
        .config(json!({}))
        .tool(
            json!({"name": "get_user_location", "description": "Gets the user's location"}),
            |_| ToolOutcome::Fail("Melbourne".into()),
        )
        .approve_all();
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let text = content(&answer);
    // The host's error text is not shown to the model.
    ensure(
        !text.contains("Melbourne"),
        format!("error text leaked: {text}"),
    )?;
    ensure(
        text.to_lowercase().contains("unknown"),
        format!("answer: {text}"),
    )
}

fn denies_custom_tool_when_permission_denied(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    let cfg = ctx
        .config(json!({}))
        .tool(string_tool("encrypt_string", "input"), move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            ToolOutcome::Result(json!("should not run"))
        })
        .permission(move |_| {
            a.fetch_add(1, Ordering::SeqCst);
            Some(json!({"kind": "reject"}))
        });
    let session = ok(client.create_session(&cfg), "create")?;
    // The recording ends at the tool call; what follows the denial is not replayed.
    let _ = session.prompt(&ctx.prompt(0));
    ensure(
        asked.load(Ordering::SeqCst) == 1,
        "the permission handler was asked once",
    )?;
    ensure(
        calls.load(Ordering::SeqCst) == 0,
        "the denied tool never ran",
    )
}

fn can_receive_and_return_complex_types(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let seen = Arc::new(Mutex::new(Value::Null));
    let s = seen.clone();
    let decl = json!({
        "name": "db_query",
        "description": "Performs a database query",
        "parameters": {"type": "object", "properties": {"query": {"type": "object", "properties": {
            "table": {"type": "string"}, "ids": {"type": "array", "items": {"type": "integer"}},
            "sortAscending": {"type": "boolean"}}}}, "required": ["query"]},
    });
    let cfg = ctx
        .config(json!({}))
        .tool(decl, move |inv| {
            *s.lock().unwrap() = inv["arguments"].clone();
            ToolOutcome::Result(json!([
                {"countryId": 19, "cityName": "Passos", "population": 135460},
                {"countryId": 12, "cityName": "San Lorenzo", "population": 204356},
            ]))
        })
        .approve_all();
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let args = seen.lock().unwrap().clone();
    ensure(
        args["query"]["table"] == "cities",
        format!("arguments: {args}"),
    )?;
    ensure(
        args["query"]["ids"] == json!([12, 19]),
        format!("arguments: {args}"),
    )?;
    ensure(
        args["query"]["sortAscending"] == true,
        format!("arguments: {args}"),
    )?;
    let text = content(&answer);
    ensure(
        text.contains("Passos") && text.contains("San Lorenzo"),
        format!("answer: {text}"),
    )
}

fn should_execute_multiple_custom_tools_in_parallel_single_turn(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let cfg = ctx
        .config(json!({}))
        .tool(string_tool("lookup_city", "city"), |inv| {
            ToolOutcome::Result(json!(format!(
                "CITY_{}",
                inv["arguments"]["city"]
                    .as_str()
                    .unwrap_or("")
                    .to_uppercase()
            )))
        })
        .tool(string_tool("lookup_country", "country"), |inv| {
            ToolOutcome::Result(json!(format!(
                "COUNTRY_{}",
                inv["arguments"]["country"]
                    .as_str()
                    .unwrap_or("")
                    .to_uppercase()
            )))
        })
        .approve_all();
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let text = content(&answer);
    ensure(
        text.contains("CITY_PARIS") && text.contains("COUNTRY_FRANCE"),
        format!("answer: {text}"),
    )
}

fn should_have_stateful_conversation(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ok(client.create_session(&ctx.config(json!({}))), "create")?;
    let first = ok(session.prompt(&ctx.prompt(0)), "first turn")?;
    ensure(
        content(&first).contains('2'),
        format!("first: {}", content(&first)),
    )?;
    let second = ok(session.prompt(&ctx.prompt(1)), "second turn")?;
    ensure(
        content(&second).contains('4'),
        format!("second: {}", content(&second)),
    )
}

/// Runs an ask_user scenario with a handler answering `answer`; returns the
/// requests the handler saw and the final answer text.
fn ask_user(ctx: &Ctx, answer: Value) -> Result<(Vec<Value>, String), String> {
    ask_user_with(ctx, move |_| answer.clone())
}

fn ask_user_with(
    ctx: &Ctx,
    answer: impl Fn(&Value) -> Value + Send + Sync + 'static,
) -> Result<(Vec<Value>, String), String> {
    let client = ctx.client();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let cfg = ctx
        .config(json!({}))
        .handler("userInput", move |req| {
            s.lock().unwrap().push(req.clone());
            Some(answer(req))
        })
        .approve_all();
    let session = ok(client.create_session(&cfg), "create")?;
    let reply = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let requests = seen.lock().unwrap().clone();
    Ok((requests, content(&reply)))
}

fn should_invoke_user_input_handler_when_model_uses_ask_user_tool(ctx: &Ctx) -> Result<(), String> {
    let (requests, text) = ask_user(ctx, json!({"answer": "Option A", "wasFreeform": false}))?;
    ensure(!requests.is_empty(), "the user input handler was called")?;
    ensure(
        requests[0]["question"]
            .as_str()
            .is_some_and(|q| !q.is_empty()),
        "a question was asked",
    )?;
    ensure(text.contains("Option A"), format!("answer: {text}"))
}

fn should_receive_choices_in_user_input_request(ctx: &Ctx) -> Result<(), String> {
    let (requests, _) = ask_user_with(
        ctx,
        |req| json!({"answer": req["choices"][0].as_str().unwrap_or_default(), "wasFreeform": false}),
    )?;
    let choices = requests
        .first()
        .map(|r| r["choices"].clone())
        .unwrap_or(Value::Null);
    ensure(
        choices
            .as_array()
            .is_some_and(|c| c.len() >= 2 && c.iter().all(Value::is_string)),
        format!("choices: {choices}"),
    )
}

fn should_handle_freeform_user_input_response(ctx: &Ctx) -> Result<(), String> {
    let freeform = "This is my custom freeform answer that was not in the choices";
    let (requests, text) = ask_user(ctx, json!({"answer": freeform, "wasFreeform": true}))?;
    ensure(!requests.is_empty(), "the user input handler was called")?;
    ensure(text.contains(freeform), format!("answer: {text}"))
}

/// Records hook invocations of the given types and answers with `output`.
fn hooked(ctx: &Ctx, types: &[&str], output: Value) -> (crate::Config, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut cfg = ctx.config(json!({})).approve_all();
    for t in types {
        let s = seen.clone();
        let output = output.clone();
        cfg = cfg.hook(t, move |req| {
            s.lock().unwrap().push(req.clone());
            Some(output.clone())
        });
    }
    (cfg, seen)
}

fn invoke_pre_tool_use_hook_when_model_runs_a_tool(ctx: &Ctx) -> Result<(), String> {
    ctx.write("hello.txt", "Hello from the test!\n");
    let client = ctx.client();
    let (cfg, seen) = hooked(ctx, &["preToolUse"], json!({"permissionDecision": "allow"}));
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let calls = seen.lock().unwrap().clone();
    ensure(!calls.is_empty(), "preToolUse was invoked")?;
    ensure(
        calls.iter().all(|c| c["hookType"] == "preToolUse"),
        format!("{calls:?}"),
    )?;
    ensure(
        calls.iter().any(|c| {
            c["input"]["toolName"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
        }),
        format!("hook input names the tool: {calls:?}"),
    )?;
    ensure(
        content(&answer).contains("Hello from the test!"),
        format!("answer: {}", content(&answer)),
    )
}

/// preToolUse and postToolUse both fire, for the same session and a common tool.
fn invoke_both_hooks_for_single_tool_call(ctx: &Ctx) -> Result<(), String> {
    ctx.write("both.txt", "Testing both hooks!");
    let client = ctx.client();
    let (cfg, seen) = hooked(ctx, &["preToolUse", "postToolUse"], Value::Null);
    let session = ok(client.create_session(&cfg), "create")?;
    ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let calls = seen.lock().unwrap().clone();
    let tools = |kind: &str| -> Vec<String> {
        calls
            .iter()
            .filter(|c| c["hookType"] == kind)
            .filter_map(|c| c["input"]["toolName"].as_str().map(String::from))
            .collect()
    };
    let (pre, post) = (tools("preToolUse"), tools("postToolUse"));
    ensure(
        calls
            .iter()
            .all(|c| c["sessionId"] == session.id().as_str()),
        format!("hook calls name the session: {calls:?}"),
    )?;
    ensure(
        pre.iter().any(|t| post.contains(t)),
        format!("a tool in both hooks: pre {pre:?}, post {post:?}"),
    )
}

fn invoke_post_tool_use_hook_after_model_runs_a_tool(ctx: &Ctx) -> Result<(), String> {
    ctx.write("world.txt", "World from the test!");
    let client = ctx.client();
    let (cfg, seen) = hooked(ctx, &["postToolUse"], Value::Null);
    let session = ok(client.create_session(&cfg), "create")?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let calls = seen.lock().unwrap().clone();
    ensure(!calls.is_empty(), "postToolUse was invoked")?;
    ensure(
        calls.iter().any(|c| {
            c["input"]["toolName"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
        }),
        format!("hook input names the tool: {calls:?}"),
    )?;
    ensure(
        content(&answer).contains("World from the test!"),
        format!("answer: {}", content(&answer)),
    )
}

fn deny_tool_execution_when_pre_tool_use_returns_deny(ctx: &Ctx) -> Result<(), String> {
    ctx.write(
        "protected.txt",
        "Original content that should not be modified",
    );
    let client = ctx.client();
    let (cfg, seen) = hooked(ctx, &["preToolUse"], json!({"permissionDecision": "deny"}));
    let session = ok(client.create_session(&cfg), "create")?;
    let _answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(!seen.lock().unwrap().is_empty(), "preToolUse was invoked")?;
    ensure(
        ctx.read("protected.txt").contains("Original"),
        "the file was not modified",
    )
}

fn should_use_tool_results_from_previous_turns(ctx: &Ctx) -> Result<(), String> {
    ctx.write("secret.txt", "The magic number is 42.");
    let client = ctx.client();
    let session = ok(
        client.create_session(&ctx.config(json!({})).approve_all()),
        "create",
    )?;
    let first = ok(session.prompt(&ctx.prompt(0)), "first turn")?;
    ensure(
        content(&first).contains("42"),
        format!("first: {}", content(&first)),
    )?;
    let second = ok(session.prompt(&ctx.prompt(1)), "second turn")?;
    ensure(
        content(&second).contains("84"),
        format!("second: {}", content(&second)),
    )
}

fn should_handle_file_creation_then_reading_across_turns(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let events = Events::default();
    let cfg = events.attach(ctx.config(json!({})).approve_all());
    let session = ok(client.create_session(&cfg), "create")?;
    ok(session.prompt(&ctx.prompt(0)), "first turn")?;
    ensure(
        ctx.read("greeting.txt")
            .contains("Hello from multi-turn test"),
        "the first turn created greeting.txt",
    )?;
    let second = ok(session.prompt(&ctx.prompt(1)), "second turn")?;
    ensure(
        content(&second).contains("Hello from multi-turn test"),
        format!("second: {}", content(&second)),
    )?;
    ensure(
        !events.of_type("tool.execution_complete").is_empty(),
        "tools ran",
    )
}
