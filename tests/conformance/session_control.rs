//! Suspending sessions, per-session authentication, several BYOK providers in one
//! session, and the session shell and fleet RPCs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::abi::{PendingPermission, PendingTool};
use crate::rpc_edges::{exec, kill, wait_until};
use crate::rpc_state::{call, open, open_with, unique};
use crate::{content, ensure, ok, Config, Ctx, Events, Scenario, Session, ToolOutcome};

pub fn all() -> Vec<Scenario> {
    vec![
        run!("suspend", should_suspend_idle_session_without_throwing),
        run!(
            "suspend",
            should_allow_resume_and_continue_conversation_after_suspend
        ),
        run!(
            "suspend",
            should_cancel_pending_permission_request_when_suspending
        ),
        run!(
            "suspend",
            should_reject_pending_external_tool_when_suspending
        ),
        run!(
            "per-session-auth",
            session_uses_client_token_when_no_session_token_is_supplied
        ),
        run!(
            "per-session-auth",
            session_auth_status_is_unauthenticated_without_token
        ),
        run!("per-session-auth", session_token_overrides_client_token),
        run!("per-session-auth", session_fails_with_invalid_token),
        run!(
            "multi_provider_registry",
            should_register_multiple_providers_with_custom_agents_bound_to_their_models
        ),
        run!(
            "multi_provider_registry",
            should_route_alpha_sonnet_turn_to_its_provider_and_wire_model
        ),
        run!(
            "multi_provider_registry",
            should_route_alpha_haiku_turn_to_its_provider_and_wire_model
        ),
        run!(
            "multi_provider_registry",
            should_route_delta_turbo_turn_to_its_provider_and_wire_model
        ),
        run!("rpc_shell_and_fleet", should_execute_shell_command),
        run!("rpc_shell_and_fleet", should_kill_shell_process),
        run!(
            "rpc_shell_and_fleet",
            should_start_fleet_and_complete_custom_tool_task
        ),
        run!(
            "rpc_shell_user_requested",
            should_execute_user_requested_shell_command
        ),
        run!(
            "rpc_shell_user_requested",
            should_cancel_user_requested_shell_command
        ),
        run!(
            "session_config",
            should_apply_github_mcp_tool_config_on_create
        ),
    ]
}

const WAIT: Duration = Duration::from_secs(60);

/// `session.suspend`, which answers `{}` once the session is suspended.
fn suspend(session: &Session) -> Result<(), String> {
    call(session, "session.suspend", json!({})).map(|_| ())
}

/// The text after "Reply with: " in a prompt: what the model answers.
fn reply_marker(prompt: &str) -> String {
    prompt
        .rsplit_once("Reply with: ")
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_default()
}

fn should_suspend_idle_session_without_throwing(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let prompt = ctx.prompt(0);
    let reply = ok(session.prompt(&prompt), "send")?;
    ensure(
        content(&reply).contains(&reply_marker(&prompt)),
        format!("reply: {reply}"),
    )?;
    suspend(&session)?;
    ok(session.destroy(), "destroy")
}

const SUSPEND_TOKEN: &str = "suspend-shared-test-token";

fn should_allow_resume_and_continue_conversation_after_suspend(ctx: &Ctx) -> Result<(), String> {
    let (_server, url) = ctx.tcp_server(SUSPEND_TOKEN)?;
    let id = {
        let first = ctx.joining_client(&url, SUSPEND_TOKEN, json!({}))?;
        let session = ok(
            first.create_session(&ctx.config(json!({})).approve_all()),
            "create",
        )?;
        let prompt = ctx.prompt(0);
        let reply = ok(session.prompt(&prompt), "first turn")?;
        ensure(
            content(&reply).contains(&reply_marker(&prompt)),
            format!("first reply: {reply}"),
        )?;
        suspend(&session)?;
        let id = session.id();
        ok(session.destroy(), "destroy")?;
        ok(first.stop(), "stop first client")?;
        id
    };
    let second = ctx.joining_client(&url, SUSPEND_TOKEN, json!({}))?;
    let resumed = ok(
        second.resume_session(&id, &ctx.config(json!({})).approve_all()),
        "resume",
    )?;
    let reply = ok(resumed.prompt(&ctx.prompt(1)), "follow-up turn")?;
    ensure(
        content(&reply).to_uppercase().contains("SUSPENSE"),
        format!("follow-up reply: {reply}"),
    )?;
    ok(resumed.destroy(), "destroy resumed")
}

fn value_tool(name: &str, description: &str) -> Value {
    json!({"name": name, "description": description, "parameters": {
        "type": "object",
        "properties": {"value": {"type": "string", "description": "The value"}},
        "required": ["value"]}})
}

fn should_cancel_pending_permission_request_when_suspending(ctx: &Ctx) -> Result<(), String> {
    let asked: Arc<Mutex<Vec<(Value, PendingPermission)>>> = Arc::default();
    let invoked = Arc::new(Mutex::new(false));
    let (held, ran) = (asked.clone(), invoked.clone());
    let config = ctx
        .config(json!({}))
        .tool(
            value_tool(
                "suspend_cancel_permission_tool",
                "Transforms a value (should not run when suspend cancels permission)",
            ),
            move |call| {
                *ran.lock().unwrap() = true;
                ToolOutcome::Result(json!(format!(
                    "SHOULD_NOT_RUN_{}",
                    call["arguments"]["value"].as_str().unwrap_or_default()
                )))
            },
        )
        .permission_deferred(move |request, pending| {
            held.lock().unwrap().push((request.clone(), pending))
        });
    let client = ctx.client();
    let session = ok(client.create_session(&config), "create")?;
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    let outcome = (|| {
        wait_until("the permission request", || {
            !asked.lock().unwrap().is_empty()
        })?;
        let request = asked.lock().unwrap()[0].0["permissionRequest"].clone();
        ensure(
            request["kind"] == "custom-tool"
                && request["toolName"] == "suspend_cancel_permission_tool",
            format!("permission request: {request}"),
        )?;
        suspend(&session)?;
        ensure(
            !*invoked.lock().unwrap(),
            "the tool ran although suspend cancelled its permission request",
        )
    })();
    for (_, pending) in asked.lock().unwrap().drain(..) {
        pending.respond(&json!({"kind": "user-not-available"}));
    }
    outcome?;
    ok(session.destroy(), "destroy")
}

fn should_reject_pending_external_tool_when_suspending(ctx: &Ctx) -> Result<(), String> {
    let held: Arc<Mutex<Vec<(String, PendingTool)>>> = Arc::default();
    let keep = held.clone();
    let events = Events::default();
    let config = ctx.config(json!({})).approve_all().tool_deferred(
        value_tool(
            "suspend_reject_external_tool",
            "Looks up a value externally",
        ),
        move |call, pending| {
            let value = call["arguments"]["value"].as_str().unwrap_or_default();
            keep.lock().unwrap().push((value.to_string(), pending));
        },
    );
    let client = ctx.client();
    let session = ok(client.create_session(&events.attach(config)), "create")?;
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    let outcome = (|| {
        events.wait_for("external_tool.requested", WAIT, |e| {
            e["data"]["toolName"] == "suspend_reject_external_tool"
        })?;
        wait_until("the tool call", || !held.lock().unwrap().is_empty())?;
        let value = held.lock().unwrap()[0].0.clone();
        ensure(value == "sigma", format!("the tool got {value:?}"))?;
        suspend(&session)
    })();
    for (_, pending) in held.lock().unwrap().drain(..) {
        pending.complete(&json!("RELEASED_AFTER_SUSPEND"));
    }
    outcome?;
    ok(session.destroy(), "destroy")
}

/// Session fields without any GitHub token or provider: the session's identity
/// is whatever its client has.
fn tokenless_fields(ctx: &Ctx) -> Value {
    let mut fields = ctx.env.session_fields(json!({}));
    if let Some(f) = fields.as_object_mut() {
        f.remove("provider");
        f.remove("gitHubToken");
    }
    fields
}

fn auth_status(session: &Session) -> Result<Value, String> {
    call(session, "session.gitHubAuth.getStatus", json!({}))
}

fn session_uses_client_token_when_no_session_token_is_supplied(ctx: &Ctx) -> Result<(), String> {
    let client = client_with_github_users(
        ctx,
        &[("alice-token", "alice")],
        json!({"githubToken": "alice-token"}),
    )?;
    let config = ok(Config::new(&tokenless_fields(ctx)), "config")?.approve_all();
    let session = ok(client.create_session(&config), "create")?;
    let status = auth_status(&session)?;
    ensure(
        status["isAuthenticated"] == true && status["login"] == "alice",
        format!("auth status: {status}"),
    )?;
    ok(session.destroy(), "destroy")?;
    ok(client.stop(), "stop")
}

fn session_token_overrides_client_token(ctx: &Ctx) -> Result<(), String> {
    let client = client_with_github_users(
        ctx,
        &[("alice-token", "alice"), ("bob-token", "bob")],
        json!({"githubToken": "alice-token"}),
    )?;
    let session = ok(
        client.create_session(
            &ctx.config(json!({"gitHubToken": "bob-token"}))
                .approve_all(),
        ),
        "create",
    )?;
    let status = auth_status(&session)?;
    ensure(
        status["isAuthenticated"] == true && status["login"] == "bob",
        format!("auth status: {status}"),
    )?;
    ok(session.destroy(), "destroy")?;
    ok(client.stop(), "stop")
}

fn session_fails_with_invalid_token(ctx: &Ctx) -> Result<(), String> {
    let client = client_with_github_users(ctx, &[("valid-token", "valid-user")], json!({}))?;
    let created = client.create_session(
        &ctx.config(json!({"gitHubToken": "invalid-token"}))
            .approve_all(),
    );
    let error = match created {
        Ok(_) => return Err("a session with an invalid token was created".into()),
        Err(e) => e.to_string(),
    };
    ensure(
        error.contains("401") || error.contains("Unauthorized"),
        format!("expected an unauthorized error, got: {error}"),
    )?;
    ok(client.stop(), "stop")
}

fn session_auth_status_is_unauthenticated_without_token(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({"useLoggedInUser": false}))?;
    let config = ok(Config::new(&tokenless_fields(ctx)), "config")?.approve_all();
    let session = ok(client.create_session(&config), "create")?;
    let status = auth_status(&session)?;
    ensure(
        status["isAuthenticated"] == false && status["login"].is_null(),
        format!("auth status: {status}"),
    )?;
    ok(session.destroy(), "destroy")?;
    ok(client.stop(), "stop")
}

fn named_provider(name: &str, kind: &str, base_url: &str, key: (&str, &str)) -> Value {
    let mut p = json!({
        "name": name,
        "type": kind,
        "baseUrl": base_url,
        "headers": {"X-Provider": name},
    });
    if kind == "openai" {
        p["wireApi"] = json!("completions");
    }
    p[key.0] = json!(key.1);
    p
}

fn should_register_multiple_providers_with_custom_agents_bound_to_their_models(
    ctx: &Ctx,
) -> Result<(), String> {
    let agent = |name: &str, display: &str, description: &str, prompt: &str, model: &str| {
        json!({"name": name, "displayName": display, "description": description,
               "prompt": prompt, "model": model})
    };
    let (_c, session, _) = open(
        ctx,
        json!({
            "providers": [
                named_provider("alpha", "openai", "https://alpha.example.test/v1", ("apiKey", "alpha-secret")),
                named_provider("beta", "anthropic", "https://beta.example.test", ("bearerToken", "beta-bearer")),
            ],
            "models": [
                {"id": "sonnet", "provider": "alpha", "wireModel": "byok-gpt-4o", "maxPromptTokens": 111111},
                {"id": "haiku", "provider": "alpha", "wireModel": "byok-gpt-4o-mini"},
                {"id": "opus", "provider": "beta", "wireModel": "byok-claude-3-opus"},
                {"id": "haiku", "provider": "beta", "wireModel": "byok-claude-3-haiku"},
            ],
            "customAgents": [
                agent("orchestrator", "Orchestrator", "Top-level planner.", "Plan and delegate.", "alpha/sonnet"),
                agent("researcher", "Researcher", "Deep research subagent.", "Research thoroughly.", "beta/opus"),
                agent("fast-helper", "Fast Helper", "Quick subagent.", "Answer quickly.", "alpha/haiku"),
                agent("summarizer", "Summarizer", "Summarizing subagent.", "Summarize.", "beta/haiku"),
            ],
        }),
    )?;
    let list = call(&session, "session.agent.list", json!({}))?;
    let agents = list["agents"].as_array().cloned().unwrap_or_default();
    ensure(agents.len() == 4, format!("agents: {list}"))?;
    for (name, model) in [
        ("orchestrator", "alpha/sonnet"),
        ("researcher", "beta/opus"),
        ("fast-helper", "alpha/haiku"),
        ("summarizer", "beta/haiku"),
    ] {
        let bound = agents
            .iter()
            .find(|a| a["name"] == name)
            .map(|a| a["model"].clone());
        ensure(
            bound == Some(json!(model)),
            format!("agent {name} bound to {bound:?}, not {model}: {list}"),
        )?;
    }
    ok(session.destroy(), "destroy")
}

/// A turn with the registry's model `selection` goes to its provider (told
/// apart by its `X-Provider` header, with its key as authorization) and names
/// the model's wire model.
fn routes_turn(ctx: &Ctx, selection: &str, wire_model: &str, provider: &str) -> Result<(), String> {
    let base = ctx.env.replay.base_url();
    let (_c, session, _) = open(
        ctx,
        json!({
            "model": selection,
            "providers": [
                named_provider("alpha", "openai", &base, ("apiKey", "alpha-secret")),
                named_provider("delta", "openai", &base, ("apiKey", "delta-secret")),
            ],
            "models": [
                {"id": "sonnet", "provider": "alpha", "wireModel": "byok-gpt-4o"},
                {"id": "haiku", "provider": "alpha", "wireModel": "byok-gpt-4o-mini"},
                {"id": "turbo", "provider": "delta", "wireModel": "byok-gpt-4-turbo"},
            ],
        }),
    )?;
    let reply = ok(session.prompt(&ctx.prompt(0)), "send")?;
    ensure(content(&reply).contains("10"), format!("reply: {reply}"))?;
    let requests = ctx.requests();
    ensure(
        requests.len() == 1,
        format!("{} model requests, expected 1", requests.len()),
    )?;
    ensure(
        requests[0]["model"] == wire_model,
        format!("wire model {}, expected {wire_model}", requests[0]["model"]),
    )?;
    let headers = ctx.env.replay.request_headers();
    let sent = headers.first().cloned().unwrap_or_default();
    ensure(
        sent.get("x-provider") == Some(&json!(provider)),
        format!(
            "x-provider {:?}, expected {provider}",
            sent.get("x-provider")
        ),
    )?;
    ensure(
        sent.contains_key("authorization"),
        "no authorization header on the model request",
    )?;
    let _ = session.destroy();
    Ok(())
}

fn should_route_alpha_sonnet_turn_to_its_provider_and_wire_model(ctx: &Ctx) -> Result<(), String> {
    routes_turn(ctx, "alpha/sonnet", "byok-gpt-4o", "alpha")
}

fn should_route_alpha_haiku_turn_to_its_provider_and_wire_model(ctx: &Ctx) -> Result<(), String> {
    routes_turn(ctx, "alpha/haiku", "byok-gpt-4o-mini", "alpha")
}

fn should_route_delta_turbo_turn_to_its_provider_and_wire_model(ctx: &Ctx) -> Result<(), String> {
    routes_turn(ctx, "delta/turbo", "byok-gpt-4-turbo", "delta")
}

fn should_execute_shell_command(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let marker = ctx
        .env
        .home_path()
        .join(format!("{}.txt", unique("shell-rpc")));
    let text = "copilot-sdk-shell-rpc";
    let command = format!("sh -c \"printf '%s' '{text}' > '{}'\"", marker.display());
    exec(&session, &command, ctx.env.home_path(), None)?;
    wait_until("the shell command's file", || {
        std::fs::read_to_string(&marker).is_ok_and(|c| c.contains(text))
    })?;
    ok(session.destroy(), "destroy")
}

fn should_kill_shell_process(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let process = exec(&session, "sleep 30", &std::env::temp_dir(), None)?;
    ensure(
        kill(&session, &process, None)?,
        "kill answered killed=false",
    )?;
    ok(session.destroy(), "destroy")
}

fn should_start_fleet_and_complete_custom_tool_task(ctx: &Ctx) -> Result<(), String> {
    let tool = "record_fleet_completion";
    let text = "copilot-sdk-fleet-rpc";
    let marker = ctx
        .env
        .home_path()
        .join(format!("{}.txt", unique("fleet-rpc")));
    let path = marker.clone();
    let config = ctx.config(json!({})).tool(
        json!({"name": tool, "description": "Records completion of the fleet validation task.",
               "parameters": {"type": "object", "properties": {"content": {"type": "string"}},
                              "required": ["content"]}}),
        move |call| {
            let written = call["arguments"]["content"].as_str().unwrap_or_default();
            match std::fs::write(&path, written) {
                Ok(()) => ToolOutcome::Result(json!(written)),
                Err(e) => ToolOutcome::Fail(e.to_string()),
            }
        },
    );
    let (_c, session, _) = open_with(ctx, config)?;
    // The host's request, as the CLI wrapped it in its fleet instructions.
    let wrapped = ctx.prompt(0);
    let prompt = wrapped
        .rsplit_once("User request: ")
        .map(|(_, r)| r.trim().to_string())
        .ok_or("the snapshot's prompt has no user request")?;
    let started = call(&session, "session.fleet.start", json!({"prompt": prompt}))?;
    ensure(
        started["started"] == true,
        format!("fleet.start: {started}"),
    )?;
    wait_until("the fleet tool's file", || {
        std::fs::read_to_string(&marker).is_ok_and(|c| c.contains(text))
    })?;
    // Fleet tasks end without session.idle: poll the history for the report.
    let history = std::cell::RefCell::new(Vec::new());
    let reported = |h: &Vec<Value>| {
        h.iter().any(|e| {
            e["type"] == "assistant.message" && content(e).to_lowercase().contains("fleet task")
        })
    };
    wait_until("the fleet task's report", || {
        let h = session
            .get_messages()
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        let done = reported(&h);
        *history.borrow_mut() = h;
        done
    })?;
    let history = history.into_inner();
    let of = |t: &'static str| history.iter().filter(move |e| e["type"] == t);
    ensure(
        of("user.message").any(|e| content(e).contains(&prompt)),
        "no user message carries the fleet prompt",
    )?;
    ensure(
        of("tool.execution_start").any(|e| e["data"]["toolName"] == tool),
        format!("no tool.execution_start of {tool}"),
    )?;
    ensure(
        of("tool.execution_complete").any(|e| {
            e["data"]["success"] == true
                && e["data"]["result"]["content"]
                    .as_str()
                    .is_some_and(|c| c.contains(text))
        }),
        "no successful tool.execution_complete with the marker",
    )?;
    ok(session.destroy(), "destroy")
}

fn should_execute_user_requested_shell_command(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let marker = unique("copilotusershell").replace('-', "");
    let result = call(
        &session,
        "session.shell.executeUserRequested",
        json!({"requestId": unique("req"), "command": format!("echo {marker}")}),
    )?;
    ensure(
        result["success"] == true && result["exitCode"] == 0,
        format!("executeUserRequested: {result}"),
    )?;
    ensure(
        result["output"]
            .as_str()
            .is_some_and(|o| o.contains(&marker)),
        format!("output lacks {marker}: {result}"),
    )?;
    ensure(
        result["toolCallId"]
            .as_str()
            .is_some_and(|t| !t.trim().is_empty()),
        format!("no toolCallId: {result}"),
    )?;
    ok(session.destroy(), "destroy")
}

fn should_cancel_user_requested_shell_command(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let session = Arc::new(session);
    let missing = call(
        &*session,
        "session.shell.cancelUserRequested",
        json!({"requestId": unique("missing")}),
    )?;
    ensure(
        missing["cancelled"] == false,
        format!("cancelling an unknown request: {missing}"),
    )?;
    let request_id = unique("req");
    let dir = ok(tempfile::tempdir(), "tempdir")?;
    let marker = dir.path().join("marker.txt");
    let command = format!("echo running > '{}'; sleep 60", marker.display());
    let (tx, rx) = std::sync::mpsc::channel();
    let runner = session.clone();
    let id = request_id.clone();
    std::thread::spawn(move || {
        let r = runner.call(
            "session.shell.executeUserRequested",
            &json!({"requestId": id, "command": command}),
        );
        let _ = tx.send(r.map_err(|e| e.to_string()));
    });
    wait_until("the command's marker", || {
        std::fs::read_to_string(&marker).is_ok_and(|c| c.contains("running"))
    })?;
    wait_until("the command's cancellation", || {
        session
            .call(
                "session.shell.cancelUserRequested",
                &json!({"requestId": request_id}),
            )
            .is_ok_and(|v| v["cancelled"] == true)
    })?;
    let result = rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| "the cancelled command did not finish within 30 s".to_string())?;
    let result = result.map_err(|e| format!("executeUserRequested: {e}"))?;
    ensure(
        result["success"] == false,
        format!("a cancelled command succeeded: {result}"),
    )?;
    ok(session.destroy(), "destroy")
}

/// A client whose CLI signs in through copilot-replay with per-token users:
/// `users` maps tokens to logins, and any other token is refused (401).
/// `extra` adds client options.
fn client_with_github_users(
    ctx: &Ctx,
    users: &'static [(&'static str, &'static str)],
    extra: Value,
) -> Result<crate::Client, String> {
    ctx.env.replay.set_copilot_users_by_token(
        users
            .iter()
            .map(|(token, login)| {
                let mut user = Map::new();
                user.insert("login".into(), json!(login));
                (token.to_string(), user)
            })
            .collect(),
    );
    ctx.started_client(extra)
}

fn should_apply_github_mcp_tool_config_on_create(ctx: &Ctx) -> Result<(), String> {
    // The GitHub MCP server is pointed at copilot-replay, which records the
    // requests it does not serve.
    let mut env = ctx.env.child_env();
    env["GITHUB_MCP_URL_OVERRIDE"] = json!(format!("{}/mcp", ctx.env.replay.url()));
    let client = ctx.started_client(json!({"env": env}))?;
    let config = ctx
        .config(json!({
            "enableConfigDiscovery": true,
            "enableMcpApps": true,
            "githubMcpToolConfig": {
                "enableAllTools": true,
                "additionalToolsets": ["actions"],
                "additionalTools": ["get_me"],
                "enableInsidersMode": true,
                "disableFormDeferral": true,
            },
        }))
        .approve_all();
    let session = ok(client.create_session(&config), "create")?;
    call(&session, "session.mcp.list", json!({}))?;
    let mcp_posts = || -> Vec<copilot_replay::UnservedRequest> {
        ctx.env
            .replay
            .unserved_requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.starts_with("/mcp"))
            .collect()
    };
    let found = wait_until("a request to the GitHub MCP server", || {
        mcp_posts().iter().any(|r| r.path == "/mcp")
    });
    let seen: Vec<String> = mcp_posts().iter().map(|r| r.path.clone()).collect();
    found.map_err(|e| format!("{e}; saw {seen:?}"))?;
    let headers = mcp_posts()
        .into_iter()
        .find(|r| r.path == "/mcp")
        .map(|r| r.headers)
        .unwrap_or_default();
    ensure(
        headers.get("x-mcp-toolsets") == Some(&json!("all"))
            && headers.get("x-mcp-insiders") == Some(&json!("true")),
        format!("GitHub MCP request headers: {headers:?}"),
    )?;
    ensure(
        !seen.iter().any(|p| p == "/mcp/readonly"),
        format!("the read-only endpoint was used: {seen:?}"),
    )?;
    ok(session.destroy(), "destroy")
}
