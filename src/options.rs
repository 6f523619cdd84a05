//! Client options, given as JSON across the C ABI (camelCase keys).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};

/// How the client starts and talks to the Copilot CLI.
///
/// JSON shape (every key optional):
/// `{"cliPath": str, "cliArgs": [str], "env": {str: str}, "cwd": str,
///   "logLevel": "none"|"error"|"warning"|"info"|"debug"|"all",
///   "githubToken": str, "useLoggedInUser": bool, "autoStart": bool,
///   "handshakeTimeoutMs": int}`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientOptions {
    /// The CLI executable; else `COPILOT_CLI_PATH`; else `copilot` on PATH.
    #[serde(default)]
    pub cli_path: Option<String>,
    /// Extra arguments put before the server-mode flags.
    #[serde(default)]
    pub cli_args: Vec<String>,
    /// When set, the child's whole environment (nothing is inherited).
    #[serde(default)]
    pub env: Option<BTreeMap<String, String>>,
    /// The child's working directory; default: ours.
    #[serde(default, alias = "workingDirectory")]
    pub cwd: Option<String>,
    /// Passed as `--log-level`.
    #[serde(default)]
    pub log_level: Option<String>,
    /// Given to the CLI only through `COPILOT_SDK_AUTH_TOKEN`, never on argv.
    #[serde(default)]
    pub github_token: Option<String>,
    /// Default true unless `githubToken` is set; false adds `--no-auto-login`.
    #[serde(default)]
    pub use_logged_in_user: Option<bool>,
    /// Creating a session on a stopped client starts it (default true).
    #[serde(default = "yes")]
    pub auto_start: bool,
    /// Limit for spawn-to-handshake, in ms (default 30000).
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
}

fn yes() -> bool {
    true
}

fn default_handshake_timeout_ms() -> u64 {
    30_000
}

impl Default for ClientOptions {
    fn default() -> Self {
        serde_json::from_str("{}").expect("empty options are valid")
    }
}

impl ClientOptions {
    /// Parses the JSON options object; `""` or `null` mean all defaults.
    pub fn from_json(json: &str) -> Result<Self> {
        let trimmed = json.trim();
        if trimmed.is_empty() || trimmed == "null" {
            return Ok(Self::default());
        }
        serde_json::from_str(trimmed)
            .map_err(|e| Error::invalid_json(format!("client options: {e}")))
    }
}
