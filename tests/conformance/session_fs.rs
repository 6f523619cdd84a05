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
        run!(
            "session_fs_sqlite",
            should_route_sql_queries_through_the_sessionfs_sqlite_handler
        ),
        run!(
            "session_fs_sqlite",
            should_allow_subagents_to_use_sql_tool_via_inherited_sessionfs
        ),
    ]
}

enum Node {
    Dir,
    File(String),
}

/// An in-memory POSIX filesystem answering the `sessionFs.*` operations. Each
/// session's paths live under `/<sessionId>`, so sessions never collide and a
/// resumed session finds what it wrote before. With SQLite (`capabilities.sqlite`),
/// each session also has an in-memory database, and every statement is logged.
#[derive(Clone, Default)]
pub(crate) struct MemFs {
    nodes: Arc<Mutex<BTreeMap<String, Node>>>,
    databases: Arc<Mutex<BTreeMap<String, rusqlite::Connection>>>,
    /// (sessionId, queryType, query) of every SQLite statement, in order.
    statements: Arc<Mutex<Vec<(String, String, String)>>>,
}

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
        match self.nodes.lock().unwrap().get(&scoped(sid, path)) {
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

    /// The SQLite statements session `sid` ran, as (queryType, query).
    pub fn statements(&self, sid: &str) -> Vec<(String, String)> {
        self.statements
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _, _)| s == sid)
            .map(|(_, t, q)| (t.clone(), q.clone()))
            .collect()
    }

    fn answer(&self, kind: &str, req: &Value) -> Result<Value, String> {
        let sid = req["sessionId"].as_str().ok_or("no sessionId")?;
        if let Some(op) = kind.strip_prefix("sessionFs.sqlite") {
            return self.sqlite(sid, op, req);
        }
        let at = |key: &str| scoped(sid, req[key].as_str().unwrap_or_default());
        let path = at("path");
        let mut map = self.nodes.lock().unwrap();
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

impl MemFs {
    /// `sqliteQuery`, `sqliteTransaction` and `sqliteExists` on the session's database.
    fn sqlite(&self, sid: &str, op: &str, req: &Value) -> Result<Value, String> {
        let mut dbs = self.databases.lock().unwrap();
        if op == "Exists" {
            return Ok(json!({ "exists": dbs.contains_key(sid) }));
        }
        if !dbs.contains_key(sid) {
            let db = rusqlite::Connection::open_in_memory().map_err(|e| e.to_string())?;
            dbs.insert(sid.to_string(), db);
        }
        let db = dbs.get_mut(sid).unwrap();
        let run = |db: &rusqlite::Connection, st: &Value| -> rusqlite::Result<Value> {
            let (ty, query) = (
                st["queryType"].as_str().unwrap_or_default(),
                st["query"].as_str().unwrap_or_default(),
            );
            self.statements.lock().unwrap().push((
                sid.to_string(),
                ty.to_string(),
                query.to_string(),
            ));
            statement(db, ty, query, &st["params"])
        };
        match op {
            "Query" => Ok(run(db, req).unwrap_or_else(|e| {
                json!({"columns": [], "rows": [], "rowsAffected": 0,
                       "error": {"code": "UNKNOWN", "message": e.to_string()}})
            })),
            "Transaction" => {
                let tx = db.transaction().map_err(|e| e.to_string())?;
                let mut results = Vec::new();
                for st in req["statements"].as_array().into_iter().flatten() {
                    match run(&tx, st) {
                        Ok(r) => results.push(r),
                        // Dropping `tx` rolls the whole batch back.
                        Err(e) => {
                            return Ok(json!({"results": [],
                                "error": {"errorClass": "fatal", "message": e.to_string()}}))
                        }
                    }
                }
                tx.commit().map_err(|e| e.to_string())?;
                Ok(json!({ "results": results }))
            }
            other => Err(format!("sqlite{other} is not supported by this provider")),
        }
    }
}

/// Runs one statement: `exec` (a batch, no rows), `query` (rows as objects) or
/// `run` (rows affected and the last rowid), binding named `params`.
fn statement(
    db: &rusqlite::Connection,
    query_type: &str,
    query: &str,
    params: &Value,
) -> rusqlite::Result<Value> {
    use rusqlite::types::ValueRef;
    if query_type == "exec" {
        db.execute_batch(query)?;
        return Ok(json!({"columns": [], "rows": [], "rowsAffected": 0}));
    }
    let mut stmt = db.prepare(query)?;
    for i in 1..=stmt.parameter_count() {
        let name = stmt.parameter_name(i).map(|n| n[1..].to_string());
        let v = name
            .map(|n| params[n.as_str()].clone())
            .unwrap_or(Value::Null);
        let bound: rusqlite::types::Value = match v {
            Value::Null => rusqlite::types::Value::Null,
            Value::Bool(b) => (b as i64).into(),
            Value::Number(n) => match n.as_i64() {
                Some(i) => i.into(),
                None => n.as_f64().unwrap_or_default().into(),
            },
            Value::String(s) => s.into(),
            other => other.to_string().into(),
        };
        stmt.raw_bind_parameter(i, bound)?;
    }
    if query_type == "run" {
        let changed = stmt.raw_execute()?;
        return Ok(json!({"columns": [], "rows": [], "rowsAffected": changed,
                         "lastInsertRowid": db.last_insert_rowid()}));
    }
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let mut rows = Vec::new();
    let mut cursor = stmt.raw_query();
    while let Some(row) = cursor.next()? {
        let mut obj = serde_json::Map::new();
        for (i, c) in columns.iter().enumerate() {
            let v = match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => json!(n),
                ValueRef::Real(f) => json!(f),
                ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                ValueRef::Blob(b) => json!(b),
            };
            obj.insert(c.clone(), v);
        }
        rows.push(Value::Object(obj));
    }
    Ok(json!({"columns": columns, "rows": rows, "rowsAffected": 0}))
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

/// A provider that also declares SQLite: the CLI then keeps the session
/// database (the `sql` tool's) through `sessionFs.sqlite*`.
fn sqlite_client(ctx: &Ctx) -> Result<Client, String> {
    let mut options = fs_options();
    options["sessionFs"]["capabilities"] = json!({"sqlite": true});
    ctx.started_client(options)
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
    let token = "session-fs-test-token";
    let (owner, url) = ctx.tcp_server(token)?;
    let fs = MemFs::default();
    let _session = ok(owner.create_session(&fs_config(ctx, &fs)), "create")?;
    match ctx.joining_client(&url, token, fs_options()) {
        Ok(_) => Err("setProvider was accepted although the server has a session".into()),
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

fn should_route_sql_queries_through_the_sessionfs_sqlite_handler(ctx: &Ctx) -> Result<(), String> {
    let client = sqlite_client(ctx)?;
    let fs = MemFs::default();
    let session = ok(client.create_session(&fs_config(ctx, &fs)), "create")?;
    ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    let ran = fs.statements(&session.id());
    let has = |ty: &str, word: &str| {
        ran.iter()
            .any(|(t, q)| (ty.is_empty() || t == ty) && q.to_uppercase().contains(word))
    };
    ensure(
        has("", "CREATE TABLE"),
        format!("no CREATE TABLE in {ran:?}"),
    )?;
    ensure(has("", "INSERT"), format!("no INSERT in {ran:?}"))?;
    ensure(
        ran.iter().any(|(t, _)| t == "exec") && ran.iter().any(|(t, _)| t == "run"),
        format!("expected exec and run statements: {ran:?}"),
    )
}

fn should_allow_subagents_to_use_sql_tool_via_inherited_sessionfs(ctx: &Ctx) -> Result<(), String> {
    let client = sqlite_client(ctx)?;
    let fs = MemFs::default();
    let session = ok(client.create_session(&fs_config(ctx, &fs)), "create")?;
    let sid = session.id();
    ok(session.prompt(&ctx.prompt(0)), "send_and_wait")?;
    ok(session.destroy(), "destroy")?;
    ensure(
        fs.statements(&sid)
            .iter()
            .any(|(_, q)| q.to_uppercase().contains("INSERT")),
        "the subagent's INSERT did not reach the provider's database",
    )?;
    let log = fs
        .read(&sid, &format!("{STATE}/events.jsonl"))
        .ok_or("events.jsonl was not written through the provider")?;
    let sql_starts: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "tool.execution_start" && e["data"]["toolName"] == "sql")
        .collect();
    ensure(!sql_starts.is_empty(), "no sql tool call in events.jsonl")?;
    ensure(
        sql_starts
            .iter()
            .all(|e| e["agentId"].as_str().is_some_and(|a| !a.is_empty())),
        format!("a sql call not attributed to the subagent: {sql_starts:?}"),
    )
}
