//! Diagnostics: silent by default. A host routes them into its own logger
//! with `set_sink` (`copilot_log_set_handler` in C); without one, the
//! `COPILOT_LOG` environment variable (error, warn, info, debug, trace) prints
//! them to stderr. Every message is redacted before it leaves the library.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

/// Where messages go when a host installed a handler: (level, target, message).
pub type Sink = dyn Fn(Level, &str, &str) + Send + Sync;

const UNSET: u8 = u8::MAX;
/// The most verbose level written; 0 writes nothing. Read on every `log!`.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(UNSET);
static SINK: RwLock<Option<Arc<Sink>>> = RwLock::new(None);
/// Values known to be secret (tokens from client options), masked wherever they appear.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

fn env_level() -> u8 {
    match std::env::var("COPILOT_LOG").as_deref() {
        Ok("error") => 1,
        Ok("warn") => 2,
        Ok("info") => 3,
        Ok("debug") => 4,
        Ok("trace") => 5,
        _ => 0,
    }
}

fn max_level() -> u8 {
    match MAX_LEVEL.load(Ordering::Relaxed) {
        UNSET => {
            let level = env_level();
            let _ = MAX_LEVEL.compare_exchange(UNSET, level, Ordering::Relaxed, Ordering::Relaxed);
            MAX_LEVEL.load(Ordering::Relaxed)
        }
        level => level,
    }
}

pub fn enabled(level: Level) -> bool {
    level as u8 <= max_level()
}

/// Routes messages up to `max_level` (0 = none) to `sink`; `None` restores the
/// default (stderr at the `COPILOT_LOG` level). Returns the previous sink so the
/// caller can drop it outside any lock of its own.
pub fn set_sink(max_level: u8, sink: Option<Arc<Sink>>) -> Option<Arc<Sink>> {
    let level = if sink.is_some() {
        max_level.min(Level::Trace as u8)
    } else {
        env_level()
    };
    let old = std::mem::replace(&mut *SINK.write(), sink);
    MAX_LEVEL.store(level, Ordering::Relaxed);
    old
}

/// Masks `secret` in every later message (GitHub and connection tokens).
pub fn register_secret(secret: &str) {
    // Very short values would mask ordinary words; real tokens are long.
    if secret.len() < 8 {
        return;
    }
    let mut secrets = SECRETS.write();
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_string());
    }
}

pub fn write(level: Level, target: &str, message: std::fmt::Arguments<'_>) {
    let message = redact(&message.to_string());
    // Clone out of the lock: the host's handler may replace the sink.
    let sink = SINK.read().clone();
    match sink {
        Some(sink) => sink(level, target, &message),
        None => eprintln!("[libcopilot {level:?} {target}] {message}"),
    }
}

const REDACTED: &str = "[REDACTED]";
/// Prefixes of GitHub tokens (classic and fine-grained), masked even when unregistered.
const TOKEN_PREFIXES: [&str; 6] = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"];

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Masks registered secrets, GitHub tokens and `Bearer` credentials.
pub fn redact(message: &str) -> String {
    let mut out = message.to_string();
    for secret in SECRETS.read().iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    for prefix in TOKEN_PREFIXES {
        out = mask_after(&out, prefix, true);
    }
    for scheme in ["Bearer ", "bearer "] {
        out = mask_after(&out, scheme, false);
    }
    out
}

/// Replaces the token that follows each `marker` (and, if `with_marker`, the marker too).
fn mask_after(text: &str, marker: &str, with_marker: bool) -> String {
    if !text.contains(marker) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        // A marker inside a longer word (e.g. "xghp_") is not a token start.
        let starts_word = !rest[..at].chars().next_back().is_some_and(is_token_char);
        let after = &rest[at + marker.len()..];
        let len = after
            .find(|c: char| !(is_token_char(c) || c == '-' || c == '.'))
            .unwrap_or(after.len());
        if starts_word && len >= 8 {
            out.push_str(&rest[..at]);
            if !with_marker {
                out.push_str(marker);
            }
            out.push_str(REDACTED);
        } else {
            out.push_str(&rest[..at + marker.len() + len]);
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// `log!(Level::Debug, "rpc", "format {}", args)`: formats only when enabled.
macro_rules! log {
    ($level:expr, $target:expr, $($arg:tt)*) => {{
        // Checked whether or not the level is on: the log handler is host code.
        $crate::sync::entering_host_code("the log handler");
        if $crate::log::enabled($level) {
            $crate::log::write($level, $target, format_args!($($arg)*));
        }
    }};
}
pub(crate) use log;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_tokens_and_bearer_credentials_are_masked() {
        let m = redact("auth ghp_abcdefghij0123456789 and Bearer sk-live.abcdefgh12 ok");
        assert_eq!(m, "auth [REDACTED] and Bearer [REDACTED] ok");
        let m = redact(r#"{"token":"github_pat_11AAAA_bbbbbbbbbbbbbbbb"}"#);
        assert_eq!(m, r#"{"token":"[REDACTED]"}"#);
    }

    #[test]
    fn ordinary_words_are_left_alone() {
        let m = "the ghp_ prefix, a token here, Bearer x, myghp_abcdefghijkl";
        assert_eq!(redact(m), m);
    }

    #[test]
    fn registered_secrets_are_masked_anywhere() {
        register_secret("s3cr3t-connection-value");
        assert_eq!(
            redact("url?t=s3cr3t-connection-value&x=1"),
            "url?t=[REDACTED]&x=1"
        );
        register_secret("short");
        assert_eq!(redact("short"), "short");
    }
}
