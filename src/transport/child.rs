//! The CLI child process: reaped by a dedicated thread that blocks in
//! `waitid`, so no SIGCHLD handler is ever installed (Go hosts crash on
//! handlers without SA_ONSTACK), and stderr kept as a bounded tail for errors.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use crate::sync::Mutex;

use crate::log::{log, Level};

/// Bytes of the child's stderr kept for error messages.
const STDERR_TAIL_BYTES: usize = 64 * 1024;
/// Bytes of that tail quoted in an error message.
const STDERR_QUOTE_BYTES: usize = 4 * 1024;

/// How the child ended, as `waitpid` reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit code {c}"),
            ExitStatus::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

struct Shared {
    pid: libc::pid_t,
    /// `Some` once reaped; the lock also orders kill() before the pid can be reused.
    status: Mutex<Option<ExitStatus>>,
    stderr: Mutex<VecDeque<u8>>,
    /// Wakes async waiters when the child is reaped.
    exit_watch: tokio::sync::watch::Sender<Option<ExitStatus>>,
    /// True once the child's stderr reached end of file (all of it is in the tail).
    stderr_closed: tokio::sync::watch::Sender<bool>,
}

/// A handle to the running (or exited) child. Cloning shares the same process.
#[derive(Clone)]
pub struct ChildProcess {
    shared: Arc<Shared>,
}

impl ChildProcess {
    /// Takes over a spawned child: starts its reaper and stderr reader threads.
    pub fn adopt(pid: u32, stderr: Option<std::process::ChildStderr>) -> std::io::Result<Self> {
        let (exit_watch, _) = tokio::sync::watch::channel(None);
        let (stderr_closed, _) = tokio::sync::watch::channel(stderr.is_none());
        let shared = Arc::new(Shared {
            pid: pid as libc::pid_t,
            status: Mutex::new(None),
            stderr: Mutex::new(VecDeque::new()),
            exit_watch,
            stderr_closed,
        });
        let reaper = shared.clone();
        std::thread::Builder::new()
            .name("copilot-reaper".into())
            .spawn(move || reap(&reaper))?;
        if let Some(stderr) = stderr {
            let tail = shared.clone();
            std::thread::Builder::new()
                .name("copilot-stderr".into())
                .spawn(move || collect_stderr(stderr, &tail))?;
        }
        Ok(ChildProcess { shared })
    }

    pub fn pid(&self) -> u32 {
        self.shared.pid as u32
    }

    /// The exit status, once the child has been reaped.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.shared.status.lock()
    }

    /// Sends SIGKILL unless the child is already reaped (never a reused pid).
    pub fn kill(&self) {
        let status = self.shared.status.lock();
        if status.is_none() {
            // SAFETY: plain syscall on a pid that is ours and not yet reaped.
            unsafe { libc::kill(self.shared.pid, libc::SIGKILL) };
        }
    }

    /// Waits until the child is reaped and its stderr fully read, or `timeout`
    /// passes: then `describe_exit` has the whole story.
    pub async fn wait_exit_and_stderr(&self, timeout: Duration) {
        let mut exit = self.shared.exit_watch.subscribe();
        let mut stderr = self.shared.stderr_closed.subscribe();
        let _ = tokio::time::timeout(timeout, async {
            let _ = exit.wait_for(|s| s.is_some()).await;
            let _ = stderr.wait_for(|closed| *closed).await;
        })
        .await;
    }

    /// Waits without blocking a runtime thread until the child is reaped or `timeout` passes.
    pub async fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let mut rx = self.shared.exit_watch.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|s| s.is_some())).await;
        self.exit_status()
    }

    /// Reads the child's stdout on a thread (TCP mode, where stdout is not the
    /// RPC channel): the port from its "listening on port N" line goes to the
    /// returned channel; every line also goes to the output tail.
    pub fn watch_stdout_for_port(
        &self,
        stdout: std::process::ChildStdout,
    ) -> std::io::Result<tokio::sync::oneshot::Receiver<u16>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name("copilot-stdout".into())
            .spawn(move || {
                use std::io::BufRead;
                let mut tx = Some(tx);
                for line in std::io::BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(port) = listening_port(&line) {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(port);
                        }
                    }
                    let mut buf = shared.stderr.lock();
                    buf.extend(line.as_bytes());
                    buf.push_back(b'\n');
                    let excess = buf.len().saturating_sub(STDERR_TAIL_BYTES);
                    buf.drain(..excess);
                }
            })?;
        Ok(rx)
    }

    /// The last lines the child wrote to stderr (at most a few KiB), lossily decoded.
    pub fn stderr_tail(&self) -> String {
        let buf = self.shared.stderr.lock();
        let skip = buf.len().saturating_sub(STDERR_QUOTE_BYTES);
        let bytes: Vec<u8> = buf.iter().skip(skip).copied().collect();
        String::from_utf8_lossy(&bytes).trim().to_string()
    }

    /// "CLI exited (exit code 1); stderr: ..." for error messages.
    pub fn describe_exit(&self) -> String {
        let status = match self.exit_status() {
            Some(s) => format!("Copilot CLI (pid {}) exited with {s}", self.pid()),
            None => format!("Copilot CLI (pid {}) closed the connection", self.pid()),
        };
        let tail = self.stderr_tail();
        if tail.is_empty() {
            format!("{status}; it wrote nothing to stderr")
        } else {
            format!("{status}; stderr tail:\n{tail}")
        }
    }
}

/// The port in a line like "CLI server listening on port 4321" (any case).
fn listening_port(line: &str) -> Option<u16> {
    let lower = line.to_ascii_lowercase();
    let rest = &lower[lower.find("listening on port")? + "listening on port".len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn reap(shared: &Shared) {
    // Wait for exit without reaping, so kill() under the lock can never hit a reused pid.
    loop {
        // SAFETY: siginfo_t is plain C data, valid all-zero.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a live, writable siginfo_t for the whole call;
        // `shared.pid` is our child, not reaped before this loop ends (only
        // this thread reaps it, below), so it names no other process.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                shared.pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            log!(Level::Warn, "child", "waitid failed: {err}");
            break;
        }
    }
    let mut status = shared.status.lock();
    let mut raw = 0;
    let st = loop {
        // SAFETY: reaps our own child; the status int is written by the kernel.
        let rc = unsafe { libc::waitpid(shared.pid, &mut raw, 0) };
        if rc == shared.pid {
            break if libc::WIFSIGNALED(raw) {
                ExitStatus::Signal(libc::WTERMSIG(raw))
            } else {
                ExitStatus::Code(libc::WEXITSTATUS(raw))
            };
        }
        if rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        break ExitStatus::Code(-1);
    };
    *status = Some(st);
    drop(status);
    // Logged unlocked: the log handler is host code.
    log!(Level::Debug, "child", "CLI pid {} reaped: {st}", shared.pid);
    shared.exit_watch.send_replace(Some(st));
}

fn collect_stderr(mut stderr: std::process::ChildStderr, shared: &Shared) {
    let mut chunk = [0u8; 4096];
    // The current incomplete line, logged once its newline arrives (capped).
    let mut line = Vec::new();
    loop {
        match stderr.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                if crate::log::enabled(Level::Info) {
                    log_lines(&mut line, &chunk[..n]);
                }
                let mut buf = shared.stderr.lock();
                buf.extend(&chunk[..n]);
                let excess = buf.len().saturating_sub(STDERR_TAIL_BYTES);
                buf.drain(..excess);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if !line.is_empty() {
        log_lines(&mut line, b"\n");
    }
    shared.stderr_closed.send_replace(true);
}

/// Logs each complete line of the CLI's stderr (target "cli", level info).
fn log_lines(line: &mut Vec<u8>, bytes: &[u8]) {
    const MAX_LINE: usize = 8 * 1024;
    for &b in bytes {
        if b == b'\n' || line.len() >= MAX_LINE {
            let text = String::from_utf8_lossy(line);
            let text = text.trim_end();
            if !text.is_empty() {
                log!(Level::Info, "cli", "{text}");
            }
            line.clear();
        }
        if b != b'\n' {
            line.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_port_from_the_listening_line() {
        assert_eq!(
            super::listening_port("CLI server listening on port 41234"),
            Some(41234)
        );
        assert_eq!(super::listening_port("Listening on port 80\r"), Some(80));
        assert_eq!(super::listening_port("starting up"), None);
    }
}
