//! `moat scan`: the known vulnerabilities and leaked secrets of one image, offline — from a
//! `docker save` tarball, an OCI layout directory or archive, the local engine, or an unpacked
//! root filesystem — against the local advisory database (`moat db import`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, ValueEnum};
use moat_scan::analyze::Date;
use moat_scan::image::{ArchiveSource, ImageSource, OciLayoutSource, RootfsSource};
use moat_scan::policy::{Policy, parse_band};
use moat_scan::report::{self, Report};
use moat_scan::scan::{Options, scan_image, vulnerabilities};

/// Output formats of `moat scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// Grouped by package, for people.
    Text,
    /// moat's versioned JSON.
    Json,
    /// SARIF 2.1.0 (code scanning).
    Sarif,
    /// CycloneDX 1.6 JSON SBOM with the vulnerabilities.
    Cyclonedx,
}

/// `moat scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The image: a `docker save` tarball, an OCI layout directory, an `oci-archive` tarball, or
    /// a name or id in the local engine. Prefixes force the kind: `docker-archive:PATH[:REF]`,
    /// `oci-archive:PATH[:REF]`, `oci:DIR[:REF]`, `docker:NAME`.
    #[arg(
        value_name = "IMAGE",
        required_unless_present = "rootfs",
        conflicts_with = "rootfs"
    )]
    image: Option<String>,
    /// Scan an unpacked root filesystem instead of an image.
    #[arg(long, value_name = "DIR")]
    rootfs: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text")]
    format: ScanFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The advisory database (default: $XDG_CACHE_HOME/moat/advisories.db, else
    /// ~/.cache/moat/advisories.db).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Fail (exit 2) when the database is older than this (`7d`, `36h`, `2w`).
    #[arg(long, value_name = "DURATION")]
    max_db_age: Option<String>,
    /// Only show vulnerabilities of these severities (comma-separated: critical, high, medium,
    /// low, none, unknown).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    severity: Vec<String>,
    /// Lowest severity that makes the exit code 1 (default: any finding; secrets are high).
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<String>,
    /// Leave out vulnerabilities that have no fixed version yet.
    #[arg(long)]
    ignore_unfixed: bool,
    /// Do not search for secrets.
    #[arg(long)]
    no_secrets: bool,
    /// OpenVEX document whose `not_affected` and `fixed` statements take advisories out
    /// (repeatable).
    #[arg(long, value_name = "FILE")]
    vex: Vec<PathBuf>,
    /// Config file with a `[scan]` table (default: ./.moat.toml when it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Runs `moat scan`: 0 nothing at or above the threshold, 1 findings, 2 error.
pub fn run(args: &ScanArgs) -> ExitCode {
    match run_inner(args) {
        Ok(fails) => ExitCode::from(u8::from(fails)),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// What to read, and how it is named in the report.
enum Target {
    Archive(PathBuf, Option<String>, &'static str),
    Layout(PathBuf, Option<String>),
    Engine(String),
    Rootfs(PathBuf),
}

/// `PATH[:REF]` after a prefix: the whole text when it names something, else split at the
/// first `:` after which the path exists.
fn path_and_reference(rest: &str) -> (PathBuf, Option<String>) {
    if Path::new(rest).exists() {
        return (rest.into(), None);
    }
    match rest.split_once(':') {
        Some((p, r)) if !r.is_empty() => (p.into(), Some(r.to_string())),
        _ => (rest.into(), None),
    }
}

fn target(args: &ScanArgs) -> Result<Target, String> {
    if let Some(dir) = &args.rootfs {
        if !dir.is_dir() {
            return Err(format!("--rootfs {}: not a directory", dir.display()));
        }
        return Ok(Target::Rootfs(dir.clone()));
    }
    let image = args.image.as_deref().unwrap_or_default();
    if let Some(rest) = image.strip_prefix("docker-archive:") {
        let (p, r) = path_and_reference(rest);
        return Ok(Target::Archive(p, r, "docker-archive"));
    }
    if let Some(rest) = image.strip_prefix("oci-archive:") {
        let (p, r) = path_and_reference(rest);
        return Ok(Target::Archive(p, r, "oci-archive"));
    }
    if let Some(rest) = image.strip_prefix("oci:") {
        let (p, r) = path_and_reference(rest);
        return Ok(Target::Layout(p, r));
    }
    if let Some(rest) = image.strip_prefix("docker:") {
        return Ok(Target::Engine(rest.to_string()));
    }
    let path = Path::new(image);
    if path.is_dir() {
        if path.join("oci-layout").is_file() {
            return Ok(Target::Layout(path.into(), None));
        }
        return Err(format!(
            "{image}: a directory without an `oci-layout` file is not an OCI image layout; \
             to scan an unpacked filesystem, use --rootfs {image}"
        ));
    }
    if path.is_file() {
        return Ok(Target::Archive(path.into(), None, "archive"));
    }
    if image.starts_with('/') || image.starts_with("./") || image.starts_with("../") {
        return Err(format!("{image}: no such file or directory"));
    }
    Ok(Target::Engine(image.to_string()))
}

fn policy(args: &ScanArgs) -> Result<Policy, String> {
    let config = match &args.config {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from(".moat.toml")).filter(|p| p.is_file()),
    };
    let mut policy = match config {
        Some(p) => Policy::from_file(&p)?,
        None => Policy::default(),
    };
    if let Some(f) = &args.fail_on {
        policy.fail_on = parse_band(f).map_err(|e| format!("--fail-on: {e}"))?;
    }
    if !args.severity.is_empty() {
        policy.severities = Some(
            args.severity
                .iter()
                .map(|w| parse_band(w))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("--severity: {e}"))?,
        );
    }
    policy.ignore_unfixed |= args.ignore_unfixed;
    policy.secrets &= !args.no_secrets;
    for path in &args.vex {
        policy.vex.extend(moat_scan::vex::read(path)?);
    }
    Ok(policy)
}

fn run_inner(args: &ScanArgs) -> Result<bool, String> {
    let policy = policy(args)?;
    let target = target(args)?;
    // the database first: a missing or stale one is said before the image is read
    let db = super::db::open(args.db.as_deref(), args.max_db_age.as_deref())?;
    let options = Options {
        secrets: policy.secrets,
        ..Options::default()
    };
    let (name, kind, scanned) = match target {
        Target::Archive(path, reference, kind) => {
            let mut source = ArchiveSource::open(&path)
                .map_err(|e| e.to_string())?
                .with_reference(reference.as_deref());
            let name = path.display().to_string();
            (name, kind, scan(&mut source, &options)?)
        }
        Target::Layout(dir, reference) => {
            let mut source = OciLayoutSource::new(&dir).with_reference(reference.as_deref());
            (
                dir.display().to_string(),
                "oci-layout",
                scan(&mut source, &options)?,
            )
        }
        Target::Rootfs(dir) => {
            let mut source = RootfsSource::new(&dir);
            (
                dir.display().to_string(),
                "rootfs",
                scan(&mut source, &options)?,
            )
        }
        Target::Engine(name) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the engine client: {e}"))?;
            let host = moat_engine::EngineHost::from_env(None).map_err(|e| e.to_string())?;
            let engine = runtime
                .block_on(moat_engine::connect(&host))
                .map_err(|e| e.to_string())?;
            let mut source =
                moat_scan::image::EngineSource::new(&engine, &name, runtime.handle().clone());
            let scanned = scan(&mut source, &options)?;
            (name, "engine", scanned)
        }
    };
    let vulns = vulnerabilities(&db, &scanned.inventory).map_err(|e| e.to_string())?;
    let mut names = vec![name.as_str()];
    names.extend(scanned.reference.as_deref());
    let applied = policy.apply(vulns, &scanned.inventory, &names, Date::today());
    let report = Report {
        kind: kind.to_string(),
        name,
        scanned,
        database: (db.path().display().to_string(), db.metadata().clone()),
        applied,
        policy,
    };
    for &i in &report.applied.expired {
        let ig = &report.policy.ignores[i];
        eprintln!(
            "warning: the ignore of {} expired on {}: reported again",
            ig.id,
            ig.expires
                .map(moat_scan::policy::format_date)
                .unwrap_or_default()
        );
    }
    let text = match args.format {
        ScanFormat::Text => report::text(&report),
        ScanFormat::Json => report::json(&report),
        ScanFormat::Sarif => report::sarif(&report),
        ScanFormat::Cyclonedx => {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            report::cyclonedx(&report, &moat_vuln::db::rfc3339(now))
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?,
        None => crate::write_stdout(&text).map_err(|e| e.to_string())?,
    }
    Ok(report.fails())
}

fn scan(
    source: &mut dyn ImageSource,
    options: &Options,
) -> Result<moat_scan::scan::Scanned, String> {
    scan_image(source, options).map_err(|e| e.to_string())
}
