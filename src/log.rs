//! Minimal diagnostics: silent by default, printed to stderr when the
//! `COPILOT_LOG` environment variable names a level (error, warn, info, debug, trace).

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

fn max_level() -> u8 {
    static LEVEL: OnceLock<u8> = OnceLock::new();
    *LEVEL.get_or_init(|| match std::env::var("COPILOT_LOG").as_deref() {
        Ok("error") => 1,
        Ok("warn") => 2,
        Ok("info") => 3,
        Ok("debug") => 4,
        Ok("trace") => 5,
        _ => 0,
    })
}

pub fn enabled(level: Level) -> bool {
    level as u8 <= max_level()
}

pub fn write(level: Level, target: &str, message: std::fmt::Arguments<'_>) {
    eprintln!("[libcopilot {level:?} {target}] {message}");
}

/// `log!(Level::Debug, "rpc", "format {}", args)`: formats only when enabled.
macro_rules! log {
    ($level:expr, $target:expr, $($arg:tt)*) => {
        if $crate::log::enabled($level) {
            $crate::log::write($level, $target, format_args!($($arg)*));
        }
    };
}
pub(crate) use log;
