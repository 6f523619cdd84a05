//! A host-provided session filesystem (`session_fs`): the client sets
//! `sessionFs` (sent as `sessionFs.setProvider`), and the CLI keeps each
//! session's state (events.jsonl, workspace.yaml, plan.md, large tool output,
//! compaction checkpoints) through the session's "sessionFs" handler, here an
//! in-memory filesystem shared by the scenario's sessions.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::rpc_edges::wait_until;
use crate::{content, ensure, ok, Client, Config, Ctx, Events, Scenario, ToolOutcome};

pub fn all() -> Vec<Scenario> {
    vec![
        run!(
            "session_fs",
            should_route_file_operations_through_the_session_fs_provider
        ),
        run!(
            "session_fs",
            should_load_session_data_from_fs_provider_on_resume
        ),
        run!(
            "session_fs",
            should_reject_setprovider_when_sessions_already_exist
        ),
        run!(
            "session_fs",
            should_map_large_output_handling_into_sessionfs
        ),
        run!("session_fs", should_write_workspace_metadata_via_sessionfs),
        run!("session_fs", should_persist_plan_md_via_sessionfs),
        run!(
            "session_fs",
            should_succeed_with_compaction_while_using_sessionfs
        ),
    ]
}

enum Node {
    Dir,
    File(String),
}

/// An in-memory POSIX filesystem answering the `sessionFs.*` operations. Each
/// session's paths live under `/<sessionId>`, so sessions never collide and a
/// resumed session finds what it wrote before.
#[derive(Clone, Default)]
pub(crate) struct MemFs(Arc<Mutex<BTreeMap<String, Node>>>);

fn enoent(path: &str) -> Value {
    json!({"code": "ENOENT", "message": format!("no such file or directory: {path}")})
}

fn parent(path: &str) -> Option<&str> {
    let i = path.rfind('/')?;
    Some(if i == 0 { "/" } else { &path[..i] })
}

impl MemFs {
    /// The text of `path` in session `sid`'s namespace, if it is a file.
    pub fn read(&self, sid: &str, path: &str) -> Option<String> {
        match self.0.lock().unwrap().get(&scoped(sid, path)) {
            Some(Node::File(c)) => Some(c.clone()),
            _ => None,
        }
    }

    /// A "sessionFs" handler over this filesystem.
    pub fn handler(&self) -> impl Fn(&str, &Value) -> Result<Value, String> + Send + Sync {
        let fs = self.clone();
        move |kind, req| fs.answer(kind, req)
    }

    fn mkdirs(map: &mut BTreeMap<String, Node>, path: &str) {
        let mut p = Some(path);
        while let Some(dir) = p {
            if map.contains_key(dir) {
                break;
            }
            map.insert(dir.to_string(), Node::Dir);
            p = parent(dir).filter(|d| *d != dir);
        }
    }

    fn children<'a>(map: &'a BTreeMap<String, Node>, dir: &str) -> Vec<(&'a str, &'a Node)> {
        let prefix = if dir.ends_with('/') {
            dir.to_string()
        } else {
            format!("{dir}/")
        };
        map.range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k[prefix.len()..].contains('/'))
            .map(|(k, v)| (&k[prefix.len()..], v))
            .collect()
    }

    fn answer(&self, kind: &str, req: &Value) -> Result<Value, String> {
        let sid = req["sessionId"].as_str().ok_or("no sessionId")?;
        let at = |key: &str| scoped(sid, req[key].as_str().unwrap_or_default());
        let path = at("path");
        let mut map = self.0.lock().unwrap();
        Ok(match kind {
            "sessionFs.readFile" => match map.get(&path) {
                Some(Node::File(c)) => json!({ "content": c }),
                _ => json!({"content": "", "error": enoent(&path)}),
            },
            "sessionFs.writeFile" | "sessionFs.appendFile" => {
                let text = req["content"].as_str().unwrap_or_default();
                if let Some(dir) = parent(&path) {
                    Self::mkdirs(&mut map, dir);
                }
                match map.get_mut(&path) {
                    Some(Node::File(c)) if kind == "sessionFs.appendFile" => c.push_str(text),
                    Some(Node::Dir) => {
                        return Ok(json!({"code": "UNKNOWN", "message": "is a directory"}))
                    }
                    _ => {
                        map.insert(path, Node::File(text.to_string()));
                    }
                }
                Value::Null
            }
            "sessionFs.exists" => json!({ "exists": map.contains_key(&path) }),
            "sessionFs.stat" => {
                let now = "2026-01-01T00:00:00.000Z";
                match map.get(&path) {
                    Some(n) => json!({
                        "isFile": matches!(n, Node::File(_)),
                        "isDirectory": matches!(n, Node::Dir),
                        "size": match n { Node::File(c) => c.len(), Node::Dir => 0 },
                        "mtime": now,
                        "birthtime": now,
                    }),
                    None => json!({"isFile": false, "isDirectory": false, "size": 0,
                                   "mtime": now, "birthtime": now, "error": enoent(&path)}),
                }
            }
            "sessionFs.mkdir" => {
                let recursive = req["recursive"].as_bool().unwrap_or(false);
                match parent(&path) {
                    Some(dir) if !recursive && !map.contains_key(dir) => enoent(dir),
                    _ => {
                        Self::mkdirs(&mut map, &path);
                        Value::Null
                    }
                }
            }
            "sessionFs.readdir" | "sessionFs.readdirWithTypes" => match map.get(&path) {
                Some(Node::Dir) => {
                    let entries: Vec<Value> = Self::children(&map, &path)
                        .into_iter()
                        .map(|(name, n)| {
                            if kind == "sessionFs.readdir" {
                                json!(name)
                            } else {
                                let t = if matches!(n, Node::Dir) {
                                    "directory"
                                } else {
                                    "file"
                                };
                                json!({"name": name, "type": t})
                            }
                        })
                        .collect();
                    json!({ "entries": entries })
                }
                _ => json!({"entries": [], "error": enoent(&path)}),
            },
            "sessionFs.rm" => {
                if !map.contains_key(&path) {
                    if req["force"].as_bool().unwrap_or(false) {
                        return Ok(Value::Null);
                    }
                    return Ok(enoent(&path));
                }
                let under = format!("{path}/");
                map.retain(|k, _| k != &path && !k.starts_with(&under));
                Value::Null
            }
            "sessionFs.rename" => {
                let (src, dest) = (at("src"), at("dest"));
                if !map.contains_key(&src) {
                    return Ok(enoent(&src));
                }
                let under = format!("{src}/");
                let moved: Vec<String> = map
                    .keys()
                    .filter(|k| **k == src || k.starts_with(&under))
                    .cloned()
                    .collect();
                if let Some(dir) = parent(&dest) {
                    Self::mkdirs(&mut map, dir);
                }
                for k in moved {
                    let node = map.remove(&k).unwrap();
                    map.insert(format!("{dest}{}", &k[src.len()..]), node);
                }
                Value::Null
            }
            other => return Err(format!("{other} is not supported by this provider")),
        })
    }
}

fn scoped(sid: &str, path: &str) -> String {
    let path = path.trim_end_matches('/');
    if path.starts_with('/') {
        format!("/{sid}{path}")
    } else {
        format!("/{sid}/{path}")
    }
}

/// Where the CLI keeps session state inside each session's filesystem: a
/// virtual path (the provider is in memory), the one the recordings show.
const STATE: &str = "/session-state";

/// The provider settings, as upstream passes them: POSIX paths from `/`.
fn fs_options() -> Value {
    json!({"sessionFs": {"initialCwd": "/", "sessionStatePath": STATE, "conventions": "posix"}})
}

fn fs_client(ctx: &Ctx) -> Result<(Client, &'static str), String> {
    Ok((ctx.started_client(fs_options())?, STATE))
}

/// A session working in the provider's filesystem: from its `initialCwd`, since
/// the CLI looks the working directory up through the provider too.
fn fs_config(ctx: &Ctx, fs: &MemFs) -> Config {
    ctx.config(json!({"workingDirectory": "/"}))
        .approve_all()
        .handler_by_kind("sessionFs", fs.handler())
}

fn should_route_file_operations_through_the_session_fs_provider(ctx: &Ctx) -> Result<(), String> {
    let (client, state) = fs_client(ctx)?;
    let fs = MemFs::default();
    let events = Events::default();
    let session = ok(
        client.create_session(&events.attach(fs_config(ctx, &fs))),
        "create",
    )?;
    let sid = session.id();
    let reply = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(content(&reply).contains("300"), format!("reply: {reply}"))?;
    ok(session.destroy(), "destroy")?;
    let log = fs
        .read(&sid, &format!("{state}/events.jsonl"))
        .ok_or("events.jsonl was not written through the provider")?;
    ensure(log.contains("300"), "events.jsonl lacks the answer")?;
    let errors = events.of_type("session.error");
    ensure(errors.is_empty(), format!("session errors: {errors:?}"))
}

fn should_load_session_data_from_fs_provider_on_resume(ctx: &Ctx) -> Result<(), String> {
    let (client, state) = fs_client(ctx)?;
    let fs = MemFs::default();
    let first = ok(client.create_session(&fs_config(ctx, &fs)), "create")?;
    let sid = first.id();
    let reply = ok(first.prompt(&ctx.prompt(0)), "first turn")?;
    ensure(content(&reply).contains("100"), format!("reply: {reply}"))?;
    ok(first.destroy(), "destroy")?;
    ensure(
        fs.read(&sid, &format!("{state}/events.jsonl")).is_some(),
        "events.jsonl missing before resume",
    )?;
    let resumed = ok(client.resume_session(&sid, &fs_config(ctx, &fs)), "resume")?;
    let reply = ok(resumed.prompt(&ctx.prompt(1)), "turn after resume")?;
    ensure(content(&reply).contains("300"), format!("reply: {reply}"))
}

fn should_reject_setprovider_when_sessions_already_exist(ctx: &Ctx) -> Result<(), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let token = "session-fs-test-token";
    let owner =
        ctx.started_client(json!({"transport": "tcp", "port": port, "connectionToken": token}))?;
    let fs = MemFs::default();
    let _session = ok(owner.create_session(&fs_config(ctx, &fs)), "create")?;

    let mut options = ctx.env.client_options();
    let o = options.as_object_mut().unwrap();
    for spawn_only in [
        "cliPath",
        "githubToken",
        "useLoggedInUser",
        "env",
        "cliArgs",
        "cwd",
    ] {
        o.remove(spawn_only);
    }
    o.insert("cliUrl".into(), json!(format!("localhost:{port}")));
    o.insert("connectionToken".into(), json!(token));
    o.extend(fs_options().as_object().unwrap().clone());
    let second = ok(Client::new(&options), "client_new")?;
    match second.start() {
        Ok(()) => Err("setProvider was accepted although the server has a session".into()),
        Err(e) => ensure(
            e.to_string().contains("sessionFs.setProvider"),
            format!("start failed for another reason: {e}"),
        ),
    }
}

fn should_map_large_output_handling_into_sessionfs(ctx: &Ctx) -> Result<(), String> {
    let (client, state) = fs_client(ctx)?;
    let fs = MemFs::default();
    let big = "x".repeat(100_000);
    let supplied = big.clone();
    let config = fs_config(ctx, &fs).tool(
        json!({"name": "get_big_string", "description": "Returns a large string",
               "parameters": {"type": "object", "properties": {}}}),
        move |_| ToolOutcome::Result(json!(supplied)),
    );
    let session = ok(client.create_session(&config), "create")?;
    ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let history = ok(session.get_messages(), "get_messages")?;
    let events = history.as_array().cloned().unwrap_or_default();
    let call_id = events
        .iter()
        .find(|e| e["type"] == "tool.execution_start" && e["data"]["toolName"] == "get_big_string")
        .map(|e| e["data"]["toolCallId"].clone())
        .ok_or("get_big_string was not called")?;
    let result = events
        .iter()
        .find(|e| e["type"] == "tool.execution_complete" && e["data"]["toolCallId"] == call_id)
        .and_then(|e| e["data"]["result"]["content"].as_str())
        .ok_or("no result for get_big_string")?;
    let temp = format!("{state}/temp/");
    let start = result
        .find(&temp)
        .ok_or_else(|| format!("result does not point into {temp}: {result}"))?;
    let file: String = result[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let written = fs
        .read(&session.id(), &file)
        .ok_or_else(|| format!("{file} was not written through the provider"))?;
    ensure(written == big, "the spilled output differs from the tool's")
}

fn should_write_workspace_metadata_via_sessionfs(ctx: &Ctx) -> Result<(), String> {
    let (client, state) = fs_client(ctx)?;
    let fs = MemFs::default();
    let session = ok(client.create_session(&fs_config(ctx, &fs)), "create")?;
    let sid = session.id();
    let reply = ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ensure(content(&reply).contains("56"), format!("reply: {reply}"))?;
    let yaml = format!("{state}/workspace.yaml");
    wait_until("workspace.yaml", || fs.read(&sid, &yaml).is_some())?;
    ensure(
        fs.read(&sid, &yaml).unwrap_or_default().contains("id:"),
        "workspace.yaml has no id",
    )?;
    let index = format!("{state}/checkpoints/index.md");
    wait_until("checkpoints/index.md", || fs.read(&sid, &index).is_some())
}

fn should_persist_plan_md_via_sessionfs(ctx: &Ctx) -> Result<(), String> {
    let (client, state) = fs_client(ctx)?;
    let fs = MemFs::default();
    let session = ok(client.create_session(&fs_config(ctx, &fs)), "create")?;
    let sid = session.id();
    ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ok(
        session.call(
            "session.plan.update",
            &json!({"content": "# Test Plan\n\nThis is a test."}),
        ),
        "plan.update",
    )?;
    let plan = format!("{state}/plan.md");
    wait_until("plan.md with the plan", || {
        fs.read(&sid, &plan)
            .is_some_and(|p| p.contains("# Test Plan"))
    })
}

fn should_succeed_with_compaction_while_using_sessionfs(ctx: &Ctx) -> Result<(), String> {
    let (client, state) = fs_client(ctx)?;
    let fs = MemFs::default();
    let events = Events::default();
    let session = ok(
        client.create_session(&events.attach(fs_config(ctx, &fs))),
        "create",
    )?;
    let sid = session.id();
    ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let log = format!("{state}/events.jsonl");
    wait_until("events.jsonl", || fs.read(&sid, &log).is_some())?;
    ensure(
        !fs.read(&sid, &log)
            .unwrap_or_default()
            .contains("checkpointNumber"),
        "a checkpoint before compaction",
    )?;
    ok(
        session.call("session.history.compact", &json!({})),
        "history.compact",
    )?;
    let done = events.wait_for(
        "session.compaction_complete",
        Duration::from_secs(30),
        |_| true,
    )?;
    ensure(
        done["data"]["success"] == true,
        format!("compaction: {done}"),
    )?;
    wait_until("a checkpoint in events.jsonl", || {
        fs.read(&sid, &log)
            .is_some_and(|l| l.contains("checkpointNumber"))
    })
}
