//! The Copilot runtime hosted inside this process. The CLI package ships it
//! as a native library (`runtime.node`, or a flat `libcopilot_runtime.so`)
//! whose C ABI carries the same Content-Length framed JSON-RPC as stdio:
//! `connection_write` takes our bytes, and an outbound callback, on one of the
//! runtime's threads, hands us its own.
//!
//! The library is loaded once per process and never unloaded (its threads
//! may outlive any one client); a second, different path is refused.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, OnceLock};
use std::task::{Context, Poll};

use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

use super::stdio::{child_env, lookup, resolve_cli_path, server_flags};
use super::Transport;
use crate::error::{Error, ErrorKind, Result};
use crate::log::{log, Level};
use crate::options::{ClientOptions, Mode};
use crate::sync::Mutex;

/// The flat library name the official SDKs look for first, next to the CLI.
const FLAT_NAME: &str = "libcopilot_runtime.so";
/// The unpacked package's platform folder (`prebuilds/<it>/runtime.node`).
const PLATFORM: &str = if cfg!(target_arch = "aarch64") {
    "linux-arm64"
} else {
    "linux-x64"
};

type OutboundFn = unsafe extern "C" fn(user_data: usize, bytes: *const u8, len: usize) -> usize;
type HostStartFn = unsafe extern "C" fn(*const u8, usize, *const u8, usize) -> u32;
type HostShutdownFn = unsafe extern "C" fn(u32) -> bool;
type ConnectionOpenFn = unsafe extern "C" fn(
    u32,
    OutboundFn,
    usize,
    *const u8,
    usize,
    *const u8,
    usize,
    *const u8,
    usize,
) -> u32;
type ConnectionWriteFn = unsafe extern "C" fn(u32, *const u8, usize) -> bool;
type ConnectionCloseFn = unsafe extern "C" fn(u32) -> bool;

/// The loaded runtime library and its entry points.
struct Runtime {
    path: PathBuf,
    host_start: HostStartFn,
    host_shutdown: HostShutdownFn,
    connection_open: ConnectionOpenFn,
    connection_write: ConnectionWriteFn,
    connection_close: ConnectionCloseFn,
    /// Kept open for the life of the process.
    _library: libloading::Library,
}

static RUNTIME: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

/// Loads the runtime library at `path`, or returns the one already loaded
/// from it; a different path is an error (one runtime per process).
fn load(path: &Path) -> Result<Arc<Runtime>> {
    let path = path.canonicalize().map_err(|e| {
        Error::new(
            ErrorKind::CliNotFound,
            format!("Copilot runtime library {}: {e}", path.display()),
        )
    })?;
    let mut loaded = RUNTIME.lock();
    if let Some(rt) = &*loaded {
        if rt.path == path {
            return Ok(rt.clone());
        }
        return Err(Error::invalid_argument(format!(
            "a Copilot runtime library is already loaded in this process from {}; \
             loading another from {} is not supported",
            rt.path.display(),
            path.display()
        )));
    }
    // SAFETY: loading runs the library's initialisers; the Copilot runtime is
    // a Rust cdylib whose initialisers only set up its own statics.
    let library = unsafe { libloading::Library::new(&path) }.map_err(|e| {
        Error::new(
            ErrorKind::Connection,
            format!(
                "cannot load the Copilot runtime library {}: {e}",
                path.display()
            ),
        )
    })?;
    macro_rules! symbol {
        ($name:literal, $ty:ty) => {{
            let name = concat!("copilot_runtime_", $name, "\0").as_bytes();
            // SAFETY: the symbol's type is the runtime's documented C
            // signature; the pointer is used only while `library` is loaded,
            // which is for the rest of the process.
            let s = unsafe { library.get::<$ty>(name) };
            *s.map_err(|e| {
                Error::new(
                    ErrorKind::Connection,
                    format!(
                        "{} is not a Copilot runtime library (no copilot_runtime_{}): {e}",
                        path.display(),
                        $name
                    ),
                )
            })?
        }};
    }
    let rt = Arc::new(Runtime {
        host_start: symbol!("host_start", HostStartFn),
        host_shutdown: symbol!("host_shutdown", HostShutdownFn),
        connection_open: symbol!("connection_open", ConnectionOpenFn),
        connection_write: symbol!("connection_write", ConnectionWriteFn),
        connection_close: symbol!("connection_close", ConnectionCloseFn),
        path,
        _library: library,
    });
    *loaded = Some(rt.clone());
    Ok(rt)
}

/// Where the runtime library is: the `runtimeLibrary` option, else next to
/// the CLI (the flat name, `runtime.node`, `prebuilds/<platform>/runtime.node`),
/// else in the package the CLI unpacked into its cache
/// (`$XDG_CACHE_HOME/copilot/pkg/<platform>/<version>/prebuilds/...`).
pub(crate) fn resolve_library(
    opts: &ClientOptions,
    cli: &Path,
    env: &[(OsString, OsString)],
) -> Result<PathBuf> {
    if let Some(p) = &opts.runtime_library {
        return Ok(PathBuf::from(p));
    }
    let dir = cli.parent().unwrap_or(Path::new("."));
    let mut candidates = vec![
        dir.join(FLAT_NAME),
        dir.join("runtime.node"),
        dir.join("prebuilds").join(PLATFORM).join("runtime.node"),
    ];
    if let Some(version) = package_version(dir) {
        let cache = lookup(env, "XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| lookup(env, "HOME").map(|h| Path::new(h).join(".cache")));
        if let Some(cache) = cache {
            let pkg = cache.join("copilot/pkg").join(PLATFORM).join(version);
            candidates.push(pkg.join("prebuilds").join(PLATFORM).join("runtime.node"));
        }
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            Error::new(
                ErrorKind::CliNotFound,
                format!(
                    "no Copilot runtime library for the in-process transport (looked at {}); \
                 run the CLI once so it unpacks its package, or set \"runtimeLibrary\"",
                    candidates
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

/// The version in the npm package.json beside the CLI binary, if any.
fn package_version(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v.get("version")?.as_str().map(str::to_owned)
}

/// The runtime's argv: the CLI entry point and its server flags, as the
/// official hosts pass them (no `--headless`/`--stdio`: the host is the transport).
fn host_args(opts: &ClientOptions, cli: &Path) -> Vec<String> {
    let mut args = Vec::new();
    if cli.extension().is_some_and(|e| e == "js") {
        args.push("node".to_string());
    }
    args.push(cli.to_string_lossy().into_owned());
    args.extend(["--embedded-host".into(), "--no-auto-update".into()]);
    args.extend(opts.cli_args.iter().cloned());
    args.extend(server_flags(opts));
    args
}

/// Starts a runtime server in this process and opens one connection to it.
pub async fn start(opts: &ClientOptions) -> Result<Transport> {
    if opts.mode == Mode::Empty
        && std::env::var_os("COPILOT_DISABLE_KEYTAR").is_none_or(|v| v != "1")
    {
        // The runtime reads this from the process's environment, not the
        // server's: without it, every tenant's credentials would go to the
        // one system keychain.
        return Err(Error::invalid_argument(
            "mode \"empty\" in process needs COPILOT_DISABLE_KEYTAR=1 in this process's environment \
             (the runtime reads it there): otherwise credentials go to the system keychain every tenant shares",
        ));
    }
    let env = child_env(opts);
    let cli = resolve_cli_path(opts, &env)?;
    let library = resolve_library(opts, &cli, &env)?;
    let argv = serde_json::to_vec(&host_args(opts, &cli)).expect("strings serialise");
    // The server's own environment: the runtime keeps it per server and does
    // not write it to the process's. Variables that are not UTF-8 cannot be
    // said in JSON and are left out.
    let env: Map<String, Value> = env
        .into_iter()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, Value::String(v.into_string().ok()?))))
        .collect();
    let env = serde_json::to_vec(&env).expect("strings serialise");
    let budget = opts.max_event_queue_bytes.max(1 << 20);
    tokio::task::spawn_blocking(move || open(&library, &argv, &env, budget))
        .await
        .map_err(|e| Error::new(ErrorKind::Connection, format!("in-process start: {e}")))?
}

fn open(library: &Path, argv: &[u8], env: &[u8], budget: usize) -> Result<Transport> {
    let rt = load(library)?;
    // SAFETY: both buffers are valid for their lengths during the call, which
    // copies them (the runtime's documented contract).
    let server = unsafe { (rt.host_start)(argv.as_ptr(), argv.len(), env.as_ptr(), env.len()) };
    rearm_foreign_signal_handlers();
    if server == 0 {
        return Err(Error::new(
            ErrorKind::Connection,
            format!(
                "the Copilot runtime ({}) failed to start a server (copilot_runtime_host_start)",
                rt.path.display()
            ),
        ));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let inbox = Arc::new(Inbox {
        state: std::sync::Mutex::new(InboxState {
            queued: 0,
            closed: false,
        }),
        room: Condvar::new(),
        budget,
        tx,
    });
    let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    inboxes().lock().insert(token, inbox.clone());
    // SAFETY: `outbound` matches the callback type the runtime calls; the
    // three optional buffers are NULL with length 0, as the official hosts pass them.
    let conn = unsafe {
        (rt.connection_open)(
            server,
            outbound,
            token,
            std::ptr::null(),
            0,
            std::ptr::null(),
            0,
            std::ptr::null(),
            0,
        )
    };
    let host = Arc::new(Host {
        rt,
        server,
        conn,
        token,
        inbox,
    });
    if conn == 0 {
        drop(host); // shuts the server down
        return Err(Error::new(
            ErrorKind::Connection,
            "the Copilot runtime refused a connection (copilot_runtime_connection_open)",
        ));
    }
    Ok(Transport {
        reader: Box::new(Reader {
            host: host.clone(),
            rx,
            chunk: Vec::new(),
            pos: 0,
        }),
        writer: Box::new(Writer { host }),
        child: None,
        port: None,
    })
}

/// Bytes from the runtime waiting for the reader, bounded by a byte budget:
/// past it the runtime's thread waits in the callback, as a CLI blocks on a
/// full pipe. Nothing is dropped while the connection is open.
struct Inbox {
    state: std::sync::Mutex<InboxState>,
    room: Condvar,
    budget: usize,
    tx: mpsc::UnboundedSender<Vec<u8>>,
}

struct InboxState {
    queued: usize,
    closed: bool,
}

impl Inbox {
    fn push(&self, bytes: &[u8]) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while !s.closed && s.queued > 0 && s.queued + bytes.len() > self.budget {
            s = self.room.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        if s.closed {
            return;
        }
        s.queued += bytes.len();
        drop(s);
        let _ = self.tx.send(bytes.to_vec());
    }

    fn consumed(&self, n: usize) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.queued = s.queued.saturating_sub(n);
        drop(s);
        self.room.notify_all();
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        self.room.notify_all();
    }
}

static NEXT_TOKEN: AtomicUsize = AtomicUsize::new(1);

/// Open connections by the token their callback carries.
fn inboxes() -> &'static Mutex<HashMap<usize, Arc<Inbox>>> {
    static INBOXES: OnceLock<Mutex<HashMap<usize, Arc<Inbox>>>> = OnceLock::new();
    INBOXES.get_or_init(Default::default)
}

/// The runtime's outbound callback, on one of its threads: `bytes` is valid
/// only during the call, so it is copied.
unsafe extern "C" fn outbound(user_data: usize, bytes: *const u8, len: usize) -> usize {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let inbox = inboxes().lock().get(&user_data).cloned();
        if let (Some(inbox), false) = (inbox, bytes.is_null() || len == 0) {
            // SAFETY: the runtime passes `len` readable bytes, valid for this call.
            inbox.push(unsafe { std::slice::from_raw_parts(bytes, len) });
        }
    }));
    0
}

/// One server and its connection; shut down when the reader and writer are
/// both gone (the connection dropped), on a thread of its own so that no
/// free ever waits for the runtime.
struct Host {
    rt: Arc<Runtime>,
    server: u32,
    conn: u32,
    token: usize,
    inbox: Arc<Inbox>,
}

impl Drop for Host {
    fn drop(&mut self) {
        inboxes().lock().remove(&self.token);
        self.inbox.close();
        let (rt, server, conn) = (self.rt.clone(), self.server, self.conn);
        let shut = move || {
            // SAFETY: ids this host opened, each closed once, here.
            unsafe {
                if conn != 0 && !(rt.connection_close)(conn) {
                    log!(
                        Level::Debug,
                        "inprocess",
                        "connection {conn} was already closed"
                    );
                }
                if !(rt.host_shutdown)(server) {
                    log!(
                        Level::Debug,
                        "inprocess",
                        "server {server} was already shut down"
                    );
                }
            }
            rearm_foreign_signal_handlers();
        };
        if std::thread::Builder::new()
            .name("copilot-inprocess-stop".into())
            .spawn(shut)
            .is_err()
        {
            log!(
                Level::Warn,
                "inprocess",
                "no thread to shut the runtime server down"
            );
        }
    }
}

struct Reader {
    host: Arc<Host>,
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl AsyncRead for Reader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pos == this.chunk.len() {
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some(chunk)) => {
                    this.chunk = chunk;
                    this.pos = 0;
                }
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = buf.remaining().min(this.chunk.len() - this.pos);
        buf.put_slice(&this.chunk[this.pos..this.pos + n]);
        this.pos += n;
        this.host.inbox.consumed(n);
        Poll::Ready(Ok(()))
    }
}

struct Writer {
    host: Arc<Host>,
}

impl AsyncWrite for Writer {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let h = &self.host;
        // SAFETY: `buf` is valid for its length during the call, which copies it.
        let ok = unsafe { (h.rt.connection_write)(h.conn, buf.as_ptr(), buf.len()) };
        Poll::Ready(if ok {
            Ok(buf.len())
        } else {
            Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the in-process Copilot runtime connection is closed",
            ))
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The runtime starts its TypeScript worker through libuv, which installs a
/// SIGCHLD handler without SA_ONSTACK; a Go host that later reaps a child of
/// its own then crashes on its small goroutine stacks. Handlers that someone
/// installed (not SIG_DFL or SIG_IGN) get SA_ONSTACK added, as the official
/// hosts do; nothing else about them changes.
pub(crate) fn rearm_foreign_signal_handlers() {
    for sig in 1..libc::SIGRTMIN() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: a zeroed sigaction is a valid out-parameter; reading then
        // writing back the same action with one more flag.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut action) != 0 {
                continue;
            }
            if action.sa_sigaction == libc::SIG_DFL
                || action.sa_sigaction == libc::SIG_IGN
                || action.sa_flags & libc::SA_ONSTACK != 0
            {
                continue;
            }
            action.sa_flags |= libc::SA_ONSTACK;
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}
