//! Client options, given as JSON across the C ABI (camelCase keys).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};

/// How the client starts and talks to the Copilot CLI.
///
/// JSON shape (every key optional):
/// `{"cliPath": str, "cliArgs": [str], "env": {str: str}, "extraEnv": {str: str}, "cwd": str,
///   "logLevel": "none"|"error"|"warning"|"info"|"debug"|"all",
///   "githubToken": str, "useLoggedInUser": bool, "autoStart": bool,
///   "handshakeTimeoutMs": int, "transport": "stdio"|"tcp"|"inprocess", "port": int,
///   "runtimeLibrary": str,
///   "cliUrl": "port"|"host:port"|"http://host:port", "connectionToken": str,
///   "autoRestart": bool, "restartAttempts": int, "restartDelayMs": int,
///   "keepAliveIntervalMs": int, "pingTimeoutMs": int,
///   "sessionFs": {"initialCwd": str, "sessionStatePath": str,
///                 "conventions": "posix"|"windows", "capabilities"?: {"sqlite": bool}},
///   "baseDirectory": str, "mode": "copilot-cli"|"empty",
///   "requestTimeoutMs": int, "maxEventQueueBytes": int, "maxOutgoingBytes": int,
///   "sessionIdleTimeoutSeconds": int, "enableRemoteSessions": bool,
///   "builtinPluginDirectories": [str],
///   "telemetry": {"otlpEndpoint"?: str, "otlpProtocol"?: str, "filePath"?: str,
///                 "exporterType"?: str, "sourceName"?: str, "captureContent"?: bool},
///   "enableGitHubTelemetryForwarding": bool, "dispatch": "thread"|"poll"}`
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
    /// Variables added to (or replacing in) the environment the child gets
    /// otherwise: the host's, or `env`.
    #[serde(default)]
    pub extra_env: BTreeMap<String, String>,
    /// The child's working directory; default: ours.
    #[serde(default, alias = "workingDirectory")]
    pub cwd: Option<String>,
    /// Passed as `--log-level`.
    #[serde(default)]
    pub log_level: Option<String>,
    /// Given to the CLI only through `COPILOT_SDK_AUTH_TOKEN`, never on argv.
    /// Also accepted as `gitHubToken`, the protocol's spelling.
    #[serde(default, alias = "gitHubToken")]
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
    /// How to talk to a spawned CLI: `stdio` (default) or `tcp`.
    #[serde(default)]
    pub transport: Transport,
    /// For `tcp`: the port the CLI listens on (0 or absent: it picks one).
    #[serde(default)]
    pub port: u16,
    /// An already running server to connect to instead of spawning one.
    #[serde(default)]
    pub cli_url: Option<String>,
    /// Token for `connect`: for a TCP child, generated when absent and passed in
    /// `COPILOT_CONNECTION_TOKEN`; for `cliUrl`, the server's token if it has one.
    #[serde(default)]
    pub connection_token: Option<String>,
    /// Respawn a CLI we started when it dies unexpectedly, and resume its
    /// sessions (default true; never for `cliUrl`).
    #[serde(default = "yes")]
    pub auto_restart: bool,
    /// Restart tries before giving up (default 3).
    #[serde(default = "default_restart_attempts")]
    pub restart_attempts: u32,
    /// Delay before the first restart try, in ms, doubled for each further try (default 500).
    #[serde(default = "default_restart_delay_ms")]
    pub restart_delay_ms: u64,
    /// Ping the CLI this often, in ms (0, the default: never); a CLI that does
    /// not answer within `pingTimeoutMs` is treated as crashed.
    #[serde(default)]
    pub keep_alive_interval_ms: u64,
    /// Limit for `ping` and keep-alive answers, in ms (default 5000).
    #[serde(default = "default_ping_timeout_ms")]
    pub ping_timeout_ms: u64,
    /// Makes this client the session filesystem provider (`sessionFs.setProvider`
    /// after the handshake): the CLI then keeps each session's state through the
    /// session's `"sessionFs"` handler instead of on its own disk.
    #[serde(default)]
    pub session_fs: Option<SessionFsOptions>,
    /// The CLI's home for its state and credentials (`COPILOT_HOME` of a spawned CLI).
    #[serde(default)]
    pub base_directory: Option<String>,
    /// `empty`: a multi-tenant host's safe defaults (see `Mode::Empty`).
    #[serde(default)]
    pub mode: Mode,
    /// Limit for every request to the CLI that has no limit of its own
    /// (`session.send`, generic calls, session create...), in ms, counting
    /// both writing it and its reply (default 300000; 0: no limit).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Bytes of events and requests from the CLI queued for the host's
    /// callbacks before the library stops reading (default 32 MiB). A slow
    /// callback holds the CLI back; nothing is dropped.
    #[serde(default = "default_max_event_queue_bytes")]
    pub max_event_queue_bytes: usize,
    /// Bytes queued for the CLI at most (default 64 MiB). Requests wait for
    /// room; replies to the CLI that would exceed it mean the CLI stopped
    /// reading while it keeps asking: the connection fails.
    #[serde(default = "default_max_outgoing_bytes")]
    pub max_outgoing_bytes: usize,
    /// Seconds without activity after which a spawned CLI cleans a session up
    /// (`--session-idle-timeout N`; 0, the default: never). Ignored with `cliUrl`.
    #[serde(default)]
    pub session_idle_timeout_seconds: u32,
    /// Remote sessions (`--remote`): sessions in a GitHub repository can be
    /// followed from GitHub web and mobile. Ignored with `cliUrl`.
    #[serde(default)]
    pub enable_remote_sessions: bool,
    /// Absolute paths of trusted plugin directories bundled by the host, sent
    /// in `plugins.builtin.set` after each handshake (before any session): the
    /// server's whole built-in plugin set. Empty (the default): not sent.
    #[serde(default)]
    pub builtin_plugin_directories: Vec<String>,
    /// OpenTelemetry export by a spawned CLI, through its environment. Ignored with `cliUrl`.
    #[serde(default)]
    pub telemetry: Option<TelemetryOptions>,
    /// Asks the CLI to forward its GitHub telemetry events to this client as
    /// `gitHubTelemetry.event` notifications (`connect` and each session's
    /// create or resume say so). Default false.
    #[serde(default, rename = "enableGitHubTelemetryForwarding")]
    pub enable_github_telemetry_forwarding: bool,
    /// Where callbacks run: `"thread"` (default), the client's own callback
    /// thread; `"poll"`, the host's thread, when it calls
    /// `copilot_client_dispatch` (see `copilot_client_dispatch_fd`).
    #[serde(default)]
    pub dispatch: DispatchMode,
    /// With `"transport": "inprocess"`: the runtime library to load. Default:
    /// found next to the CLI, or in the package it unpacked into its cache.
    #[serde(default)]
    pub runtime_library: Option<String>,
}

/// OpenTelemetry settings of a spawned CLI: `COPILOT_OTEL_ENABLED=true`, and
/// one environment variable per field given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TelemetryOptions {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the OTLP HTTP endpoint.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`: the OTLP protocol of every signal.
    #[serde(default)]
    pub otlp_protocol: Option<String>,
    /// `COPILOT_OTEL_FILE_EXPORTER_PATH`: where the file exporter writes JSON lines.
    #[serde(default)]
    pub file_path: Option<String>,
    /// `COPILOT_OTEL_EXPORTER_TYPE`: `otlp-http` or `file`.
    #[serde(default)]
    pub exporter_type: Option<String>,
    /// `COPILOT_OTEL_SOURCE_NAME`: the instrumentation scope name.
    #[serde(default)]
    pub source_name: Option<String>,
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` (`true`/`false`):
    /// whether prompts and responses are recorded.
    #[serde(default)]
    pub capture_content: Option<bool>,
}

impl TelemetryOptions {
    /// The variables a spawned CLI gets, in order.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![("COPILOT_OTEL_ENABLED", "true".to_string())];
        for (name, value) in [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &self.otlp_endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", &self.otlp_protocol),
            ("COPILOT_OTEL_FILE_EXPORTER_PATH", &self.file_path),
            ("COPILOT_OTEL_EXPORTER_TYPE", &self.exporter_type),
            ("COPILOT_OTEL_SOURCE_NAME", &self.source_name),
        ] {
            if let Some(v) = value {
                vars.push((name, v.clone()));
            }
        }
        if let Some(capture) = self.capture_content {
            vars.push((
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
                capture.to_string(),
            ));
        }
        vars
    }
}

fn default_request_timeout_ms() -> u64 {
    300_000
}

fn default_max_event_queue_bytes() -> usize {
    crate::dispatch::DEFAULT_QUEUE_BYTES
}

fn default_max_outgoing_bytes() -> usize {
    crate::rpc::DEFAULT_MAX_OUTGOING_BYTES
}

/// How much of the CLI's own environment a session gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Sessions behave as in the Copilot CLI.
    #[default]
    CopilotCli,
    /// Nothing from the machine unless the session asks: every session must name
    /// its `availableTools`; the environment context leaves the system message;
    /// telemetry, skills, memory, file hooks, host git operations, the session
    /// store, custom instructions and plugins are off unless set; credentials
    /// stay out of the system keychain. Needs `baseDirectory`, `sessionFs` or
    /// `cliUrl` (storage of the host's choosing).
    Empty,
}

/// The `sessionFs.setProvider` params, sent as given.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionFsOptions {
    /// The working directory sessions start in, in the provider's path convention.
    pub initial_cwd: String,
    /// Where, inside each session's filesystem, the CLI keeps that session's state.
    pub session_state_path: String,
    /// `posix` or `windows` paths.
    pub conventions: PathConventions,
    /// e.g. `{"sqlite": true}` when the handler answers `sessionFs.sqlite*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathConventions {
    Posix,
    Windows,
}

fn default_ping_timeout_ms() -> u64 {
    5_000
}

fn default_restart_attempts() -> u32 {
    3
}

fn default_restart_delay_ms() -> u64 {
    500
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Stdio,
    Tcp,
    /// The runtime library the CLI package ships, loaded into this process.
    InProcess,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DispatchMode {
    #[default]
    Thread,
    Poll,
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
        let opts: Self = serde_json::from_str(trimmed)
            .map_err(|e| Error::invalid_json(format!("client options: {e}")))?;
        opts.validate()?;
        Ok(opts)
    }

    /// Rejects combinations that cannot work, with the reason.
    pub fn validate(&self) -> Result<()> {
        if let Some(url) = &self.cli_url {
            for (set, name) in [
                (self.github_token.is_some(), "githubToken"),
                (self.use_logged_in_user.is_some(), "useLoggedInUser"),
                (self.cli_path.is_some(), "cliPath"),
                (self.base_directory.is_some(), "baseDirectory"),
                (
                    self.transport == Transport::Tcp || self.port != 0,
                    "transport/port",
                ),
            ] {
                if set {
                    return Err(Error::invalid_argument(format!(
                        "{name} cannot be used with cliUrl: the external server owns its process and authentication"
                    )));
                }
            }
            parse_cli_url(url)?;
        }
        if self.mode == Mode::Empty
            && self.base_directory.is_none()
            && self.session_fs.is_none()
            && self.cli_url.is_none()
        {
            return Err(Error::invalid_argument(
                "mode \"empty\" needs storage of the host's choosing: set baseDirectory or sessionFs, or connect to a running server with cliUrl",
            ));
        }
        if self.transport == Transport::InProcess {
            for (set, name, why) in [
                (self.cli_url.is_some(), "cliUrl", "an external server is not in this process"),
                (self.cwd.is_some(), "cwd", "the runtime shares this process's working directory; give sessions a workingDirectory"),
                (self.telemetry.is_some(), "telemetry", "the runtime reads OpenTelemetry settings from this process's own environment"),
            ] {
                if set {
                    return Err(Error::invalid_argument(format!(
                        "{name} cannot be used with \"transport\": \"inprocess\": {why}"
                    )));
                }
            }
        } else if self.runtime_library.is_some() {
            return Err(Error::invalid_argument(
                "runtimeLibrary needs \"transport\": \"inprocess\"",
            ));
        }
        if self.port != 0 && self.transport != Transport::Tcp {
            return Err(Error::invalid_argument("port needs \"transport\": \"tcp\""));
        }
        if let Some(dir) = self
            .builtin_plugin_directories
            .iter()
            .find(|d| !std::path::Path::new(d).is_absolute())
        {
            return Err(Error::invalid_argument(format!(
                "builtinPluginDirectories must hold absolute paths only: {dir:?} is not"
            )));
        }
        Ok(())
    }
}

/// `cliUrl` (`"port"`, `"host:port"` or `"http://host:port[/]"`) to a socket
/// address string; `https` is refused, since the connection is plain TCP.
pub fn parse_cli_url(url: &str) -> Result<String> {
    let bad = || {
        Error::invalid_argument(format!(
            "cliUrl {url:?} is not \"port\", \"host:port\" or \"http://host:port\""
        ))
    };
    if url.trim().starts_with("https://") {
        // The connection is plain TCP: accepting https would downgrade silently.
        return Err(Error::invalid_argument(format!(
            "cliUrl {url:?}: https is not supported (the CLI server speaks plain TCP); \
             use \"host:port\" or \"http://host:port\" through a tunnel you trust"
        )));
    }
    let rest = url
        .trim()
        .strip_prefix("http://")
        .unwrap_or(url.trim())
        .trim_end_matches('/');
    if let Ok(port) = rest.parse::<u16>() {
        return Ok(format!("127.0.0.1:{port}"));
    }
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || host.contains('/') {
        return Err(bad());
    }
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    Ok(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::parse_cli_url;

    #[test]
    fn accepts_port_host_port_and_http_urls() {
        assert_eq!(parse_cli_url("4321").unwrap(), "127.0.0.1:4321");
        assert_eq!(parse_cli_url("localhost:4321").unwrap(), "127.0.0.1:4321");
        assert_eq!(parse_cli_url("10.0.0.2:80").unwrap(), "10.0.0.2:80");
        assert_eq!(
            parse_cli_url("http://127.0.0.1:9000/").unwrap(),
            "127.0.0.1:9000"
        );
        assert!(parse_cli_url("http://host").is_err());
        let https = parse_cli_url("https://127.0.0.1:9000").unwrap_err();
        assert!(https.message.contains("https is not supported"), "{https}");
        assert!(parse_cli_url("nonsense").is_err());
    }
}
