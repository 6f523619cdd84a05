//! Ways to reach a Copilot CLI server. Each yields a byte stream pair for the
//! JSON-RPC peer and, when we spawned it, the child process.

pub mod child;
pub mod inprocess;
pub mod socket;
pub mod stdio;
pub mod tcp;

use tokio::io::{AsyncRead, AsyncWrite};

pub use child::ChildProcess;

/// Unbuffered: the frame reader reads into buffers of its own.
pub type BoxReader = Box<dyn AsyncRead + Send + Unpin>;

/// The writing half; written only by the connection's one writer.
pub type BoxWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// An open byte channel to a CLI server.
pub struct Transport {
    pub reader: BoxReader,
    pub writer: BoxWriter,
    /// The CLI process, when this client spawned it.
    pub child: Option<ChildProcess>,
    /// The TCP port of the server, for TCP transports.
    pub port: Option<u16>,
}
