//! JSON-RPC 2.0 over LSP framing, full duplex: our requests with their
//! pending replies, and the peer's notifications and requests handed to a callback.

pub(crate) mod event_frame;
pub mod frame;
mod outbox;
mod peer;

pub use peer::{read_loop, Drops, Inbound, RpcPeer, DEFAULT_MAX_OUTGOING_BYTES};

/// JSON-RPC error codes we send or interpret.
pub mod codes {
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INTERNAL_ERROR: i64 = -32603;
}
