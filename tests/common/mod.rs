//! Test harness: the real Copilot CLI in an isolated environment, with model
//! replies served by copilot-replay from conversations in tests/conversations.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use copilot::{Tool, ToolInvocation};
use copilot_replay::ReplayServer;
use serde_json::{json, Value};

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The CLI binary: `COPILOT_CLI_PATH`, else the copy `tests/support/ensure-cli.sh` installs.
pub fn cli_path() -> PathBuf {
    if let Ok(p) = std::env::var("COPILOT_CLI_PATH") {
        return PathBuf::from(p);
    }
    let p = repo_dir().join(".tools/copilot-cli/node_modules/@github/copilot-linux-x64/copilot");
    assert!(
        p.is_file(),
        "Copilot CLI not found at {}: run tests/support/ensure-cli.sh or set COPILOT_CLI_PATH",
        p.display()
    );
    p
}

/// One unpacked-CLI cache for every test (the CLI unpacks ~235 MB on first run).
pub fn shared_cache_dir() -> PathBuf {
    let dir = std::env::var("COPILOT_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_dir().join("target/copilot-cache"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn conversations(names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| repo_dir().join("tests/conversations").join(n))
        .collect()
}

/// The GitHub token of signed-in test sessions (copilot-replay accepts any).
pub const TEST_GITHUB_TOKEN: &str = "gho_copilot_replay_test_token";

/// A per-test home directory and replay server.
/// Whether the suites run on the in-process transport (`LIBCOPILOT_TEST_TRANSPORT=inprocess`).
pub fn in_process() -> bool {
    std::env::var("LIBCOPILOT_TEST_TRANSPORT").is_ok_and(|t| t == "inprocess")
}

pub struct TestEnv {
    pub home: tempfile::TempDir,
    pub replay: ReplayServer,
}

/// A loopback port that refuses connections, so stray HTTP fails fast.
fn refused_proxy() -> String {
    static PORT: OnceLock<u16> = OnceLock::new();
    let port = PORT.get_or_init(|| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
        // dropped: nothing listens there any more
    });
    format!("http://127.0.0.1:{port}")
}

impl TestEnv {
    pub fn new(conversation_files: &[&str]) -> TestEnv {
        Self::with_files(&conversations(conversation_files))
    }

    pub fn with_files(files: &[PathBuf]) -> TestEnv {
        let replay = ReplayServer::start_blocking(files, 0).expect("start copilot-replay");
        TestEnv {
            home: tempfile::tempdir().unwrap(),
            replay,
        }
    }

    /// The isolated environment of testing-offline.md: no tokens, a private
    /// home, the shared cache, and a proxy that refuses everything.
    pub fn child_env(&self) -> Value {
        let home = self.home.path().to_str().unwrap();
        let mut env = serde_json::Map::new();
        for (k, v) in std::env::vars() {
            let up = k.to_uppercase();
            if up.contains("TOKEN")
                || up.starts_with("GH_")
                || up.starts_with("GITHUB")
                || up.starts_with("COPILOT")
            {
                continue;
            }
            env.insert(k, Value::String(v));
        }
        let proxy = refused_proxy();
        for (k, v) in [
            ("HOME", home.to_string()),
            ("COPILOT_HOME", format!("{home}/.copilot")),
            ("XDG_CONFIG_HOME", format!("{home}/.config")),
            ("XDG_STATE_HOME", format!("{home}/.state")),
            ("GH_CONFIG_DIR", format!("{home}/.gh")),
            (
                "XDG_CACHE_HOME",
                shared_cache_dir().to_str().unwrap().to_string(),
            ),
            ("HTTP_PROXY", proxy.clone()),
            ("HTTPS_PROXY", proxy),
            ("NO_PROXY", "127.0.0.1,localhost,::1".to_string()),
            // Sessions with a GitHub token reach the Copilot API through
            // copilot-replay (its /copilot_internal/user and /models).
            ("COPILOT_API_URL", self.replay.url()),
            ("COPILOT_DEBUG_GITHUB_API_URL", self.replay.url()),
        ] {
            env.insert(k.into(), Value::String(v));
        }
        Value::Object(env)
    }

    /// The harness's client options. With `LIBCOPILOT_TEST_TRANSPORT=inprocess`
    /// the client hosts the runtime in this process instead of spawning the
    /// CLI (whose working directory then is this process's).
    pub fn client_options(&self) -> Value {
        if in_process() {
            return json!({
                "cliPath": cli_path(),
                "env": self.child_env(),
                "transport": "inprocess",
                "useLoggedInUser": false,
            });
        }
        json!({
            "cliPath": cli_path(),
            "env": self.child_env(),
            "cwd": self.home.path(),
            "useLoggedInUser": false,
        })
    }

    pub fn client_options_json(&self) -> String {
        self.client_options().to_string()
    }

    /// Session fields pointing the model at the replay server (BYOK).
    pub fn session_fields(&self, extra: Value) -> Value {
        let mut fields = json!({
            "model": "claude-sonnet-4.5",
            "provider": {
                "type": "openai",
                "baseUrl": self.replay.base_url(),
                "apiKey": "offline",
                "wireApi": "completions",
            },
            "workingDirectory": self.home.path(),
        });
        if let (Some(f), Value::Object(e)) = (fields.as_object_mut(), extra) {
            f.extend(e);
        }
        fields
    }

    /// Session fields for a signed-in session: a GitHub token (any; copilot-replay
    /// accepts it) instead of a BYOK provider, so the CLI uses the Copilot API.
    pub fn copilot_api_session_fields(&self, extra: Value) -> Value {
        let mut fields = self.session_fields(extra);
        if let Some(f) = fields.as_object_mut() {
            f.remove("provider");
            f.entry("gitHubToken").or_insert(json!(TEST_GITHUB_TOKEN));
        }
        fields
    }

    pub fn home_path(&self) -> &Path {
        self.home.path()
    }
}

/// Whether a process with this pid still exists (and is not a zombie).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(") ")
            .next()
            .is_some_and(|rest| rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// The `get_weather` tool that the conversations in tests/conversations call.
pub fn weather_tool(handler: impl Fn(ToolInvocation) + Send + Sync + 'static) -> Tool {
    Tool {
        declaration: json!({
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }),
        handler: std::sync::Arc::new(handler),
    }
}

/// A client with the harness's options plus `extra` (transport, env, ...).
pub fn client_with(env: &TestEnv, extra: Value) -> copilot::Client {
    let mut opts = env.client_options();
    opts.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    copilot::Client::new(copilot::ClientOptions::from_json(&opts.to_string()).unwrap()).unwrap()
}

/// One turn: the final assistant message's text (60 s at most).
pub async fn ask(session: &copilot::Session, prompt: &str) -> String {
    let ev = session
        .send_and_wait(
            json!({ "prompt": prompt }),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap()
        .expect("an answer");
    ev.data::<Value>().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string()
}
