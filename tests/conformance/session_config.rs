//! `session_config` scenarios: session options on create and on resume, checked
//! where they land: in the model request the CLI sends (tools, system message,
//! headers, wire model, images) or in the session's persisted events.

use std::time::Duration;

use serde_json::{json, Value};

use crate::rpc_state::call;
use crate::session_api::{system_message, tool_names, write_pixel_png};
use crate::{alias, content, ensure, ok, Ctx, Scenario, Session};

pub fn all() -> Vec<Scenario> {
    vec![
        run!("session_config", should_accept_blob_attachments),
        run!(
            "session_config",
            should_apply_all_reasoning_effort_values_on_session_create
        ),
        run!(
            "session_config",
            should_apply_reasoning_effort_on_session_create
        ),
        run!(
            "session_config",
            should_apply_availabletools_on_session_resume
        ),
        run!(
            "session_config",
            should_apply_excluded_built_in_agents_on_create
        ),
        run!(
            "session_config",
            should_apply_excluded_built_in_agents_on_resume
        ),
        alias(
            "session_config",
            "should_apply_instructiondirectories_on_create",
            instruction_directories_on_create,
        ),
        alias(
            "session_config",
            "should_apply_instructiondirectories_on_session_create",
            instruction_directories_on_create,
        ),
        alias(
            "session_config",
            "should_apply_instruction_directories_on_resume",
            instruction_directories_on_resume,
        ),
        alias(
            "session_config",
            "should_apply_instructiondirectories_on_session_resume",
            instruction_directories_on_resume,
        ),
        run!("session_config", should_apply_session_limits_on_create),
        run!("session_config", should_apply_session_limits_on_resume),
        run!(
            "session_config",
            should_apply_systemmessage_on_session_resume
        ),
        run!(
            "session_config",
            should_apply_workingdirectory_on_session_resume
        ),
        alias(
            "session_config",
            "should_forward_clientname_in_user_agent",
            forward_client_name_in_user_agent,
        ),
        alias(
            "session_config",
            "should_forward_clientname_in_useragent",
            forward_client_name_in_user_agent,
        ),
        run!(
            "session_config",
            should_forward_custom_provider_headers_on_create
        ),
        run!(
            "session_config",
            should_forward_custom_provider_headers_on_resume
        ),
        run!("session_config", should_forward_provider_wire_model),
        run!("session_config", should_use_provider_model_id_as_wire_model),
        run!("session_config", should_use_custom_session_id),
        run!("session_config", vision_enabled_then_disabled_via_setmodel),
    ]
}

const TURN: Duration = Duration::from_secs(60);
const PROVIDER_HEADER: &str = "x-copilot-sdk-provider-header";

/// A BYOK provider on copilot-replay with a key and one custom header.
fn provider(ctx: &Ctx, header_value: &str) -> Value {
    json!({
        "type": "openai",
        "baseUrl": ctx.env.replay.base_url(),
        "apiKey": "test-provider-key",
        "headers": {PROVIDER_HEADER: header_value},
    })
}

/// A BYOK session: `fields` replace the default provider and model.
fn byok(client: &crate::Client, ctx: &Ctx, fields: Value) -> Result<Session, String> {
    let mut all = json!({"workingDirectory": ctx.env.home_path()});
    all.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    let cfg = crate::Config::new(&all).map_err(|e| e.to_string())?;
    ok(client.create_session(&cfg.approve_all()), "create")
}

/// Creates a session with `on_create` fields, then resumes it on the same
/// client with `on_resume` fields (the options under test); returns both.
fn create_then_resume(
    ctx: &Ctx,
    client: &crate::Client,
    on_create: Value,
    on_resume: Value,
) -> Result<(Session, Session), String> {
    let first = ctx.approved_session(client, on_create)?;
    let resumed = ok(
        client.resume_session(&first.id(), &ctx.config(on_resume).approve_all()),
        "resume",
    )?;
    Ok((first, resumed))
}

fn turn(session: &Session, prompt: &str) -> Result<Value, String> {
    ok(
        session.send_and_wait(&json!({ "prompt": prompt }), TURN),
        "turn",
    )
}

/// Runs one turn and returns the model requests it made.
fn turn_requests(ctx: &Ctx, session: &Session, prompt: &str) -> Result<Vec<Value>, String> {
    let before = ctx.requests().len();
    turn(session, prompt)?;
    let all = ctx.requests();
    ensure(all.len() > before, "the turn called the model")?;
    Ok(all[before..].to_vec())
}

/// The value of header `name` on model request `index`.
fn header(ctx: &Ctx, index: usize, name: &str) -> String {
    ctx.env
        .replay
        .request_headers()
        .get(index)
        .and_then(|h| h.get(name).and_then(Value::as_str).map(String::from))
        .unwrap_or_default()
}

fn first_event(session: &Session, ty: &str) -> Result<Value, String> {
    let history = ok(session.get_messages(), "getMessages")?;
    history
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["type"] == ty)
        .cloned()
        .ok_or_else(|| format!("no {ty} in history"))
}

fn should_accept_blob_attachments(ctx: &Ctx) -> Result<(), String> {
    write_pixel_png(&ctx.env.home_path().join("pixel.png"));
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({}))?;
    let prompt = ctx.prompt(0).lines().next().unwrap_or_default().to_string();
    ok(
        session.send_and_wait(
            &json!({"prompt": prompt, "attachments": [{
                "type": "blob", "data": crate::session_api::PIXEL_PNG,
                "mimeType": "image/png", "displayName": "pixel.png"}]}),
            TURN,
        ),
        "turn with a blob",
    )
    .map(|_| ())
}

fn reasoning_effort_on_create(ctx: &Ctx, efforts: &[&str]) -> Result<(), String> {
    let client = ctx.client();
    for effort in efforts {
        let session = byok(
            &client,
            ctx,
            json!({
                "model": "custom-reasoning-model",
                "provider": provider(ctx, &format!("reasoning-{effort}")),
                "reasoningEffort": effort,
            }),
        )?;
        let start = first_event(&session, "session.start")?;
        ensure(
            start["data"]["selectedModel"] == "custom-reasoning-model"
                && start["data"]["reasoningEffort"] == *effort,
            format!("session.start for {effort}: {}", start["data"]),
        )?;
    }
    Ok(())
}

fn should_apply_all_reasoning_effort_values_on_session_create(ctx: &Ctx) -> Result<(), String> {
    reasoning_effort_on_create(ctx, &["low", "medium", "high"])
}

fn should_apply_reasoning_effort_on_session_create(ctx: &Ctx) -> Result<(), String> {
    reasoning_effort_on_create(ctx, &["high"])
}

fn should_apply_availabletools_on_session_resume(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (_first, resumed) =
        create_then_resume(ctx, &client, json!({}), json!({"availableTools": ["view"]}))?;
    let requests = turn_requests(ctx, &resumed, &ctx.prompt(0))?;
    let names = tool_names(requests.last().unwrap());
    ensure(names == ["view"], format!("tools offered: {names:?}"))
}

/// The `agent_type` values the `task` tool offers in a model request.
fn task_agent_types(request: &Value) -> Result<Vec<String>, String> {
    let task = request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["function"]["name"] == "task")
        .ok_or("no task tool offered")?;
    let values = task["function"]["parameters"]["properties"]["agent_type"]["enum"]
        .as_array()
        .ok_or_else(|| format!("task tool without agent_type enum: {task}"))?;
    Ok(values
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect())
}

fn without_explore(types: &[String]) -> Result<(), String> {
    ensure(
        !types.is_empty() && !types.iter().any(|t| t == "explore"),
        format!("agent types {types:?}"),
    )
}

fn should_apply_excluded_built_in_agents_on_create(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let prompt = ctx.prompt(0);
    let baseline = ctx.approved_session(&client, json!({}))?;
    let types = task_agent_types(&turn_requests(ctx, &baseline, &prompt)?[0])?;
    ensure(
        types.iter().any(|t| t == "explore"),
        format!("baseline agent types {types:?}"),
    )?;
    let excluded = ctx.approved_session(&client, json!({"excludedBuiltinAgents": ["explore"]}))?;
    without_explore(&task_agent_types(
        &turn_requests(ctx, &excluded, &prompt)?[0],
    )?)
}

fn should_apply_excluded_built_in_agents_on_resume(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (_first, resumed) = create_then_resume(
        ctx,
        &client,
        json!({}),
        json!({"excludedBuiltinAgents": ["explore"]}),
    )?;
    without_explore(&task_agent_types(
        &turn_requests(ctx, &resumed, &ctx.prompt(0))?[0],
    )?)
}

/// A project directory and an extra instruction directory whose
/// `.github/instructions/extra.instructions.md` carries `sentinel`.
fn instruction_dirs(
    ctx: &Ctx,
    tag: &str,
    sentinel: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let home = ctx.env.home_path();
    let project = home.join(format!("instruction-{tag}-project"));
    let extra = home.join(format!("extra-{tag}-instructions"));
    let files = extra.join(".github/instructions");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(
        files.join("extra.instructions.md"),
        format!("Always include {sentinel}."),
    )
    .unwrap();
    (project, extra)
}

fn system_of_last_request(ctx: &Ctx) -> Result<String, String> {
    let requests = ctx.requests();
    let last = requests.last().ok_or("the model was not called")?;
    Ok(system_message(last))
}

/// The sentinel the snapshot's recorded system message would carry is not
/// visible (it is `${system}`); any sentinel proves the directory was read.
const INSTRUCTION_SENTINEL: &str = "C_INSTRUCTION_DIRECTORIES_SENTINEL";

fn instruction_directories_on_create(ctx: &Ctx) -> Result<(), String> {
    let (project, extra) = instruction_dirs(ctx, "create", INSTRUCTION_SENTINEL);
    let client = ctx.client();
    let session = ctx.approved_session(
        &client,
        json!({"workingDirectory": project, "instructionDirectories": [extra]}),
    )?;
    turn(&session, &ctx.prompt(0))?;
    let system = system_of_last_request(ctx)?;
    ensure(
        system.contains(INSTRUCTION_SENTINEL),
        "the extra instructions reached the system message",
    )
}

fn instruction_directories_on_resume(ctx: &Ctx) -> Result<(), String> {
    let (project, extra) = instruction_dirs(ctx, "resume", INSTRUCTION_SENTINEL);
    let client = ctx.client();
    let (_first, resumed) = create_then_resume(
        ctx,
        &client,
        json!({"workingDirectory": project}),
        json!({"workingDirectory": project, "instructionDirectories": [extra]}),
    )?;
    turn(&resumed, &ctx.prompt(0))?;
    let system = system_of_last_request(ctx)?;
    ensure(
        system.contains(INSTRUCTION_SENTINEL),
        "the extra instructions reached the system message",
    )
}

fn session_limits_status(requests: &[Value]) -> Result<(), String> {
    let status = requests
        .iter()
        .flat_map(|r| r["messages"].as_array().cloned().unwrap_or_default())
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str().map(String::from))
        .find(|c| c.contains("<session_limits_status>"))
        .ok_or("no <session_limits_status> message")?;
    ensure(
        status.contains("Remaining session limits: 30 AI credits.")
            && status.contains("Be frugal; avoid optional exploration and unnecessary tool calls."),
        format!("status message: {status}"),
    )
}

fn should_apply_session_limits_on_create(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({"sessionLimits": {"maxAiCredits": 30}}))?;
    session_limits_status(&turn_requests(ctx, &session, &ctx.prompt(0))?)
}

fn should_apply_session_limits_on_resume(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (_first, resumed) = create_then_resume(
        ctx,
        &client,
        json!({}),
        json!({"sessionLimits": {"maxAiCredits": 30}}),
    )?;
    session_limits_status(&turn_requests(ctx, &resumed, &ctx.prompt(0))?)
}

fn should_apply_systemmessage_on_session_resume(ctx: &Ctx) -> Result<(), String> {
    let instruction = "End the response with RESUME_SYSTEM_MESSAGE_SENTINEL.";
    let client = ctx.client();
    let (_first, resumed) = create_then_resume(
        ctx,
        &client,
        json!({}),
        json!({"systemMessage": {"mode": "append", "content": instruction}}),
    )?;
    let answer = turn(&resumed, &ctx.prompt(0))?;
    ensure(
        content(&answer).contains("RESUME_SYSTEM_MESSAGE_SENTINEL"),
        format!("answer {answer}"),
    )?;
    ensure(
        system_of_last_request(ctx)?.contains(instruction),
        "the appended instruction reached the system message",
    )
}

fn should_apply_workingdirectory_on_session_resume(ctx: &Ctx) -> Result<(), String> {
    let sub = ctx.env.home_path().join("resume-subproject");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("resume-marker.txt"),
        "I am in the resume working directory",
    )
    .unwrap();
    let client = ctx.client();
    let (_first, resumed) =
        create_then_resume(ctx, &client, json!({}), json!({"workingDirectory": sub}))?;
    let answer = turn(&resumed, &ctx.prompt(0))?;
    ensure(
        content(&answer).contains("resume working directory"),
        format!("answer {answer}"),
    )
}

fn forward_client_name_in_user_agent(ctx: &Ctx) -> Result<(), String> {
    let name = "c-public-surface-client";
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({"clientName": name}))?;
    turn(&session, &ctx.prompt(0))?;
    let agent = header(ctx, 0, "user-agent");
    ensure(agent.contains(name), format!("user-agent {agent:?}"))
}

fn expect_provider_headers(ctx: &Ctx, index: usize, value: &str) -> Result<(), String> {
    let auth = header(ctx, index, "authorization");
    ensure(
        auth.contains("Bearer test-provider-key"),
        format!("authorization {auth:?}"),
    )?;
    let custom = header(ctx, index, PROVIDER_HEADER);
    ensure(
        custom.contains(value),
        format!("{PROVIDER_HEADER} {custom:?}"),
    )
}

fn should_forward_custom_provider_headers_on_create(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = byok(
        &client,
        ctx,
        json!({"model": "claude-sonnet-4.5", "provider": provider(ctx, "create-provider-header")}),
    )?;
    let answer = turn(&session, &ctx.prompt(0))?;
    ensure(content(&answer).contains('2'), format!("answer {answer}"))?;
    expect_provider_headers(ctx, 0, "create-provider-header")
}

fn should_forward_custom_provider_headers_on_resume(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let first = ctx.approved_session(&client, json!({}))?;
    let mut p = provider(ctx, "resume-provider-header");
    p["modelId"] = json!("claude-sonnet-4.5");
    let cfg = crate::Config::new(&json!({
        "workingDirectory": ctx.env.home_path(),
        "model": "claude-sonnet-4.5",
        "provider": p,
        "modelCapabilities": {"supports": {"vision": false}},
    }))
    .map_err(|e| e.to_string())?;
    let resumed = ok(
        client.resume_session(&first.id(), &cfg.approve_all()),
        "resume",
    )?;
    let answer = turn(&resumed, &ctx.prompt(0))?;
    ensure(content(&answer).contains('4'), format!("answer {answer}"))?;
    let last = ctx.requests().len() - 1;
    expect_provider_headers(ctx, last, "resume-provider-header")
}

fn wire_model(ctx: &Ctx, fields: Value, expected: &str) -> Result<(), String> {
    let client = ctx.client();
    let session = byok(&client, ctx, fields)?;
    turn(&session, &ctx.prompt(0))?;
    let requests = ctx.requests();
    ensure(
        requests.len() == 1,
        format!("{} model requests", requests.len()),
    )?;
    ensure(
        requests[0]["model"] == expected,
        format!("wire model {}", requests[0]["model"]),
    )
}

fn should_forward_provider_wire_model(ctx: &Ctx) -> Result<(), String> {
    wire_model(
        ctx,
        json!({"model": "claude-sonnet-4.5", "provider": {
            "type": "openai", "baseUrl": ctx.env.replay.base_url(), "apiKey": "test-provider-key",
            "wireModel": "test-wire-model", "maxOutputTokens": 1024}}),
        "test-wire-model",
    )
}

fn should_use_provider_model_id_as_wire_model(ctx: &Ctx) -> Result<(), String> {
    wire_model(
        ctx,
        json!({"provider": {
            "type": "openai", "baseUrl": ctx.env.replay.base_url(), "apiKey": "test-provider-key",
            "modelId": "claude-sonnet-4.5"}}),
        "claude-sonnet-4.5",
    )
}

fn should_use_custom_session_id(ctx: &Ctx) -> Result<(), String> {
    let requested = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b";
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({"sessionId": requested}))?;
    ensure(
        session.id() == requested,
        format!("session id {}", session.id()),
    )?;
    let history = ok(session.get_messages(), "getMessages")?;
    let first = &history[0];
    ensure(
        first["type"] == "session.start" && first["data"]["sessionId"] == requested,
        format!("first event {first}"),
    )
}

fn has_image_url(requests: &[Value]) -> bool {
    requests.iter().any(|r| {
        r["messages"].as_array().into_iter().flatten().any(|m| {
            m["role"] == "user"
                && m["content"]
                    .as_array()
                    .is_some_and(|parts| parts.iter().any(|p| p["type"] == "image_url"))
        })
    })
}

fn should_vision(ctx: &Ctx, session: &Session, expect_image: bool) -> Result<(), String> {
    let requests = turn_requests(ctx, session, &ctx.prompt(0))?;
    ensure(
        has_image_url(&requests) == expect_image,
        format!("image_url sent: {}, expected {expect_image}", !expect_image),
    )
}

fn vision_enabled_then_disabled_via_setmodel(ctx: &Ctx) -> Result<(), String> {
    write_pixel_png(&ctx.env.home_path().join("test.png"));
    let client = ctx.client();
    let session = ctx.approved_session(
        &client,
        json!({"modelCapabilities": {"supports": {"vision": true}}}),
    )?;
    should_vision(ctx, &session, true)?;
    call(
        &session,
        "session.model.switchTo",
        json!({"modelId": "claude-sonnet-4.5",
               "modelCapabilities": {"supports": {"vision": false}}}),
    )?;
    should_vision(ctx, &session, false)
}
