//! End-to-end tests of the core against the real Copilot CLI, offline, with
//! model replies from copilot-replay.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{process_alive, TestEnv};
use copilot::{
    Client, ClientOptions, ClientState, ErrorKind, PermissionPolicy, SessionConfig, SessionEvent,
    Tool, ToolInvocation,
};
use serde_json::{json, Value};

const TURN: Duration = Duration::from_secs(60);

fn client(env: &TestEnv) -> Client {
    Client::new(ClientOptions::from_json(&env.client_options_json()).unwrap()).unwrap()
}

fn config(env: &TestEnv, extra: Value) -> SessionConfig {
    SessionConfig::from_json(&env.session_fields(extra).to_string()).unwrap()
}

/// Records every event type a session delivers, in order.
fn recorder(cfg: &mut SessionConfig) -> Arc<Mutex<Vec<(String, Value)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    cfg.on_event.push(Arc::new(move |ev: &SessionEvent| {
        let v: Value = serde_json::from_str(ev.json()).unwrap();
        s.lock().unwrap().push((ev.event_type().to_string(), v));
    }));
    seen
}

fn weather_tool(
    calls: Arc<Mutex<Vec<Value>>>,
    answer: impl Fn(ToolInvocation) + Send + Sync + 'static,
) -> Tool {
    Tool {
        declaration: json!({
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }),
        handler: Arc::new(move |inv: ToolInvocation| {
            calls.lock().unwrap().push(inv.arguments());
            answer(inv)
        }),
    }
}

fn content(ev: &SessionEvent) -> String {
    ev.data::<Value>().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invokes_custom_tool() {
    let env = TestEnv::new(&["weather_tool.yaml"]);
    let client = client(&env);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut cfg = config(&env, json!({}));
    cfg.tools.push(weather_tool(calls.clone(), |inv| {
        inv.complete(json!("18C and sunny"))
    }));
    cfg.permission = Some(PermissionPolicy::ApproveAll);
    let seen = recorder(&mut cfg);
    let session = client.create_session(cfg).await.unwrap();
    let answer = session
        .send_and_wait(
            json!({"prompt": "What is the weather in Paris? Use the get_weather tool."}),
            TURN,
        )
        .await
        .unwrap()
        .expect("an assistant.message");
    assert_eq!(content(&answer), "It is 18C and sunny in Paris.");
    assert_eq!(*calls.lock().unwrap(), vec![json!({"city": "Paris"})]);
    let types: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(t, _)| t.clone())
        .collect();
    let pos = |t: &str| {
        types
            .iter()
            .position(|x| x == t)
            .unwrap_or_else(|| panic!("no {t} in {types:?}"))
    };
    assert!(pos("external_tool.requested") < pos("tool.execution_complete"));
    assert!(pos("tool.execution_complete") < pos("session.idle"));
    // The tool result reached the model.
    let requests = env.replay.requests();
    let last = requests.last().unwrap()["messages"]
        .as_array()
        .unwrap()
        .clone();
    assert!(last.iter().any(|m| m["role"] == "tool"
        && m["content"]
            .as_str()
            .unwrap_or("")
            .contains("18C and sunny")));
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_turn_conversation_keeps_context_and_message_order() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client = client(&env);
    let session = client
        .create_session(config(&env, json!({})))
        .await
        .unwrap();
    let first = session
        .send_and_wait(json!({"prompt": "What is the capital of France?"}), TURN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content(&first), "The capital of France is Paris.");
    let second = session
        .send_and_wait(json!({"prompt": "And the capital of Italy?"}), TURN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content(&second), "The capital of Italy is Rome.");

    // get_messages: persisted history, oldest first.
    let events = session.get_messages().await.unwrap();
    let events = events.as_array().unwrap();
    let texts: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["type"] == "user.message" || e["type"] == "assistant.message")
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["data"]["content"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        texts,
        vec![
            (
                "user.message".into(),
                "What is the capital of France?".into()
            ),
            (
                "assistant.message".into(),
                "The capital of France is Paris.".into()
            ),
            ("user.message".into(), "And the capital of Italy?".into()),
            (
                "assistant.message".into(),
                "The capital of Italy is Rome.".into()
            ),
        ]
    );
    assert_eq!(events.first().unwrap()["type"], "session.start");
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_delivers_deltas_that_add_up_to_the_message() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client = client(&env);
    let mut cfg = config(&env, json!({"streaming": true}));
    let seen = recorder(&mut cfg);
    let session = client.create_session(cfg).await.unwrap();
    let answer = session
        .send_and_wait(json!({"prompt": "Count from one to ten in words."}), TURN)
        .await
        .unwrap()
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    let deltas: Vec<String> = seen
        .iter()
        .filter(|(t, _)| t == "assistant.message_delta")
        .map(|(_, v)| v["data"]["deltaContent"].as_str().unwrap().to_string())
        .collect();
    assert!(deltas.len() >= 2, "expected several deltas, got {deltas:?}");
    assert_eq!(deltas.concat(), content(&answer));
    let first_delta = seen
        .iter()
        .position(|(t, _)| t == "assistant.message_delta")
        .unwrap();
    let message = seen
        .iter()
        .position(|(t, _)| t == "assistant.message")
        .unwrap();
    assert!(first_delta < message);
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_handler_approves_and_sees_the_request() {
    let env = TestEnv::new(&["weather_tool.yaml"]);
    let client = client(&env);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let asked = Arc::new(Mutex::new(Vec::<Value>::new()));
    let mut cfg = config(&env, json!({}));
    cfg.tools.push(weather_tool(calls.clone(), |inv| {
        inv.complete(json!("18C and sunny"))
    }));
    let a = asked.clone();
    cfg.permission = Some(PermissionPolicy::Handler(Arc::new(move |req| {
        a.lock()
            .unwrap()
            .push(serde_json::from_str(req.json()).unwrap());
        // A decision context travels with the answer (beside `result`, as
        // the unit test in handlers.rs checks: CLI 1.0.102 accepts it in
        // either place, so this only shows the answer still works).
        req.respond(json!({
            "kind": "approve-once",
            "decisionContext": {"outcome": "prompted_user", "source": "human_response", "surface": "sdk"},
        }));
    })));
    let session = client.create_session(cfg).await.unwrap();
    let answer = session
        .send_and_wait(
            json!({"prompt": "What is the weather in Paris? Use the get_weather tool."}),
            TURN,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content(&answer), "It is 18C and sunny in Paris.");
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0]["permissionRequest"]["kind"], "custom-tool");
    assert_eq!(calls.lock().unwrap().len(), 1);
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_denied_means_the_tool_never_runs() {
    let env = TestEnv::new(&["weather_tool.yaml", "denied.yaml"]);
    let client = client(&env);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut cfg = config(&env, json!({}));
    cfg.tools.push(weather_tool(calls.clone(), |inv| {
        inv.complete(json!("should not run"))
    }));
    cfg.permission = Some(PermissionPolicy::Handler(Arc::new(|req| {
        req.respond(json!({"kind": "reject", "feedback": "not allowed"}))
    })));
    let seen = recorder(&mut cfg);
    let session = client.create_session(cfg).await.unwrap();
    let answer = session
        .send_and_wait(
            json!({"prompt": "What is the weather in Rome? Use the get_weather tool."}),
            TURN,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        content(&answer),
        "I was not allowed to check the weather in Rome."
    );
    assert!(calls.lock().unwrap().is_empty());
    let complete = seen
        .lock()
        .unwrap()
        .iter()
        .find(|(t, _)| t == "tool.execution_complete")
        .map(|(_, v)| v.clone())
        .expect("tool.execution_complete");
    assert_eq!(complete["data"]["success"], false);
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_permission_handler_custom_tools_are_denied() {
    let env = TestEnv::new(&["weather_tool.yaml", "denied.yaml"]);
    let client = client(&env);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut cfg = config(&env, json!({}));
    cfg.tools.push(weather_tool(calls.clone(), |inv| {
        inv.complete(json!("should not run"))
    }));
    let session = client.create_session(cfg).await.unwrap();
    // The model's next request carries the denial; no conversation continues
    // from it, so the turn ends in a 400 from the replay server.
    let result = session
        .send_and_wait(
            json!({"prompt": "What is the weather in Rome? Use the get_weather tool."}),
            TURN,
        )
        .await;
    assert!(calls.lock().unwrap().is_empty(), "{result:?}");
    let requests = env.replay.requests();
    let tool_result = requests.last().unwrap()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .map(|m| m["content"].to_string())
        .expect("a tool result");
    assert!(tool_result.contains("Permission denied"), "{tool_result}");
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_handler_failure_reaches_the_model_as_a_failed_tool() {
    let env = TestEnv::new(&["weather_tool.yaml"]);
    let client = client(&env);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut cfg = config(&env, json!({}));
    cfg.tools.push(weather_tool(calls.clone(), |inv| {
        inv.fail("weather service down: secret detail")
    }));
    cfg.permission = Some(PermissionPolicy::ApproveAll);
    let session = client.create_session(cfg).await.unwrap();
    let answer = session
        .send_and_wait(
            json!({"prompt": "What is the weather in Oslo? Use the get_weather tool."}),
            TURN,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content(&answer), "I could not get the weather for Oslo.");
    let requests = env.replay.requests();
    let body = requests.last().unwrap().to_string();
    assert!(body.contains("Tool execution failed"));
    assert!(
        !body.contains("secret detail"),
        "host error text must not reach the model"
    );
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_handler_may_complete_later_from_another_thread() {
    let env = TestEnv::new(&["weather_tool.yaml"]);
    let client = client(&env);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut cfg = config(&env, json!({}));
    cfg.tools.push(weather_tool(calls.clone(), |inv| {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            inv.complete(json!("18C and sunny"));
        });
    }));
    cfg.permission = Some(PermissionPolicy::ApproveAll);
    let session = client.create_session(cfg).await.unwrap();
    let answer = session
        .send_and_wait(
            json!({"prompt": "What is the weather in Paris? Use the get_weather tool."}),
            TURN,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content(&answer), "It is 18C and sunny in Paris.");
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_and_wait_times_out_and_the_session_stays_usable() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client = client(&env);
    let session = client
        .create_session(config(&env, json!({})))
        .await
        .unwrap();
    let err = session
        .send_and_wait(
            json!({"prompt": "What is the capital of France?"}),
            Duration::from_millis(5),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    // The turn went on; the next one sees its result in the history.
    let second = session
        .send_and_wait(json!({"prompt": "And the capital of Italy?"}), TURN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content(&second), "The capital of Italy is Rome.");
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_ends_the_turn_and_the_session_recovers() {
    let env = TestEnv::new(&["abort.yaml"]);
    let client = client(&env);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel::<ToolInvocation>();
    let tx = Mutex::new(tx);
    let mut cfg = config(&env, json!({}));
    // The handler parks the invocation: the turn cannot finish until aborted.
    cfg.tools.push(weather_tool(calls.clone(), move |inv| {
        tx.lock().unwrap().send(inv).unwrap()
    }));
    cfg.permission = Some(PermissionPolicy::ApproveAll);
    let seen = recorder(&mut cfg);
    let session = client.create_session(cfg).await.unwrap();
    session
        .send(json!({"prompt": "What is the weather in Lima? Use the get_weather tool."}))
        .await
        .unwrap();
    let parked =
        tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)).unwrap())
            .await
            .unwrap();
    session.abort().await.unwrap();
    // Wait only for the abort event: the aborted turn's session.idle may come
    // after the next send, and send_and_wait must not take it for its own.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let idle = seen.lock().unwrap().iter().any(|(t, _)| t == "abort");
        if idle {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no idle after abort");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(parked);
    let answer = session
        .send_and_wait(json!({"prompt": "Say recovered."}), TURN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content(&answer), "recovered");
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_and_stop_leave_no_cli_process() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client = client(&env);
    client.start().await.unwrap();
    assert_eq!(client.state(), ClientState::Connected);
    let pid = client.cli_pid().unwrap();
    assert!(process_alive(pid));
    let session = client
        .create_session(config(&env, json!({})))
        .await
        .unwrap();
    session.destroy().await.unwrap();
    let err = session.send(json!({"prompt": "hi"})).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidState);
    let other = client
        .create_session(config(&env, json!({})))
        .await
        .unwrap();
    client.stop(Duration::from_secs(10)).await.unwrap();
    assert_eq!(client.state(), ClientState::Disconnected);
    assert!(
        !process_alive(pid),
        "CLI pid {pid} still running after stop"
    );
    assert_eq!(
        other.send(json!({"prompt": "hi"})).await.unwrap_err().kind,
        ErrorKind::InvalidState
    );

    // Dropping a started client kills its CLI too.
    let client = self::client(&env);
    client.start().await.unwrap();
    let pid = client.cli_pid().unwrap();
    drop(client);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while process_alive(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "CLI pid {pid} survived the client"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn missing_cli_is_a_clear_error() {
    let opts = ClientOptions::from_json(r#"{"cliPath": "/nonexistent/bin/copilot"}"#).unwrap();
    let client = Client::new(opts).unwrap();
    let err = client.start().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::CliNotFound);
    assert!(err.message.contains("/nonexistent/bin/copilot"), "{err}");
    assert!(
        err.message.contains("npm install -g @github/copilot"),
        "{err}"
    );
    assert!(err.message.contains("COPILOT_CLI_PATH"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_errors_carry_code_and_message() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client = client(&env);
    client.start().await.unwrap();
    let err = client.call("no.such.method", json!({})).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rpc);
    assert_eq!(err.rpc_code, Some(-32601), "{err:?}");
    assert!(!err.message.is_empty());
    let pong = client.ping(Some("hello")).await.unwrap();
    assert_eq!(
        pong["message"].as_str().map(|m| m.contains("hello")),
        Some(true),
        "{pong}"
    );
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_and_stopping_the_cli_leaves_sigchld_alone() {
    fn sigchld() -> (usize, i32) {
        // SAFETY: reads the current disposition only.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            assert_eq!(
                libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old),
                0
            );
            (old.sa_sigaction, old.sa_flags)
        }
    }
    let before = sigchld();
    let env = TestEnv::new(&["chat.yaml"]);
    for _ in 0..2 {
        let client = client(&env);
        client.start().await.unwrap();
        client.stop(Duration::from_secs(10)).await.unwrap();
    }
    assert_eq!(
        sigchld(),
        before,
        "the library changed SIGCHLD's disposition"
    );
    assert_eq!(before.0, libc::SIG_DFL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_added_later_see_events_until_unsubscribed() {
    let env = TestEnv::new(&["chat.yaml"]);
    let client = client(&env);
    let session = client
        .create_session(config(&env, json!({})))
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    let id = session.subscribe(Arc::new(move |ev: &SessionEvent| {
        s.lock().unwrap().push(ev.event_type().to_string())
    }));
    session
        .send_and_wait(json!({"prompt": "What is the capital of France?"}), TURN)
        .await
        .unwrap();
    let during = seen.lock().unwrap().clone();
    assert!(during.contains(&"user.message".to_string()), "{during:?}");
    assert_eq!(during.last().map(String::as_str), Some("session.idle"));
    assert!(session.unsubscribe(id));
    assert!(
        !session.unsubscribe(id),
        "a second unsubscribe finds nothing"
    );
    session
        .send_and_wait(json!({"prompt": "And the capital of Italy?"}), TURN)
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), during, "no event after unsubscribe");
    client.stop(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test]
async fn cli_exiting_at_startup_reports_exit_status_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("copilot");
    std::fs::write(&fake, "#!/bin/sh\necho 'boom: cannot start' >&2\nexit 3\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let opts = ClientOptions::from_json(&json!({"cliPath": fake}).to_string()).unwrap();
    let client = Client::new(opts).unwrap();
    let err = client.start().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Disconnected, "{err}");
    assert!(err.message.contains("exit code 3"), "{err}");
    assert!(err.message.contains("boom: cannot start"), "{err}");
    assert_eq!(client.state(), ClientState::Error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_guard_fires_when_the_turn_goes_silent() {
    let env = TestEnv::new(&["stall.yaml"]);
    let client = client(&env);
    let seen = Arc::new(Mutex::new(Vec::<(String, std::time::Instant)>::new()));
    let mut cfg = config(&env, json!({}));
    let s = seen.clone();
    cfg.on_event.push(Arc::new(move |ev: &SessionEvent| {
        s.lock()
            .unwrap()
            .push((ev.event_type().to_string(), std::time::Instant::now()))
    }));
    let session = client.create_session(cfg).await.unwrap();
    let opts = copilot::WaitOptions {
        timeout: Duration::from_secs(30),
        first_event: Some(Duration::from_secs(10)),
        max_silence: Some(Duration::from_millis(1500)),
        abort_on_stall: true,
    };
    let err = session
        .send_and_wait_with(
            json!({"prompt": "This request never gets an answer."}),
            opts,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Stalled, "{err}");
    // abortOnStall ended the turn: the silence is the gap before the abort event.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let silence = loop {
        {
            let seen = seen.lock().unwrap();
            if let Some(i) = seen.iter().position(|(t, _)| t == "abort") {
                assert!(i > 0, "events before the stall");
                break seen[i].1.duration_since(seen[i - 1].1);
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the stalled turn was not aborted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The guard fired (Stalled, not the 30 s timeout) and never before the
    // limit: the last event and the abort it sent are that far apart (the
    // timestamps are taken on one thread, in delivery order).
    println!("stall reported after {silence:?} of silence (limit 1500 ms)");
    assert!(
        silence >= Duration::from_millis(1500),
        "fired early: {silence:?}"
    );
    client.stop(Duration::from_secs(10)).await.unwrap();
}
