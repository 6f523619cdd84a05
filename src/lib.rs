//! libcopilot: GitHub Copilot's agent runtime for any language with a C FFI.
//!
//! Layers, each depending only on the ones below it (`scripts/check-layers.py`
//! fails CI on an import cycle):
//! - `ffi`: the C boundary (opaque handles, status codes, callbacks, panics);
//! - `client`: starts, supervises and stops the CLI; opens sessions;
//! - `session`: the operations on a conversation (`session::config` what
//!   opens one, `session::shared` its handlers and subscribers);
//! - `router`: what the CLI sends, to sessions' subscribers and handlers;
//! - `connection`: one live connection and its handshake;
//! - `handlers`, `requests`, `events`: tool calls, permission and host
//!   requests, session events;
//! - `dispatch`: the per-client callback thread;
//! - `rpc`: JSON-RPC 2.0 peer over LSP framing, with one writer per connection;
//! - `transport`: the CLI child process, its socket and pipes, TCP.
//!
//! Only the SDK's API is public: `client`, `session`, `events`, `options`,
//! `error`, the re-exports below, and `ffi`.
//!
//! Unsafe code: every unsafe operation is in an explicit `unsafe { }` block
//! under a `// SAFETY:` comment that says why it holds, inside `unsafe fn`s
//! too, and every `unsafe fn` states its contract under `# Safety` (see `ffi`
//! for the C boundary's). Both are enforced below and by clippy.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod client;
mod connection;
mod dispatch;
pub mod error;
#[rustfmt::skip]
pub mod event_types;
pub mod events;
pub mod ffi;
#[doc(hidden)]
pub mod fuzz;
mod handlers;
mod json_scan;
mod log;
pub mod options;
mod requests;
mod router;
mod rpc;
pub mod session;
mod sync;
mod transport;

pub use client::{Client, ClientState, PROTOCOL_VERSION};
pub use error::{Error, ErrorKind, Result};
pub use events::{EventBatchHandler, EventHandler, SessionEvent};
pub use handlers::{PermissionPolicy, PermissionRequest, Tool, ToolInvocation};
pub use options::ClientOptions;
pub use requests::{HostRequest, RequestHandler};
pub use session::{Session, SessionConfig, WaitOptions};
