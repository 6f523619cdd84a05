//! MCP servers, custom agents and skills passed in session config, and the session/server MCP and skills RPCs.
//!
//! The MCP servers are our own: a small Node.js stdio server (`MCP_SERVER`,
//! newline-delimited JSON-RPC) written into the scenario's home, offering one of
//! three tool sets: `get_env` (reads its own environment), `echo_meta` (echoes
//! the `_meta` it was called with) or `request_user_input` (asks the client for
//! the elicitations in a JSON file and returns the answers).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::rpc_state::{call, call_err, not_unhandled, unique};
use crate::session_api::tool_names;
use crate::{alias, content, ensure, ok, Ctx, Scenario, Session, ToolOutcome};

pub fn all() -> Vec<Scenario> {
    let m = "mcp_and_agents";
    let d = "mcp-and-agents";
    vec![
        alias(
            m,
            "should_accept_mcp_server_configuration_on_session_create",
            mcp_server_on_create,
        ),
        alias(
            m,
            "accept_mcp_server_config_on_create",
            mcp_server_on_create,
        ),
        alias(
            d,
            "should_accept_mcp_server_configuration_on_session_create",
            mcp_server_on_create,
        ),
        alias(
            "mcpservers",
            "accept_mcp_server_config_on_create",
            mcp_server_on_create,
        ),
        alias(
            m,
            "should_accept_mcp_server_configuration_on_session_resume",
            mcp_server_on_resume,
        ),
        alias(
            m,
            "accept_mcp_server_config_on_resume",
            mcp_server_on_resume,
        ),
        alias(
            d,
            "should_accept_mcp_server_configuration_on_session_resume",
            mcp_server_on_resume,
        ),
        alias(
            "mcpservers",
            "accept_mcp_server_config_on_resume",
            mcp_server_on_resume,
        ),
        alias(
            m,
            "should_accept_mcp_server_configuration_without_args",
            mcp_server_without_args,
        ),
        alias(
            m,
            "accept_mcp_server_config_without_args",
            mcp_server_without_args,
        ),
        run!("mcp_and_agents", should_handle_multiple_mcp_servers),
        run!(
            "mcp_and_agents",
            should_pass_literal_env_values_to_mcp_server_subprocess
        ),
        alias(
            m,
            "should_accept_custom_agent_configuration_on_session_create",
            custom_agent_on_create,
        ),
        alias(
            m,
            "accept_custom_agent_config_on_create",
            custom_agent_on_create,
        ),
        alias(
            d,
            "should_accept_custom_agent_configuration_on_session_create",
            custom_agent_on_create,
        ),
        alias(
            "customagents",
            "accept_custom_agent_config_on_create",
            custom_agent_on_create,
        ),
        alias(
            m,
            "should_accept_custom_agent_configuration_on_session_resume",
            custom_agent_on_resume,
        ),
        alias(
            m,
            "accept_custom_agent_config_on_resume",
            custom_agent_on_resume,
        ),
        alias(
            d,
            "should_accept_custom_agent_configuration_on_session_resume",
            custom_agent_on_resume,
        ),
        alias(
            "customagents",
            "accept_custom_agent_config_on_resume",
            custom_agent_on_resume,
        ),
        run!(
            "mcp_and_agents",
            should_handle_custom_agent_with_tools_configuration
        ),
        run!(
            "mcp_and_agents",
            should_handle_custom_agent_with_mcp_servers
        ),
        run!("mcp_and_agents", should_handle_multiple_custom_agents),
        alias(
            m,
            "should_accept_both_mcp_servers_and_custom_agents",
            mcp_servers_and_custom_agents,
        ),
        alias(
            m,
            "accept_mcp_servers_and_custom_agents",
            mcp_servers_and_custom_agents,
        ),
        alias(
            d,
            "should_accept_both_mcp_servers_and_custom_agents",
            mcp_servers_and_custom_agents,
        ),
        alias(
            "combinedconfiguration",
            "accept_mcp_servers_and_custom_agents",
            mcp_servers_and_custom_agents,
        ),
        run!(
            "mcp_and_agents",
            should_hide_excluded_tools_from_default_agent
        ),
        run!(
            "mcp_and_agents",
            should_accept_defaultagent_configuration_on_session_resume
        ),
        run!(
            "mcp_and_agents",
            should_round_trip_mcp_server_elicitation_request
        ),
        run!(
            "pre_mcp_tool_call_hook",
            should_set_meta_via_premcptoolcall_hook
        ),
        run!(
            "pre_mcp_tool_call_hook",
            should_replace_meta_via_premcptoolcall_hook
        ),
        run!(
            "pre_mcp_tool_call_hook",
            should_remove_meta_via_premcptoolcall_hook
        ),
        run!("skills", should_load_and_apply_skill_from_skilldirectories),
        run!(
            "skills",
            should_not_apply_skill_when_disabled_via_disabledskills
        ),
        run!("skills", should_allow_agent_with_skills_to_invoke_skill),
        run!(
            "skills",
            should_not_provide_skills_to_agent_without_skills_field
        ),
        run!(
            "rpc_mcp_lifecycle",
            should_list_tools_and_report_running_status_for_connected_server
        ),
        run!(
            "rpc_mcp_lifecycle",
            should_throw_when_listing_tools_for_unconnected_server
        ),
        run!("rpc_mcp_lifecycle", should_stop_running_mcp_server),
        run!("rpc_mcp_lifecycle", should_start_and_restart_mcp_server),
        run!("rpc_mcp_lifecycle", should_reload_mcp_servers_with_config),
        // should_configure_github_mcp_server is written below but not
        // registered: see its comment.
        run!("rpc_mcp_and_skills", should_list_and_toggle_session_skills),
        run!("rpc_mcp_and_skills", should_reload_session_skills),
        run!(
            "rpc_mcp_and_skills",
            should_list_mcp_servers_with_configured_server
        ),
        run!("rpc_mcp_and_skills", should_list_plugins),
        run!("rpc_mcp_and_skills", should_list_extensions),
        run!(
            "rpc_mcp_and_skills",
            should_report_error_when_extensions_are_not_available
        ),
        // should_report_error_when_mcp_host_is_not_initialized is written
        // below but not registered: see its comment.
        run!(
            "rpc_mcp_and_skills",
            should_report_error_when_mcp_oauth_server_is_not_configured
        ),
        run!(
            "rpc_mcp_and_skills",
            should_report_error_when_mcp_oauth_server_is_not_remote
        ),
        run!("rpc_mcp_config", should_call_server_mcp_config_rpcs),
        run!(
            "rpc_mcp_config",
            should_round_trip_http_mcp_oauth_config_rpc
        ),
    ]
}

/// A minimal MCP stdio server. Arguments: `--name <serverInfo name>`,
/// `--kind env|meta|elicit`, `--elicit <file with elicitation requests>`.
const MCP_SERVER: &str = r#"
import { createInterface } from "node:readline";
import { readFileSync } from "node:fs";

const arg = (flag) => {
    const i = process.argv.indexOf(flag);
    return i < 0 ? undefined : process.argv[i + 1];
};
const serverName = arg("--name") ?? "conformance-mcp";
const kind = arg("--kind") ?? "env";
const elicitations = arg("--elicit") ? JSON.parse(readFileSync(arg("--elicit"), "utf8")) : [];

const send = (message) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n");
const pending = new Map();
let nextId = 0;
const request = (method, params) =>
    new Promise((resolve, reject) => {
        const id = `server-${++nextId}`;
        pending.set(id, { resolve, reject });
        send({ id, method, params });
    });
const text = (value) => ({ content: [{ type: "text", text: value }] });

const toolSets = {
    env: [{
        name: "get_env",
        description: "Returns the value of the named environment variable of this server process.",
        inputSchema: {
            type: "object",
            properties: { name: { type: "string", description: "Environment variable name" } },
            required: ["name"],
        },
        run: async (args) => text(process.env[args.name] ?? ""),
    }],
    meta: [{
        name: "echo_meta",
        description: "Echoes the value and the _meta the call carried.",
        inputSchema: {
            type: "object",
            properties: { value: { type: "string", description: "A value to echo back" } },
            required: ["value"],
        },
        run: async (args, meta) => {
            const transport = new Set(["progressToken", "traceparent", "tracestate"]);
            const own = Object.entries(meta ?? {}).filter(([key]) => !transport.has(key));
            const echoed = own.length > 0 ? Object.fromEntries(own) : null;
            return text(JSON.stringify({ meta: echoed, value: args.value ?? "" }));
        },
    }],
    elicit: [{
        name: "request_user_input",
        description: "Asks the user for structured input through an elicitation form",
        inputSchema: { type: "object", properties: {} },
        run: async () => {
            const results = [];
            for (const params of elicitations) {
                const answer = await request("elicitation/create", { mode: "form", ...params });
                results.push({ action: answer.action, content: answer.content });
                if (answer.action !== "accept") break;
            }
            return text(JSON.stringify({ results }));
        },
    }],
};
const tools = toolSets[kind] ?? [];

async function handle(method, params) {
    switch (method) {
        case "initialize":
            return {
                protocolVersion: params.protocolVersion ?? "2025-06-18",
                capabilities: { tools: {} },
                serverInfo: { name: serverName, version: "1.0.0" },
            };
        case "ping":
            return {};
        case "tools/list":
            return { tools: tools.map(({ run, ...declaration }) => declaration) };
        case "tools/call": {
            const tool = tools.find((t) => t.name === params.name);
            if (!tool) return { ...text(`Unknown tool: ${params.name}`), isError: true };
            return await tool.run(params.arguments ?? {}, params._meta);
        }
        default:
            throw Object.assign(new Error(`Method not found: ${method}`), { code: -32601 });
    }
}

createInterface({ input: process.stdin }).on("line", async (line) => {
    let message;
    try {
        message = JSON.parse(line);
    } catch {
        return;
    }
    if (message.method === undefined) {
        const waiter = pending.get(message.id);
        if (waiter) {
            pending.delete(message.id);
            if (message.error) waiter.reject(new Error(message.error.message));
            else waiter.resolve(message.result ?? {});
        }
        return;
    }
    if (message.id === undefined) return;
    try {
        send({ id: message.id, result: await handle(message.method, message.params ?? {}) });
    } catch (e) {
        send({ id: message.id, error: { code: e.code ?? -32603, message: String(e.message ?? e) } });
    }
});
"#;

const TURN: Duration = Duration::from_secs(90);
const MCP_WAIT: Duration = Duration::from_secs(60);

/// Writes the MCP server script into the scenario's home; returns its path.
fn server_script(ctx: &Ctx) -> PathBuf {
    let path = ctx.env.home_path().join("conformance-mcp-server.mjs");
    std::fs::write(&path, MCP_SERVER).unwrap();
    path
}

/// A local (stdio) MCP server entry running our script with `args`.
fn local_server(ctx: &Ctx, args: &[&str]) -> Value {
    let mut all = vec![server_script(ctx).to_string_lossy().into_owned()];
    all.extend(args.iter().map(|a| a.to_string()));
    json!({
        "type": "local",
        "command": "node",
        "args": all,
        "cwd": ctx.env.home_path(),
        "tools": ["*"],
    })
}

/// `mcpServers` with one `get_env` server per name.
fn env_servers(ctx: &Ctx, names: &[&str]) -> Value {
    Value::Object(
        names
            .iter()
            .map(|n| (n.to_string(), local_server(ctx, &["--name", n])))
            .collect(),
    )
}

/// The status `session.mcp.list` reports for `name` ("<not listed>" when absent).
fn mcp_status(session: &Session, name: &str) -> Result<String, String> {
    let list = call(session, "session.mcp.list", json!({}))?;
    Ok(list["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == name)
        .map(|s| s["status"].as_str().unwrap_or("<no status>").to_string())
        .unwrap_or_else(|| "<not listed>".into()))
}

/// Polls `session.mcp.list` until `name` reports `status`.
fn wait_status(session: &Session, name: &str, status: &str) -> Result<(), String> {
    let deadline = Instant::now() + MCP_WAIT;
    loop {
        let now = mcp_status(session, name)?;
        if now == status {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("{name} did not reach {status}; last status {now}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Polls `session.mcp.isServerRunning` until it answers `running`.
fn wait_running(session: &Session, name: &str, running: bool) -> Result<(), String> {
    let deadline = Instant::now() + MCP_WAIT;
    loop {
        if is_running(session, name)? == running {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("{name} running never became {running}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn is_running(session: &Session, name: &str) -> Result<bool, String> {
    let r = call(
        session,
        "session.mcp.isServerRunning",
        json!({"serverName": name}),
    )?;
    r["running"]
        .as_bool()
        .ok_or_else(|| format!("isServerRunning answered {r}"))
}

fn uuid_like(session: &Session) -> Result<(), String> {
    let id = session.id();
    ensure(
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || c == '-'),
        format!("session id {id:?}"),
    )
}

/// Sends `prompt` and returns the final assistant message's text.
fn turn(session: &Session, prompt: &str) -> Result<String, String> {
    let message = ok(
        session.send_and_wait(&json!({ "prompt": prompt }), TURN),
        "send_and_wait",
    )?;
    ensure(
        !message.is_null(),
        format!("no assistant message for {prompt:?}"),
    )?;
    Ok(content(&message))
}

/// The sum a "What is A+B?" prompt asks for.
fn sum_asked(prompt: &str) -> Option<i64> {
    let expr = prompt.strip_prefix("What is ")?.strip_suffix('?')?;
    let (a, b) = expr.split_once('+')?;
    Some(a.trim().parse::<i64>().ok()? + b.trim().parse::<i64>().ok()?)
}

/// Sends an arithmetic prompt and checks the answer contains its sum.
fn arithmetic_turn(session: &Session, prompt: &str) -> Result<(), String> {
    let answer = turn(session, prompt)?;
    let sum = sum_asked(prompt).ok_or_else(|| format!("not an arithmetic prompt: {prompt}"))?;
    ensure(
        answer.contains(&sum.to_string()),
        format!("{prompt:?} answered {answer:?}, expected {sum}"),
    )
}

/// The tool results the CLI sent back to the model (role "tool" messages of
/// the last model request).
fn tool_results(ctx: &Ctx) -> Vec<String> {
    ctx.requests()
        .last()
        .and_then(|r| r["messages"].as_array().cloned())
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "tool")
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// The MCP tool's result as the model was sent it contains `expected`.
fn tool_result_contains(ctx: &Ctx, expected: &str) -> Result<(), String> {
    let results = tool_results(ctx);
    ensure(
        results.iter().any(|r| r.contains(expected)),
        format!("no tool result with {expected:?}: {results:?}"),
    )
}

/// A session with a `get_env` MCP server: it connects, and the recorded
/// arithmetic prompt (when the snapshot has one) is answered.
fn mcp_server_on_create(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(
        &client,
        json!({"mcpServers": env_servers(ctx, &["test-server"])}),
    )?;
    uuid_like(&session)?;
    wait_status(&session, "test-server", "connected")?;
    if let Some(prompt) = ctx.prompts().first() {
        arithmetic_turn(&session, prompt)?;
    }
    Ok(())
}

/// MCP servers given on resume connect on the resumed session; prompts before
/// and after the resume (as recorded) are answered.
fn mcp_server_on_resume(ctx: &Ctx) -> Result<(), String> {
    let prompts = ctx.prompts();
    let client = ctx.client();
    let first = ctx.approved_session(&client, json!({}))?;
    if let Some(prompt) = prompts.first() {
        arithmetic_turn(&first, prompt)?;
    }
    let resumed = ok(
        client.resume_session(
            &first.id(),
            &ctx.config(json!({"mcpServers": env_servers(ctx, &["test-server"])}))
                .approve_all(),
        ),
        "resume",
    )?;
    ensure(
        resumed.id() == first.id(),
        format!("resumed {} as {}", first.id(), resumed.id()),
    )?;
    wait_status(&resumed, "test-server", "connected")?;
    if let Some(prompt) = prompts.get(1) {
        arithmetic_turn(&resumed, prompt)?;
    }
    Ok(())
}

/// A stdio server entry without `args` is accepted.
fn mcp_server_without_args(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(
        &client,
        json!({"mcpServers": {"test-server": {"type": "local", "command": "git", "tools": ["*"]}}}),
    )?;
    uuid_like(&session)?;
    if let Some(prompt) = ctx.prompts().first() {
        arithmetic_turn(&session, prompt)?;
    }
    Ok(())
}

fn should_handle_multiple_mcp_servers(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(
        &client,
        json!({"mcpServers": env_servers(ctx, &["server1", "server2"])}),
    )?;
    uuid_like(&session)?;
    wait_status(&session, "server1", "connected")?;
    wait_status(&session, "server2", "connected")
}

/// A literal `env` value reaches the server process: the model calls
/// `get_env`, the tool result (checked by the replay against the recording) and
/// the answer are the value.
fn should_pass_literal_env_values_to_mcp_server_subprocess(ctx: &Ctx) -> Result<(), String> {
    let mut server = local_server(ctx, &["--name", "env-echo"]);
    server["env"] = json!({"TEST_SECRET": "hunter2"});
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({"mcpServers": {"env-echo": server}}))?;
    uuid_like(&session)?;
    wait_status(&session, "env-echo", "connected")?;
    let answer = turn(&session, &ctx.prompt(0))?;
    tool_result_contains(ctx, "hunter2")?;
    ensure(answer.contains("hunter2"), format!("answer {answer:?}"))
}

fn agent(name: &str, display: &str, description: &str, prompt: &str) -> Value {
    json!({"name": name, "displayName": display, "description": description, "prompt": prompt})
}

fn custom_agent_on_create(ctx: &Ctx) -> Result<(), String> {
    let mut a = agent(
        "test-agent",
        "Test Agent",
        "A test agent for SDK testing",
        "You are a helpful test agent.",
    );
    a["infer"] = json!(true);
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({"customAgents": [a]}))?;
    uuid_like(&session)?;
    arithmetic_turn(&session, &ctx.prompt(0))
}

fn custom_agent_on_resume(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let first = ctx.approved_session(&client, json!({}))?;
    arithmetic_turn(&first, &ctx.prompt(0))?;
    let agents = json!([agent(
        "resume-agent",
        "Resume Agent",
        "An agent added on resume",
        "You are a resume test agent."
    )]);
    let resumed = ok(
        client.resume_session(
            &first.id(),
            &ctx.config(json!({"customAgents": agents})).approve_all(),
        ),
        "resume",
    )?;
    ensure(
        resumed.id() == first.id(),
        format!("resumed {} as {}", first.id(), resumed.id()),
    )?;
    arithmetic_turn(&resumed, &ctx.prompt(1))
}

/// Creates a session with `agents`; checks it is live and lists them.
fn session_with_agents(ctx: &Ctx, agents: Value) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({"customAgents": agents.clone()}))?;
    uuid_like(&session)?;
    let listed = call(&session, "session.agent.list", json!({}))?;
    for a in agents.as_array().unwrap() {
        ensure(
            listed["agents"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|l| l["name"] == a["name"]),
            format!("{} not in session.agent.list: {listed}", a["name"]),
        )?;
    }
    Ok(())
}

fn should_handle_custom_agent_with_tools_configuration(ctx: &Ctx) -> Result<(), String> {
    let mut a = agent(
        "tool-agent",
        "Tool Agent",
        "An agent with specific tools",
        "You are an agent with specific tools.",
    );
    a["tools"] = json!(["bash", "edit"]);
    a["infer"] = json!(true);
    session_with_agents(ctx, json!([a]))
}

fn should_handle_custom_agent_with_mcp_servers(ctx: &Ctx) -> Result<(), String> {
    let mut a = agent(
        "mcp-agent",
        "MCP Agent",
        "An agent with its own MCP servers",
        "You are an agent with MCP servers.",
    );
    a["mcpServers"] = env_servers(ctx, &["agent-server"]);
    session_with_agents(ctx, json!([a]))
}

fn should_handle_multiple_custom_agents(ctx: &Ctx) -> Result<(), String> {
    let one = agent("agent1", "Agent One", "First agent", "You are agent one.");
    let mut two = agent("agent2", "Agent Two", "Second agent", "You are agent two.");
    two["infer"] = json!(false);
    session_with_agents(ctx, json!([one, two]))
}

fn mcp_servers_and_custom_agents(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(
        &client,
        json!({
            "mcpServers": env_servers(ctx, &["shared-server"]),
            "customAgents": [agent("combined-agent", "Combined Agent",
                "An agent using shared MCP servers", "You are a combined test agent.")],
        }),
    )?;
    uuid_like(&session)?;
    wait_status(&session, "shared-server", "connected")?;
    if let Some(prompt) = ctx.prompts().first() {
        arithmetic_turn(&session, prompt)?;
    }
    Ok(())
}

fn secret_tool(cfg: crate::Config) -> crate::Config {
    cfg.tool(
        json!({"name": "secret_tool", "description": "A secret tool hidden from the default agent",
               "parameters": {"type": "object",
                   "properties": {"input": {"type": "string", "description": "Input to process"}},
                   "required": ["input"]}}),
        |inv| {
            ToolOutcome::Result(json!(format!(
                "SECRET:{}",
                inv["arguments"]["input"].as_str().unwrap_or("")
            )))
        },
    )
}

/// Names of every tool offered in the model requests from index `from` on.
fn offered_tools(ctx: &Ctx, from: usize) -> Vec<String> {
    ctx.requests()
        .iter()
        .skip(from)
        .flat_map(tool_names)
        .collect()
}

fn should_hide_excluded_tools_from_default_agent(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let cfg = secret_tool(ctx.config(json!({"defaultAgent": {"excludedTools": ["secret_tool"]}})));
    let session = ok(client.create_session(&cfg.approve_all()), "create")?;
    let answer = turn(&session, &ctx.prompt(0))?;
    ensure(
        answer.to_lowercase().contains("no"),
        format!("answer {answer:?}"),
    )?;
    let tools = offered_tools(ctx, 0);
    ensure(!tools.is_empty(), "no model request offered tools")?;
    ensure(
        !tools.iter().any(|t| t == "secret_tool"),
        format!("secret_tool offered to the default agent: {tools:?}"),
    )
}

fn should_accept_defaultagent_configuration_on_session_resume(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let first = ctx.approved_session(&client, json!({}))?;
    arithmetic_turn(&first, &ctx.prompt(0))?;
    let cfg = secret_tool(ctx.config(json!({"defaultAgent": {"excludedTools": ["secret_tool"]}})));
    let resumed = ok(
        client.resume_session(&first.id(), &cfg.approve_all()),
        "resume",
    )?;
    ensure(resumed.id() == first.id(), "resumed under another id")?;
    let before = ctx.requests().len();
    arithmetic_turn(&resumed, &ctx.prompt(1))?;
    let tools = offered_tools(ctx, before);
    ensure(
        !tools.iter().any(|t| t == "secret_tool"),
        format!("secret_tool offered after resume: {tools:?}"),
    )
}

/// The server asks for a color by elicitation; the host's elicitation handler
/// sees the request (message, form mode, source, schema) and accepts with
/// "blue", which reaches the tool result and the answer.
fn should_round_trip_mcp_server_elicitation_request(ctx: &Ctx) -> Result<(), String> {
    let requests_file = ctx.env.home_path().join("elicitation-requests.json");
    std::fs::write(
        &requests_file,
        json!([{
            "message": "Pick a color.",
            "requestedSchema": {
                "type": "object",
                "properties": {"color": {"type": "string", "enum": ["red", "blue"]}},
                "required": ["color"],
            },
        }])
        .to_string(),
    )
    .unwrap();
    let name = "test-elicitation-server";
    let server = local_server(
        ctx,
        &[
            "--name",
            name,
            "--kind",
            "elicit",
            "--elicit",
            requests_file.to_str().unwrap(),
        ],
    );
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let s = seen.clone();
    let cfg = ctx
        .config(json!({"mcpServers": {name: server}}))
        .approve_all()
        .handler("elicitation", move |req| {
            s.lock().unwrap().push(req.clone());
            Some(json!({"action": "accept", "content": {"color": "blue"}}))
        });
    let client = ctx.client();
    let session = ok(client.create_session(&cfg), "create")?;
    wait_status(&session, name, "connected")?;
    let answer = turn(&session, &ctx.prompt(0))?;
    let seen = seen.lock().unwrap().clone();
    let req = seen
        .first()
        .ok_or("the elicitation handler was not called")?;
    ensure(req["message"] == "Pick a color.", format!("request {req}"))?;
    ensure(req["mode"] == "form", format!("mode {}", req["mode"]))?;
    ensure(
        req["elicitationSource"]
            .as_str()
            .is_some_and(|s| s.contains(name)),
        format!("elicitationSource {}", req["elicitationSource"]),
    )?;
    ensure(
        req["requestedSchema"]["type"] == "object"
            && req["requestedSchema"]["properties"]["color"].is_object(),
        format!("requestedSchema {}", req["requestedSchema"]),
    )?;
    tool_result_contains(
        ctx,
        r#"{"results":[{"action":"accept","content":{"color":"blue"}}]}"#,
    )?;
    ensure(answer.contains("blue"), format!("answer {answer:?}"))
}

/// An `echo_meta` server named "meta-echo" and a `preMcpToolCall` hook answering
/// `output`; the hook's input and the answer are returned. The tool result the
/// model is sent (the `_meta` the server received) is matched by the replay.
fn meta_hook_turn(ctx: &Ctx, output: Value) -> Result<(Vec<Value>, String), String> {
    let server = local_server(ctx, &["--name", "meta-echo", "--kind", "meta"]);
    let inputs: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = inputs.clone();
    let cfg = ctx
        .config(json!({"mcpServers": {"meta-echo": server}}))
        .approve_all()
        .hook("preMcpToolCall", move |inv| {
            seen.lock().unwrap().push(inv["input"].clone());
            Some(output.clone())
        });
    let client = ctx.client();
    let session = ok(client.create_session(&cfg), "create")?;
    wait_status(&session, "meta-echo", "connected")?;
    let answer = turn(&session, &ctx.prompt(0))?;
    let inputs = inputs.lock().unwrap().clone();
    let input = inputs
        .first()
        .ok_or("the preMcpToolCall hook was not called")?;
    ensure(
        input["serverName"] == "meta-echo" && input["toolName"] == "echo_meta",
        format!("hook input {input}"),
    )?;
    Ok((inputs, answer))
}

fn should_set_meta_via_premcptoolcall_hook(ctx: &Ctx) -> Result<(), String> {
    let (inputs, answer) = meta_hook_turn(
        ctx,
        json!({"metaToUse": {"injected": "by-hook", "source": "test"}}),
    )?;
    tool_result_contains(
        ctx,
        r#"{"meta":{"injected":"by-hook","source":"test"},"value":"test-set"}"#,
    )?;
    ensure(
        answer.contains("injected") && answer.contains("by-hook"),
        format!("answer {answer:?}"),
    )?;
    let input = &inputs[0];
    ensure(
        input["cwd"].as_str().is_some_and(|c| !c.is_empty()),
        format!("hook input without cwd: {input}"),
    )?;
    ensure(
        input["timestamp"].as_f64().is_some_and(|t| t > 0.0),
        format!("hook input timestamp: {input}"),
    )
}

fn should_replace_meta_via_premcptoolcall_hook(ctx: &Ctx) -> Result<(), String> {
    let (_, answer) = meta_hook_turn(ctx, json!({"metaToUse": {"completely": "replaced"}}))?;
    tool_result_contains(
        ctx,
        r#"{"meta":{"completely":"replaced"},"value":"test-replace"}"#,
    )?;
    ensure(
        answer.contains("completely") && answer.contains("replaced"),
        format!("answer {answer:?}"),
    )
}

fn should_remove_meta_via_premcptoolcall_hook(ctx: &Ctx) -> Result<(), String> {
    let (_, answer) = meta_hook_turn(ctx, json!({"metaToUse": null}))?;
    tool_result_contains(ctx, r#"{"meta":null,"value":"test-remove"}"#)?;
    ensure(
        answer.contains("\"meta\":null") && answer.contains("test-remove"),
        format!("answer {answer:?}"),
    )
}

const SKILL_MARKER: &str = "PINEAPPLE_COCONUT_42";

/// Writes `<home>/.test_skills/test-skill/SKILL.md` (a skill that asks for the
/// marker in every answer); returns the skills directory.
fn test_skill_dir(ctx: &Ctx) -> PathBuf {
    let dir = ctx.env.home_path().join(".test_skills");
    write_skill(
        &dir,
        "test-skill",
        "A test skill that adds a marker to responses",
        &format!(
            "# Test Skill Instructions\n\nIMPORTANT: You MUST include the exact text \"{SKILL_MARKER}\" \
             somewhere in EVERY response you give. This is a mandatory requirement. Include it naturally \
             in your response.\n"
        ),
    );
    dir
}

fn write_skill(dir: &std::path::Path, name: &str, description: &str, body: &str) {
    let skill = dir.join(name);
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        format!("---\nname: {name}\ndescription: {description}\n---\n\n{body}"),
    )
    .unwrap();
}

/// One turn of the skills prompt in a session with the test skill plus `extra`.
fn skill_turn(ctx: &Ctx, extra: Value) -> Result<String, String> {
    let mut fields = json!({"skillDirectories": [test_skill_dir(ctx)]});
    fields
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let client = ctx.client();
    let session = ctx.approved_session(&client, fields)?;
    uuid_like(&session)?;
    turn(&session, &ctx.prompt(0))
}

fn should_load_and_apply_skill_from_skilldirectories(ctx: &Ctx) -> Result<(), String> {
    let answer = skill_turn(ctx, json!({}))?;
    ensure(answer.contains(SKILL_MARKER), format!("answer {answer:?}"))
}

fn should_not_apply_skill_when_disabled_via_disabledskills(ctx: &Ctx) -> Result<(), String> {
    let answer = skill_turn(ctx, json!({"disabledSkills": ["test-skill"]}))?;
    ensure(!answer.contains(SKILL_MARKER), format!("answer {answer:?}"))
}

fn should_allow_agent_with_skills_to_invoke_skill(ctx: &Ctx) -> Result<(), String> {
    let answer = skill_turn(
        ctx,
        json!({
            "customAgents": [{"name": "skill-agent", "prompt": "You are a helpful test agent.",
                "description": "An agent with access to test-skill", "skills": ["test-skill"]}],
            "agent": "skill-agent",
        }),
    )?;
    ensure(answer.contains(SKILL_MARKER), format!("answer {answer:?}"))
}

fn should_not_provide_skills_to_agent_without_skills_field(ctx: &Ctx) -> Result<(), String> {
    let answer = skill_turn(
        ctx,
        json!({
            "customAgents": [{"name": "no-skill-agent", "prompt": "You are a helpful test agent.",
                "description": "An agent without skills access"}],
            "agent": "no-skill-agent",
        }),
    )?;
    ensure(!answer.contains(SKILL_MARKER), format!("answer {answer:?}"))
}

/// A session with one `get_env` server named `name`, connected.
fn session_with_server(ctx: &Ctx, name: &str) -> Result<(crate::Client, Session), String> {
    let client = ctx.client();
    let session =
        ctx.approved_session(&client, json!({"mcpServers": env_servers(ctx, &[name])}))?;
    wait_status(&session, name, "connected")?;
    Ok((client, session))
}

fn ensure_error_contains(message: &str, expected: &str) -> Result<(), String> {
    not_unhandled(message)?;
    ensure(
        message
            .to_ascii_lowercase()
            .contains(&expected.to_ascii_lowercase()),
        format!("expected an error with {expected:?}, got {message:?}"),
    )
}

fn should_list_tools_and_report_running_status_for_connected_server(
    ctx: &Ctx,
) -> Result<(), String> {
    let name = "rpc-lifecycle-list-server";
    let (_c, session) = session_with_server(ctx, name)?;
    let tools = call(
        &session,
        "session.mcp.listTools",
        json!({"serverName": name}),
    )?;
    let list = tools["tools"].as_array().cloned().unwrap_or_default();
    ensure(!list.is_empty(), format!("listTools {tools}"))?;
    ensure(
        list.iter()
            .all(|t| t["name"].as_str().is_some_and(|n| !n.trim().is_empty())),
        format!("tool without a name: {tools}"),
    )?;
    ensure(is_running(&session, name)?, "connected server not running")?;
    ensure(
        !is_running(&session, &unique("missing"))?,
        "a never-configured server reports running",
    )
}

fn should_throw_when_listing_tools_for_unconnected_server(ctx: &Ctx) -> Result<(), String> {
    let (_c, session) = session_with_server(ctx, "rpc-lifecycle-unconnected-host")?;
    let err = call_err(
        &session,
        "session.mcp.listTools",
        json!({"serverName": unique("missing")}),
    )?;
    ensure_error_contains(&err, "not connected")
}

fn should_stop_running_mcp_server(ctx: &Ctx) -> Result<(), String> {
    let name = "rpc-lifecycle-stop-server";
    let (_c, session) = session_with_server(ctx, name)?;
    ensure(is_running(&session, name)?, "connected server not running")?;
    call(
        &session,
        "session.mcp.stopServer",
        json!({"serverName": name}),
    )?;
    wait_running(&session, name, false)
}

fn should_start_and_restart_mcp_server(ctx: &Ctx) -> Result<(), String> {
    let (_c, session) = session_with_server(ctx, "rpc-lifecycle-host-server")?;
    let started = "rpc-lifecycle-started-server";
    let config = local_server(ctx, &["--name", started]);
    call(
        &session,
        "session.mcp.startServer",
        json!({"serverName": started, "config": config}),
    )?;
    wait_running(&session, started, true)?;
    let tools = call(
        &session,
        "session.mcp.listTools",
        json!({"serverName": started}),
    )?;
    ensure(
        tools["tools"].as_array().is_some_and(|t| !t.is_empty()),
        format!("started server's tools {tools}"),
    )?;
    call(
        &session,
        "session.mcp.restartServer",
        json!({"serverName": started, "config": config}),
    )?;
    wait_running(&session, started, true)
}

fn should_reload_mcp_servers_with_config(ctx: &Ctx) -> Result<(), String> {
    let (_c, session) = session_with_server(ctx, "rpc-lifecycle-reload-host")?;
    let result = call(
        &session,
        "session.mcp.reloadWithConfig",
        json!({"config": {"mcpServers": {}, "disabledServers": []}}),
    )?;
    ensure(
        result["filteredServers"]
            .as_array()
            .is_some_and(|f| f.is_empty()),
        format!("reloadWithConfig {result}"),
    )
}

/// Not registered: the pinned CLI (1.0.102) answers `session.mcp.configureGitHub`
/// (an internal method) with "Unhandled method" (-32601); upstream skips it too.
#[allow(dead_code)]
fn should_configure_github_mcp_server(ctx: &Ctx) -> Result<(), String> {
    let (_c, session) = session_with_server(ctx, "rpc-lifecycle-configure-host")?;
    let result = call(
        &session,
        "session.mcp.configureGitHub",
        json!({"authInfo": {"type": "api-key"}}),
    )?;
    ensure(
        result["changed"] == false,
        format!("configureGitHub {result}"),
    )
}

/// A skill directory with one skill under the scenario's home.
fn rpc_skill_dir(ctx: &Ctx, dir: &str, name: &str, description: &str) -> PathBuf {
    let path = ctx.env.home_path().join(dir);
    write_skill(
        &path,
        name,
        description,
        &format!("# {name}\n\nThis skill is used by RPC conformance scenarios.\n"),
    );
    path
}

/// The skill `name` in `session.skills.list`, enabled as expected, with a path
/// to its SKILL.md.
fn listed_skill(session: &Session, name: &str, enabled: bool) -> Result<Value, String> {
    let list = call(session, "session.skills.list", json!({}))?;
    let skill = list["skills"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == name)
        .cloned()
        .ok_or_else(|| format!("{name} not listed: {list}"))?;
    ensure(
        skill["enabled"] == enabled,
        format!("{name} enabled should be {enabled}: {skill}"),
    )?;
    ensure(
        skill["path"]
            .as_str()
            .is_some_and(|p| p.contains(name) && p.ends_with("SKILL.md")),
        format!("skill path {}", skill["path"]),
    )?;
    Ok(skill)
}

fn should_list_and_toggle_session_skills(ctx: &Ctx) -> Result<(), String> {
    let name = "session-rpc-skill";
    let dir = rpc_skill_dir(
        ctx,
        "session-rpc-skills",
        name,
        "Session skill controlled by RPC.",
    );
    let client = ctx.client();
    let session = ctx.approved_session(
        &client,
        json!({"skillDirectories": [dir], "disabledSkills": [name]}),
    )?;
    listed_skill(&session, name, false)?;
    call(&session, "session.skills.enable", json!({"name": name}))?;
    listed_skill(&session, name, true)?;
    call(&session, "session.skills.disable", json!({"name": name}))?;
    listed_skill(&session, name, false).map(|_| ())
}

fn should_reload_session_skills(ctx: &Ctx) -> Result<(), String> {
    let dir = ctx.env.home_path().join("reloadable-rpc-skills");
    std::fs::create_dir_all(&dir).unwrap();
    let name = "reload-rpc-skill";
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({"skillDirectories": [dir]}))?;
    let before = call(&session, "session.skills.list", json!({}))?;
    ensure(
        !before["skills"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["name"] == name),
        format!("{name} listed before it was written: {before}"),
    )?;
    write_skill(
        &dir,
        name,
        "Skill added after session creation.",
        "# Reload\n\nAdded after the session started.\n",
    );
    call(&session, "session.skills.reload", json!({}))?;
    let skill = listed_skill(&session, name, true)?;
    ensure(
        skill["description"] == "Skill added after session creation.",
        format!("reloaded skill {skill}"),
    )
}

fn should_list_mcp_servers_with_configured_server(ctx: &Ctx) -> Result<(), String> {
    let name = "rpc-list-mcp-server";
    let client = ctx.client();
    let session =
        ctx.approved_session(&client, json!({"mcpServers": env_servers(ctx, &[name])}))?;
    ensure(
        mcp_status(&session, name)? != "<not listed>",
        format!("{name} not in session.mcp.list"),
    )
}

fn should_list_plugins(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({}))?;
    let result = call(&session, "session.plugins.list", json!({}))?;
    let plugins = result["plugins"]
        .as_array()
        .ok_or_else(|| format!("plugins.list {result}"))?;
    ensure(
        plugins
            .iter()
            .all(|p| p["name"].as_str().is_some_and(|n| !n.is_empty())),
        format!("plugin without a name: {result}"),
    )
}

/// A session in allow-all permission mode (extensions need it).
fn allow_all_session(ctx: &Ctx, client: &crate::Client) -> Result<Session, String> {
    let session = ctx.approved_session(client, json!({}))?;
    call(
        &session,
        "session.permissions.setMode",
        json!({"mode": "allow-all"}),
    )?;
    Ok(session)
}

fn should_list_extensions(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = allow_all_session(ctx, &client)?;
    let result = call(&session, "session.extensions.list", json!({}))?;
    let extensions = result["extensions"]
        .as_array()
        .ok_or_else(|| format!("extensions.list {result}"))?;
    ensure(
        extensions.iter().all(|e| {
            e["id"].as_str().is_some_and(|s| !s.is_empty())
                && e["name"].as_str().is_some_and(|s| !s.is_empty())
        }),
        format!("extension without id or name: {result}"),
    )
}

fn should_report_error_when_extensions_are_not_available(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = allow_all_session(ctx, &client)?;
    for (method, params) in [
        (
            "session.extensions.enable",
            json!({"id": "missing-extension"}),
        ),
        (
            "session.extensions.disable",
            json!({"id": "missing-extension"}),
        ),
        ("session.extensions.reload", json!({})),
    ] {
        let err = call_err(&session, method, params)?;
        ensure_error_contains(&err, "Extensions not available")
            .map_err(|e| format!("{method}: {e}"))?;
    }
    Ok(())
}

/// Not registered: with the pinned CLI (1.0.102) every session has an MCP host
/// (`session.mcp.list` reports a `host` even with no servers, BYOK or signed
/// in), so `session.mcp.enable`/`disable` of an unknown server answer `{}`
/// instead of failing with "No MCP host initialized" as recorded upstream.
/// `session.mcp.reload` and `session.mcp.oauth.login` still fail as expected.
#[allow(dead_code)]
fn should_report_error_when_mcp_host_is_not_initialized(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(&client, json!({}))?;
    for (method, params, expected) in [
        (
            "session.mcp.enable",
            json!({"serverName": "missing-server"}),
            "No MCP host initialized",
        ),
        (
            "session.mcp.disable",
            json!({"serverName": "missing-server"}),
            "No MCP host initialized",
        ),
        (
            "session.mcp.reload",
            json!({}),
            "MCP config reload not available",
        ),
        (
            "session.mcp.oauth.login",
            json!({"serverName": "missing-server"}),
            "MCP host is not available",
        ),
    ] {
        let err = call_err(&session, method, params)?;
        ensure_error_contains(&err, expected).map_err(|e| format!("{method}: {e}"))?;
    }
    Ok(())
}

fn should_report_error_when_mcp_oauth_server_is_not_configured(ctx: &Ctx) -> Result<(), String> {
    let client = ctx.client();
    let session = ctx.approved_session(
        &client,
        json!({"mcpServers": env_servers(ctx, &["configured-stdio-server"])}),
    )?;
    let err = call_err(
        &session,
        "session.mcp.oauth.login",
        json!({"serverName": "missing-server"}),
    )?;
    ensure_error_contains(&err, "is not configured")
}

fn should_report_error_when_mcp_oauth_server_is_not_remote(ctx: &Ctx) -> Result<(), String> {
    let name = "configured-stdio-server";
    let client = ctx.client();
    let session =
        ctx.approved_session(&client, json!({"mcpServers": env_servers(ctx, &[name])}))?;
    let err = call_err(
        &session,
        "session.mcp.oauth.login",
        json!({"serverName": name, "callbackSuccessMessage": "Done",
               "clientName": "SDK E2E", "forceReauth": true}),
    )?;
    ensure_error_contains(&err, "not a remote server")
}

/// The servers of `mcp.config.list` (user configuration).
fn config_servers(client: &crate::Client) -> Result<Value, String> {
    let list = call(client, "mcp.config.list", json!({}))?;
    ensure(
        list["servers"].is_object(),
        format!("mcp.config.list {list}"),
    )?;
    Ok(list["servers"].clone())
}

fn should_call_server_mcp_config_rpcs(ctx: &Ctx) -> Result<(), String> {
    let name = "conformance-mcp-config";
    let client = ctx.started_client(json!({}))?;
    let _ = client.call("mcp.config.remove", &json!({"name": name}));
    ensure(
        config_servers(&client)?.get(name).is_none(),
        "listed before add",
    )?;
    call(
        &client,
        "mcp.config.add",
        json!({"name": name, "config": {"command": "node", "args": []}}),
    )?;
    ensure(
        config_servers(&client)?.get(name).is_some(),
        "not listed after add",
    )?;
    call(
        &client,
        "mcp.config.update",
        json!({"name": name, "config": {"command": "node", "args": ["--version"]}}),
    )?;
    let updated = config_servers(&client)?[name].clone();
    ensure(
        updated["command"] == "node" && updated["args"][0] == "--version",
        format!("after update {updated}"),
    )?;
    call(&client, "mcp.config.disable", json!({"names": [name]}))?;
    call(&client, "mcp.config.enable", json!({"names": [name]}))?;
    call(&client, "mcp.config.remove", json!({"name": name}))?;
    ensure(
        config_servers(&client)?.get(name).is_none(),
        "listed after remove",
    )
}

fn should_round_trip_http_mcp_oauth_config_rpc(ctx: &Ctx) -> Result<(), String> {
    let name = "conformance-http-oauth-mcp-config";
    let client = ctx.started_client(json!({}))?;
    let _ = client.call("mcp.config.remove", &json!({"name": name}));
    call(
        &client,
        "mcp.config.add",
        json!({"name": name, "config": {
            "type": "http", "url": "https://example.com/mcp",
            "headers": {"Authorization": "Bearer token"},
            "oauthClientId": "client-id", "oauthPublicClient": false,
            "oauthGrantType": "client_credentials", "tools": ["*"], "timeout": 3000}}),
    )?;
    let added = config_servers(&client)?[name].clone();
    ensure(
        added["type"] == "http"
            && added["url"] == "https://example.com/mcp"
            && added["headers"]["Authorization"] == "Bearer token"
            && added["oauthClientId"] == "client-id"
            && added["oauthPublicClient"] == false
            && added["oauthGrantType"] == "client_credentials",
        format!("after add {added}"),
    )?;
    call(
        &client,
        "mcp.config.update",
        json!({"name": name, "config": {
            "type": "http", "url": "https://example.com/updated-mcp",
            "oauthClientId": "updated-client-id", "oauthPublicClient": true,
            "oauthGrantType": "authorization_code", "tools": ["updated-tool"], "timeout": 4000}}),
    )?;
    let updated = config_servers(&client)?[name].clone();
    ensure(
        updated["url"] == "https://example.com/updated-mcp"
            && updated["oauthClientId"] == "updated-client-id"
            && updated["oauthPublicClient"] == true
            && updated["oauthGrantType"] == "authorization_code"
            && updated["tools"][0] == "updated-tool"
            && updated["timeout"] == 4000,
        format!("after update {updated}"),
    )?;
    call(&client, "mcp.config.remove", json!({"name": name}))?;
    ensure(
        config_servers(&client)?.get(name).is_none(),
        "listed after remove",
    )
}
