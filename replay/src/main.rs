//! `copilot-replay [OPTIONS] PATH...` serves recorded conversations;
//! `copilot-replay record --upstream URL --out DIR [OPTIONS]` records them from
//! a real OpenAI-compatible provider: point the app's base URL at the printed
//! address + `/v1`, and each conversation lands in DIR as one YAML file that
//! `copilot-replay DIR` replays. Credentials are forwarded to the provider but
//! never written.
//!
//! For tests and scripts: `--requests FILE` logs each model request as a JSON
//! line, `--print-url` prints one machine-readable line
//! (`COPILOT_REPLAY_URL=http://HOST:PORT/v1`), `--url-file FILE` writes that
//! URL to a file, and `--exit-on-stdin-eof` stops the server when its stdin
//! closes, so a parent that dies never leaks it.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use copilot_replay::{RecordServer, ReplayServer};

/// What `--print-url` prints before the URL.
const URL_VARIABLE: &str = "COPILOT_REPLAY_URL";

const AFTER_HELP: &str = "\
Tests and scripts:
  copilot-replay --print-url --exit-on-stdin-eof --requests log.jsonl conversations/

  prints exactly one line, COPILOT_REPLAY_URL=http://127.0.0.1:PORT/v1 (the provider
  baseUrl), appends each chat-completions request to log.jsonl as a JSON line
  {\"method\",\"path\",\"body\"} as it arrives, and exits when its stdin reaches end of
  file: start it with a pipe as stdin and it stops when the parent closes the pipe
  or dies. GET /_replay/requests answers the same requests as a JSON array, each
  with its \"headers\" too (lower-case names, credentials redacted; the log file
  leaves them out).
  Diagnostics go to stderr.

Harnesses that keep one server across tests (start it on an empty directory):
  POST /_replay/configure {\"paths\": [FILE...], \"workdir\": DIR} serves those files
  from then on (missing ones are skipped) and forgets the requests received;
  POST /_replay/users {\"token\": T, \"user\": {FIELDS}} signs T in with those fields
  (once one is added, other tokens get 401).";

/// Offline OpenAI-compatible model server replaying recorded Copilot conversations.
#[derive(Parser)]
#[command(version, args_conflicts_with_subcommands = true, after_help = AFTER_HELP)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Serve,
}

#[derive(clap::Args)]
struct Serve {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Directory that `${workdir}` stands for in the conversations.
    #[arg(long)]
    workdir: Option<String>,
    /// Log each model request received to FILE, one JSON line each.
    ///
    /// Each chat-completions request is appended to FILE (created or truncated)
    /// as one line {"method","path","body"} as it arrives, so a test can read
    /// the file while the server runs. Headers are left out (they carry the API
    /// key).
    #[arg(long, value_name = "FILE")]
    requests: Option<PathBuf>,
    #[command(flatten)]
    script: Script,
    /// Conversation YAML files, or directories searched for *.yaml.
    paths: Vec<PathBuf>,
}

/// Options for running under a test or script.
#[derive(clap::Args)]
struct Script {
    /// Print one line, COPILOT_REPLAY_URL=http://HOST:PORT/v1, and nothing else.
    ///
    /// Replaces the "listening on" line: stdout gets exactly this one line.
    #[arg(long)]
    print_url: bool,
    /// Once listening, write http://HOST:PORT/v1 to FILE.
    ///
    /// The URL and a newline are written to FILE.tmp, which is then renamed, so
    /// a reader never sees part of it.
    #[arg(long, value_name = "FILE")]
    url_file: Option<PathBuf>,
    /// Exit when stdin reaches end of file.
    ///
    /// Give it a pipe as stdin: it stops when the parent closes the pipe or
    /// dies, so it never outlives its parent. Not with stdin at /dev/null (as
    /// `&` in a script gives), where it exits at once.
    #[arg(long)]
    exit_on_stdin_eof: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Proxy to a real provider and write each conversation as YAML.
    Record {
        /// The provider's base URL, e.g. https://api.openai.com/v1.
        #[arg(long)]
        upstream: String,
        /// Directory the conversations are written to (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// The app's working directory, written as `${workdir}`.
        #[arg(long)]
        workdir: Option<String>,
        #[command(flatten)]
        script: Script,
    },
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("copilot-replay: {e}");
    std::process::exit(2);
}

fn main() {
    let args = Args::parse();
    match args.command {
        Some(Command::Record {
            upstream,
            out,
            port,
            host,
            workdir,
            script,
        }) => {
            let server = RecordServer::start(&upstream, &out, workdir.as_deref(), &host, port)
                .unwrap_or_else(|e| fail(e));
            script.announce("copilot-replay recording on", &server.url());
            script.serve(server)
        }
        None => {
            let serve = args.serve;
            if serve.paths.is_empty() {
                fail("no conversation files given (see --help)");
            }
            let server = ReplayServer::start_on(&serve.host, &serve.paths, serve.port)
                .unwrap_or_else(|e| fail(e));
            if let Some(dir) = &serve.workdir {
                server.set_workdir(dir);
            }
            if let Some(file) = &serve.requests {
                server.log_requests_to(file).unwrap_or_else(|e| fail(e));
            }
            serve
                .script
                .announce("copilot-replay listening on", &server.url());
            serve.script.serve(server)
        }
    }
}

impl Script {
    /// Tells whoever started the server where it listens (`url`: no `/v1`).
    fn announce(&self, human: &str, url: &str) {
        let base_url = format!("{url}/v1");
        if let Some(file) = &self.url_file {
            copilot_replay::write_atomically(file, &format!("{base_url}\n")).unwrap_or_else(|e| {
                fail(format!("cannot write {}: {e}", file.display()));
            });
        }
        let line = if self.print_url {
            format!("{URL_VARIABLE}={base_url}")
        } else {
            format!("{human} {url}")
        };
        let mut stdout = std::io::stdout();
        // A parent that closed our stdout does not stop the server.
        let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
    }

    /// Serves until killed or, with `--exit-on-stdin-eof`, until stdin ends;
    /// the server lives on its own thread and stops when dropped.
    fn serve<T>(&self, server: T) -> ! {
        if self.exit_on_stdin_eof {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 4096];
            // Input is ignored; end of file or an error ends the server.
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            drop(server);
            std::process::exit(0);
        }
        loop {
            std::thread::park();
        }
    }
}
