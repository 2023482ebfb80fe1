//! The `moat` command line: parses arguments, dispatches to a subcommand, maps outcomes to exit
//! codes (0 clean, 1 findings at or above the threshold, 2 usage or input error).

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A security perimeter for APIs that run in Docker containers.
#[derive(Debug, Parser)]
#[command(name = "moat", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Audit Dockerfiles, compose files, `docker run` lines, daemon.json and live engines.
    Audit(Box<cmd::audit::AuditArgs>),
    /// Run the hardened reverse proxy in front of API containers, or check its config.
    Gateway(moat_gateway::GatewayArgs),
    /// Build and inspect the local advisory database the scanner matches against (offline).
    Db(cmd::db::DbArgs),
    /// Find known vulnerabilities and leaked secrets in an image, offline.
    Scan(Box<cmd::scan::ScanArgs>),
    /// Write the fixes audit findings carry: a diff, or the files themselves with --write.
    Harden(cmd::harden::HardenArgs),
    /// Ask a gateway's admin listener whether it is ready (for a container HEALTHCHECK).
    Health(cmd::health::HealthArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Audit(args) => cmd::audit::run(&args),
        Command::Gateway(args) => moat_gateway::run(args),
        Command::Db(args) => cmd::db::run(&args),
        Command::Scan(args) => cmd::scan::run(&args),
        Command::Harden(args) => cmd::harden::run(&args),
        Command::Health(args) => cmd::health::run(&args),
    }
}

/// Writes `text` to stdout; a closed pipe (`moat … | head`) is not an error.
pub(crate) fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
