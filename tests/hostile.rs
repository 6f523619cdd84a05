//! A dying, stalled or hostile CLI must never kill, hang or bloat the host.
//!
//! Builds tests/c/hostile_test.c against include/copilot.h and the freshly
//! built libcopilot.so, then runs each case in a fresh process, once per
//! transport (stdio and tcp), against the fake CLI tests/hostile/fake_cli.py.
//! A case passes when its program exits 0 within the case's wall bound; a
//! program killed by a signal (SIGPIPE = 13) or still running at the bound
//! (killed, with its fake CLIs) fails the test with the case's name. Each run
//! prints one `FIGURES case=... transport=... status=...` line (run with
//! `-- --nocapture` to see them for passing cases too).
//!
//! Environment: `HOSTILE_FULL=1` runs the full-size variants (see
//! tests/hostile/README.md); `HOSTILE_TRANSPORTS=stdio` (or `tcp`) runs one
//! transport; `HOSTILE_FIGURES_FILE=path` appends every FIGURES line to a file.
//! Cases run one at a time (they measure time and memory).

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/<profile>/deps: `cargo test` builds the cdylib there (it is copied
/// up to target/<profile> only by `cargo build`). The program gets its copy
/// (see `run_dir`) on LD_LIBRARY_PATH too, because cargo's own
/// LD_LIBRARY_PATH (searched before a RUNPATH) may name target/<profile>
/// with an older copy.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

/// A private copy of the freshly built library, and the place of the
/// compiled program, for this run of the test binary: a concurrent `cargo
/// build` rewriting target/<profile>/deps/libcopilot.so, or another run of
/// this suite, cannot pull either from under a running case. Directories of
/// runs that have ended are removed.
fn run_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let deps = lib_dir();
        let built = deps.join("libcopilot.so");
        assert!(built.is_file(), "no libcopilot.so in {}", deps.display());
        for entry in std::fs::read_dir(&deps).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("hostile-run-") {
                // SAFETY: signal 0 only checks whether the process exists.
                let ended = pid
                    .parse::<i32>()
                    .is_ok_and(|p| unsafe { libc::kill(p, 0) } != 0);
                if ended {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = deps.join(format!("hostile-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let partial = dir.join("libcopilot.so.partial");
        std::fs::copy(&built, &partial).expect("copy libcopilot.so");
        std::fs::rename(&partial, dir.join("libcopilot.so")).unwrap();
        dir
    })
}

/// As tests/c_abi.rs compiles its programs, but against the library in `lib`.
fn compile_with(source: &str, out_name: &str, extra_flags: &[&str], lib: &Path) -> PathBuf {
    let root = repo_dir();
    assert!(
        lib.join("libcopilot.so").is_file(),
        "no libcopilot.so in {}",
        lib.display()
    );
    let out = lib.join(out_name);
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .args(extra_flags)
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join(source))
        .arg("-o")
        .arg(&out)
        .arg(format!("-L{}", lib.display()))
        .arg("-lcopilot")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling {source} failed");
    out
}

/// The compiled test program (once per test binary). The drop-count case
/// needs `copilot_client_stats`; it is compiled in when the header has it.
fn program() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let header = std::fs::read_to_string(repo_dir().join("include/copilot.h")).unwrap();
        let mut flags = vec!["-g"];
        if header.contains("copilot_client_stats(") {
            flags.push("-DHOSTILE_HAVE_CLIENT_STATS");
        }
        compile_with("tests/c/hostile_test.c", "hostile_test", &flags, run_dir())
    })
}

/// The fake CLI, made executable if a checkout lost its mode bits.
fn fake_cli() -> PathBuf {
    let path = repo_dir().join("tests/hostile/fake_cli.py");
    let mode = std::fs::metadata(&path)
        .expect("tests/hostile/fake_cli.py")
        .permissions()
        .mode();
    if mode & 0o111 != 0o111 {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode | 0o755)).unwrap();
    }
    path
}

fn full() -> bool {
    std::env::var("HOSTILE_FULL").is_ok_and(|v| v == "1")
}

fn transports() -> Vec<&'static str> {
    match std::env::var("HOSTILE_TRANSPORTS") {
        Ok(v) if v.trim() == "stdio" => vec!["stdio"],
        Ok(v) if v.trim() == "tcp" => vec!["tcp"],
        _ => vec!["stdio", "tcp"],
    }
}

/// Cases measure time and peak memory: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGBUS => "SIGBUS",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

fn collect(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn record_figures(line: &str) {
    println!("{line}");
    if let Ok(path) = std::env::var("HOSTILE_FIGURES_FILE") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Runs one case on one transport; Err describes how it failed.
fn run_one(case: &str, transport: &str, bound: Duration) -> Result<(), String> {
    // The program reports a hang itself a little before we kill it.
    let own_bound = bound.saturating_sub(Duration::from_secs(8));
    let mut cmd = Command::new(program());
    cmd.args([case, transport])
        .env("LD_LIBRARY_PATH", run_dir())
        .env("HOSTILE_FAKE_CLI", fake_cli())
        .env("HOSTILE_FULL", if full() { "1" } else { "0" })
        .env("HOSTILE_BOUND_MS", own_bound.as_millis().to_string())
        .env_remove("COPILOT_CLI_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: the fake CLIs it spawns are killed with it.
        .process_group(0);
    for (key, _) in std::env::vars() {
        if key.starts_with("FAKE_") {
            cmd.env_remove(key);
        }
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run hostile_test");
    let pgid = child.id() as i32;
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() >= bound {
            // SAFETY: signalling the process group we created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Whatever of that run is still alive (a fake CLI) goes now.
    // SAFETY: as above; ESRCH when the group is already empty.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let took = started.elapsed();
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    println!("---- {case} [{transport}] ({:.1} s)", took.as_secs_f64());
    for line in stdout.lines().filter(|l| !l.starts_with("FIGURES ")) {
        println!("{line}");
    }
    if !stderr.trim().is_empty() {
        println!("  stderr:\n{}", stderr.trim_end());
    }
    let figures = stdout.lines().rev().find(|l| l.starts_with("FIGURES "));
    let failure = match status {
        None => Some(format!(
            "HANG: still running after {} s, killed (last output: {:?})",
            bound.as_secs(),
            stdout.lines().last().unwrap_or("")
        )),
        Some(s) if s.signal().is_some() => {
            let sig = s.signal().unwrap();
            Some(format!(
                "killed by signal {sig} ({}) after {:.1} s{}",
                signal_name(sig),
                took.as_secs_f64(),
                if s.core_dumped() { ", core dumped" } else { "" }
            ))
        }
        Some(s) if s.success() => None,
        Some(s) if s.code() == Some(3) => Some("HANG reported by the program".into()),
        Some(s) => Some(format!("exit status {:?}", s.code())),
    };
    match (figures, status) {
        (Some(line), Some(s)) if s.signal().is_none() => record_figures(line),
        _ => {
            let why = match status {
                None => "hang".to_string(),
                Some(s) => match s.signal() {
                    Some(sig) => format!("signal_{sig}"),
                    None => format!("exit_{}", s.code().unwrap_or(-1)),
                },
            };
            record_figures(&format!(
                "FIGURES case={case} transport={transport} status={why} time_to_error_ms={} verdict={}",
                took.as_millis(),
                if why == "hang" { "hang" } else { "crash" }
            ));
        }
    }
    match failure {
        None => Ok(()),
        Some(why) => {
            let fails: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
            Err(format!(
                "{case} [{transport}]: {why}\n    {}",
                fails.join("\n    ")
            ))
        }
    }
}

/// Runs `case` on every transport, each within `ci_secs` (or `full_secs`
/// with HOSTILE_FULL=1), and fails with every transport's failure.
fn run_case(case: &str, ci_secs: u64, full_secs: u64) {
    let bound = Duration::from_secs(if full() { full_secs } else { ci_secs });
    program();
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let failures: Vec<String> = transports()
        .into_iter()
        .filter_map(|t| run_one(case, t, bound).err())
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

macro_rules! cases {
    ($($name:ident: $ci:expr, $full:expr;)*) => {
        $(
            #[test]
            fn $name() {
                run_case(stringify!($name), $ci, $full);
            }
        )*
    };
}

// case: wall bound per transport in seconds (CI, full size).
cases! {
    // 1. SIGPIPE: writes into a CLI that is gone never kill the host.
    sigpipe_input_handler: 30, 30;
    sigpipe_input_default: 30, 30;
    sigpipe_big_send: 30, 30;
    sigpipe_force_stop: 30, 30;
    // 2. copilot_client_stop(client, 2000) returns within about 2 + 5 s.
    stop_bounded_big_send: 30, 30;
    stop_bounded_request_flood: 30, 30;
    // 3. A timed-out write never leaves half a frame on the wire.
    no_torn_frames: 60, 60;
    // 4. Memory stays bounded under floods the host cannot keep up with.
    memory_event_flood: 90, 300;
    memory_request_flood: 60, 400;
    // 5. Keep-alive does not kill a CLI that is only waiting for a slow host.
    keepalive_slow_callback: 120, 120;
    // 6. Bounded requests, honest messages, visible drops.
    timeout_no_reply: 45, 45;
    send_and_wait_message: 30, 30;
    send_racing_destroy: 30, 30;
    dropped_input_stats: 30, 30;
    broken_pipe_message: 30, 30;
    // 7. Wire abuse that already gives a clear error or is ignored (regression guard).
    wire_huge_length: 30, 30;
    wire_negative_length: 30, 30;
    wire_endless_headers: 30, 30;
    wire_deep_json: 30, 30;
    wire_invalid_utf8: 30, 30;
    wire_odd_ids: 30, 30;
    wire_protocol_version: 30, 30;
}
