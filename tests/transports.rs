//! TCP transports against the real CLI: a TCP child, and external servers
//! shared by several clients.

mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::TestEnv;
use copilot::{Client, ClientOptions, ErrorKind, SessionConfig};
use serde_json::{json, Value};

const TURN: Duration = Duration::from_secs(60);

fn answer(ev: &copilot::SessionEvent) -> String {
    ev.data::<Value>().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn ask_capital(client: &Client, env: &TestEnv) -> String {
    let cfg = SessionConfig::from_json(&env.session_fields(json!({})).to_string()).unwrap();
    let session = client.create_session(cfg).await.unwrap();
    let ev = session
        .send_and_wait(json!({"prompt": "What is the capital of France?"}), TURN)
        .await
        .unwrap()
        .unwrap();
    answer(&ev)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_child_with_generated_connection_token() {
    let env = TestEnv::new(&["chat.yaml"]);
    let mut opts = env.client_options();
    opts["transport"] = json!("tcp");
    let client = Client::new(ClientOptions::from_json(&opts.to_string()).unwrap()).unwrap();
    client.start().await.unwrap();
    let pid = client.cli_pid().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(!cmdline.contains("--stdio"), "{cmdline}");
    assert_eq!(
        ask_capital(&client, &env).await,
        "The capital of France is Paris."
    );
    client.stop(Duration::from_secs(10)).await.unwrap();
    assert!(!common::process_alive(pid));
}

/// Starts a CLI server by hand, as an app hosting one for several clients would.
fn start_server(env: &TestEnv, token: &str) -> (std::process::Child, u16) {
    let mut cmd = Command::new(common::cli_path());
    cmd.args(["--headless", "--no-auto-update", "--no-auto-login"])
        .env_clear()
        .current_dir(env.home_path())
        .env("COPILOT_CONNECTION_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env.child_env().as_object().unwrap() {
        cmd.env(k, v.as_str().unwrap());
    }
    cmd.env("COPILOT_CONNECTION_TOKEN", token);
    let mut child = cmd.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines.next().expect("server printed its port").unwrap();
        if let Some(rest) = line.to_lowercase().split("listening on port ").nth(1) {
            break rest.trim().parse::<u16>().unwrap();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (child, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_clients_share_an_external_server() {
    let env = TestEnv::new(&["chat.yaml"]);
    let (mut server, port) = start_server(&env, "s3cret");
    let connect = |url: String| {
        let opts = json!({"cliUrl": url, "connectionToken": "s3cret"});
        Client::new(ClientOptions::from_json(&opts.to_string()).unwrap()).unwrap()
    };
    let a = connect(format!("{port}"));
    let b = connect(format!("http://127.0.0.1:{port}"));
    let (ra, rb) = tokio::join!(ask_capital(&a, &env), ask_capital(&b, &env));
    assert_eq!(ra, "The capital of France is Paris.");
    assert_eq!(rb, "The capital of France is Paris.");
    assert_eq!(a.cli_pid(), None, "nothing was spawned");
    a.stop(Duration::from_secs(10)).await.unwrap();
    // Stopping one client leaves the server to the others.
    b.ping(None).await.unwrap();
    b.stop(Duration::from_secs(10)).await.unwrap();

    // A wrong connection token is refused at the handshake.
    let opts = json!({"cliUrl": format!("127.0.0.1:{port}"), "connectionToken": "wrong"});
    let intruder = Client::new(ClientOptions::from_json(&opts.to_string()).unwrap()).unwrap();
    let err = intruder.start().await.unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Rpc | ErrorKind::Disconnected),
        "{err}"
    );

    // A client of an external server that vanishes reports it and never respawns anything.
    let watcher = connect(format!("{port}"));
    watcher.start().await.unwrap();
    let states = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let st = states.clone();
    watcher.on_state_change(std::sync::Arc::new(move |s, _| st.lock().unwrap().push(s)));
    server.kill().unwrap();
    server.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while watcher.state() != copilot::ClientState::Disconnected {
        assert!(
            std::time::Instant::now() < deadline,
            "state {:?}",
            watcher.state()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!states
        .lock()
        .unwrap()
        .contains(&copilot::ClientState::Restarting));
    let err = watcher.ping(None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Disconnected, "{err}");
    // The server is gone: calls fail with a clear error, nothing hangs.
    let orphan = connect(format!("{port}"));
    let err = orphan.start().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Connection, "{err}");
}

#[test]
fn options_only_for_a_spawned_cli_are_rejected_with_cli_url() {
    for bad in [
        json!({"cliUrl": "4321", "githubToken": "t"}),
        json!({"cliUrl": "4321", "useLoggedInUser": false}),
        json!({"cliUrl": "4321", "cliPath": "/usr/bin/copilot"}),
        json!({"cliUrl": "not a url"}),
        json!({"port": 4000}),
    ] {
        let err = ClientOptions::from_json(&bad.to_string()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{bad}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_token_travels_only_in_the_environment() {
    let env = TestEnv::new(&["chat.yaml"]);
    let secret = "ghp_libcopilot_test_secret_0123456789";
    let mut opts = env.client_options();
    opts["githubToken"] = json!(secret);
    opts.as_object_mut().unwrap().remove("useLoggedInUser");
    let client = Client::new(ClientOptions::from_json(&opts.to_string()).unwrap()).unwrap();
    client.start().await.unwrap();
    let pid = client.cli_pid().unwrap();
    let cmdline = String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap())
        .replace('\0', " ");
    assert!(!cmdline.contains(secret), "token on argv: {cmdline}");
    assert!(
        cmdline.contains("--auth-token-env COPILOT_SDK_AUTH_TOKEN"),
        "{cmdline}"
    );
    let environ = String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/environ")).unwrap())
        .into_owned();
    assert!(environ.contains(&format!("COPILOT_SDK_AUTH_TOKEN={secret}")));
    client.stop(Duration::from_secs(10)).await.unwrap();
}
