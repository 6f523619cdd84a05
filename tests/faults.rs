//! Peer faults against the real CLI: the process killed mid-turn.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestEnv;
use copilot::{
    Client, ClientOptions, ClientState, ErrorKind, PermissionPolicy, SessionConfig, Tool,
    ToolInvocation,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_killed_mid_turn_fails_pending_calls_and_the_client_starts_again() {
    let env = TestEnv::new(&["weather_tool.yaml", "chat.yaml"]);
    let mut opts = env.client_options();
    opts["autoRestart"] = json!(false);
    let client = Client::new(ClientOptions::from_json(&opts.to_string()).unwrap()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<ToolInvocation>();
    let tx = Mutex::new(tx);
    let mut cfg = SessionConfig::from_json(&env.session_fields(json!({})).to_string()).unwrap();
    cfg.permission = Some(PermissionPolicy::ApproveAll);
    cfg.tools.push(Tool {
        declaration: json!({"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}),
        // Park the call: the turn is in flight when the CLI dies.
        handler: Arc::new(move |inv| tx.lock().unwrap().send(inv).unwrap()),
    });
    let session = client.create_session(cfg).await.unwrap();
    let pid = client.cli_pid().unwrap();
    let waiting = {
        let session = session.clone();
        tokio::spawn(async move {
            let r = session
                .send_and_wait(
                    json!({"prompt": "What is the weather in Paris? Use the get_weather tool."}),
                    Duration::from_secs(60),
                )
                .await;
            (r, Instant::now())
        })
    };
    let parked =
        tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)).unwrap())
            .await
            .unwrap();
    let killed_at = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let (result, failed_at) = waiting.await.unwrap();
    let err = result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Disconnected, "{err}");
    assert!(err.message.contains("signal 9"), "{err}");
    let latency = failed_at.duration_since(killed_at);
    println!("pending send_and_wait failed {latency:?} after SIGKILL");
    assert!(
        latency < Duration::from_secs(10),
        "failed only after {latency:?}"
    );
    assert_eq!(client.state(), ClientState::Error);
    // Later calls fail fast with the same reason; completing the orphaned tool call is harmless.
    let err = session.send(json!({"prompt": "hi"})).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Disconnected, "{err}");
    parked.complete(json!("too late"));
    assert!(!common::process_alive(pid));

    // The same client starts again and works.
    client.start().await.unwrap();
    assert_eq!(client.state(), ClientState::Connected);
    let fresh = client
        .create_session(
            SessionConfig::from_json(&env.session_fields(json!({})).to_string()).unwrap(),
        )
        .await
        .unwrap();
    let answer = fresh
        .send_and_wait(
            json!({"prompt": "What is the capital of France?"}),
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(answer.json().contains("Paris"));
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test]
async fn cli_that_never_answers_the_handshake_times_out_and_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("copilot");
    // Keeps its pipes open and never speaks; prints its pid for the check below.
    let pidfile = dir.path().join("pid");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 1000\n",
            pidfile.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let opts = json!({"cliPath": fake, "handshakeTimeoutMs": 500});
    let client = Client::new(ClientOptions::from_json(&opts.to_string()).unwrap()).unwrap();
    let err = client.start().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(err.message.contains("500 ms"), "{err}");
    assert_eq!(client.cli_pid(), None);
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while common::process_alive(pid) {
        assert!(Instant::now() < deadline, "the silent CLI was not killed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_killed_is_restarted_and_the_same_session_continues() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client =
        Client::new(ClientOptions::from_json(&env.client_options_json()).unwrap()).unwrap();
    let states = Arc::new(Mutex::new(Vec::<(ClientState, Instant)>::new()));
    let st = states.clone();
    client.on_state_change(Arc::new(move |s, _| {
        st.lock().unwrap().push((s, Instant::now()))
    }));
    let seen = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let mut cfg = SessionConfig::from_json(&env.session_fields(json!({})).to_string()).unwrap();
    let s = seen.clone();
    cfg.on_event
        .push(Arc::new(move |ev: &copilot::SessionEvent| {
            let content = ev
                .data::<serde_json::Value>()
                .and_then(|d| d["content"].as_str().map(str::to_owned));
            s.lock()
                .unwrap()
                .push((ev.event_type().to_string(), content.unwrap_or_default()));
        }));
    let session = client.create_session(cfg).await.unwrap();
    let first = session
        .send_and_wait(
            json!({"prompt": "What is the capital of France?"}),
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(first.json().contains("Paris"));
    let old_pid = client.cli_pid().unwrap();

    let killed_at = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(old_pid as i32, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let usable_at = loop {
        let connected = states
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(s, t)| *s == ClientState::Connected && *t > killed_at)
            .map(|(_, t)| *t);
        if let Some(t) = connected {
            break t;
        }
        assert!(
            Instant::now() < deadline,
            "no restart: {:?}",
            states.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!(
        "usable again {:?} after SIGKILL",
        usable_at.duration_since(killed_at)
    );
    let order: Vec<ClientState> = states.lock().unwrap().iter().map(|(s, _)| *s).collect();
    let restarting = order
        .iter()
        .position(|s| *s == ClientState::Restarting)
        .expect("a Restarting state");
    assert_eq!(order.last(), Some(&ClientState::Connected), "{order:?}");
    assert!(restarting < order.len() - 1);
    assert_ne!(client.cli_pid().unwrap(), old_pid, "a new CLI process");

    // The same handle continues the conversation in the new CLI.
    let before = seen.lock().unwrap().len();
    let second = session
        .send_and_wait(
            json!({"prompt": "And the capital of Italy?"}),
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        second.json().contains("The capital of Italy is Rome."),
        "{}",
        second.json()
    );
    let after: Vec<(String, String)> = seen.lock().unwrap()[before..].to_vec();
    let count = |t: &str| after.iter().filter(|(k, _)| k == t).count();
    assert_eq!(count("user.message"), 1, "{after:?}");
    assert_eq!(count("assistant.message"), 1, "{after:?}");
    assert_eq!(count("session.idle"), 1, "{after:?}");

    // A stop is never followed by a restart.
    client.stop(Duration::from_secs(10)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(client.state(), ClientState::Disconnected);
    assert_eq!(
        states.lock().unwrap().last().map(|(s, _)| *s),
        Some(ClientState::Disconnected)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresponsive_cli_is_detected_by_keep_alive_and_restarted() {
    let env = TestEnv::new(&["chat.yaml"]);
    let mut opts = env.client_options();
    opts["keepAliveIntervalMs"] = json!(300);
    opts["pingTimeoutMs"] = json!(700);
    let client = Client::new(ClientOptions::from_json(&opts.to_string()).unwrap()).unwrap();
    let states = Arc::new(Mutex::new(Vec::<ClientState>::new()));
    let st = states.clone();
    client.on_state_change(Arc::new(move |s, _| st.lock().unwrap().push(s)));
    client.start().await.unwrap();
    let old_pid = client.cli_pid().unwrap();
    // Alive but frozen: it keeps its pipes open and answers nothing.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(old_pid as i32, libc::SIGSTOP) };
    let err = client.ping(Some("anyone?")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.cli_pid().is_none_or(|p| p == old_pid) || client.state() != ClientState::Connected
    {
        assert!(
            Instant::now() < deadline,
            "not restarted: {:?}",
            states.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(states.lock().unwrap().contains(&ClientState::Restarting));
    client.ping(None).await.unwrap();
    assert!(!common::process_alive(old_pid), "the frozen CLI was killed");
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_give_up_after_the_configured_attempts() {
    let env = TestEnv::new(&["chat.yaml"]);
    // A CLI that starts once; every later start fails with a message on stderr.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let wrapper = dir.path().join("copilot");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ -e {m} ]; then echo 'cannot start again: disk on fire' >&2; exit 7; fi\ntouch {m}\nexec {cli} \"$@\"\n",
            m = marker.display(),
            cli = common::cli_path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut opts = env.client_options();
    opts["cliPath"] = json!(wrapper);
    opts["restartAttempts"] = json!(2);
    opts["restartDelayMs"] = json!(50);
    let client = Client::new(ClientOptions::from_json(&opts.to_string()).unwrap()).unwrap();
    let reasons = Arc::new(Mutex::new(Vec::<(ClientState, String)>::new()));
    let r = reasons.clone();
    client.on_state_change(Arc::new(move |s, why| {
        r.lock().unwrap().push((s, why.unwrap_or("").to_string()))
    }));
    client.start().await.unwrap();
    let pid = client.cli_pid().unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let why = loop {
        let last = reasons.lock().unwrap().last().cloned();
        if let Some((ClientState::Error, why)) = last {
            break why;
        }
        assert!(
            Instant::now() < deadline,
            "did not give up: {:?}",
            reasons.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(why.contains("after 2 attempts"), "{why}");
    assert!(
        why.contains("disk on fire"),
        "the last stderr lines are in the reason: {why}"
    );
    assert_eq!(client.state(), ClientState::Error);
    let err = client.ping(None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Disconnected, "{err}");
}

/// The model endpoint answers 429 or 500 (copilot-replay `errors:` entries):
/// `session.error` reaches the host, send_and_wait fails cleanly with it, and
/// the session stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_endpoint_errors_reach_the_host_as_session_errors() {
    let env = TestEnv::new(&["model_errors.yaml"]);
    let client =
        Client::new(ClientOptions::from_json(&env.client_options_json()).unwrap()).unwrap();
    for (prompt, status) in [
        ("Trigger a rate limit.", "429"),
        ("Trigger a server error.", "500"),
    ] {
        let mut cfg = SessionConfig::from_json(&env.session_fields(json!({})).to_string()).unwrap();
        let errors = Arc::new(Mutex::new(Vec::new()));
        let seen = errors.clone();
        cfg.on_event
            .push(Arc::new(move |ev: &copilot::SessionEvent| {
                if ev.event_type() == "session.error" {
                    seen.lock().unwrap().push(ev.json().to_string());
                }
            }));
        let session = client.create_session(cfg).await.unwrap();
        let started = Instant::now();
        let err = session
            .send_and_wait(json!({ "prompt": prompt }), Duration::from_secs(90))
            .await
            .expect_err("the turn fails");
        println!(
            "HTTP {status}: turn failed after {:?}: {err}",
            started.elapsed()
        );
        assert_eq!(err.kind, ErrorKind::SessionError, "{prompt}: {err}");
        assert!(err.to_string().contains(status), "{err}");
        let errors = errors.lock().unwrap().clone();
        assert_eq!(errors.len(), 1, "one session.error: {errors:?}");
        assert!(
            errors[0].contains(&format!("\"statusCode\":{status}")),
            "{errors:?}"
        );

        if status == "429" {
            // The same session answers the next prompt.
            let answer = session
                .send_and_wait(
                    json!({"prompt": "What is the capital of France?"}),
                    Duration::from_secs(60),
                )
                .await
                .unwrap()
                .expect("an answer");
            assert!(answer.json().contains("The capital of France is Paris."));
        }
    }
    client.stop(Duration::from_secs(10)).await.unwrap();
}
