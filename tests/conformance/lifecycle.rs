//! Scenarios of session lifecycle (events, list, delete, metadata, resume),
//! streaming, slash commands, elicitation capability and abort.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

use crate::rpc_state::listed;
use crate::scenarios::string_tool;
use crate::{content, ensure, ok, Ctx, Events, Scenario};

pub fn all() -> Vec<Scenario> {
    vec![
        run!("session", should_receive_session_events),
        run!(
            "session",
            sendandwait_blocks_until_session_idle_and_returns_final_assistant_message
        ),
        run!("session", should_send_with_mode_property),
        run!(
            "session",
            should_create_a_session_with_appended_systemmessage_config
        ),
        run!("session", should_get_last_session_id),
        run!("session", should_list_sessions),
        run!("session", should_delete_session),
        run!("session", should_get_session_metadata),
        run!("session", should_get_session_metadata_by_id),
        run!("session", should_resume_a_session_using_the_same_client),
        run!("session", should_resume_a_session_using_a_new_client),
        run!(
            "permissions",
            should_work_with_approve_all_permission_handler
        ),
        run!(
            "streaming_fidelity",
            should_not_produce_deltas_when_streaming_is_disabled
        ),
        run!(
            "streaming_fidelity",
            should_emit_assistantmessagestart_before_deltas_with_matching_messageid
        ),
        run!(
            "streaming_fidelity",
            should_produce_deltas_after_session_resume
        ),
        run!(
            "streaming_fidelity",
            should_not_produce_deltas_after_session_resume_with_streaming_disabled
        ),
        run!("commands", session_with_commands_creates_successfully),
        run!("commands", session_with_no_commands_creates_successfully),
        run!("commands", session_with_commands_resumes_successfully),
        run!(
            "elicitation",
            sends_requestelicitation_when_handler_provided
        ),
        run!(
            "elicitation",
            session_without_elicitationhandler_creates_successfully
        ),
        run!("abort", should_abort_during_active_tool_execution),
    ]
}

/// Sends prompt `n` of the snapshot and waits for the turn; returns the answer text.
fn turn(ctx: &Ctx, session: &crate::Session, n: usize) -> Result<String, String> {
    let answer = ok(session.prompt(&ctx.prompt(n)), &format!("turn {n}"))?;
    Ok(content(&answer))
}

fn should_receive_session_events(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let events = Events::default();
    let session = ok(
        client.create_session(&events.attach(ctx.config(json!({})))),
        "create",
    )?;
    let text = turn(ctx, &session, 0)?;
    ensure(text.contains("300"), format!("answer: {text}"))?;
    let types = events.types();
    let pos = |t: &str| types.iter().position(|x| x == t);
    ensure(
        pos("user.message").is_some(),
        format!("user.message in {types:?}"),
    )?;
    ensure(
        pos("assistant.message") < pos("session.idle"),
        format!("order: {types:?}"),
    )?;
    ensure(
        pos("user.message") < pos("assistant.message"),
        format!("order: {types:?}"),
    )
}

fn sendandwait_blocks_until_session_idle_and_returns_final_assistant_message(
    ctx: &Ctx,
) -> Result<(), String> {
    let client = ctx.client();
    let events = Events::default();
    let session = ok(
        client.create_session(&events.attach(ctx.config(json!({})))),
        "create",
    )?;
    let answer = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(
        answer["type"] == "assistant.message",
        format!("returned {answer}"),
    )?;
    ensure(
        content(&answer).contains('4'),
        format!("answer: {}", content(&answer)),
    )?;
    // When send_and_wait returns, the idle event has already been delivered.
    ensure(
        !events.of_type("session.idle").is_empty(),
        "session.idle delivered before return",
    )
}

fn should_send_with_mode_property(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ok(client.create_session(&ctx.config(json!({}))), "create")?;
    let answer = ok(
        session.send_and_wait(
            &json!({"prompt": ctx.prompt(0), "mode": "immediate"}),
            Duration::from_secs(90),
        ),
        "send_and_wait",
    )?;
    ensure(
        content(&answer).to_lowercase().contains("mode ok"),
        format!("answer: {}", content(&answer)),
    )
}

fn should_create_a_session_with_appended_systemmessage_config(ctx: &Ctx) -> Result<(), String> {
    let appended = "End each response with the phrase 'Have a nice day!'";
    let client = ctx.client();
    let cfg = ctx.config(json!({"systemMessage": {"mode": "append", "content": appended}}));
    let session = ok(client.create_session(&cfg), "create")?;
    let text = turn(ctx, &session, 0)?;
    ensure(text.contains("GitHub"), format!("answer: {text}"))?;
    let system = ctx.requests()[0]["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    ensure(
        system.contains(appended),
        "the system message sent to the model carries the appended text",
    )
}

fn session_with_turn(ctx: &Ctx, client: &crate::Client) -> Result<crate::Session, String> {
    let session = ok(client.create_session(&ctx.config(json!({}))), "create")?;
    turn(ctx, &session, 0)?;
    Ok(session)
}

fn should_get_last_session_id(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = session_with_turn(ctx, &client)?;
    let last = ok(
        client.call("session.getLastId", &json!({})),
        "session.getLastId",
    )?;
    ensure(
        last["sessionId"] == session.id(),
        format!("last id {last}, session {}", session.id()),
    )
}

fn should_list_sessions(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let first = session_with_turn(ctx, &client)?;
    let second = ok(client.create_session(&ctx.config(json!({}))), "create")?;
    turn(ctx, &second, 1)?;
    let ids = listed(&client)?;
    ensure(
        ids.contains(&first.id()) && ids.contains(&second.id()),
        format!("listed {ids:?}"),
    )
}

fn should_delete_session(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = session_with_turn(ctx, &client)?;
    let id = session.id();
    ensure(listed(&client)?.contains(&id), "listed before delete")?;
    ok(session.destroy(), "destroy")?;
    let r = ok(
        client.call("session.delete", &json!({"sessionId": id})),
        "session.delete",
    )?;
    ensure(r["success"] != false, format!("delete result {r}"))?;
    ensure(!listed(&client)?.contains(&id), "not listed after delete")?;
    // Resuming a deleted session fails with an error, not a hang.
    ensure(
        client.resume_session(&id, &ctx.config(json!({}))).is_err(),
        "resume after delete fails",
    )
}

fn metadata_check(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = session_with_turn(ctx, &client)?;
    let meta = ok(
        client.call("session.getMetadata", &json!({"sessionId": session.id()})),
        "session.getMetadata",
    )?;
    ensure(
        meta["session"]["sessionId"] == session.id(),
        format!("metadata {meta}"),
    )?;
    ensure(
        meta["session"]["startTime"].is_string(),
        format!("metadata {meta}"),
    )?;
    let missing = ok(
        client.call(
            "session.getMetadata",
            &json!({"sessionId": "00000000-0000-0000-0000-000000000000"}),
        ),
        "getMetadata of an unknown id",
    )?;
    ensure(
        missing["session"].is_null(),
        format!("unknown id gives no session: {missing}"),
    )
}

fn should_get_session_metadata(ctx: &Ctx) -> Result<(), String> {
    metadata_check(ctx)
}

fn should_get_session_metadata_by_id(ctx: &Ctx) -> Result<(), String> {
    metadata_check(ctx)
}

fn should_resume_a_session_using_the_same_client(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = session_with_turn(ctx, &client)?;
    let id = session.id();
    let resumed = ok(client.resume_session(&id, &ctx.config(json!({}))), "resume")?;
    ensure(resumed.id() == id, "same id")?;
    let text = turn(ctx, &resumed, 1)?;
    ensure(text.contains('4'), format!("answer: {text}"))
}

fn should_resume_a_session_using_a_new_client(ctx: &Ctx) -> Result<(), String> {
    let id = {
        let client = ctx.client();
        let session = session_with_turn(ctx, &client)?;
        let id = session.id();
        ok(client.stop(), "stop")?;
        id
    };
    let client = ctx.client();
    let resumed = ok(
        client.resume_session(&id, &ctx.config(json!({}))),
        "resume from a new client",
    )?;
    let text = turn(ctx, &resumed, 1)?;
    ensure(text.contains('4'), format!("answer: {text}"))?;
    let history = ok(resumed.get_messages(), "get_messages")?;
    let users = history
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "user.message")
        .count();
    ensure(
        users == 2,
        format!("history has both turns ({users} user messages)"),
    )
}

fn should_work_with_approve_all_permission_handler(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ok(
        client.create_session(&ctx.config(json!({})).approve_all()),
        "create",
    )?;
    let text = turn(ctx, &session, 0)?;
    ensure(text.contains('4'), format!("answer: {text}"))
}

fn deltas(events: &Events) -> Vec<Value> {
    events.of_type("assistant.message_delta")
}

fn should_not_produce_deltas_when_streaming_is_disabled(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let events = Events::default();
    let session = ok(
        client.create_session(&events.attach(ctx.config(json!({"streaming": false})))),
        "create",
    )?;
    let text = turn(ctx, &session, 0)?;
    ensure(
        text.to_lowercase().contains("hello world"),
        format!("answer: {text}"),
    )?;
    ensure(deltas(&events).is_empty(), "no deltas without streaming")
}

fn should_emit_assistantmessagestart_before_deltas_with_matching_messageid(
    ctx: &Ctx,
) -> Result<(), String> {
    let client = ctx.client();
    let events = Events::default();
    let session = ok(
        client.create_session(&events.attach(ctx.config(json!({"streaming": true})))),
        "create",
    )?;
    turn(ctx, &session, 0)?;
    let all = events.0.lock().unwrap().clone();
    let start = all.iter().position(|(t, _)| t == "assistant.message_start");
    let first_delta = all.iter().position(|(t, _)| t == "assistant.message_delta");
    let (Some(start), Some(first_delta)) = (start, first_delta) else {
        return Err(format!(
            "message_start and deltas expected: {:?}",
            events.types()
        ));
    };
    ensure(
        start < first_delta,
        "message_start precedes the first delta",
    )?;
    let id = all[start].1["data"]["messageId"].clone();
    ensure(
        deltas(&events).iter().all(|d| d["data"]["messageId"] == id),
        "every delta carries the started message's id",
    )
}

/// Turn 0 on a new session, then resume with `streaming` and run turn 1;
/// returns the number of deltas in the resumed turn.
fn resumed_turn_deltas(ctx: &Ctx, streaming: bool) -> Result<usize, String> {
    let client = ctx.client();
    let first = ok(
        client.create_session(&ctx.config(json!({"streaming": !streaming}))),
        "create",
    )?;
    turn(ctx, &first, 0)?;
    let id = first.id();
    drop(first);
    let events = Events::default();
    let resumed = ok(
        client.resume_session(
            &id,
            &events.attach(ctx.config(json!({"streaming": streaming}))),
        ),
        "resume",
    )?;
    let text = turn(ctx, &resumed, 1)?;
    ensure(text.contains("18"), format!("answer: {text}"))?;
    Ok(deltas(&events).len())
}

fn should_produce_deltas_after_session_resume(ctx: &Ctx) -> Result<(), String> {
    let n = resumed_turn_deltas(ctx, true)?;
    ensure(n > 0, "deltas after resuming with streaming on")
}

fn should_not_produce_deltas_after_session_resume_with_streaming_disabled(
    ctx: &Ctx,
) -> Result<(), String> {
    let n = resumed_turn_deltas(ctx, false)?;
    ensure(
        n == 0,
        format!("{n} deltas after resuming with streaming off"),
    )
}

fn with_command(ctx: &Ctx) -> crate::Config {
    ctx.config(json!({})).command(
        json!({"name": "deploy", "description": "Deploy the app"}),
        |_| Some(Value::Null),
    )
}

fn session_with_commands_creates_successfully(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ok(
        client.create_session(&with_command(ctx)),
        "create with commands",
    )?;
    ensure(
        session.info()["sessionId"] == session.id(),
        format!("info {}", session.info()),
    )
}

fn session_with_no_commands_creates_successfully(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ok(client.create_session(&ctx.config(json!({}))), "create")?;
    ensure(!session.id().is_empty(), "a session id")
}

fn session_with_commands_resumes_successfully(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ok(client.create_session(&ctx.config(json!({}))), "create")?;
    let id = session.id();
    let resumed = ok(
        client.resume_session(&id, &with_command(ctx)),
        "resume with commands",
    )?;
    ensure(resumed.id() == id, "same session")
}

/// What the session's create reply says about elicitation support.
pub(crate) fn elicitation_capability(session: &crate::Session) -> Value {
    session.info()["capabilities"]["ui"]["elicitation"].clone()
}

fn sends_requestelicitation_when_handler_provided(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let cfg = ctx
        .config(json!({}))
        .handler("elicitation", |_| Some(json!({"action": "cancel"})));
    let session = ok(client.create_session(&cfg), "create")?;
    ensure(
        elicitation_capability(&session) == true,
        format!("capabilities {}", session.info()),
    )
}

fn session_without_elicitationhandler_creates_successfully(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ok(client.create_session(&ctx.config(json!({}))), "create")?;
    ensure(
        elicitation_capability(&session) != true,
        format!("capabilities {}", session.info()),
    )
}

fn should_abort_during_active_tool_execution(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let (tx, rx) = std::sync::mpsc::channel::<crate::abi::PendingTool>();
    let tx = Mutex::new(tx);
    let events = Events::default();
    // The handler parks the call, as a slow async tool would; the turn is
    // aborted while it runs.
    let cfg = events.attach(
        ctx.config(json!({}))
            .tool_deferred(string_tool("slow_analysis", "value"), move |_, pending| {
                let _ = tx.lock().unwrap().send(pending);
            })
            .approve_all(),
    );
    let session = ok(client.create_session(&cfg), "create")?;
    ok(session.send(&json!({"prompt": ctx.prompt(0)})), "send")?;
    let pending = rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| "the tool was not called".to_string())?;
    ok(session.abort(), "abort")?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while events.of_type("session.idle").is_empty() {
        if std::time::Instant::now() > deadline {
            return Err("no session.idle after abort".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Completing the aborted call afterwards is harmless.
    pending.complete(&json!("too late"));
    let text = turn(ctx, &session, 1)?;
    ensure(
        text.contains("tool_abort_recovery_ok"),
        format!("answer after abort: {text}"),
    )
}
