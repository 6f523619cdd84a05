//! libcopilot: GitHub Copilot's agent runtime for any language with a C FFI.
//!
//! Layers, each depending only on the ones below it:
//! - `ffi`: the C boundary (opaque handles, status codes, callbacks, panics);
//! - `client`, `session`, `handlers`, `events`: the SDK in safe async Rust;
//! - `dispatch`: the per-client callback thread;
//! - `rpc`: JSON-RPC 2.0 peer over LSP framing;
//! - `transport`: the CLI child process and its pipes.
//!
//! Unsafe code: every unsafe operation is in an explicit `unsafe { }` block
//! under a `// SAFETY:` comment that says why it holds, inside `unsafe fn`s
//! too, and every `unsafe fn` states its contract under `# Safety` (see `ffi`
//! for the C boundary's). Both are enforced below and by clippy.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod client;
pub mod dispatch;
pub mod error;
#[rustfmt::skip]
pub mod event_types;
pub mod events;
pub mod ffi;
pub mod handlers;
mod json_scan;
mod log;
pub mod options;
pub mod requests;
pub mod rpc;
pub mod session;
mod sync;
pub mod transport;

pub use client::{Client, ClientState, PROTOCOL_VERSION};
pub use error::{Error, ErrorKind, Result};
pub use events::{EventHandler, SessionEvent};
pub use handlers::{PermissionPolicy, PermissionRequest, Tool, ToolInvocation};
pub use options::ClientOptions;
pub use requests::{HostRequest, RequestHandler};
pub use session::{Session, SessionConfig, WaitOptions};
