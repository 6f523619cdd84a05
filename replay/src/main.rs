//! `copilot-replay [--port N] [--host H] [--workdir DIR] PATH...`

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use copilot_replay::ReplayServer;

/// Offline OpenAI-compatible model server replaying recorded Copilot conversations.
#[derive(Parser)]
#[command(version)]
struct Args {
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
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let server = match ReplayServer::start_on(&args.host, &args.paths, args.port) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("copilot-replay: {e}");
            std::process::exit(2);
        }
    };
    if let Some(dir) = &args.workdir {
        server.set_workdir(dir);
    }
    println!("copilot-replay listening on {}", server.url());
    let _ = std::io::stdout().flush();
    // Serve until killed.
    loop {
        std::thread::park();
    }
}
