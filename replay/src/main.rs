//! `copilot-replay [--port N] [--host H] [--workdir DIR] PATH...` serves recorded
//! conversations; `copilot-replay record --upstream URL --out DIR [--port N]
//! [--host H] [--workdir DIR]` records them from a real OpenAI-compatible
//! provider: point the app's base URL at the printed address + `/v1`, and each
//! conversation lands in DIR as one YAML file that `copilot-replay DIR` replays.
//! Credentials are forwarded to the provider but never written.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use copilot_replay::{RecordServer, ReplayServer};

/// Offline OpenAI-compatible model server replaying recorded Copilot conversations.
#[derive(Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
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
    /// Conversation YAML files, or directories searched for *.yaml.
    paths: Vec<PathBuf>,
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
        }) => {
            let server = RecordServer::start(&upstream, &out, workdir.as_deref(), &host, port)
                .unwrap_or_else(|e| fail(e));
            println!("copilot-replay recording on {}", server.url());
            serve_forever(server)
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
            println!("copilot-replay listening on {}", server.url());
            serve_forever(server)
        }
    }
}

/// Serves until killed; the server lives on its own thread.
fn serve_forever<T>(_server: T) -> ! {
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
