//! Conformance suite: replays the upstream SDK end-to-end scenarios
//! (recorded conversations in `$COPILOT_SNAPSHOTS`, default ../shared/snapshots)
//! through libcopilot's C ABI against the real Copilot CLI and copilot-replay,
//! asserting what the upstream test of the same name asserts.
//!
//! `cargo test --test conformance [-- FILTER]` prints a table per area:
//! scenarios, passed, failed, not applicable (another language's API only),
//! and not yet covered; then `N passed, N failed`.

/// Registers a scenario function under its area; the name is the function's.
macro_rules! run {
    ($area:literal, $name:ident) => {
        crate::Scenario {
            area: $area,
            name: stringify!($name),
            kind: crate::Kind::Run($name),
        }
    };
}

mod abi;
#[path = "../common/mod.rs"]
mod common;
mod events_tools;
mod hooks_ui;
mod lifecycle;
mod mcp_agents;
mod mode_empty;
mod more_scenarios;
mod permissions;
mod resume_pending;
mod rpc_agents;
mod rpc_edges;
mod rpc_server;
mod rpc_state;
mod scenarios;
mod session_api;
mod session_config;
mod session_control;
mod session_fs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;

pub use abi::{Client, Config, Session, ToolOutcome};

/// A scenario recorded under another name by one of the upstream SDKs (the
/// same test, named per language): runs `f` under `name`.
pub fn alias(
    area: &'static str,
    name: &'static str,
    f: fn(&Ctx) -> Result<(), String>,
) -> Scenario {
    Scenario {
        area,
        name,
        kind: Kind::Run(f),
    }
}

/// What one scenario does.
pub enum Kind {
    Run(fn(&Ctx) -> Result<(), String>),
    /// Specific to another language's API; the reason says which part.
    NotApplicable(&'static str),
}

pub struct Scenario {
    pub area: &'static str,
    pub name: &'static str,
    pub kind: Kind,
}

/// One scenario's world: a private home (also the session's working
/// directory), copilot-replay serving the scenario's snapshot, and its text.
pub struct Ctx {
    pub env: common::TestEnv,
    pub snapshot: Value,
}

impl Ctx {
    fn new(file: &Path) -> Ctx {
        let env = common::TestEnv::with_files(&[file.to_path_buf()]);
        env.replay.set_workdir(env.home_path().to_str().unwrap());
        let snapshot: Value = serde_json::to_value(
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>(
                &std::fs::read_to_string(file).unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        Ctx { env, snapshot }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.env.client_options()).expect("client_new")
    }

    /// A started client with the harness's options plus `extra` (transport, env, ...).
    pub fn started_client(&self, extra: Value) -> Result<Client, String> {
        let mut options = self.env.client_options();
        if let (Some(o), Value::Object(e)) = (options.as_object_mut(), extra) {
            o.extend(e);
        }
        let client = ok(Client::new(&options), "client_new")?;
        ok(client.start(), "start")?;
        Ok(client)
    }

    /// A client that spawns the CLI as a TCP server other clients can join:
    /// returns it and the URL (`localhost:<port>`) to give them.
    pub fn tcp_server(&self, token: &str) -> Result<(Client, String), String> {
        let port = free_port()?;
        let server = self.started_client(
            serde_json::json!({"transport": "tcp", "port": port, "connectionToken": token}),
        )?;
        Ok((server, format!("localhost:{port}")))
    }

    /// A started client of the server at `url` (nothing spawned), with `extra` options.
    pub fn joining_client(&self, url: &str, token: &str, extra: Value) -> Result<Client, String> {
        let mut options = serde_json::json!({"cliUrl": url, "connectionToken": token});
        if let (Some(o), Value::Object(e)) = (options.as_object_mut(), extra) {
            o.extend(e);
        }
        let client = ok(Client::new(&options), "client_new")?;
        ok(client.start(), "start")?;
        Ok(client)
    }

    /// A session on `client` with the default config plus `extra`, approving every
    /// permission request.
    pub fn approved_session(&self, client: &Client, extra: Value) -> Result<Session, String> {
        ok(
            client.create_session(&self.config(extra).approve_all()),
            "create",
        )
    }

    /// Session fields of a signed-in session, as upstream records its scenarios:
    /// a GitHub token (the Copilot API is copilot-replay), the home as working
    /// directory, plus `extra`. With a BYOK provider instead, the CLI has no model
    /// list or capabilities (no images, no model limits) from the Copilot API.
    pub fn fields(&self, extra: Value) -> Value {
        self.env.copilot_api_session_fields(extra)
    }

    pub fn config(&self, extra: Value) -> Config {
        Config::new(&self.fields(extra)).expect("config_new")
    }

    /// A BYOK session's config (the replay server as an OpenAI provider), for the
    /// scenarios whose recording or assertions depend on it.
    pub fn byok_config(&self, extra: Value) -> Config {
        Config::new(&self.env.session_fields(extra)).expect("config_new")
    }

    /// The snapshot's user prompts in order of first appearance across its
    /// conversations: the exact text the recorded model saw.
    pub fn prompts(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for conv in self.snapshot["conversations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for m in conv["messages"].as_array().into_iter().flatten() {
                if let (true, Some(text)) = (m["role"] == "user", m["content"].as_str()) {
                    if !out.iter().any(|p| p == text) {
                        out.push(text.to_string());
                    }
                }
            }
        }
        out
    }

    pub fn prompt(&self, n: usize) -> String {
        self.prompts()
            .get(n)
            .cloned()
            .unwrap_or_else(|| panic!("snapshot has no user prompt {n}"))
    }

    /// Prompt `n` without the blocks the CLI adds around it for attachments
    /// (`<ide_selection>...</ide_selection>`, `<tagged_files>...`): what the host sent.
    pub fn bare_prompt(&self, n: usize) -> String {
        let mut kept = Vec::new();
        let mut closing: Option<String> = None;
        let prompt = self.prompt(n);
        for line in prompt.lines() {
            match &closing {
                Some(end) => {
                    if line.trim() == end {
                        closing = None;
                    }
                }
                None => match line
                    .trim()
                    .strip_prefix('<')
                    .and_then(|r| r.split_once('>'))
                {
                    Some((tag, rest)) if !tag.starts_with('/') && rest.is_empty() => {
                        closing = Some(format!("</{tag}>"));
                    }
                    _ => kept.push(line),
                },
            }
        }
        kept.join("\n").trim().to_string()
    }

    pub fn write(&self, name: &str, content: &str) {
        std::fs::write(self.env.home_path().join(name), content).unwrap();
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.env.home_path().join(name)).unwrap_or_default()
    }

    /// Chat-completions request bodies the CLI sent.
    pub fn requests(&self) -> Vec<Value> {
        self.env.replay.requests()
    }
}

/// A loopback TCP port nothing listens on right now.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Records events delivered to a session.
#[derive(Clone, Default)]
pub struct Events(pub Arc<Mutex<Vec<(String, Value)>>>);

impl Events {
    pub fn attach(&self, cfg: Config) -> Config {
        let me = self.clone();
        cfg.on_event(move |t, v| me.0.lock().unwrap().push((t.to_string(), v.clone())))
    }

    pub fn of_type(&self, t: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == t)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Waits up to `timeout` for an event of type `t` whose payload satisfies `pred`.
    pub fn wait_for(
        &self,
        t: &str,
        timeout: std::time::Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = self.of_type(t).into_iter().find(|v| pred(v)) {
                return Ok(v);
            }
            if Instant::now() >= deadline {
                return Err(format!("timed out waiting for {t}; saw {:?}", self.types()));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn types(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// Text of an `assistant.message` event.
pub fn content(message: &Value) -> String {
    message["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub fn ensure(cond: bool, what: impl std::fmt::Display) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

pub fn ok<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e}"))
}

enum Outcome {
    Passed,
    Failed(String),
    NotApplicable(&'static str),
    NotCovered,
}

/// On the in-process transport (`LIBCOPILOT_TEST_TRANSPORT=inprocess`):
/// scenarios that cannot apply there, and why.
const NOT_IN_PROCESS: &[(&str, &str)] = &[(
    "client_options/should_use_client_cwd_for_default_workingdirectory",
    "the client option cwd is refused in process: the runtime shares the host process's working directory",
)];

/// On the in-process transport: scenarios that fail there, with the cause.
/// Each is still run and counted as failed; the run fails if one passes
/// (take it off the list) or if any other scenario fails.
const FAILS_IN_PROCESS: &[(&str, &str)] = &[(
    "rpc_shell_user_requested/should_execute_user_requested_shell_command",
    "the runtime's secret redaction is process-wide: the header value \"c\" an earlier \
     scenario (rpc_session_state, provider registry) gave a provider is masked in this \
     scenario's shell output too; alone it passes",
)];

fn lookup(list: &[(&str, &'static str)], full: &str) -> Option<&'static str> {
    list.iter().find(|(n, _)| *n == full).map(|(_, why)| *why)
}

fn snapshots_dir() -> PathBuf {
    std::env::var("COPILOT_SNAPSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| common::repo_dir().join("../shared/snapshots"))
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let dir = snapshots_dir();
    assert!(
        dir.is_dir(),
        "snapshots not found at {}: set COPILOT_SNAPSHOTS to the upstream snapshot folder",
        dir.display()
    );
    let registry: BTreeMap<(String, String), Scenario> = scenarios::all()
        .into_iter()
        .chain(lifecycle::all())
        .chain(more_scenarios::all())
        .chain(rpc_state::all())
        .chain(rpc_state::extras())
        .chain(rpc_edges::all())
        .chain(rpc_server::all())
        .chain(rpc_agents::all())
        .chain(session_api::all())
        .chain(session_config::all())
        .chain(permissions::all())
        .chain(mcp_agents::all())
        .chain(events_tools::all())
        .chain(hooks_ui::all())
        .chain(session_fs::all())
        .chain(resume_pending::all())
        .chain(session_control::all())
        .chain(mode_empty::all())
        .map(|s| ((s.area.to_string(), s.name.to_string()), s))
        .collect();

    let mut files: Vec<(String, String, PathBuf)> = Vec::new();
    for area in std::fs::read_dir(&dir).unwrap().flatten() {
        if !area.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(area.path()).unwrap().flatten() {
            let p = f.path();
            if p.extension().is_some_and(|e| e == "yaml") {
                let area = area.file_name().to_string_lossy().into_owned();
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                files.push((area, name, p));
            }
        }
    }
    files.sort();

    let mut results: Vec<(String, String, Outcome, f64)> = Vec::new();
    for (area, name, path) in files {
        let full = format!("{area}/{name}");
        if !filter.is_empty() && !filter.iter().any(|f| full.contains(f.as_str())) {
            continue;
        }
        let outcome = match registry.get(&(area.clone(), name.clone())).map(|s| &s.kind) {
            None => Outcome::NotCovered,
            Some(Kind::NotApplicable(why)) => Outcome::NotApplicable(why),
            Some(Kind::Run(_))
                if common::in_process() && lookup(NOT_IN_PROCESS, &full).is_some() =>
            {
                Outcome::NotApplicable(lookup(NOT_IN_PROCESS, &full).unwrap())
            }
            Some(Kind::Run(f)) => {
                let t0 = Instant::now();
                let ctx = Ctx::new(&path);
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&ctx)));
                let outcome = match r {
                    Ok(Ok(())) => Outcome::Passed,
                    Ok(Err(e)) => Outcome::Failed(e),
                    Err(p) => Outcome::Failed(
                        p.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "panicked".into()),
                    ),
                };
                let secs = t0.elapsed().as_secs_f64();
                let mark = match &outcome {
                    Outcome::Passed => "ok",
                    _ => "FAILED",
                };
                println!("scenario {full} ... {mark} ({secs:.1}s)");
                results.push((area, name, outcome, secs));
                continue;
            }
        };
        results.push((area, name, outcome, 0.0));
    }
    report(&results);
}

fn report(results: &[(String, String, Outcome, f64)]) {
    #[derive(Default)]
    struct Row {
        total: usize,
        passed: usize,
        failed: usize,
        na: usize,
        uncovered: usize,
    }
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for (area, _, o, _) in results {
        let r = rows.entry(area).or_default();
        r.total += 1;
        match o {
            Outcome::Passed => r.passed += 1,
            Outcome::Failed(_) => r.failed += 1,
            Outcome::NotApplicable(_) => r.na += 1,
            Outcome::NotCovered => r.uncovered += 1,
        }
    }
    println!("\n| area | scenarios | passed | failed | not applicable | not yet covered |");
    println!("|---|---|---|---|---|---|");
    let mut t = Row::default();
    for (area, r) in &rows {
        println!(
            "| {area} | {} | {} | {} | {} | {} |",
            r.total, r.passed, r.failed, r.na, r.uncovered
        );
        t.total += r.total;
        t.passed += r.passed;
        t.failed += r.failed;
        t.na += r.na;
        t.uncovered += r.uncovered;
    }
    println!(
        "| **all** | {} | {} | {} | {} | {} |",
        t.total, t.passed, t.failed, t.na, t.uncovered
    );
    for (area, name, o, _) in results {
        match o {
            Outcome::Failed(why) => println!("FAILED {area}/{name}: {why}"),
            Outcome::NotApplicable(why) => println!("not applicable {area}/{name}: {why}"),
            _ => {}
        }
    }
    println!("\nconformance: {} passed, {} failed", t.passed, t.failed);
    let known = |area: &str, name: &str| {
        common::in_process() && lookup(FAILS_IN_PROCESS, &format!("{area}/{name}")).is_some()
    };
    let mut unexpected = 0;
    for (area, name, o, _) in results {
        match o {
            Outcome::Failed(_) if known(area, name) => {
                let why = lookup(FAILS_IN_PROCESS, &format!("{area}/{name}")).unwrap();
                println!("known failure in process {area}/{name}: {why}");
            }
            Outcome::Failed(_) => unexpected += 1,
            Outcome::Passed if known(area, name) => {
                println!("{area}/{name} passes in process now: take it off FAILS_IN_PROCESS");
                unexpected += 1;
            }
            _ => {}
        }
    }
    if unexpected > 0 {
        std::process::exit(1);
    }
}
