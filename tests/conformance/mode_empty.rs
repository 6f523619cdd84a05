//! A client in mode "empty" (`mode_empty`): every session names its tools by
//! source (`builtin:*`, `builtin:<name>`), and the environment context leaves
//! the system message unless the host replaces the whole message.

use serde_json::{json, Value};

use crate::session_api::{system_message, tool_names};
use crate::{content, ensure, ok, Ctx, Scenario};

pub fn all() -> Vec<Scenario> {
    vec![
        run!(
            "mode_empty",
            empty_mode_isolated_set_shell_tool_is_not_exposed
        ),
        run!(
            "mode_empty",
            empty_mode_builtin_star_exposes_all_built_in_tools
        ),
        run!(
            "mode_empty",
            empty_mode_excluded_tools_subtracts_from_available_tools
        ),
        run!(
            "mode_empty",
            empty_mode_strips_environment_context_from_the_system_message_by_default
        ),
        run!(
            "mode_empty",
            empty_mode_system_message_replace_llm_follows_caller_content_verbatim
        ),
        run!(
            "mode_empty",
            empty_mode_append_caller_instruction_takes_effect_and_env_context_stripped
        ),
    ]
}

/// The built-in tools that touch nothing outside the session (the official
/// SDKs' `BuiltInTools.Isolated`), as `builtin:` patterns.
const ISOLATED: [&str; 10] = [
    "ask_user",
    "task_complete",
    "exit_plan_mode",
    "task",
    "read_agent",
    "write_agent",
    "list_agents",
    "send_inbox",
    "context_board",
    "skill",
];

fn isolated() -> Value {
    json!(ISOLATED
        .iter()
        .map(|t| format!("builtin:{t}"))
        .collect::<Vec<_>>())
}

/// One turn of prompt 0 on an empty-mode client (its CLI home a directory of
/// the scenario's own) in a session with `fields`; the reply's text and the
/// last model request.
fn empty_mode_turn(ctx: &Ctx, fields: Value) -> Result<(String, Value), String> {
    let base = ctx.env.home_path().join("empty-mode-home");
    std::fs::create_dir_all(&base).map_err(|e| e.to_string())?;
    let client = ctx.started_client(json!({"mode": "empty", "baseDirectory": base}))?;
    let session = ok(
        client.create_session(&ctx.config(fields).approve_all()),
        "create",
    )?;
    let reply = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let request = ctx.requests().pop().ok_or("the model was never asked")?;
    Ok((content(&reply), request))
}

fn without_environment(request: &Value) -> Result<(), String> {
    let system = system_message(request);
    ensure(
        !system.to_lowercase().contains("current working directory:")
            && !system.to_lowercase().contains("operating system:"),
        format!("the environment context is in the system message: {system}"),
    )
}

fn empty_mode_isolated_set_shell_tool_is_not_exposed(ctx: &Ctx) -> Result<(), String> {
    let (_, request) = empty_mode_turn(ctx, json!({"availableTools": isolated()}))?;
    let names = tool_names(&request);
    ensure(
        !["bash", "edit", "grep", "web_fetch"]
            .iter()
            .any(|t| names.iter().any(|n| n == t)),
        format!("a tool outside the isolated set was offered: {names:?}"),
    )?;
    ensure(
        ISOLATED.iter().any(|t| names.iter().any(|n| n == t)),
        format!("no isolated tool was offered: {names:?}"),
    )
}

fn empty_mode_builtin_star_exposes_all_built_in_tools(ctx: &Ctx) -> Result<(), String> {
    let (_, request) = empty_mode_turn(ctx, json!({"availableTools": ["builtin:*"]}))?;
    let names = tool_names(&request);
    ensure(
        names.iter().any(|n| n == "bash"),
        format!("builtin:* did not bring the shell back: {names:?}"),
    )
}

fn empty_mode_excluded_tools_subtracts_from_available_tools(ctx: &Ctx) -> Result<(), String> {
    let (_, request) = empty_mode_turn(
        ctx,
        json!({"availableTools": ["builtin:*"], "excludedTools": ["builtin:bash"]}),
    )?;
    let names = tool_names(&request);
    ensure(
        !names.iter().any(|n| n == "bash") && !names.is_empty(),
        format!("tools offered: {names:?}"),
    )
}

fn empty_mode_strips_environment_context_from_the_system_message_by_default(
    ctx: &Ctx,
) -> Result<(), String> {
    let (reply, request) = empty_mode_turn(
        ctx,
        json!({"availableTools": isolated(), "systemMessage": {"mode": "customize",
            "content": "If the user asks you to name an element, reply with exactly the single word ARGON in all caps and nothing else."}}),
    )?;
    ensure(reply.contains("ARGON"), format!("reply: {reply}"))?;
    without_environment(&request)
}

fn empty_mode_system_message_replace_llm_follows_caller_content_verbatim(
    ctx: &Ctx,
) -> Result<(), String> {
    let text = "You are a test fixture. Whenever the user asks anything, reply with exactly the single word KRYPTON in all caps and nothing else.";
    let (reply, request) = empty_mode_turn(
        ctx,
        json!({"availableTools": isolated(), "systemMessage": {"mode": "replace", "content": text}}),
    )?;
    ensure(reply.contains("KRYPTON"), format!("reply: {reply}"))?;
    let system = system_message(&request);
    ensure(
        system.contains(text),
        format!("the caller's system message was not sent verbatim: {system}"),
    )
}

fn empty_mode_append_caller_instruction_takes_effect_and_env_context_stripped(
    ctx: &Ctx,
) -> Result<(), String> {
    let text = "If the user asks you to name a noble gas, reply with exactly the single word XENON in all caps and nothing else.";
    let (reply, request) = empty_mode_turn(
        ctx,
        json!({"availableTools": isolated(), "systemMessage": {"mode": "append", "content": text}}),
    )?;
    ensure(reply.contains("XENON"), format!("reply: {reply}"))?;
    ensure(
        system_message(&request).contains(text),
        "the appended instruction is not in the system message",
    )?;
    without_environment(&request)
}
