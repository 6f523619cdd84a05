//! Resuming a session that has work in flight (`pending_work_resume`): one CLI
//! runs as a TCP server; a first client starts a turn and vanishes (force
//! stop) while a tool call or permission request is pending; a second client
//! resumes the session with `continuePendingWork` and settles the pending
//! request through `session.tools.handlePendingToolCall` or
//! `session.permissions.handlePendingPermissionRequest`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::abi::{PendingPermission, PendingTool};
use crate::rpc_edges::wait_until;
use crate::{
    alias, content, ensure, ok, Client, Config, Ctx, Events, Scenario, Session, ToolOutcome,
};

pub fn all() -> Vec<Scenario> {
    vec![
        run!(
            "pending_work_resume",
            should_continue_pending_permission_request_after_resume
        ),
        run!(
            "pending_work_resume",
            should_continue_pending_external_tool_request_after_resume
        ),
        run!(
            "pending_work_resume",
            should_continue_parallel_pending_external_tool_requests_after_resume
        ),
        run!(
            "pending_work_resume",
            should_resume_successfully_when_no_pending_work_exists
        ),
        run!(
            "pending_work_resume",
            should_keep_pending_external_tool_handleable_on_warm_resume_when_continuependingwork_is_false
        ),
        run!(
            "pending_work_resume",
            should_keep_pending_external_tool_handleable_on_cold_resume_when_continuependingwork_is_false
        ),
        run!(
            "pending_work_resume",
            should_report_continuependingwork_true_in_resume_event
        ),
        run!(
            "session",
            resumes_a_persisted_session_from_a_new_client_when_an_mcp_oauth_handler_is_configured
        ),
        alias(
            "resume_mcp_oauth",
            "should_resume_a_persisted_session_with_mcp_auth_handler",
            resumes_a_persisted_session_from_a_new_client_when_an_mcp_oauth_handler_is_configured,
        ),
    ]
}

const TOKEN: &str = "pending-work-resume-shared-test-token";

fn string_param_tool(name: &str, description: &str) -> Value {
    json!({"name": name, "description": description, "parameters": {
        "type": "object", "properties": {"value": {"type": "string"}}, "required": ["value"]}})
}

/// Tool calls the first client received and never answered, by tool name.
#[derive(Clone, Default)]
struct Held(Arc<Mutex<Vec<(String, String, PendingTool)>>>);

impl Held {
    /// A config whose tool `name` records each call and leaves it pending.
    fn tool(&self, config: Config, name: &str, description: &str) -> Config {
        let held = self.clone();
        let tool = name.to_string();
        config.tool_deferred(
            string_param_tool(name, description),
            move |call, pending| {
                let value = call["arguments"]["value"].as_str().unwrap_or_default();
                held.0
                    .lock()
                    .unwrap()
                    .push((tool.clone(), value.to_string(), pending));
            },
        )
    }

    fn value_of(&self, tool: &str) -> Option<String> {
        let held = self.0.lock().unwrap();
        held.iter()
            .find(|(t, _, _)| t == tool)
            .map(|(_, v, _)| v.clone())
    }

    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Answers what the first client still holds; the CLI must ignore it.
    fn release(&self, result: &str) {
        for (_, _, pending) in self.0.lock().unwrap().drain(..) {
            pending.complete(&json!(result));
        }
    }
}

/// The `external_tool.requested` events for `tools`, once all have arrived.
fn tool_requests(events: &Events, tools: &[&str]) -> Result<Vec<Value>, String> {
    tools
        .iter()
        .map(|tool| {
            events.wait_for("external_tool.requested", Duration::from_secs(60), |e| {
                e["data"]["toolName"] == *tool
            })
        })
        .collect()
}

/// On `client`, a session whose tools (name, description, the value the model
/// passes) record their calls in `held` and leave them pending; prompt 0 sent
/// and every tool call arrived with its value. Returns the session (kept open:
/// it is what keeps the turn waiting) and the `external_tool.requested` events.
fn turn_waiting_on_tools(
    ctx: &Ctx,
    client: &Client,
    held: &Held,
    tools: &[(&str, &str, &str)],
) -> Result<(Session, Vec<Value>), String> {
    let events = Events::default();
    let mut config = ctx.config(json!({})).approve_all();
    for (name, description, _) in tools {
        config = held.tool(config, name, description);
    }
    let session = ok(client.create_session(&events.attach(config)), "create")?;
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    let names: Vec<&str> = tools.iter().map(|t| t.0).collect();
    let requested = tool_requests(&events, &names)?;
    wait_until("the tool calls", || held.count() == tools.len())?;
    for (name, _, value) in tools {
        ensure(
            held.value_of(name).as_deref() == Some(*value),
            format!("{name} got {:?}, not {value:?}", held.value_of(name)),
        )?;
    }
    Ok((session, requested))
}

fn request_id(event: &Value) -> Value {
    event["data"]["requestId"].clone()
}

fn handle_tool(session: &Session, request_id: &Value, result: &str) -> Result<Value, String> {
    ok(
        session.call(
            "session.tools.handlePendingToolCall",
            &json!({"requestId": request_id, "result": result}),
        ),
        "handlePendingToolCall",
    )
}

fn resume_with(client: &Client, id: &str, config: Config) -> Result<Session, String> {
    ok(client.resume_session(id, &config), "resume")
}

/// The `session.resume` event in the resumed session's history.
fn resume_event(session: &Session) -> Result<Value, String> {
    let history = ok(session.get_messages(), "get_messages")?;
    history
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["type"] == "session.resume")
        .cloned()
        .ok_or_else(|| "no session.resume event in the history".into())
}

fn should_continue_pending_permission_request_after_resume(ctx: &Ctx) -> Result<(), String> {
    let (_server, url) = ctx.tcp_server(TOKEN)?;
    let first = ctx.joining_client(&url, TOKEN, json!({}))?;
    let asked: Arc<Mutex<Vec<(Value, PendingPermission)>>> = Arc::default();
    let held = asked.clone();
    let events = Events::default();
    let config = ctx
        .config(json!({}))
        .tool(
            string_param_tool(
                "resume_permission_tool",
                "Transforms a value after permission is granted",
            ),
            |call| {
                ToolOutcome::Result(json!(format!(
                    "ORIGINAL_SHOULD_NOT_RUN_{}",
                    call["arguments"]["value"].as_str().unwrap_or_default()
                )))
            },
        )
        .permission_deferred(move |request, pending| {
            held.lock().unwrap().push((request.clone(), pending))
        });
    let session = ok(first.create_session(&events.attach(config)), "create")?;
    let id = session.id();
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    wait_until("the permission request", || {
        !asked.lock().unwrap().is_empty()
    })?;
    events.wait_for("permission.requested", Duration::from_secs(60), |_| true)?;
    let kind = asked.lock().unwrap()[0].0["permissionRequest"]["kind"].clone();
    ensure(kind == "custom-tool", format!("permission kind {kind}"))?;
    first.force_stop();

    let second = ctx.joining_client(&url, TOKEN, json!({}))?;
    let config = ctx
        .config(json!({"continuePendingWork": true}))
        .tool(
            string_param_tool(
                "resume_permission_tool",
                "Transforms a value after permission is granted",
            ),
            |call| {
                ToolOutcome::Result(json!(format!(
                    "PERMISSION_RESUMED_{}",
                    call["arguments"]["value"]
                        .as_str()
                        .unwrap_or_default()
                        .to_uppercase()
                )))
            },
        )
        // Leave any new request pending: it is answered by RPC below.
        .permission(|_| Some(json!({"kind": "no-result"})));
    let resumed = resume_with(&second, &id, config)?;
    let pending_id = std::cell::RefCell::new(Value::Null);
    wait_until("a pending permission request", || {
        let pending = resumed
            .call("session.permissions.pendingRequests", &json!({}))
            .unwrap_or_default();
        *pending_id.borrow_mut() = pending["items"][0]["requestId"].clone();
        pending_id.borrow().is_string()
    })?;
    let answer = ok(
        resumed.call(
            "session.permissions.handlePendingPermissionRequest",
            &json!({"requestId": pending_id.into_inner(), "result": {"kind": "approve-once"}}),
        ),
        "handlePendingPermissionRequest",
    )?;
    ensure(answer["success"] == true, format!("answer: {answer}"))?;
    ok(resumed.destroy(), "destroy")?;
    for (_, pending) in asked.lock().unwrap().drain(..) {
        pending.respond(&json!({"kind": "no-result"}));
    }
    Ok(())
}

const RESUME_TOOL: (&str, &str, &str) = (
    "resume_external_tool",
    "Looks up a value after resumption",
    "beta",
);

fn should_continue_pending_external_tool_request_after_resume(ctx: &Ctx) -> Result<(), String> {
    let (_server, url) = ctx.tcp_server(TOKEN)?;
    let first = ctx.joining_client(&url, TOKEN, json!({}))?;
    let held = Held::default();
    let (session, requested) = turn_waiting_on_tools(ctx, &first, &held, &[RESUME_TOOL])?;
    let id = session.id();
    first.force_stop();

    let second = ctx.joining_client(&url, TOKEN, json!({}))?;
    let resumed = resume_with(
        &second,
        &id,
        ctx.config(json!({"continuePendingWork": true}))
            .approve_all(),
    )?;
    let answer = handle_tool(
        &resumed,
        &request_id(&requested[0]),
        "EXTERNAL_RESUMED_BETA",
    )?;
    ensure(answer["success"] == true, format!("answer: {answer}"))?;
    ok(resumed.destroy(), "destroy")?;
    held.release("ORIGINAL_SHOULD_NOT_WIN");
    Ok(())
}

fn should_continue_parallel_pending_external_tool_requests_after_resume(
    ctx: &Ctx,
) -> Result<(), String> {
    let (_server, url) = ctx.tcp_server(TOKEN)?;
    let first = ctx.joining_client(&url, TOKEN, json!({}))?;
    let held = Held::default();
    let (session, requested) = turn_waiting_on_tools(
        ctx,
        &first,
        &held,
        &[
            (
                "pending_lookup_a",
                "Looks up the first value after resumption",
                "alpha",
            ),
            (
                "pending_lookup_b",
                "Looks up the second value after resumption",
                "beta",
            ),
        ],
    )?;
    let id = session.id();
    first.force_stop();

    let second = ctx.joining_client(&url, TOKEN, json!({}))?;
    let resumed = resume_with(
        &second,
        &id,
        ctx.config(json!({"continuePendingWork": true}))
            .approve_all(),
    )?;
    let b = handle_tool(&resumed, &request_id(&requested[1]), "PARALLEL_B_BETA")?;
    ensure(b["success"] == true, format!("answer for b: {b}"))?;
    let a = handle_tool(&resumed, &request_id(&requested[0]), "PARALLEL_A_ALPHA")?;
    ensure(a["success"] == true, format!("answer for a: {a}"))?;
    ok(resumed.destroy(), "destroy")?;
    held.release("ORIGINAL_SHOULD_NOT_WIN");
    Ok(())
}

/// A turn on a first client that then leaves; the session id.
fn finished_turn_then_leave(ctx: &Ctx, url: &str) -> Result<String, String> {
    let first = ctx.joining_client(url, TOKEN, json!({}))?;
    let session = ok(
        first.create_session(&ctx.config(json!({})).approve_all()),
        "create",
    )?;
    let expected = ctx.prompt(0).replace("Reply with exactly: ", "");
    let reply = ok(session.prompt(&ctx.prompt(0)), "first turn")?;
    ensure(
        content(&reply).contains(&expected),
        format!("reply: {reply}"),
    )?;
    let id = session.id();
    ok(session.destroy(), "destroy")?;
    first.force_stop();
    Ok(id)
}

fn follow_up(ctx: &Ctx, session: &Session, n: usize) -> Result<(), String> {
    let expected = ctx.prompt(n).replace("Reply with exactly: ", "");
    let reply = ok(session.prompt(&ctx.prompt(n)), "follow-up turn")?;
    ensure(
        content(&reply).contains(&expected),
        format!("reply: {reply}"),
    )
}

fn should_resume_successfully_when_no_pending_work_exists(ctx: &Ctx) -> Result<(), String> {
    let (_server, url) = ctx.tcp_server(TOKEN)?;
    let id = finished_turn_then_leave(ctx, &url)?;
    let second = ctx.joining_client(&url, TOKEN, json!({}))?;
    let resumed = resume_with(
        &second,
        &id,
        ctx.config(json!({"continuePendingWork": true}))
            .approve_all(),
    )?;
    follow_up(ctx, &resumed, 1)?;
    ok(resumed.destroy(), "destroy")
}

fn should_report_continuependingwork_true_in_resume_event(ctx: &Ctx) -> Result<(), String> {
    let (_server, url) = ctx.tcp_server(TOKEN)?;
    let id = finished_turn_then_leave(ctx, &url)?;
    let second = ctx.joining_client(&url, TOKEN, json!({}))?;
    let resumed = resume_with(
        &second,
        &id,
        ctx.config(json!({"continuePendingWork": true}))
            .approve_all(),
    )?;
    let resume = resume_event(&resumed)?;
    ensure(
        resume["data"]["continuePendingWork"] == true
            && resume["data"]["sessionWasActive"] == false,
        format!("resume event: {resume}"),
    )?;
    follow_up(ctx, &resumed, 1)?;
    ok(resumed.destroy(), "destroy")
}

/// Resume without `continuePendingWork` while a tool call is pending. Warm: the
/// first client is still connected, so the session was active and the call can
/// still be answered. Cold: it left, and the CLI completed the orphaned call
/// itself (interrupted), so answering it reports no success; the session still
/// takes new turns. The tool's handler runs once either way.
fn pending_tool_without_continuing(ctx: &Ctx, cold: bool) -> Result<(), String> {
    let (server, url) = ctx.tcp_server(TOKEN)?;
    let first = ctx.joining_client(&url, TOKEN, json!({}))?;
    let held = Held::default();
    let (session, requested) = turn_waiting_on_tools(ctx, &first, &held, &[RESUME_TOOL])?;
    let id = session.id();
    if cold {
        // The server settles the orphaned call when it sees the client go, which
        // touches the session: wait for that, as it is what a cold resume finds.
        let modified = || {
            server
                .call("session.getMetadata", &json!({"sessionId": id}))
                .map(|m| m["session"]["modifiedTime"].clone())
                .unwrap_or_default()
        };
        let before = modified();
        first.force_stop();
        wait_until("the server to notice the client left", || {
            modified() != before
        })?;
    }

    let second = ctx.joining_client(&url, TOKEN, json!({}))?;
    let mut config = ctx
        .config(json!({"continuePendingWork": false}))
        .approve_all();
    let rerun = Arc::new(Mutex::new(0));
    if cold {
        // The first client's registration is gone; this one must not be called.
        let rerun = rerun.clone();
        config = config.tool(
            string_param_tool("resume_external_tool", "Looks up a value after resumption"),
            move |_| {
                *rerun.lock().unwrap() += 1;
                ToolOutcome::Fail("Resumed-session handler should not be invoked".into())
            },
        );
    }
    let resumed = resume_with(&second, &id, config)?;
    let resume = resume_event(&resumed)?;
    ensure(
        resume["data"]["continuePendingWork"] == false
            && resume["data"]["sessionWasActive"] == !cold,
        format!("resume event: {resume}"),
    )?;
    let answer = handle_tool(
        &resumed,
        &request_id(&requested[0]),
        "EXTERNAL_RESUMED_BETA",
    )?;
    ensure(
        answer["success"] == !cold,
        format!("handlePendingToolCall: {answer}"),
    )?;
    if cold {
        follow_up(ctx, &resumed, 1)?;
    }
    ensure(
        held.count() == 1 && *rerun.lock().unwrap() == 0,
        "the tool handler ran again after resume",
    )?;
    ok(resumed.destroy(), "destroy")?;
    held.release("ORIGINAL_SHOULD_NOT_WIN");
    Ok(())
}

fn should_keep_pending_external_tool_handleable_on_warm_resume_when_continuependingwork_is_false(
    ctx: &Ctx,
) -> Result<(), String> {
    pending_tool_without_continuing(ctx, false)
}

fn should_keep_pending_external_tool_handleable_on_cold_resume_when_continuependingwork_is_false(
    ctx: &Ctx,
) -> Result<(), String> {
    pending_tool_without_continuing(ctx, true)
}

/// A session with an MCP OAuth handler (which registers interest in
/// `mcp.oauth_required` after create and resume) resumes from a new client.
/// No server here asks for OAuth: the handler would cancel.
fn resumes_a_persisted_session_from_a_new_client_when_an_mcp_oauth_handler_is_configured(
    ctx: &Ctx,
) -> Result<(), String> {
    let asked = Arc::new(Mutex::new(0));
    let with_handler = |config: Config| {
        let asked = asked.clone();
        config.approve_all().handler("mcpAuth", move |_| {
            *asked.lock().unwrap() += 1;
            Some(json!({"kind": "cancelled"}))
        })
    };
    let first_client = ctx.client();
    let first = ok(
        first_client.create_session(&with_handler(ctx.config(json!({})))),
        "create",
    )?;
    let id = first.id();
    let reply = ok(first.prompt(&ctx.prompt(0)), "turn")?;
    ensure(content(&reply).contains('2'), format!("reply: {reply}"))?;
    let second_client = ctx.client();
    let resumed = resume_with(&second_client, &id, with_handler(ctx.config(json!({}))))?;
    ensure(
        resumed.id() == id,
        format!("resumed {} as {}", id, resumed.id()),
    )?;
    let asked = *asked.lock().unwrap();
    ensure(
        asked == 0,
        "the MCP OAuth handler was asked without an MCP server",
    )
}
