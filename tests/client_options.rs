//! Client options of the official SDKs, against the real CLI: the session
//! idle timeout and remote sessions (CLI flags), built-in plugin directories
//! (`plugins.builtin.set`), OpenTelemetry (the CLI's environment), and the
//! TCP port a spawned CLI listens on.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ask, client_with, TestEnv};
use copilot::{Client, ClientOptions, ClientState, ErrorKind, Session, SessionConfig};
use serde_json::{json, Value};

fn cmdline(pid: u32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap())
        .replace('\0', " ")
}

async fn session(client: &Client, env: &TestEnv) -> Session {
    let cfg = SessionConfig::from_json(&env.session_fields(json!({})).to_string()).unwrap();
    client.create_session(cfg).await.unwrap()
}

/// Polls `f` every 50 ms until it returns `Some`, for at most `limit`.
async fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of every log file the CLI wrote under `COPILOT_HOME` (the test
/// environment's `<home>/.copilot`).
fn cli_logs(home: &Path) -> String {
    let Ok(dir) = std::fs::read_dir(home.join(".copilot/logs")) else {
        return String::new();
    };
    dir.flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect()
}

/// `sessionIdleTimeoutSeconds` and `enableRemoteSessions` become the CLI's
/// `--session-idle-timeout N` and `--remote`, which it takes: it starts its
/// idle-session checker with that timeout, and a turn works. (The CLI looks
/// for idle sessions every 5 minutes whatever the timeout, so the clean-up
/// itself is not waited for here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_and_remote_sessions_are_cli_flags() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client = client_with(
        &env,
        json!({"sessionIdleTimeoutSeconds": 7, "enableRemoteSessions": true, "logLevel": "debug"}),
    );
    client.start().await.unwrap();
    let cmd = cmdline(client.cli_pid().unwrap());
    assert!(cmd.contains(" --session-idle-timeout 7 "), "{cmd}");
    assert!(cmd.contains(" --remote "), "{cmd}");
    let checker = poll(Duration::from_secs(10), || {
        let logs = cli_logs(env.home_path());
        logs.lines()
            .find(|l| l.contains("Started session timeout checker"))
            .map(str::to_owned)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the CLI did not log its idle-session checker:\n{}",
            cli_logs(env.home_path())
        )
    });
    assert!(checker.contains("timeout: 7000ms"), "{checker}");
    let s = session(&client, &env).await;
    assert_eq!(
        ask(&s, "What is the capital of France?").await,
        "The capital of France is Paris."
    );
    client.stop(Duration::from_secs(10)).await.unwrap();

    // Neither flag by default, nor for 0 and false.
    let client = client_with(
        &env,
        json!({"sessionIdleTimeoutSeconds": 0, "enableRemoteSessions": false}),
    );
    client.start().await.unwrap();
    let cmd = cmdline(client.cli_pid().unwrap());
    assert!(!cmd.contains("--session-idle-timeout"), "{cmd}");
    assert!(!cmd.contains("--remote"), "{cmd}");
    client.stop(Duration::from_secs(10)).await.unwrap();
}

/// A plugin directory in the layout the CLI reads: `.plugin/plugin.json`
/// and one skill.
fn make_plugin(dir: &Path, name: &str) {
    std::fs::create_dir_all(dir.join(".plugin")).unwrap();
    std::fs::create_dir_all(dir.join("skills/greet")).unwrap();
    std::fs::write(
        dir.join(".plugin/plugin.json"),
        json!({"name": name, "description": "libcopilot test plugin", "version": "1.2.3"})
            .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("skills/greet/SKILL.md"),
        "---\nname: greet\ndescription: Greets the user.\n---\nSay hello.\n",
    )
    .unwrap();
}

/// The plugin `name` as `session.plugins.list` reports it, if listed.
async fn listed_plugin(session: &Session, name: &str) -> Option<Value> {
    let list = session
        .call("session.plugins.list", json!({}))
        .await
        .unwrap();
    list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
}

/// `builtinPluginDirectories` is sent in `plugins.builtin.set` at start:
/// sessions list the plugin as enabled and its skill as a plugin skill. A
/// CLI that crashes is respawned with the same set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_plugin_directories_reach_sessions_and_survive_a_restart() {
    let env = TestEnv::new(&["chat.yaml"]);
    let dir = env.home_path().join("bundled-plugin");
    make_plugin(&dir, "libcopilot-test-plugin");

    // Without the option, the CLI does not know the plugin.
    let plain = client_with(&env, json!({}));
    let s = session(&plain, &env).await;
    assert_eq!(listed_plugin(&s, "libcopilot-test-plugin").await, None);
    plain.stop(Duration::from_secs(10)).await.unwrap();

    let client = client_with(&env, json!({"builtinPluginDirectories": [dir]}));
    let states = Arc::new(Mutex::new(Vec::new()));
    let st = states.clone();
    client.on_state_change(Arc::new(move |s, _| st.lock().unwrap().push(s)));
    client.start().await.unwrap();
    let s = session(&client, &env).await;
    let plugin = listed_plugin(&s, "libcopilot-test-plugin")
        .await
        .expect("the built-in plugin is listed");
    assert_eq!(plugin["enabled"], true, "{plugin}");
    assert_eq!(plugin["version"], "1.2.3", "{plugin}");
    let skills = s.call("session.skills.list", json!({})).await.unwrap();
    let skill = skills["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["pluginName"] == "libcopilot-test-plugin")
        .unwrap_or_else(|| panic!("no skill of the plugin: {skills}"));
    assert_eq!(skill["name"], "greet", "{skill}");
    assert_eq!(skill["source"], "plugin", "{skill}");
    // A session is kept (and so resumable) once it has had a turn.
    assert_eq!(
        ask(&s, "What is the capital of France?").await,
        "The capital of France is Paris."
    );

    let old_pid = client.cli_pid().unwrap();
    // SAFETY: signalling the CLI this client spawned.
    unsafe { libc::kill(old_pid as i32, libc::SIGKILL) };
    let restarted = poll(Duration::from_secs(30), || {
        let states = states.lock().unwrap();
        let after_restart = states
            .iter()
            .skip_while(|s| **s != ClientState::Restarting)
            .any(|s| *s == ClientState::Connected);
        after_restart.then_some(())
    })
    .await;
    assert!(
        restarted.is_some(),
        "not restarted: {:?}",
        states.lock().unwrap()
    );
    assert_ne!(client.cli_pid(), Some(old_pid));
    // The new CLI got the set again: the resumed session lists the plugin.
    let plugin = listed_plugin(&s, "libcopilot-test-plugin").await;
    assert!(plugin.is_some(), "not re-sent after the restart");
    client.stop(Duration::from_secs(10)).await.unwrap();
}

/// Pids of live processes whose environment holds `marker` (`NAME=value`).
fn processes_with_env(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == marker.as_bytes()))
        })
        .filter(|pid| common::process_alive(*pid))
        .collect()
}

/// A relative path is refused when the options are read; a set the CLI
/// refuses (it takes 64 paths at most) fails the start and the CLI is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_plugin_directories_refused() {
    for bad in [
        json!({"builtinPluginDirectories": ["plugins/mine"]}),
        json!({"builtinPluginDirectories": ["/abs", ""]}),
    ] {
        let err = ClientOptions::from_json(&bad.to_string()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{bad}: {err}");
        assert!(err.message.contains("absolute"), "{err}");
    }

    let env = TestEnv::new(&["chat.yaml"]);
    let marker = format!("LIBCOPILOT_TEST_MARKER={}", uuid_like());
    let mut opts = env.client_options();
    let (name, value) = marker.split_once('=').unwrap();
    opts["env"][name] = json!(value);
    let paths: Vec<String> = (0..65)
        .map(|i| format!("/nonexistent/plugin-{i}"))
        .collect();
    opts["builtinPluginDirectories"] = json!(paths);
    let client = Client::new(ClientOptions::from_json(&opts.to_string()).unwrap()).unwrap();
    let err = client.start().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rpc, "{err}");
    assert!(err.message.contains("plugins.builtin.set"), "{err}");
    assert!(err.message.contains("at most 64 paths"), "{err}");
    assert_eq!(client.state(), ClientState::Error);
    assert_eq!(client.cli_pid(), None);
    let left = poll(Duration::from_secs(5), || {
        processes_with_env(&marker).is_empty().then_some(())
    })
    .await;
    assert!(
        left.is_some(),
        "the CLI outlived the failed start: {:?}",
        processes_with_env(&marker)
    );
}

fn uuid_like() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}-{}", std::process::id(), t.as_nanos())
}

/// `telemetry` becomes the CLI's OpenTelemetry variables: with the file
/// exporter, a turn leaves spans and metrics in the file, under the source
/// name given, with the prompt captured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_file_exporter_records_a_turn() {
    let env = TestEnv::new(&["chat.yaml"]);
    let file = env.home_path().join("otel.jsonl");
    let client = client_with(
        &env,
        json!({"telemetry": {
            "filePath": file, "exporterType": "file",
            "sourceName": "libcopilot-test", "captureContent": true,
        }}),
    );
    client.start().await.unwrap();
    let pid = client.cli_pid().unwrap();
    let environ = String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/environ")).unwrap())
        .replace('\0', "\n");
    for var in [
        "COPILOT_OTEL_ENABLED=true".to_string(),
        format!("COPILOT_OTEL_FILE_EXPORTER_PATH={}", file.display()),
        "COPILOT_OTEL_EXPORTER_TYPE=file".to_string(),
        "COPILOT_OTEL_SOURCE_NAME=libcopilot-test".to_string(),
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true".to_string(),
    ] {
        assert!(
            environ.lines().any(|l| l == var),
            "{var} not in the CLI's environment"
        );
    }
    let s = session(&client, &env).await;
    assert_eq!(
        ask(&s, "What is the capital of France?").await,
        "The capital of France is Paris."
    );
    client.stop(Duration::from_secs(10)).await.unwrap();

    let text = std::fs::read_to_string(&file).expect("the CLI wrote the telemetry file");
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!records.is_empty(), "empty telemetry file");
    let kinds: Vec<&str> = records.iter().filter_map(|r| r["type"].as_str()).collect();
    assert!(kinds.contains(&"span"), "no span in {kinds:?}");
    assert!(kinds.contains(&"metric"), "no metric in {kinds:?}");
    assert!(
        records
            .iter()
            .all(|r| r["instrumentationScope"]["name"] == "libcopilot-test"),
        "a record under another scope name"
    );
    assert!(
        text.contains("What is the capital of France?"),
        "the prompt was not captured"
    );
}

/// `runtime_port`: the port a TCP child listens on (the one it picked, or
/// the one asked for), which takes connections; a `cliUrl` client reports
/// its server's; none over stdio, before the start or after the stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_port_is_the_port_the_tcp_child_listens_on() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client = client_with(
        &env,
        json!({"transport": "tcp", "connectionToken": "tok-1234"}),
    );
    assert_eq!(client.runtime_port(), None, "before start");
    client.start().await.unwrap();
    let port = client.runtime_port().expect("a port once started");
    assert_ne!(port, 0);
    std::net::TcpStream::connect(("127.0.0.1", port)).expect("the CLI listens on that port");

    // Another client reaches the same CLI through that port.
    let other = Client::new(
        ClientOptions::from_json(
            &json!({"cliUrl": port.to_string(), "connectionToken": "tok-1234"}).to_string(),
        )
        .unwrap(),
    )
    .unwrap();
    other.start().await.unwrap();
    assert_eq!(other.runtime_port(), Some(port));
    other.ping(None).await.unwrap();
    other.stop(Duration::from_secs(10)).await.unwrap();
    assert_eq!(other.runtime_port(), None);

    client.stop(Duration::from_secs(10)).await.unwrap();
    assert_eq!(client.runtime_port(), None, "after stop");

    // A port asked for is the port used.
    let wanted = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = client_with(&env, json!({"transport": "tcp", "port": wanted}));
    client.start().await.unwrap();
    assert_eq!(client.runtime_port(), Some(wanted));
    assert!(cmdline(client.cli_pid().unwrap()).contains(&format!(" --port {wanted}")));
    client.stop(Duration::from_secs(10)).await.unwrap();

    let stdio = client_with(&env, json!({}));
    stdio.start().await.unwrap();
    assert_eq!(stdio.runtime_port(), None, "stdio has no port");
    stdio.stop(Duration::from_secs(10)).await.unwrap();
}
