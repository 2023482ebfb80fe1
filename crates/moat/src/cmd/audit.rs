//! `moat audit`: static checks of Dockerfiles, compose files, `docker run` lines and
//! daemon.json, and live checks of Docker engines (`--engine`, `--host`).

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use moat_audit::config::resolve_rules;
use moat_audit::discover::{InputKind, discover};
use moat_audit::sources::engine::EngineView;
use moat_audit::{AuditOptions, Auditor, Overrides, rules};
use moat_diagnostics::report::{self, FileCounts, TextOptions, ToolInfo};
use moat_diagnostics::{Report, RuleInfo, Severity};

use crate::cmd::engine::{EngineArgs, read_engines};
use crate::write_stdout;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable, with source snippets.
    Text,
    /// Versioned JSON (see docs/json-output.md).
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
}

/// Arguments of `moat audit`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)]
pub struct AuditArgs {
    /// Files or directories to audit (directories are walked; default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Lowest severity that makes the exit code 1 (default: medium, or `fail-on` in .moat.toml).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Run only these rules (codes, names or hadolint DL codes; comma-separated or repeated).
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub select: Vec<String>,
    /// Never run these rules.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Print the documentation of a rule and exit.
    #[arg(long, value_name = "CODE")]
    pub explain: Option<String>,
    /// List the rules and exit (as text, or JSON with --format json).
    #[arg(long)]
    pub list_rules: bool,
    /// Audit these compose files as one project, merged in the order given, like
    /// `docker compose -f a.yaml -f b.yaml` (repeatable).
    #[arg(long = "compose", value_name = "FILE")]
    pub compose: Vec<PathBuf>,
    /// Audit a `docker run` / `docker create` command line (repeatable).
    #[arg(long = "docker-run", value_name = "COMMAND")]
    pub docker_run: Vec<String>,
    /// Audit FILE as a Docker daemon configuration, whatever its name (repeatable).
    #[arg(long = "daemon-config", value_name = "FILE")]
    pub daemon_config: Vec<PathBuf>,
    /// Use this config file instead of discovering .moat.toml upward from each path.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Never use colour (NO_COLOR is honoured too).
    #[arg(long)]
    pub no_color: bool,
    /// Live engines.
    #[command(flatten)]
    pub engine: EngineArgs,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// Runs `moat audit`.
pub fn run(args: &AuditArgs) -> ExitCode {
    if args.list_rules {
        return emit(&list_rules(args.format));
    }
    if let Some(code) = &args.explain {
        return if let Some(text) = explain(code) {
            emit(&text)
        } else {
            eprintln!("error: unknown rule `{code}` (see `moat audit --list-rules`)");
            ExitCode::from(2)
        };
    }
    let only_extra = !args.docker_run.is_empty()
        || !args.daemon_config.is_empty()
        || !args.compose.is_empty()
        || args.engine.wanted();
    let paths = if args.paths.is_empty() && !only_extra {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let options = AuditOptions {
        overrides: Overrides {
            select: args.select.clone(),
            ignore: args.ignore.clone(),
            fail_on: args.fail_on,
        },
        config_file: args.config.clone(),
    };
    let auditor = Auditor::new(options);
    // Resolve the configuration of the first path up front so that a bad config or bad
    // --select fails fast with exit 2 even when there is nothing to audit.
    let first = paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let fail_on = match auditor.config_for(&first) {
        Ok(c) => c.fail_on,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut inputs = discover(&paths);
    inputs.files.extend(
        args.daemon_config
            .iter()
            .map(|p| (p.clone(), InputKind::Daemon)),
    );
    inputs.compose_project.clone_from(&args.compose);
    let files = inputs.file_counts();
    if files.total() == 0 && args.docker_run.is_empty() && !args.engine.wanted() {
        warn_nothing_found(&paths);
    }
    let snapshots = if args.engine.wanted() {
        match read_engines(&args.engine) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        Vec::new()
    };
    for note in snapshots.iter().flat_map(|s| &s.notes) {
        eprintln!("note: {note}");
    }
    let views: Vec<EngineView<'_>> = snapshots
        .iter()
        .map(|s| EngineView {
            daemon: Some(&s.daemon),
            containers: &s.containers,
            images: &s.images,
        })
        .collect();
    let report = auditor.audit_everything(inputs, &args.docker_run, &views);
    let files = FileCounts {
        engines: snapshots.len(),
        containers: snapshots.iter().map(|s| s.containers.len()).sum(),
        images: views.iter().map(|v| v.images_in_use().count()).sum(),
        ..files
    };
    let rendered = render(&report, &files, args);
    if let Some(out) = &args.output {
        if let Err(e) = std::fs::write(out, rendered) {
            eprintln!("error: cannot write {}: {e}", out.display());
            return ExitCode::from(2);
        }
    } else if let Err(e) = write_stdout(&rendered) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if !report.errors.is_empty() {
        ExitCode::from(2)
    } else if report.count_at_least(fail_on) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Says on stderr that the directories in `paths` hold nothing to audit, so that an audit
/// pointed at the wrong place does not pass as a clean one. The exit code is unchanged: no
/// findings is success.
fn warn_nothing_found(paths: &[PathBuf]) {
    let dirs: Vec<String> = paths
        .iter()
        .filter(|p| p.is_dir())
        .map(|p| p.display().to_string())
        .collect();
    if !dirs.is_empty() {
        eprintln!(
            "warning: no Dockerfile, compose file, daemon.json or script found under {}",
            dirs.join(", ")
        );
    }
}

fn render(report: &Report, files: &FileCounts, args: &AuditArgs) -> String {
    match args.format {
        Format::Text => {
            let tty = args.output.is_none() && std::io::stdout().is_terminal();
            let color = !args.no_color && report::color_wanted(tty);
            report::text_with_files(
                report,
                &TextOptions {
                    color,
                    show_fixes: true,
                },
                files,
            )
        }
        Format::Json => report::json_with_files(report, &ToolInfo::MOAT, files),
        Format::Sarif => {
            let infos: Vec<RuleInfo> = rules::all().map(|r| r.info.clone()).collect();
            report::sarif(report, &infos, &ToolInfo::MOAT)
        }
    }
}

fn emit(text: &str) -> ExitCode {
    match write_stdout(text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--list-rules`.
fn list_rules(format: Format) -> String {
    if format == Format::Json {
        let list: Vec<serde_json::Value> = all_rules()
            .map(|r| {
                serde_json::json!({
                    "code": r.code,
                    "name": r.name,
                    "summary": r.summary,
                    "severity": r.severity,
                    "confidence": r.confidence,
                    "default_enabled": r.default_enabled,
                    "fixable": r.fixable(),
                    "fix": r.fix,
                    "references": r.references,
                })
            })
            .collect();
        return serde_json::to_string_pretty(&list).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    for r in all_rules() {
        let on = if r.default_enabled {
            ""
        } else {
            " (off by default)"
        };
        let refs = if r.references.is_empty() {
            String::new()
        } else {
            format!(" [{}]", r.references.join(", "))
        };
        let fix = match r.fix_label() {
            "" => String::new(),
            kind => format!(" ({kind} fix)"),
        };
        let _ = writeln!(
            out,
            "{:<5} {:<8} {:<36} {}{on}{fix}{refs}",
            r.code, r.severity, r.name, r.summary
        );
    }
    out
}

/// The audit rules, then the gateway's configuration checks.
fn all_rules() -> impl Iterator<Item = &'static RuleInfo> {
    rules::all()
        .map(|r| r.info)
        .chain(moat_gateway::check::RULES.iter())
}

/// `--explain CODE`: the rule's documentation.
fn explain(token: &str) -> Option<String> {
    let found: Vec<&RuleInfo> = resolve_rules(token).into_iter().map(|r| r.info).collect();
    let found = if found.is_empty() {
        // the gateway's configuration checks (`moat gateway check`) share the finding model
        moat_gateway::check::RULES
            .iter()
            .filter(|r| r.code.eq_ignore_ascii_case(token) || r.name.eq_ignore_ascii_case(token))
            .collect()
    } else {
        found
    };
    if found.is_empty()
        || found.len() == moat_audit::rules::REGISTRY.len() && !token.eq_ignore_ascii_case("all")
    {
        return None;
    }
    let mut out = String::new();
    for r in found {
        let on = if r.default_enabled { "on" } else { "off" };
        let fix = match r.fix_label() {
            "" => String::new(),
            kind => format!(" · Fix: {kind} (`moat harden`)"),
        };
        let _ = write!(
            out,
            "# {} {}\n\n{}\n\nSeverity: {} · Confidence: {} · Default: {on}{fix}\nReferences: {}\n\n{}\n\n",
            r.code,
            r.name,
            r.summary,
            r.severity,
            r.confidence,
            if r.references.is_empty() {
                "—".to_string()
            } else {
                r.references.join(", ")
            },
            r.docs_text()
        );
    }
    Some(out.trim_end().to_string() + "\n")
}
