//! The one error type of the core. The C boundary maps `ErrorKind` to
//! `copilot_status` codes one to one, so a kind is never reused for another meaning.

use std::fmt;

/// What went wrong, coarse enough for a caller to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A NULL pointer, invalid UTF-8, or a value of the wrong shape.
    InvalidArgument,
    /// Input that should be JSON is not, or not the JSON shape documented.
    InvalidJson,
    /// No Copilot CLI executable could be found.
    CliNotFound,
    /// The CLI could not be started or the handshake failed.
    Connection,
    /// The connection to the CLI is gone (it exited, crashed or closed the pipe).
    Disconnected,
    /// The peer answered a JSON-RPC request with an error object.
    Rpc,
    /// A wait ran past its limit.
    Timeout,
    /// The CLI speaks a protocol version this library does not.
    ProtocolVersion,
    /// The session reported `session.error` while a caller waited for the turn.
    SessionError,
    /// The call would deadlock on this thread (a blocking wait from a callback).
    WrongThread,
    /// The object is not in a state that allows the call (not started, closed, ...).
    InvalidState,
    /// A callback or the library panicked; the panic was contained.
    Panic,
    /// A bug in the library.
    Internal,
    /// No event of the turn arrived within the first-event limit.
    NoFirstEvent,
    /// The turn went silent (no event) for longer than the silence limit.
    Stalled,
}

/// An error with a human-readable message and, for JSON-RPC failures, the
/// peer's error code and data.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// JSON-RPC `error.code` when `kind == Rpc`.
    pub rpc_code: Option<i64>,
    /// JSON-RPC `error.data`, serialised, when present.
    pub rpc_data: Option<String>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            rpc_code: None,
            rpc_data: None,
        }
    }

    pub fn rpc(code: i64, message: impl Into<String>, data: Option<String>) -> Self {
        Error {
            kind: ErrorKind::Rpc,
            message: message.into(),
            rpc_code: Some(code),
            rpc_data: data,
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidJson, message)
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidState, message)
    }

    pub fn disconnected(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Disconnected, message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// The same error with `context: ` in front of its message.
    pub fn context(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rpc_code {
            Some(code) => write!(f, "{} (JSON-RPC error {code})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
