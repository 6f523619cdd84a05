//! The in-process transport (`"transport": "inprocess"`): the runtime library
//! the CLI package ships, loaded into this process, against copilot-replay.
//!
//! One test function: the runtime library can be loaded once per process, so
//! the refusals (a missing library, a library that is not the runtime, a
//! second path) and the real load happen in a fixed order.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::TestEnv;
use copilot::{Client, ClientOptions, ErrorKind, SessionConfig};
use serde_json::{json, Value};

fn inprocess(env: &TestEnv, extra: Value) -> Result<Client, copilot::Error> {
    let mut opts = env.client_options();
    let o = opts.as_object_mut().unwrap();
    o.remove("cwd");
    o.insert("transport".into(), json!("inprocess"));
    o.extend(extra.as_object().unwrap().clone());
    Client::new(ClientOptions::from_json(&opts.to_string())?)
}

/// SIGCHLD's handler and flags as this process has them now.
fn sigchld() -> (usize, i32) {
    // SAFETY: reads the disposition into a zeroed local sigaction.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        assert_eq!(
            libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old),
            0
        );
        (old.sa_sigaction, old.sa_flags)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_runtime_carries_turns_and_refuses_misuse() {
    let env = TestEnv::new(&["chat.yaml"]);

    // Options that cannot work in process are refused up front.
    for extra in [
        json!({"cwd": "/tmp"}),
        json!({"telemetry": {"filePath": "/tmp/x"}}),
    ] {
        let err = inprocess(&env, extra).err().expect("refused");
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{err}");
    }

    // Mode empty keeps tenants' credentials out of the shared keychain; in
    // process the runtime reads that switch from this process's environment.
    if std::env::var_os("COPILOT_DISABLE_KEYTAR").is_none() {
        let home = env.home_path().join("tenant");
        let empty = inprocess(&env, json!({"mode": "empty", "baseDirectory": home})).unwrap();
        let err = empty.start().await.unwrap_err();
        assert!(err.message.contains("COPILOT_DISABLE_KEYTAR"), "{err}");
    }

    // A library that is not there, and one that is not the runtime.
    let missing = inprocess(&env, json!({"runtimeLibrary": "/nonexistent/runtime.node"})).unwrap();
    let err = missing.start().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::CliNotFound, "{err}");
    let libc_path = [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("libc");
    let wrong = inprocess(&env, json!({"runtimeLibrary": libc_path})).unwrap();
    let err = wrong.start().await.unwrap_err();
    assert!(
        err.message.contains("not a Copilot runtime library"),
        "{err}"
    );

    // The real runtime, found next to the unpacked CLI package: a turn.
    let before = sigchld();
    let client = inprocess(&env, json!({})).unwrap();
    client.start().await.unwrap();
    assert_eq!(
        client.cli_pid(),
        None,
        "no CLI process: the runtime is in this one"
    );
    let cfg = SessionConfig::from_json(&env.session_fields(json!({})).to_string()).unwrap();
    let session = client.create_session(cfg).await.unwrap();
    let answer = session
        .send_and_wait(
            json!({"prompt": "What is the capital of France?"}),
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .expect("an answer");
    assert_eq!(
        answer.data::<Value>().unwrap()["content"],
        "The capital of France is Paris."
    );

    // A second client in the same process shares the loaded library.
    let second = inprocess(&env, json!({})).unwrap();
    second.start().await.unwrap();
    assert!(second.ping(Some("second")).await.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("second"));
    second.stop(Duration::from_secs(10)).await.unwrap();
    client.stop(Duration::from_secs(10)).await.unwrap();

    // Whatever the runtime installed for SIGCHLD runs on the alternate
    // signal stack, so a Go host reaping its own children survives it.
    let after = sigchld();
    if after.0 != before.0 {
        assert_ne!(
            after.1 & libc::SA_ONSTACK,
            0,
            "SIGCHLD handler without SA_ONSTACK"
        );
    }

    // A different runtime library path in the same process is refused.
    let copy: PathBuf = env.home_path().join("runtime-copy.node");
    std::os::unix::fs::symlink(libc_path, &copy).unwrap();
    let other = inprocess(&env, json!({"runtimeLibrary": copy})).unwrap();
    let err = other.start().await.unwrap_err();
    assert!(err.message.contains("already loaded"), "{err}");
}
