//! `moat db`: the local advisory database the scanner matches against, built offline from files
//! the user brings (OSV `all.zip` exports, OSV folders, Alpine secdb files).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use clap::{Args, Subcommand};
use moat_vuln::{Database, FixStatus};

/// `moat db` and its subcommands.
#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Build the database from OSV exports (`all.zip`), folders of OSV `<ID>.json` records and
    /// Alpine secdb files (`main.yaml`, `main.json`); replaces the previous database.
    Import {
        #[command(flatten)]
        db: DbPath,
        /// Files and folders to read.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Print what the database holds, where it came from and how old it is.
    Info {
        #[command(flatten)]
        db: DbPath,
        /// Fail (exit 2) when the database is older than this (`7d`, `36h`, `2w`).
        #[arg(long, value_name = "DURATION")]
        max_db_age: Option<String>,
    },
    /// Print the advisories of one package, and which apply to VERSION when given.
    Lookup {
        #[command(flatten)]
        db: DbPath,
        /// OSV ecosystem (`Debian:12`, `Alpine:v3.19`, `crates.io`, `Go`, `npm`, `PyPI`).
        ecosystem: String,
        /// Package name (the source package for distributions).
        name: String,
        /// Installed version.
        #[arg(value_name = "VERSION")]
        installed: Option<String>,
    },
}

#[derive(Debug, Args)]
struct DbPath {
    /// The database file (default: $XDG_CACHE_HOME/moat/advisories.db, else
    /// ~/.cache/moat/advisories.db).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

impl DbPath {
    fn resolve(&self) -> Result<PathBuf, String> {
        resolve(self.db.as_deref())
    }
}

/// The database file: `db` when given, else the default under the user cache dir.
fn resolve(db: Option<&Path>) -> Result<PathBuf, String> {
    db.map(Path::to_path_buf)
        .or_else(moat_vuln::default_path)
        .ok_or_else(|| {
            "no cache directory (neither XDG_CACHE_HOME nor HOME is set): pass --db PATH".into()
        })
}

/// Opens the database (`--db` or the default) and, with `--max-db-age`, refuses a stale one:
/// what `moat db info` and `moat scan` both do before anything else.
pub(crate) fn open(db: Option<&Path>, max_db_age: Option<&str>) -> Result<Database, String> {
    let max = max_db_age
        .map(moat_vuln::parse_duration)
        .transpose()
        .map_err(|e| format!("--max-db-age: {e}"))?;
    let db = Database::open(&resolve(db)?).map_err(|e| e.to_string())?;
    if let Some(max) = max {
        db.check_age(max, SystemTime::now())
            .map_err(|e| e.to_string())?;
    }
    Ok(db)
}

/// Runs `moat db`: 0 on success, 2 on any error (missing, stale or unreadable database,
/// unreadable or malformed input).
pub fn run(args: &DbArgs) -> ExitCode {
    match run_inner(args) {
        Ok(text) => match crate::write_stdout(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(args: &DbArgs) -> Result<String, String> {
    match &args.command {
        DbCommand::Import { db, paths } => {
            let path = db.resolve()?;
            let started = Instant::now();
            let db = Database::import(&path, paths).map_err(|e| e.to_string())?;
            let meta = db.metadata();
            let records: usize = meta.sources.iter().map(|s| s.records).sum();
            Ok(format!(
                "imported {records} records from {} source(s) into {} ({} package entries) in {} ms\n",
                meta.sources.len(),
                path.display(),
                meta.entries,
                started.elapsed().as_millis()
            ))
        }
        DbCommand::Info { db, max_db_age } => {
            let db = open(db.db.as_deref(), max_db_age.as_deref())?;
            Ok(info(&db))
        }
        DbCommand::Lookup {
            db,
            ecosystem,
            name,
            installed,
        } => {
            let db = Database::open(&db.resolve()?).map_err(|e| e.to_string())?;
            let advisories = db.lookup(ecosystem, name).map_err(|e| e.to_string())?;
            let mut out = String::new();
            for a in advisories {
                let verdict = installed
                    .as_deref()
                    .map(|v| a.affected.iter().find_map(|x| x.evaluate(v)));
                let status = match &verdict {
                    None => String::new(),
                    Some(None) => "  not affected".into(),
                    Some(Some(v)) if v.status() == FixStatus::Fixed => {
                        format!("  AFFECTED, fixed in {}", v.fixed_versions.join(", "))
                    }
                    Some(Some(_)) => "  AFFECTED, no fix".into(),
                };
                let sev = a
                    .affected
                    .first()
                    .and_then(|x| x.severity.clone())
                    .unwrap_or(a.severity);
                let _ = writeln!(out, "{}  {}  {}{status}", a.id, sev.band, a.summary);
            }
            if out.is_empty() {
                out = format!("no advisories for {name} in {ecosystem}\n");
            }
            Ok(out)
        }
    }
}

fn info(db: &Database) -> String {
    let meta = db.metadata();
    let age = moat_vuln::db::format_duration(meta.age(SystemTime::now()));
    let mut out = format!(
        "database: {}\nschema:   {}\nbuilt:    {} ({age} ago)\nentries:  {}\n",
        db.path().display(),
        meta.schema_version,
        meta.built_at_rfc3339(),
        meta.entries
    );
    let width = meta.ecosystems.keys().map(String::len).max().unwrap_or(0);
    for (eco, n) in &meta.ecosystems {
        let _ = writeln!(out, "  {eco:width$}  {n}");
    }
    out.push_str("sources:\n");
    for s in &meta.sources {
        let _ = write!(
            out,
            "  {}  {}  {} records",
            s.path,
            s.kind.as_str(),
            s.records
        );
        if s.withdrawn > 0 {
            let _ = write!(out, " ({} withdrawn, left out)", s.withdrawn);
        }
        out.push('\n');
    }
    out
}
