//! The `moat gateway` command: arguments and the entry point the `moat` binary calls.
//!
//! Exit codes: 0 ok (or clean check), 1 check findings at or above `--fail-on` (default
//! medium), 2 configuration or usage errors.

use crate::check;
use crate::server::{Gateway, event};
use moat_diagnostics::Severity;
use moat_diagnostics::report::{self, TextOptions, ToolInfo};
use std::path::PathBuf;
use std::process::ExitCode;

/// Output format of `gateway check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text with source snippets.
    Text,
    /// moat's versioned JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// `moat gateway`.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GatewayArgs {
    /// What to do instead of running.
    #[command(subcommand)]
    pub command: Option<GatewayCommand>,
    /// Configuration file (TOML) to run with.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Validate and audit `--config` instead of running.
    #[arg(long)]
    pub check: bool,
    /// Output format of `--check`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Subcommands of `moat gateway`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum GatewayCommand {
    /// Validate a configuration and audit it for weak settings.
    Check(CheckArgs),
}

/// `moat gateway check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Configuration file to check.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, default_value = "medium", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// Also open a TCP connection to every upstream target and Redis node (2 s each); one
    /// that cannot be reached is an error.
    #[arg(long)]
    pub connect: bool,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// Runs `moat gateway` and returns the process exit code. Builds its own tokio runtime.
pub fn run(args: GatewayArgs) -> ExitCode {
    match args.command {
        Some(GatewayCommand::Check(c)) => run_check(&c),
        None => match (args.config, args.check) {
            (Some(file), true) => run_check(&CheckArgs {
                file,
                format: args.format,
                fail_on: Severity::Medium,
                connect: false,
            }),
            (Some(file), false) => serve(file),
            (None, _) => {
                eprintln!(
                    "error: `moat gateway` needs `--config FILE` (or `moat gateway check FILE`)"
                );
                ExitCode::from(2)
            }
        },
    }
}

/// Renders a check and returns its exit code.
pub fn run_check(args: &CheckArgs) -> ExitCode {
    let r = check::check_file_with(&args.file, args.connect);
    let out = match args.format {
        Format::Text => report::text(&r, &TextOptions::default()),
        Format::Json => report::json(&r),
        Format::Sarif => report::sarif(&r, &check::RULES, &ToolInfo::MOAT),
    };
    print!("{out}");
    if !out.ends_with('\n') {
        println!();
    }
    if !r.errors.is_empty() {
        ExitCode::from(2)
    } else if r.count_at_least(args.fail_on) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn serve(file: PathBuf) -> ExitCode {
    // one worker per CPU this process may run on; on a single CPU the current-thread runtime
    // does the same work without cross-thread wake-ups and work-stealing bookkeeping.
    // `MOAT_GATEWAY_RUNTIME=current|multi` overrides the choice.
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let multi = match std::env::var("MOAT_GATEWAY_RUNTIME").as_deref() {
        Ok("current") => false,
        Ok("multi") => true,
        _ => cpus > 1,
    };
    let mut builder = if multi {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let rt = match builder.enable_all().thread_name("moat-gateway").build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    rt.block_on(async move {
        let gw = match Gateway::start(&file).await {
            Ok(g) => g,
            Err(errs) => {
                for e in errs {
                    eprintln!("error: {e}");
                }
                return ExitCode::from(2);
            }
        };
        let addrs: Vec<String> = gw
            .listener_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        event("info", &format!("listening on {}", addrs.join(", ")));
        let signals = match Signals::install() {
            Ok(s) => s,
            Err(e) => {
                event("error", &format!("cannot install signal handlers: {e}"));
                return ExitCode::from(2);
            }
        };
        let left = serve_until_stopped(gw, signals).await;
        if left > 0 {
            event(
                "warn",
                &format!("{left} connections still open at the drain deadline"),
            );
        }
        ExitCode::SUCCESS
    })
}

/// The signals the gateway reacts to: SIGHUP reloads, SIGTERM and SIGINT drain and stop.
#[derive(Debug)]
pub struct Signals {
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (inside a tokio runtime). From then on these signals no longer
    /// have their default effect on the process.
    pub fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                hup: signal(SignalKind::hangup())?,
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }
}

/// Serves until SIGTERM or SIGINT, reloading on SIGHUP (a rejected reload keeps the old
/// configuration), then drains. Returns the connections still open at the drain deadline.
pub async fn serve_until_stopped(gw: Gateway, mut signals: Signals) -> usize {
    #[cfg(unix)]
    loop {
        tokio::select! {
            _ = signals.hup.recv() => { let _ = gw.reload(); }
            _ = signals.term.recv() => break,
            _ = signals.int.recv() => break,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = &mut signals;
        let _ = tokio::signal::ctrl_c().await;
    }
    event("info", "draining");
    gw.shutdown().await
}
