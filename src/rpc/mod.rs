//! JSON-RPC 2.0 over LSP framing, full duplex: our requests with their
//! pending replies, and the peer's notifications and requests handed to a callback.

pub mod frame;
#[doc(hidden)]
pub mod fuzz;
mod outbox;
mod peer;

pub use peer::{read_loop, BoxWriter, Drops, Inbound, RpcPeer, DEFAULT_MAX_OUTGOING_BYTES};

/// JSON-RPC error codes we send or interpret.
pub mod codes {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
}
