//! The floor of the end-to-end benchmark: a minimal raw JSON-RPC client for
//! the real Copilot CLI, with no SDK: it spawns `copilot --headless --stdio`,
//! frames and parses messages with serde_json, answers tool calls and
//! permission requests, and waits for `session.idle`. Same steps and output
//! as benches/c/e2e_bench.c.
//!
//!   raw-e2e CLI_PATH SESSION_JSON REPEATS CONCURRENT

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use serde_json::{json, Value};

const PLAIN: &str = "What is the capital of France?";
const TOOL: &str = "What is the weather in Paris? Use the get_weather tool.";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (cli, session_json) = (&args[1], &args[2]);
    let repeats: usize = args[3].parse().unwrap();
    let concurrent: usize = args[4].parse().unwrap();
    let base: Value = serde_json::from_str(session_json).unwrap();

    let t0 = Instant::now();
    let mut child = Command::new(cli)
        .args([
            "--headless",
            "--no-auto-update",
            "--no-auto-login",
            "--stdio",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the CLI");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    // The reader thread turns frames into messages.
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            let mut len = 0;
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
        }
    });
    let mut client = Raw {
        stdin: &mut stdin,
        rx,
        next_id: 1,
        idle: HashMap::new(),
    };
    client.call("connect", json!({}));
    let start_ms = ms(t0);

    let create = |c: &mut Raw, n: usize| -> String {
        let id = format!("raw-{n}");
        let mut p = base.clone();
        p["sessionId"] = json!(id);
        p["requestPermission"] = json!(true);
        p["envValueMode"] = json!("direct");
        p["tools"] = json!([{"name": "get_weather", "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
        c.call("session.create", p);
        id
    };
    let mut n = 0;
    let t = Instant::now();
    let first = create(&mut client, n);
    let create_ms = ms(t);
    client.turns(&[(first, PLAIN)]);
    let (mut plain, mut tool) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        n += 1;
        let s = create(&mut client, n);
        plain.push(client.turns(&[(s, PLAIN)])[0]);
        n += 1;
        let s = create(&mut client, n);
        tool.push(client.turns(&[(s, TOOL)])[0]);
    }
    let sessions: Vec<(String, &str)> = (0..concurrent)
        .map(|_| {
            n += 1;
            (create(&mut client, n), TOOL)
        })
        .collect();
    let t = Instant::now();
    let conc = client.turns(&sessions);
    let concurrent_s = t.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"start_ms": start_ms, "create_ms": create_ms, "plain_ms": plain, "tool_ms": tool,
               "concurrent_s": concurrent_s, "concurrent_ms": conc})
    );
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

struct Raw<'a> {
    stdin: &'a mut std::process::ChildStdin,
    rx: mpsc::Receiver<Value>,
    next_id: u64,
    /// Sessions whose turn ended (session.idle), with the time it did.
    idle: HashMap<String, Instant>,
}

impl Raw<'_> {
    fn write(&mut self, msg: Value) {
        let body = msg.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.stdin.write_all(frame.as_bytes()).unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.write(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// A request and its reply, handling whatever else arrives meanwhile.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.request(method, params);
        loop {
            let msg = self.rx.recv().expect("CLI closed");
            if msg.get("method").is_none() && msg["id"] == json!(id) {
                assert!(msg.get("error").is_none(), "{method} failed: {msg}");
                return msg["result"].clone();
            }
            self.handle(msg);
        }
    }

    /// Sends each prompt, then waits until every session is idle; returns each turn's ms.
    fn turns(&mut self, turns: &[(String, &str)]) -> Vec<f64> {
        let started: Vec<Instant> = turns
            .iter()
            .map(|(s, prompt)| {
                self.idle.remove(s);
                let t = Instant::now();
                self.request("session.send", json!({"sessionId": s, "prompt": prompt}));
                t
            })
            .collect();
        while turns.iter().any(|(s, _)| !self.idle.contains_key(s)) {
            let msg = self.rx.recv().expect("CLI closed");
            self.handle(msg);
        }
        turns
            .iter()
            .zip(started)
            .map(|((s, _), t)| (self.idle[s] - t).as_secs_f64() * 1e3)
            .collect()
    }

    fn handle(&mut self, msg: Value) {
        match msg["method"].as_str() {
            Some("session.event") => {
                let s = msg["params"]["sessionId"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let ev = &msg["params"]["event"];
                let data = &ev["data"];
                match ev["type"].as_str() {
                    Some("session.idle") => {
                        self.idle.insert(s, Instant::now());
                    }
                    Some("external_tool.requested") => {
                        let p = json!({"sessionId": s, "requestId": data["requestId"], "result": "18C and sunny"});
                        self.request("session.tools.handlePendingToolCall", p);
                    }
                    Some("permission.requested") if data["resolvedByHook"] != json!(true) => {
                        let p = json!({"sessionId": s, "requestId": data["requestId"],
                                       "result": {"kind": "approve-once"}});
                        self.request("session.permissions.handlePendingPermissionRequest", p);
                    }
                    _ => {}
                }
            }
            // A request from the CLI this client does not serve.
            Some(method) if msg.get("id").is_some() => {
                let reply = json!({"jsonrpc": "2.0", "id": msg["id"],
                                   "error": {"code": -32601, "message": format!("Unhandled method {method}")}});
                self.write(reply);
            }
            _ => {}
        }
    }
}
