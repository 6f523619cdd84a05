//! Server-scoped RPC scenarios, each a `copilot_client_call` on a client with
//! no session unless the method needs one: `rpc_server` (ping, models, quota,
//! tools, skill/agent/instruction/MCP discovery), `rpc_server_misc` (user
//! settings, account login/logout, sessions.open, agent registry, runtime
//! shutdown, extension-only methods), `rpc_server_plugins` (local marketplace
//! and plugin lifecycle) and `rpc_server_remote_control` (remote control off).

use serde_json::{json, Value};

use crate::rpc_state::{call, call_err, not_unhandled, unique};
use crate::{ensure, ok, Client, Ctx, Scenario};

pub fn all() -> Vec<Scenario> {
    vec![
        run!(
            "rpc_server",
            should_call_rpc_ping_with_typed_params_and_result
        ),
        run!("rpc_server", should_call_rpc_tools_list_with_typed_result),
        run!("rpc_server", should_call_rpc_models_list_with_typed_result),
        run!(
            "rpc_server",
            should_call_rpc_account_get_quota_when_authenticated
        ),
        run!("rpc_server", should_discover_server_mcp_and_skills),
        run!(
            "rpc_server_misc",
            should_login_list_getcurrentauth_and_logout_account
        ),
        run!("rpc_server_misc", should_get_set_and_clear_user_settings),
        run!(
            "rpc_server_misc",
            should_report_agent_registry_spawn_gate_closed
        ),
        run!("rpc_server_misc", should_shut_down_owned_runtime),
        run!(
            "rpc_server_misc",
            should_report_not_found_when_opening_session_without_context
        ),
        run!(
            "rpc_server_misc",
            should_reject_send_attachments_from_non_extension_connection
        ),
        run!(
            "rpc_server_plugins",
            should_install_list_and_uninstall_plugin_from_local_marketplace
        ),
        run!(
            "rpc_server_plugins",
            should_enable_and_disable_marketplace_plugin
        ),
        run!(
            "rpc_server_plugins",
            should_update_single_marketplace_plugin
        ),
        run!("rpc_server_plugins", should_update_all_installed_plugins),
        run!(
            "rpc_server_plugins",
            should_install_direct_local_plugin_with_deprecation_warning
        ),
        run!(
            "rpc_server_plugins",
            should_list_browse_refresh_and_remove_local_marketplace
        ),
        run!("rpc_server_plugins", should_reload_mcp_config_cache),
        run!(
            "rpc_server_remote_control",
            should_report_remote_control_status_as_off
        ),
        run!(
            "rpc_server_remote_control",
            should_treat_set_steering_as_no_op_when_off
        ),
        run!(
            "rpc_server_remote_control",
            should_report_not_stopped_when_remote_control_is_off
        ),
        run!(
            "rpc_server_remote_control",
            should_reject_transfer_when_off_with_compare_and_swap
        ),
        run!(
            "rpc_server_remote_control",
            should_reach_runtime_when_starting_remote_control_for_unknown_session
        ),
    ]
}

fn nonempty(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.trim().is_empty())
}

fn should_call_rpc_ping_with_typed_params_and_result(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    let pong = call(&client, "ping", json!({"message": "typed rpc test"}))?;
    ensure(
        pong["message"] == "pong: typed rpc test",
        format!("pong {pong}"),
    )?;
    ensure(nonempty(&pong["timestamp"]), format!("pong {pong}"))?;
    ok(client.stop(), "stop")
}

fn should_call_rpc_tools_list_with_typed_result(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    let v = call(&client, "tools.list", json!({}))?;
    let tools = v["tools"].as_array().cloned().unwrap_or_default();
    ensure(!tools.is_empty(), format!("no tools: {v}"))?;
    ensure(
        tools.iter().all(|t| nonempty(&t["name"])),
        format!("a tool without a name: {v}"),
    )?;
    ok(client.stop(), "stop")
}

/// `status.state` of a remote-control result is "off".
fn status_off(v: &Value) -> Result<(), String> {
    ensure(
        v["status"]["state"] == "off",
        format!("status not off: {v}"),
    )
}

fn should_report_remote_control_status_as_off(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    status_off(&call(
        &client,
        "sessions.getRemoteControlStatus",
        json!({}),
    )?)?;
    ok(client.stop(), "stop")
}

fn should_treat_set_steering_as_no_op_when_off(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    status_off(&call(
        &client,
        "sessions.setRemoteControlSteering",
        json!({"enabled": false}),
    )?)?;
    ok(client.stop(), "stop")
}

fn should_report_not_stopped_when_remote_control_is_off(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    let v = call(&client, "sessions.stopRemoteControl", json!({}))?;
    ensure(v["stopped"] == false, format!("stopped: {v}"))?;
    status_off(&v)?;
    ok(client.stop(), "stop")
}

fn should_reject_transfer_when_off_with_compare_and_swap(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    let v = call(
        &client,
        "sessions.transferRemoteControl",
        json!({"expectedFromSessionId": unique("rc-from"), "toSessionId": unique("rc-to")}),
    )?;
    ensure(v["transferred"] == false, format!("transferred: {v}"))?;
    status_off(&v)?;
    ok(client.stop(), "stop")
}

fn should_reach_runtime_when_starting_remote_control_for_unknown_session(
    ctx: &Ctx,
) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    let result = client.call(
        "sessions.startRemoteControl",
        &json!({
            "sessionId": unique("missing-session"),
            "config": {"explicit": false, "remote": false, "silent": true, "steerable": false},
        }),
    );
    // Whatever happened, leave remote control off.
    let _ = client.call("sessions.stopRemoteControl", &json!({"force": true}));
    let message = match result {
        Ok(v) => return Err(format!("started for an unknown session: {v}")),
        Err(e) => e.message,
    };
    not_unhandled(&message)?;
    let lower = message.to_ascii_lowercase();
    ensure(
        lower.contains("session") || lower.contains("remote"),
        format!("error {message}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_call_rpc_models_list_with_typed_result(ctx: &Ctx) -> Result<(), String> {
    // A client-level GitHub token; copilot-replay signs in any token.
    let client = ctx.started_client(json!({"githubToken": "rpc-models-token"}))?;
    let v = call(&client, "models.list", json!({}))?;
    let models = v["models"].as_array().cloned().unwrap_or_default();
    ensure(
        models.iter().any(|m| m["id"] == "claude-sonnet-4.5"),
        format!("claude-sonnet-4.5 not listed: {v}"),
    )?;
    ensure(
        models.iter().all(|m| nonempty(&m["name"])),
        format!("a model without a name: {v}"),
    )?;
    ok(client.stop(), "stop")
}

/// Normalised for comparison: forward slashes, no trailing slash.
fn same_path(a: &Value, b: &str) -> bool {
    let norm = |s: &str| s.replace('\\', "/").trim_end_matches('/').to_string();
    a.as_str().is_some_and(|a| norm(a) == norm(b))
}

/// The discovered skill `name` (from `skills.discover` over `dir`), checking
/// its enabled flag and that its path is the skill's SKILL.md.
fn discovered_skill(
    client: &Client,
    dir: &str,
    name: &str,
    enabled: bool,
) -> Result<Value, String> {
    let v = call(
        client,
        "skills.discover",
        json!({"skillDirectories": [dir]}),
    )?;
    let skill = v["skills"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .cloned()
        .ok_or_else(|| format!("skill {name} not discovered: {v}"))?;
    ensure(
        skill["enabled"] == enabled,
        format!("enabled should be {enabled}: {skill}"),
    )?;
    ensure(
        skill["path"]
            .as_str()
            .is_some_and(|p| p.contains(name) && p.ends_with("SKILL.md")),
        format!("path: {skill}"),
    )?;
    Ok(skill)
}

/// The entry of a `getDiscoveryPaths` result for `project` marked preferred
/// for creation; its path must be non-empty.
fn preferred_project_path(v: &Value, project: &str) -> Result<(), String> {
    let found = v["paths"].as_array().and_then(|p| {
        p.iter()
            .find(|p| same_path(&p["projectPath"], project) && p["preferredForCreation"] == true)
    });
    match found {
        Some(p) => ensure(nonempty(&p["path"]), format!("empty path: {p}")),
        None => Err(format!("no preferred path for the project: {v}")),
    }
}

fn should_discover_server_mcp_and_skills(ctx: &Ctx) -> Result<(), String> {
    let name = "server-rpc-skill-c";
    let description = "Skill discovered by server-scoped RPC tests.";
    let skills_dir = ctx.env.home_path().join("server-rpc-skills");
    std::fs::create_dir_all(skills_dir.join(name)).unwrap();
    std::fs::write(
        skills_dir.join(name).join("SKILL.md"),
        format!("---\nname: {name}\ndescription: {description}\n---\n\n# {name}\n\nUsed by RPC tests.\n"),
    )
    .unwrap();
    let skills_dir = skills_dir.to_str().unwrap();
    let project = ctx.env.home_path().to_str().unwrap();
    let client = ctx.started_client(json!({}))?;

    let mcp = call(
        &client,
        "mcp.discover",
        json!({"workingDirectory": project}),
    )?;
    ensure(
        mcp["servers"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| nonempty(&s["name"]))),
        format!("mcp.discover {mcp}"),
    )?;

    let skill = discovered_skill(&client, skills_dir, name, true)?;
    ensure(
        skill["description"] == description,
        format!("description: {skill}"),
    )?;
    preferred_project_path(
        &call(
            &client,
            "skills.getDiscoveryPaths",
            json!({"excludeHostSkills": true, "projectPaths": [project]}),
        )?,
        project,
    )?;

    let agents = call(
        &client,
        "agents.discover",
        json!({"excludeHostAgents": true, "projectPaths": [project]}),
    )?;
    ensure(
        agents["agents"]
            .as_array()
            .is_some_and(|a| a.iter().all(|a| nonempty(&a["name"]))),
        format!("agents.discover {agents}"),
    )?;
    preferred_project_path(
        &call(
            &client,
            "agents.getDiscoveryPaths",
            json!({"excludeHostAgents": true, "projectPaths": [project]}),
        )?,
        project,
    )?;

    let instructions = call(
        &client,
        "instructions.discover",
        json!({"excludeHostInstructions": true, "projectPaths": [project]}),
    )?;
    ensure(
        instructions["sources"].as_array().is_some_and(|s| {
            s.iter()
                .all(|s| nonempty(&s["id"]) && nonempty(&s["label"]) && nonempty(&s["sourcePath"]))
        }),
        format!("instructions.discover {instructions}"),
    )?;
    let paths = call(
        &client,
        "instructions.getDiscoveryPaths",
        json!({"excludeHostInstructions": true, "projectPaths": [project]}),
    )?;
    let list = paths["paths"].as_array().cloned().unwrap_or_default();
    ensure(
        !list.is_empty()
            && list.iter().any(|p| same_path(&p["projectPath"], project))
            && list.iter().all(|p| nonempty(&p["path"])),
        format!("instructions.getDiscoveryPaths {paths}"),
    )?;

    call(
        &client,
        "skills.config.setDisabledSkills",
        json!({"disabledSkills": [name]}),
    )?;
    discovered_skill(&client, skills_dir, name, false)?;
    call(
        &client,
        "skills.config.setDisabledSkills",
        json!({"disabledSkills": []}),
    )?;
    ok(client.stop(), "stop")
}

/// `user.settings.set` with one key; `shadowedKeys` must be empty. Upstream
/// calls `user.settings.reload` next; CLI 1.0.102 has no such method.
fn set_setting(client: &Client, key: &str, value: Value) -> Result<(), String> {
    let mut settings = serde_json::Map::new();
    settings.insert(key.to_string(), value);
    let v = call(client, "user.settings.set", json!({"settings": settings}))?;
    ensure(
        v["shadowedKeys"].as_array().is_none_or(|k| k.is_empty()),
        format!("shadowed keys: {v}"),
    )
}

fn should_get_set_and_clear_user_settings(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    let initial = call(&client, "user.settings.get", json!({}))?;
    let (key, value) = initial["settings"]
        .as_object()
        .and_then(|s| {
            s.iter()
                .find_map(|(k, m)| m["value"].as_bool().map(|b| (k.clone(), b)))
        })
        .ok_or_else(|| format!("no boolean setting in {initial}"))?;

    set_setting(&client, &key, json!(!value))?;
    let after = call(&client, "user.settings.get", json!({}))?;
    let meta = &after["settings"][&key];
    ensure(
        meta["value"] == json!(!value) && meta["isDefault"] == false,
        format!("{key} after set: {meta}"),
    )?;

    set_setting(&client, &key, Value::Null)?;
    let cleared = call(&client, "user.settings.get", json!({}))?;
    let meta = &cleared["settings"][&key];
    ensure(
        meta["isDefault"] == true,
        format!("{key} after clear: {meta}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_report_agent_registry_spawn_gate_closed(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    let message = call_err(
        &client,
        "agentRegistry.spawn",
        json!({"cwd": ctx.env.home_path()}),
    )?;
    not_unhandled(&message)?;
    let lower = message.to_ascii_lowercase();
    ensure(
        lower.contains("agentregistry.spawn")
            && (lower.contains("not enabled") || lower.contains("no delegate")),
        format!("error {message}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_shut_down_owned_runtime(ctx: &Ctx) -> Result<(), String> {
    // Liveness probe: upstream uses user.settings.reload, which CLI 1.0.102 lacks.
    let client = ctx.started_client(json!({}))?;
    call(&client, "user.settings.get", json!({}))?;
    call(&client, "runtime.shutdown", json!({}))?;
    crate::rpc_edges::wait_until("the runtime to stop serving RPCs", || {
        client.call("user.settings.get", &json!({})).is_err()
    })?;
    let _ = client.stop();
    Ok(())
}

fn should_report_not_found_when_opening_session_without_context(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    let v = call(&client, "sessions.open", json!({}))?;
    ensure(
        v["status"] == "not_found" && v["sessionId"].is_null(),
        format!("sessions.open {v}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_reject_send_attachments_from_non_extension_connection(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    let session = ok(
        client.create_session(&ctx.config(json!({})).approve_all()),
        "create",
    )?;
    let message = match session.call(
        "session.extensions.sendAttachmentsToMessage",
        &json!({"attachments": []}),
    ) {
        Ok(v) => return Err(format!("accepted from a normal connection: {v}")),
        Err(e) => e.message,
    };
    not_unhandled(&message)?;
    ensure(
        message.to_ascii_lowercase().contains("extension"),
        format!("error {message}"),
    )?;
    ok(session.destroy(), "disconnect")?;
    ok(client.stop(), "stop")
}

/// `account.getCurrentAuth` has no `authInfo`.
fn signed_out(client: &Client) -> Result<(), String> {
    let v = call(client, "account.getCurrentAuth", json!({}))?;
    ensure(v["authInfo"].is_null(), format!("still signed in: {v}"))
}

fn should_login_list_getcurrentauth_and_logout_account(ctx: &Ctx) -> Result<(), String> {
    let (login, token) = ("c-account-user", "c-account-token");
    // No token and no logged-in user: nobody is signed in at first. This
    // machine has no OS keychain (logout fails with "No default store has
    // been set"), so credentials go to files under COPILOT_HOME instead.
    let mut env = ctx.env.child_env();
    env["COPILOT_DISABLE_KEYTAR"] = json!("1");
    let client = ctx.started_client(json!({"env": env}))?;
    signed_out(&client)?;
    let v = call(
        &client,
        "account.login",
        json!({"host": "https://github.com", "login": login, "token": token}),
    )?;
    ensure(v.is_object(), format!("account.login {v}"))?;

    let current = call(&client, "account.getCurrentAuth", json!({}))?;
    let auth = current["authInfo"].clone();
    ensure(
        auth["type"] == "user" && auth["login"] == login && auth["host"] == "https://github.com",
        format!("after login: {current}"),
    )?;

    // If the user is listed, its stored token is the one logged in with.
    let users = call(&client, "account.getAllUsers", json!({}))?;
    let listed = users.as_array().and_then(|u| {
        u.iter()
            .find(|u| u["authInfo"]["type"] == "user" && u["authInfo"]["login"] == login)
    });
    if let Some(user) = listed {
        ensure(user["token"] == token, format!("stored token: {user}"))?;
    }

    let out = call(&client, "account.logout", json!({"authInfo": auth}))?;
    ensure(
        out["hasMoreUsers"] == false,
        format!("account.logout {out}"),
    )?;
    signed_out(&client)?;
    ok(client.stop(), "stop")
}

fn should_call_rpc_account_get_quota_when_authenticated(ctx: &Ctx) -> Result<(), String> {
    let user = json!({
        "login": "rpc-user",
        "quota_snapshots": {"chat": {
            "entitlement": 100,
            "overage_count": 2,
            "overage_permitted": true,
            "percent_remaining": 75,
            "timestamp_utc": "2026-04-30T00:00:00Z",
        }},
    });
    ctx.env
        .replay
        .set_copilot_user(user.as_object().unwrap().clone());
    let client = ctx.started_client(json!({"githubToken": "rpc-quota-token"}))?;
    let v = call(&client, "account.getQuota", json!({}))?;
    let chat = &v["quotaSnapshots"]["chat"];
    for (field, want) in [
        ("entitlementRequests", json!(100)),
        ("usedRequests", json!(25)),
        ("usageAllowedWithExhaustedQuota", json!(true)),
        ("overageAllowedWithExhaustedQuota", json!(true)),
        ("resetDate", json!("2026-04-30T00:00:00Z")),
    ] {
        ensure(
            chat[field] == want,
            format!("{field} should be {want}: {v}"),
        )?;
    }
    for (field, want) in [("remainingPercentage", 75.0), ("overage", 2.0)] {
        ensure(
            chat[field].as_f64() == Some(want),
            format!("{field} should be {want}: {v}"),
        )?;
    }
    ok(client.stop(), "stop")
}

const MARKETPLACE: &str = "c-conformance-marketplace";
const PLUGIN: &str = "c-conformance-plugin";
const DIRECT_PLUGIN: &str = "c-conformance-direct";

/// `plugin@marketplace`, how marketplace plugins are named in requests.
fn spec() -> String {
    format!("{PLUGIN}@{MARKETPLACE}")
}

/// A SKILL.md so the plugin installs at least one skill.
fn write_skill(dir: &std::path::Path) {
    std::fs::write(
        dir.join("SKILL.md"),
        "---\nname: c-conformance-skill\ndescription: A skill the test plugin contributes.\n---\n# Skill\n\nMakes the plugin report an installed skill.\n",
    )
    .unwrap();
}

/// A local "monorepo" marketplace (manifest plus the plugin in a
/// subdirectory), so installs need no network.
fn local_marketplace() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("copilot-c-mp-")
        .tempdir()
        .unwrap();
    let manifest = json!({
        "name": MARKETPLACE,
        "owner": {"name": "libcopilot conformance"},
        "metadata": {"description": "Local marketplace fixture."},
        "plugins": [{
            "name": PLUGIN,
            "source": format!("./{PLUGIN}"),
            "description": "Demo plugin advertised by the local marketplace.",
            "version": "1.0.0",
        }],
    });
    std::fs::write(dir.path().join("marketplace.json"), manifest.to_string()).unwrap();
    std::fs::create_dir_all(dir.path().join(PLUGIN)).unwrap();
    write_skill(&dir.path().join(PLUGIN));
    dir
}

fn source(dir: &tempfile::TempDir) -> String {
    dir.path().to_str().unwrap().to_string()
}

/// A client with the local marketplace added and its plugin installed;
/// returns the install result.
fn with_installed_plugin(
    ctx: &Ctx,
    marketplace: &tempfile::TempDir,
) -> Result<(Client, Value), String> {
    let client = ctx.started_client(json!({}))?;
    call(
        &client,
        "plugins.marketplaces.add",
        json!({"source": source(marketplace)}),
    )?;
    let install = call(&client, "plugins.install", json!({"source": spec()}))?;
    Ok((client, install))
}

/// The one installed entry for `name`@`marketplace` in `plugins.list`.
fn listed_plugin(client: &Client, name: &str, marketplace: &str) -> Result<Value, String> {
    let v = call(client, "plugins.list", json!({}))?;
    let found: Vec<&Value> = v["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == name && p["marketplace"] == marketplace)
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(format!("expected one {name}@{marketplace} in {v}")),
    }
}

fn at_least_one_skill(v: &Value) -> bool {
    v["skillsInstalled"].as_u64().is_some_and(|n| n >= 1)
}

fn should_install_list_and_uninstall_plugin_from_local_marketplace(
    ctx: &Ctx,
) -> Result<(), String> {
    let marketplace = local_marketplace();
    let (client, install) = with_installed_plugin(ctx, &marketplace)?;
    let plugin = &install["plugin"];
    ensure(
        plugin["name"] == PLUGIN
            && plugin["marketplace"] == MARKETPLACE
            && plugin["enabled"] == true,
        format!("installed {install}"),
    )?;
    ensure(
        at_least_one_skill(&install),
        format!("no skills: {install}"),
    )?;
    ensure(
        install["deprecationWarning"].is_null(),
        format!("marketplace installs do not warn: {install}"),
    )?;
    let listed = listed_plugin(&client, PLUGIN, MARKETPLACE)?;
    ensure(listed["enabled"] == true, format!("listed {listed}"))?;

    // The upstream test of this name expected the plugin gone after
    // uninstall; its successor (install_and_list) dropped that step. CLI 1.0.102
    // keeps a local marketplace's plugin listed (it is loaded live, not copied)
    // and only disables it, so check the part that still holds: not enabled.
    call(&client, "plugins.uninstall", json!({"name": spec()}))?;
    let after = call(&client, "plugins.list", json!({}))?;
    ensure(
        !after["plugins"].as_array().is_some_and(|p| {
            p.iter()
                .any(|p| p["name"] == PLUGIN && p["enabled"] == true)
        }),
        format!("still enabled after uninstall: {after}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_enable_and_disable_marketplace_plugin(ctx: &Ctx) -> Result<(), String> {
    let marketplace = local_marketplace();
    let (client, _) = with_installed_plugin(ctx, &marketplace)?;
    for (method, enabled) in [("plugins.disable", false), ("plugins.enable", true)] {
        call(&client, method, json!({"names": [spec()]}))?;
        let listed = listed_plugin(&client, PLUGIN, MARKETPLACE)?;
        ensure(
            listed["enabled"] == enabled,
            format!("after {method}: {listed}"),
        )?;
    }
    ok(client.stop(), "stop")
}

fn should_update_single_marketplace_plugin(ctx: &Ctx) -> Result<(), String> {
    let marketplace = local_marketplace();
    let (client, _) = with_installed_plugin(ctx, &marketplace)?;
    let v = call(&client, "plugins.update", json!({"name": spec()}))?;
    ensure(
        at_least_one_skill(&v) && v["previousVersion"] == "1.0.0" && v["newVersion"] == "1.0.0",
        format!("plugins.update {v}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_update_all_installed_plugins(ctx: &Ctx) -> Result<(), String> {
    let marketplace = local_marketplace();
    let (client, _) = with_installed_plugin(ctx, &marketplace)?;
    let v = call(&client, "plugins.updateAll", json!({}))?;
    let mine: Vec<&Value> = v["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["name"] == PLUGIN && e["marketplace"] == MARKETPLACE)
        .collect();
    match mine.as_slice() {
        [e] => ensure(
            e["success"] == true && at_least_one_skill(e),
            format!("update entry {e}"),
        )?,
        _ => return Err(format!("expected one update entry in {v}")),
    }
    ok(client.stop(), "stop")
}

fn should_install_direct_local_plugin_with_deprecation_warning(ctx: &Ctx) -> Result<(), String> {
    let dir = tempfile::Builder::new()
        .prefix("copilot-c-plugin-")
        .tempdir()
        .unwrap();
    let manifest = json!({
        "name": DIRECT_PLUGIN,
        "description": "Demo plugin installed directly from a local path.",
        "version": "1.0.0",
    });
    std::fs::write(dir.path().join("plugin.json"), manifest.to_string()).unwrap();
    write_skill(dir.path());
    let client = ctx.started_client(json!({}))?;

    let install = call(&client, "plugins.install", json!({"source": source(&dir)}))?;
    let plugin = &install["plugin"];
    ensure(
        plugin["name"] == DIRECT_PLUGIN && plugin["marketplace"] == "",
        format!("installed {install}"),
    )?;
    ensure(
        install["deprecationWarning"]
            .as_str()
            .is_some_and(|w| w.to_ascii_lowercase().contains("deprecated")),
        format!("direct installs warn: {install}"),
    )?;
    ensure(
        at_least_one_skill(&install),
        format!("no skills: {install}"),
    )?;
    let direct_source_id = plugin["directSourceId"].clone();
    ensure(
        !direct_source_id.is_null(),
        format!("no directSourceId: {install}"),
    )?;

    let count = |v: &Value| {
        v["plugins"].as_array().map_or(0, |p| {
            p.iter().filter(|p| p["name"] == DIRECT_PLUGIN).count()
        })
    };
    let listed = call(&client, "plugins.list", json!({}))?;
    ensure(
        count(&listed) == 1,
        format!("expected the plugin once in {listed}"),
    )?;

    call(
        &client,
        "plugins.uninstall",
        json!({"name": DIRECT_PLUGIN, "directSourceId": direct_source_id}),
    )?;
    let after = call(&client, "plugins.list", json!({}))?;
    ensure(
        count(&after) == 0,
        format!("still listed after uninstall: {after}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_list_browse_refresh_and_remove_local_marketplace(ctx: &Ctx) -> Result<(), String> {
    let marketplace = local_marketplace();
    let client = ctx.started_client(json!({}))?;
    let add = call(
        &client,
        "plugins.marketplaces.add",
        json!({"source": source(&marketplace)}),
    )?;
    ensure(add["name"] == MARKETPLACE, format!("add {add}"))?;

    let list = call(&client, "plugins.marketplaces.list", json!({}))?;
    let all = list["marketplaces"].as_array().cloned().unwrap_or_default();
    let mine: Vec<&Value> = all.iter().filter(|m| m["name"] == MARKETPLACE).collect();
    ensure(
        mine.len() == 1 && mine[0]["isDefault"] != true,
        format!("expected the local marketplace once, not default: {list}"),
    )?;
    ensure(
        all.iter().any(|m| m["isDefault"] == true),
        format!("no default marketplace: {list}"),
    )?;

    let browse = call(
        &client,
        "plugins.marketplaces.browse",
        json!({"name": MARKETPLACE}),
    )?;
    let advertised: Vec<&Value> = browse["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == PLUGIN)
        .collect();
    ensure(
        advertised.len() == 1 && nonempty(&advertised[0]["description"]),
        format!("browse {browse}"),
    )?;

    let refresh = call(
        &client,
        "plugins.marketplaces.refresh",
        json!({"name": MARKETPLACE}),
    )?;
    let refreshed: Vec<&Value> = refresh["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"] == MARKETPLACE)
        .collect();
    ensure(
        refreshed.len() == 1 && refreshed[0]["success"] == true,
        format!("refresh {refresh}"),
    )?;

    let remove = call(
        &client,
        "plugins.marketplaces.remove",
        json!({"name": MARKETPLACE}),
    )?;
    ensure(remove["removed"] == true, format!("remove {remove}"))?;
    let after = call(&client, "plugins.marketplaces.list", json!({}))?;
    ensure(
        !after["marketplaces"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["name"] == MARKETPLACE)),
        format!("still listed after remove: {after}"),
    )?;
    ok(client.stop(), "stop")
}

fn should_reload_mcp_config_cache(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.started_client(json!({}))?;
    call(&client, "mcp.config.reload", json!({}))?;
    ok(client.stop(), "stop")
}
