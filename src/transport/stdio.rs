//! Spawning the CLI in server mode with JSON-RPC on its stdin/stdout.

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tokio::net::unix::pipe;

use super::socket::SocketWriter;
use super::{ChildProcess, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::options::{ClientOptions, Mode};

/// The Copilot CLI version this library is tested with (the pinned one).
pub const TESTED_CLI_VERSION: &str = "1.0.102";

/// Environment variable that carries the GitHub token to the child.
pub const AUTH_TOKEN_ENV: &str = "COPILOT_SDK_AUTH_TOKEN";

/// The environment the child will see, as a list of pairs. Inherited
/// variables pass through as they are, UTF-8 or not.
pub(crate) fn child_env(opts: &ClientOptions) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = match &opts.env {
        Some(map) => map.iter().map(|(k, v)| (k.into(), v.into())).collect(),
        None => std::env::vars_os().collect(),
    };
    env.retain(|(k, _)| {
        k != "NODE_DEBUG"
            && k != AUTH_TOKEN_ENV
            && !opts.extra_env.contains_key(&*k.to_string_lossy())
    });
    env.extend(opts.extra_env.iter().map(|(k, v)| (k.into(), v.into())));
    if let Some(token) = &opts.github_token {
        env.push((AUTH_TOKEN_ENV.into(), token.into()));
    }
    if let Some(home) = &opts.base_directory {
        env.push(("COPILOT_HOME".into(), home.into()));
    }
    if opts.mode == Mode::Empty {
        // The system keychain is one store for every tenant: credentials go to
        // files under COPILOT_HOME instead.
        env.push(("COPILOT_DISABLE_KEYTAR".into(), "1".into()));
    }
    if let Some(telemetry) = &opts.telemetry {
        // As the official SDKs set them: these win over inherited variables,
        // `env` and `extraEnv`.
        let vars = telemetry.env_vars();
        env.retain(|(k, _)| !vars.iter().any(|(name, _)| k == name));
        env.extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
    }
    env
}

pub(crate) fn lookup<'a>(env: &'a [(OsString, OsString)], key: &str) -> Option<&'a OsStr> {
    env.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_os_str())
}

/// Finds the CLI: the option, else `COPILOT_CLI_PATH`, else `copilot` on PATH
/// (both read from the environment the child will get).
pub fn resolve_cli_path(opts: &ClientOptions, env: &[(OsString, OsString)]) -> Result<PathBuf> {
    let not_found = |looked_at: String| {
        Error::new(
            ErrorKind::CliNotFound,
            format!(
                "Copilot CLI not found (looked at {looked_at}): install it with \
                 `npm install -g @github/copilot@{TESTED_CLI_VERSION}` (the version this \
                 libcopilot is tested with) or set COPILOT_CLI_PATH"
            ),
        )
    };
    let explicit = opts
        .cli_path
        .as_deref()
        .map(|p| (OsStr::new(p), "cliPath"))
        .or_else(|| lookup(env, "COPILOT_CLI_PATH").map(|p| (p, "COPILOT_CLI_PATH")));
    if let Some((path, source)) = explicit {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(not_found(format!("{} from {source}", path.display())))
        };
    }
    let search = lookup(env, "PATH").unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    which::which_in("copilot", Some(search), cwd).map_err(|_| {
        not_found(format!(
            "cliPath (unset), COPILOT_CLI_PATH (unset), `copilot` on PATH={}",
            search.to_string_lossy()
        ))
    })
}

/// Server-mode flags shared by the stdio and TCP transports, as the official SDKs pass them.
pub(crate) fn common_args(opts: &ClientOptions) -> Vec<String> {
    let mut args = opts.cli_args.clone();
    args.extend(["--headless".into(), "--no-auto-update".into()]);
    args.extend(server_flags(opts));
    args
}

/// The flags that follow the options, whichever way the server runs
/// (a child, or the runtime hosted in this process).
pub(crate) fn server_flags(opts: &ClientOptions) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(level) = &opts.log_level {
        args.extend(["--log-level".into(), level.clone()]);
    }
    if opts.github_token.is_some() {
        args.extend(["--auth-token-env".into(), AUTH_TOKEN_ENV.into()]);
    }
    let use_logged_in_user = opts
        .use_logged_in_user
        .unwrap_or(opts.github_token.is_none());
    if !use_logged_in_user {
        args.push("--no-auto-login".into());
    }
    if opts.session_idle_timeout_seconds > 0 {
        args.extend([
            "--session-idle-timeout".into(),
            opts.session_idle_timeout_seconds.to_string(),
        ]);
    }
    if opts.enable_remote_sessions {
        args.push("--remote".into());
    }
    args
}

/// The argv after the program for the stdio transport.
pub fn server_args(opts: &ClientOptions) -> Vec<String> {
    let mut args = common_args(opts);
    args.push("--stdio".into());
    args
}

/// A command for the CLI at `path`; `.js` entry points run under node.
pub(crate) fn child_command(path: &Path) -> Command {
    if path.extension().is_some_and(|e| e == "js") {
        let mut c = Command::new("node");
        c.arg(path);
        c
    } else {
        Command::new(path)
    }
}

/// Spawns the CLI. Must run inside a tokio runtime (the pipes register with its reactor).
pub fn spawn(opts: &ClientOptions) -> Result<Transport> {
    let env = child_env(opts);
    let path = resolve_cli_path(opts, &env)?;
    let io_err = |e: std::io::Error| Error::new(ErrorKind::Connection, format!("CLI pipes: {e}"));
    // The CLI's stdin is a socket so that our writes can never raise SIGPIPE
    // in the host (see `socket::SocketWriter`).
    let (stdin_ours, stdin_theirs) = std::os::unix::net::UnixStream::pair().map_err(io_err)?;
    let mut cmd = child_command(&path);
    cmd.args(server_args(opts))
        .env_clear()
        .envs(env)
        .stdin(Stdio::from(OwnedFd::from(stdin_theirs)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = &opts.cwd {
        cmd.current_dir(cwd);
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::new(
            ErrorKind::Connection,
            format!("cannot start Copilot CLI {}: {e}", path.display()),
        )
    })?;
    // Our copy of the child's end goes with `cmd`, so the CLI alone holds it.
    drop(cmd);
    let stdout = OwnedFd::from(child.stdout.take().expect("stdout piped"));
    let process = ChildProcess::adopt(child.id(), child.stderr.take()).map_err(io_err)?;
    // The std Child is dropped without waiting: the reaper thread owns reaping.
    drop(child);
    let writer = SocketWriter::new(OwnedFd::from(stdin_ours)).map_err(io_err)?;
    let reader = pipe::Receiver::from_owned_fd(stdout).map_err(io_err)?;
    Ok(Transport {
        reader: Box::new(reader),
        writer: Box::new(writer),
        child: Some(process),
        port: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_never_on_argv_and_no_auto_login_follows_token() {
        let opts = ClientOptions::from_json(r#"{"githubToken":"secret-123"}"#).unwrap();
        let args = server_args(&opts);
        assert!(!args.iter().any(|a| a.contains("secret-123")));
        assert!(args
            .windows(2)
            .any(|w| w == ["--auth-token-env", AUTH_TOKEN_ENV]));
        assert!(args.contains(&"--no-auto-login".to_string()));
        let env = child_env(&opts);
        assert_eq!(lookup(&env, AUTH_TOKEN_ENV), Some(OsStr::new("secret-123")));
    }

    #[test]
    fn logged_in_user_is_default_without_token() {
        let args = server_args(&ClientOptions::default());
        assert_eq!(args, ["--headless", "--no-auto-update", "--stdio"]);
        let opts =
            ClientOptions::from_json(r#"{"useLoggedInUser":false,"logLevel":"debug"}"#).unwrap();
        assert_eq!(
            server_args(&opts),
            [
                "--headless",
                "--no-auto-update",
                "--log-level",
                "debug",
                "--no-auto-login",
                "--stdio"
            ]
        );
    }

    /// `extraEnv` adds to the inherited environment (or to `env`) and wins
    /// over a variable of the same name.
    #[test]
    fn extra_env_adds_to_the_environment_and_wins() {
        let opts = ClientOptions::from_json(
            r#"{"extraEnv": {"LIBCOPILOT_EXTRA": "1", "PATH": "/override"}}"#,
        )
        .unwrap();
        let env = child_env(&opts);
        assert_eq!(lookup(&env, "LIBCOPILOT_EXTRA"), Some(OsStr::new("1")));
        assert_eq!(lookup(&env, "PATH"), Some(OsStr::new("/override")));
        assert_eq!(env.iter().filter(|(k, _)| k == "PATH").count(), 1);
        assert!(env.len() > 2, "the host's variables are still inherited");
        let opts = ClientOptions::from_json(
            r#"{"env": {"A": "a"}, "extraEnv": {"B": "b"}, "gitHubToken": "tok-12345678"}"#,
        )
        .unwrap();
        let env = child_env(&opts);
        assert_eq!(lookup(&env, "A"), Some(OsStr::new("a")));
        assert_eq!(lookup(&env, "B"), Some(OsStr::new("b")));
        assert_eq!(
            lookup(&env, AUTH_TOKEN_ENV),
            Some(OsStr::new("tok-12345678"))
        );
    }

    #[test]
    fn idle_timeout_and_remote_become_flags() {
        let opts = ClientOptions::from_json(
            r#"{"sessionIdleTimeoutSeconds": 90, "enableRemoteSessions": true}"#,
        )
        .unwrap();
        assert_eq!(
            server_args(&opts),
            [
                "--headless",
                "--no-auto-update",
                "--session-idle-timeout",
                "90",
                "--remote",
                "--stdio"
            ]
        );
        let opts = ClientOptions::from_json(
            r#"{"sessionIdleTimeoutSeconds": 0, "enableRemoteSessions": false}"#,
        )
        .unwrap();
        assert_eq!(
            server_args(&opts),
            ["--headless", "--no-auto-update", "--stdio"]
        );
    }

    /// Each telemetry field becomes its variable, replacing one of the same
    /// name; fields not given set nothing.
    #[test]
    fn telemetry_becomes_otel_variables() {
        let opts = ClientOptions::from_json(
            r#"{"env": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://old", "KEEP": "1"},
                "telemetry": {"otlpEndpoint": "http://127.0.0.1:4318", "otlpProtocol": "http/json",
                              "filePath": "/tmp/otel.jsonl", "exporterType": "file",
                              "sourceName": "my-app", "captureContent": false}}"#,
        )
        .unwrap();
        let env = child_env(&opts);
        for (k, v) in [
            ("COPILOT_OTEL_ENABLED", "true"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("COPILOT_OTEL_FILE_EXPORTER_PATH", "/tmp/otel.jsonl"),
            ("COPILOT_OTEL_EXPORTER_TYPE", "file"),
            ("COPILOT_OTEL_SOURCE_NAME", "my-app"),
            (
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
                "false",
            ),
            ("KEEP", "1"),
        ] {
            assert_eq!(lookup(&env, k), Some(OsStr::new(v)), "{k}");
        }
        assert_eq!(
            env.iter()
                .filter(|(k, _)| k == "OTEL_EXPORTER_OTLP_ENDPOINT")
                .count(),
            1
        );
        let opts = ClientOptions::from_json(r#"{"env": {}, "telemetry": {}}"#).unwrap();
        let env = child_env(&opts);
        assert_eq!(env, [("COPILOT_OTEL_ENABLED".into(), "true".into())]);
        let env = child_env(&ClientOptions::from_json(r#"{"env": {}}"#).unwrap());
        assert!(env.is_empty(), "no telemetry variable without the option");
    }

    /// The host's environment reaches the CLI as it is, UTF-8 or not (it
    /// used to panic in `std::env::vars`, killing a restart).
    #[test]
    fn a_variable_that_is_not_utf8_passes_through_unchanged() {
        use std::os::unix::ffi::OsStrExt;
        let key = OsStr::from_bytes(b"LIBCOPILOT_TEST_NOT_UTF8");
        let value = OsStr::from_bytes(b"caf\xe9");
        std::env::set_var(key, value);
        let env = child_env(&ClientOptions::default());
        std::env::remove_var(key);
        assert!(env.iter().any(|(k, v)| k == key && v == value));
    }

    #[test]
    fn missing_cli_says_where_it_looked_and_how_to_install() {
        let opts = ClientOptions::from_json(r#"{"cliPath":"/nonexistent/copilot"}"#).unwrap();
        let err = resolve_cli_path(&opts, &[]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::CliNotFound);
        assert!(
            err.message.contains("/nonexistent/copilot"),
            "{}",
            err.message
        );
        assert!(err
            .message
            .contains("npm install -g @github/copilot@1.0.102"));
        let opts = ClientOptions::from_json(r#"{"env":{"PATH":"/nonexistent"}}"#).unwrap();
        let err = resolve_cli_path(&opts, &child_env(&opts)).unwrap_err();
        assert!(err.message.contains("PATH=/nonexistent"), "{}", err.message);
    }
}
