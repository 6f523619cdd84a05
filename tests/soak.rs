//! Load and soak runs against the real CLI and copilot-replay (issue: reliability).
//! Not part of `cargo test`: each prints its figures and fails on a lost event or
//! a leak. Run them with
//!
//!   cargo test --release --test soak -- sessions [N]    N sessions at once on one client, each with a tool round trip (200)
//!   cargo test --release --test soak -- churn [N]       N session create/destroy cycles; RSS at start and end (10000)
//!   cargo test --release --test soak -- restarts [N]    N client start/stop cycles; processes, threads, fds (1000)

#[path = "common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestEnv;
use copilot::{
    Client, ClientOptions, PermissionPolicy, SessionConfig, SessionEvent, Tool, ToolInvocation,
};
use serde_json::json;

fn client(env: &TestEnv) -> Client {
    Client::new(ClientOptions::from_json(&env.client_options_json()).unwrap()).unwrap()
}

fn weather_config(
    env: &TestEnv,
    events: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
) -> SessionConfig {
    let mut cfg = SessionConfig::from_json(&env.session_fields(json!({})).to_string()).unwrap();
    cfg.tools
        .push(common::weather_tool(move |inv: ToolInvocation| {
            calls.fetch_add(1, Ordering::Relaxed);
            inv.complete(json!("18C and sunny"))
        }));
    cfg.permission = Some(PermissionPolicy::ApproveAll);
    cfg.on_event.push(Arc::new(move |ev: &SessionEvent| {
        // Ephemeral events (deltas, ...) are not kept in the history.
        if !ev.json().contains("\"ephemeral\":true") {
            events.fetch_add(1, Ordering::Relaxed);
        }
    }));
    cfg
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

/// Live (non-zombie) children of this process.
fn children() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            let rest = stat.rsplit(") ").next().unwrap_or("");
            let mut fields = rest.split_whitespace();
            let state = fields.next().unwrap_or("");
            fields.next() == Some(me.as_str()) && state != "Z"
        })
        .count()
}

async fn sessions(n: usize) {
    let env = TestEnv::new(&["weather_tool.yaml"]);
    let client = client(&env);
    client.start().await.unwrap();
    let started = Instant::now();
    let mut turns = Vec::new();
    for _ in 0..n {
        let events = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let session = client
            .create_session(weather_config(&env, events.clone(), calls.clone()))
            .await
            .unwrap();
        turns.push(tokio::spawn(async move {
            let answer = session
                .send_and_wait(
                    json!({"prompt": "What is the weather in Paris? Use the get_weather tool."}),
                    Duration::from_secs(300),
                )
                .await;
            let history = session.get_messages().await.unwrap();
            let kept = history.as_array().map_or(0, |a| a.len());
            (
                answer,
                events.load(Ordering::Relaxed),
                kept,
                calls.load(Ordering::Relaxed),
            )
        }));
    }
    let (mut ok, mut lost) = (0, 0);
    for t in turns {
        let (answer, delivered, kept, calls) = t.await.unwrap();
        let text = answer.unwrap().expect("an answer").json().to_string();
        assert!(text.contains("It is 18C and sunny in Paris."), "{text}");
        assert_eq!(calls, 1);
        if delivered == kept {
            ok += 1;
        } else {
            lost += 1;
            println!("session delivered {delivered} events, history has {kept}");
        }
    }
    let elapsed = started.elapsed();
    println!(
        "sessions: {n} concurrent tool turns in {elapsed:.1?} ({:.1} turns/s); events complete in {ok}, mismatched in {lost}",
        n as f64 / elapsed.as_secs_f64()
    );
    client.stop(Duration::from_secs(30)).await.unwrap();
    assert_eq!(lost, 0, "every event delivered");
}

async fn churn(n: usize) {
    let env = TestEnv::new(&["weather_tool.yaml"]);
    let client = client(&env);
    client.start().await.unwrap();
    let cycle = || async {
        let cfg = weather_config(
            &env,
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let session = client.create_session(cfg).await.unwrap();
        session.destroy().await.unwrap();
    };
    for _ in 0..200 {
        cycle().await; // warm-up: allocator pools and caches settle
    }
    let (rss0, started) = (rss_kib(), Instant::now());
    for i in 0..n {
        cycle().await;
        if (i + 1) % 2000 == 0 {
            println!("churn: {} cycles, RSS {} KiB", i + 1, rss_kib());
        }
    }
    let rss1 = rss_kib();
    println!(
        "churn: {n} create/destroy cycles in {:.1?}; RSS {rss0} KiB at start, {rss1} KiB at end ({:+} KiB)",
        started.elapsed(),
        rss1 as i64 - rss0 as i64
    );
    client.stop(Duration::from_secs(30)).await.unwrap();
    // Flat: a leak of even 100 bytes per cycle would show as ~1 MiB over 10k cycles.
    assert!(rss1 < rss0 + 4096, "RSS grew from {rss0} to {rss1} KiB");
}

async fn restarts(n: usize) {
    let env = TestEnv::new(&["weather_tool.yaml"]);
    let measure = || {
        (
            children(),
            count_dir("/proc/self/task"),
            count_dir("/proc/self/fd"),
        )
    };
    let once = || async {
        let c = client(&env);
        c.start().await.unwrap();
        c.stop(Duration::from_secs(30)).await.unwrap();
    };
    once().await; // lazily created statics exist before the baseline
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = measure();
    let started = Instant::now();
    for i in 0..n {
        once().await;
        if (i + 1) % 100 == 0 {
            println!(
                "restarts: {} cycles, (children, threads, fds) = {:?}",
                i + 1,
                measure()
            );
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = measure();
    println!(
        "restarts: {n} client start/stop cycles in {:.1?}; (children, threads, fds) before {before:?}, after {after:?}",
        started.elapsed()
    );
    assert_eq!(before, after, "no leaked process, thread or fd");
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mode = args.first().map(String::as_str).unwrap_or("");
    let n = |default: usize| args.get(1).and_then(|a| a.parse().ok()).unwrap_or(default);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match mode {
        "sessions" => rt.block_on(sessions(n(200))),
        "churn" => rt.block_on(churn(n(10_000))),
        "restarts" => rt.block_on(restarts(n(1_000))),
        _ => {
            eprintln!("usage: cargo test --release --test soak -- sessions|churn|restarts [N]");
            std::process::exit(2);
        }
    }
}
