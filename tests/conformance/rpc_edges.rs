//! Edge cases of session-scoped RPCs (`rpc_additional_edge_cases`) and of the
//! host shell (`rpc_shell_edge_cases`: `session.shell.exec` / `session.shell.kill`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::rpc_state::{call, open};
use crate::{ensure, Ctx, Scenario, Session};

pub fn all() -> Vec<Scenario> {
    vec![
        run!(
            "rpc_additional_edge_cases",
            shell_exec_with_zero_timeout_does_not_kill_long_running_command
        ),
        run!(
            "rpc_additional_edge_cases",
            workspaces_create_file_with_empty_content_round_trips
        ),
        run!(
            "rpc_additional_edge_cases",
            workspaces_create_file_with_unicode_content_round_trips
        ),
        run!(
            "rpc_additional_edge_cases",
            workspaces_create_file_with_large_content_round_trips
        ),
        run!(
            "rpc_additional_edge_cases",
            plan_update_with_empty_content_then_read_returns_empty
        ),
        run!(
            "rpc_additional_edge_cases",
            plan_delete_when_none_exists_is_idempotent
        ),
        run!(
            "rpc_additional_edge_cases",
            mode_set_to_same_value_multiple_times_stays_stable
        ),
        run!(
            "rpc_additional_edge_cases",
            name_set_with_unicode_round_trips
        ),
        run!(
            "rpc_additional_edge_cases",
            usage_get_metrics_on_fresh_session_returns_zero_tokens
        ),
        run!(
            "rpc_additional_edge_cases",
            permissions_reset_session_approvals_on_fresh_session_is_noop
        ),
        run!(
            "rpc_additional_edge_cases",
            permissions_set_approve_all_toggle_round_trips
        ),
        run!(
            "rpc_additional_edge_cases",
            workspaces_createfile_then_listfiles_returns_sorted_or_stable_order
        ),
        run!(
            "rpc_additional_edge_cases",
            workspaces_getworkspace_returns_stable_result_across_calls
        ),
        run!(
            "rpc_shell_edge_cases",
            shell_exec_with_timeout_kills_long_running_command
        ),
        run!(
            "rpc_shell_edge_cases",
            shell_exec_with_custom_cwd_honors_override
        ),
        run!(
            "rpc_shell_edge_cases",
            shell_exec_with_nonexistent_command_returns_processid_and_cleans_up
        ),
        run!(
            "rpc_shell_edge_cases",
            shell_kill_unknown_processid_returns_false
        ),
        run!(
            "rpc_shell_edge_cases",
            shell_kill_cleans_up_after_terminating_signal
        ),
        run!(
            "rpc_shell_edge_cases",
            shell_exec_with_stderr_output_cleans_up
        ),
        run!(
            "rpc_shell_edge_cases",
            shell_exec_with_large_stdout_cleans_up
        ),
    ]
}

/// Polls `cond` every 50 ms for up to 30 s.
pub(crate) fn wait_until(what: &str, cond: impl Fn() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        if Instant::now() >= deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// `session.shell.exec`; returns the process id (non-empty).
pub(crate) fn exec(
    session: &Session,
    command: &str,
    cwd: &Path,
    timeout_ms: Option<u64>,
) -> Result<String, String> {
    let mut params = json!({"command": command, "cwd": cwd});
    if let Some(t) = timeout_ms {
        params["timeout"] = json!(t);
    }
    let v = call(session, "session.shell.exec", params)?;
    v["processId"]
        .as_str()
        .filter(|p| !p.trim().is_empty())
        .map(String::from)
        .ok_or_else(|| format!("exec {v}"))
}

pub(crate) fn kill(
    session: &Session,
    process_id: &str,
    signal: Option<&str>,
) -> Result<bool, String> {
    let mut params = json!({"processId": process_id});
    if let Some(s) = signal {
        params["signal"] = json!(s);
    }
    let v = call(session, "session.shell.kill", params)?;
    v["killed"].as_bool().ok_or_else(|| format!("kill {v}"))
}

/// After a second, killing the process finds nothing: it was cleaned up.
fn cleaned_up(session: &Session, process_id: &str) -> Result<(), String> {
    std::thread::sleep(Duration::from_secs(1));
    ensure(
        !kill(session, process_id, None)?,
        format!("process {process_id} still tracked"),
    )
}

fn shell_exec_with_zero_timeout_does_not_kill_long_running_command(
    ctx: &Ctx,
) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let marker = ctx.env.home_path().join("shell-zero-timeout-marker.txt");
    let cmd = format!("sh -c \"sleep 2; printf done > '{}'\"", marker.display());
    exec(&session, &cmd, ctx.env.home_path(), Some(0))?;
    wait_until("the marker of a command with timeout 0", || marker.exists())
}

/// Creates and reads back a workspace file; returns the client and session.
fn round_trip_file(
    ctx: &Ctx,
    path: &str,
    content: &str,
) -> Result<(crate::Client, Session), String> {
    let (client, session, _) = open(ctx, json!({}))?;
    call(
        &session,
        "session.workspaces.createFile",
        json!({"path": path, "content": content}),
    )?;
    let read = call(
        &session,
        "session.workspaces.readFile",
        json!({"path": path}),
    )?;
    let got = read["content"].as_str().unwrap_or("<none>");
    ensure(
        got == content,
        format!("{path}: read {} bytes, wrote {}", got.len(), content.len()),
    )?;
    Ok((client, session))
}

fn workspaces_create_file_with_empty_content_round_trips(ctx: &Ctx) -> Result<(), String> {
    let (_c, session) = round_trip_file(ctx, "empty-c.txt", "")?;
    let v = call(&session, "session.workspaces.listFiles", json!({}))?;
    ensure(
        v["files"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "empty-c.txt")),
        format!("listFiles {v}"),
    )
}

fn workspaces_create_file_with_unicode_content_round_trips(ctx: &Ctx) -> Result<(), String> {
    round_trip_file(ctx, "unicode-c.txt", "Hello, 世界! 🚀✨ Привет\u{0}end").map(|_| ())
}

fn workspaces_create_file_with_large_content_round_trips(ctx: &Ctx) -> Result<(), String> {
    let payload: String = (0..256 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    round_trip_file(ctx, "large-c.txt", &payload).map(|_| ())
}

fn plan_update_with_empty_content_then_read_returns_empty(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    call(&session, "session.plan.update", json!({"content": ""}))?;
    let read = call(&session, "session.plan.read", json!({}))?;
    ensure(read["content"] == "", format!("read {read}"))
}

fn plan_delete_when_none_exists_is_idempotent(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    call(&session, "session.plan.delete", json!({}))?;
    call(&session, "session.plan.delete", json!({}))?;
    let read = call(&session, "session.plan.read", json!({}))?;
    ensure(
        read["content"].as_str().unwrap_or_default().is_empty(),
        format!("read {read}"),
    )
}

fn mode_set_to_same_value_multiple_times_stays_stable(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    for _ in 0..3 {
        call(&session, "session.mode.set", json!({"mode": "plan"}))?;
    }
    let v = call(&session, "session.mode.get", json!({}))?;
    ensure(v == "plan" || v["mode"] == "plan", format!("mode {v}"))
}

fn name_set_with_unicode_round_trips(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let name = "セッション 名前 ☕ – test";
    call(&session, "session.name.set", json!({"name": name}))?;
    let v = call(&session, "session.name.get", json!({}))?;
    ensure(v["name"] == name, format!("name {v}"))
}

fn usage_get_metrics_on_fresh_session_returns_zero_tokens(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let m = call(&session, "session.usage.getMetrics", json!({}))?;
    ensure(
        m["lastCallInputTokens"] == 0
            && m["lastCallOutputTokens"] == 0
            && m["totalUserRequests"] == 0
            && m["sessionStartTime"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
        format!("metrics {m}"),
    )
}

fn permissions_reset_session_approvals_on_fresh_session_is_noop(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let v = call(
        &session,
        "session.permissions.resetSessionApprovals",
        json!({}),
    )?;
    ensure(v["success"] == true, format!("reset {v}"))
}

fn permissions_set_approve_all_toggle_round_trips(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    for enabled in [true, true, false] {
        let v = call(
            &session,
            "session.permissions.setApproveAll",
            json!({"enabled": enabled}),
        )?;
        ensure(
            v["success"] == true,
            format!("setApproveAll {enabled}: {v}"),
        )?;
    }
    Ok(())
}

fn workspaces_createfile_then_listfiles_returns_sorted_or_stable_order(
    ctx: &Ctx,
) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let names = ["b-c.txt", "a-c.txt", "c-c.txt"];
    for path in names {
        call(
            &session,
            "session.workspaces.createFile",
            json!({"path": path, "content": path}),
        )?;
    }
    let first = call(&session, "session.workspaces.listFiles", json!({}))?;
    let second = call(&session, "session.workspaces.listFiles", json!({}))?;
    for listing in [&first, &second] {
        for n in names {
            ensure(
                listing["files"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f == n)),
                format!("{n} missing from {listing}"),
            )?;
        }
    }
    ensure(
        first == second,
        format!("order changed: {first} then {second}"),
    )
}

fn workspaces_getworkspace_returns_stable_result_across_calls(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let a = call(&session, "session.workspaces.getWorkspace", json!({}))?;
    let b = call(&session, "session.workspaces.getWorkspace", json!({}))?;
    ensure(
        a["workspace"]["id"] == b["workspace"]["id"],
        format!("{a} vs {b}"),
    )
}

fn shell_exec_with_timeout_kills_long_running_command(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let home = ctx.env.home_path();
    let (started, marker) = (
        home.join("shell-timeout-started.txt"),
        home.join("shell-timeout-marker.txt"),
    );
    let cmd = format!(
        "sh -c \"printf started > '{}'; sleep 30; printf should-not-exist > '{}'\"",
        started.display(),
        marker.display()
    );
    let pid = exec(&session, &cmd, home, Some(200))?;
    wait_until("the started marker", || started.exists())?;
    std::thread::sleep(Duration::from_millis(200));
    cleaned_up(&session, &pid)?;
    ensure(!marker.exists(), "the timeout killed the command first")
}

fn shell_exec_with_custom_cwd_honors_override(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let subdir = ctx.env.home_path().join("shell-cwd");
    std::fs::create_dir_all(&subdir).unwrap();
    exec(
        &session,
        "sh -c \"printf '%s' 'shell-cwd-marker' > marker.txt\"",
        &subdir,
        None,
    )?;
    let marker = subdir.join("marker.txt");
    wait_until("marker.txt in the custom cwd", || {
        std::fs::read_to_string(&marker).is_ok_and(|t| t.contains("shell-cwd-marker"))
    })
}

fn shell_exec_with_nonexistent_command_returns_processid_and_cleans_up(
    ctx: &Ctx,
) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let pid = exec(
        &session,
        "sh -c 'definitely-not-a-real-command-c-12345'",
        ctx.env.home_path(),
        None,
    )?;
    cleaned_up(&session, &pid)
}

fn shell_kill_unknown_processid_returns_false(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    ensure(
        !kill(&session, "unknown-c-process", None)?,
        "killing an unknown process reports false",
    )
}

fn shell_kill_cleans_up_after_terminating_signal(ctx: &Ctx) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let pid = exec(&session, "sleep 60", ctx.env.home_path(), None)?;
    ensure(kill(&session, &pid, Some("SIGTERM"))?, "SIGTERM killed it")?;
    cleaned_up(&session, &pid)
}

/// Runs `before; printf done > marker; after`, waits for the marker, then
/// checks the process was cleaned up.
fn marker_command_cleans_up(
    ctx: &Ctx,
    name: &str,
    before: &str,
    after: &str,
) -> Result<(), String> {
    let (_c, session, _) = open(ctx, json!({}))?;
    let marker = ctx.env.home_path().join(name);
    let cmd = format!(
        "sh -c \"{before}; printf done > '{}'; {after}\"",
        marker.display()
    );
    let pid = exec(&session, &cmd, ctx.env.home_path(), None)?;
    wait_until(name, || marker.exists())?;
    cleaned_up(&session, &pid)
}

fn shell_exec_with_stderr_output_cleans_up(ctx: &Ctx) -> Result<(), String> {
    marker_command_cleans_up(ctx, "shell-stderr-marker.txt", "echo boom 1>&2", "exit 2")
}

fn shell_exec_with_large_stdout_cleans_up(ctx: &Ctx) -> Result<(), String> {
    marker_command_cleans_up(
        ctx,
        "shell-stdout-marker.txt",
        "printf '%204800s' | tr ' ' x",
        "true",
    )
}
