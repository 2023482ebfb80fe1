//! `moat harden`: writes the fixes that audit findings carry — a unified diff on standard
//! output by default, the files themselves with `--write`.
//!
//! Exit codes: 0 nothing to change (or changes written), 1 changes shown as a diff (like a
//! formatter's check mode, so CI can fail on them), 2 usage or input errors (a file that does
//! not parse is left alone and reported).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use moat_audit::discover::discover;
use moat_audit::harden::{Hardened, harden_file};
use moat_audit::{AuditOptions, Auditor};
use moat_diagnostics::InputError;

use crate::write_stdout;

/// Arguments of `moat harden`.
#[derive(Debug, Args)]
pub struct HardenArgs {
    /// Files or directories (directories are walked; default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Change the files in place instead of printing a diff.
    #[arg(long)]
    pub write: bool,
    /// With --write: keep each changed file's previous text as FILE.orig.
    #[arg(long, requires = "write")]
    pub backup: bool,
    /// Also apply fixes that may change behaviour (each rule's docs say which are).
    #[arg(long = "unsafe")]
    pub allow_unsafe: bool,
    /// Use this config file instead of discovering .moat.toml upward from each path.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// A unified diff of one file (`a/PATH`, `b/PATH`, three lines of context).
fn diff(h: &Hardened) -> String {
    let shown = shown(&h.path);
    similar::TextDiff::from_lines(&h.original, &h.fixed)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string()
}

/// A path as shown: without a leading `./`.
fn shown(path: &std::path::Path) -> String {
    let p = path.strip_prefix(".").unwrap_or(path);
    p.display().to_string()
}

/// Writes `text` to `path` through a temporary file in the same folder and a rename, so that
/// a reader never sees half a file; the file's permissions are kept.
fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.moat-harden.tmp"));
    std::fs::write(&tmp, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn print_error(e: &InputError) {
    eprintln!("error: {e}");
}

/// Runs `moat harden`.
pub fn run(args: &HardenArgs) -> ExitCode {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let inputs = discover(&paths);
    let auditor = Auditor::new(AuditOptions {
        config_file: args.config.clone(),
        ..AuditOptions::default()
    });
    let mut errors = inputs.errors.len();
    for e in &inputs.errors {
        print_error(e);
    }
    let mut out = String::new();
    let (mut changed, mut fixes, mut unsafe_left) = (0, 0, 0);
    for (path, kind) in &inputs.files {
        let h = match harden_file(&auditor, path, *kind, args.allow_unsafe) {
            Ok(h) => h,
            Err(errs) => {
                errors += errs.len();
                for e in &errs {
                    print_error(e);
                }
                continue;
            }
        };
        unsafe_left += h.unsafe_skipped.len();
        for code in &h.did_not_hold {
            eprintln!(
                "warning: {}: the fix of {code} did not remove its finding; not applied",
                path.display()
            );
        }
        if !h.changed() {
            continue;
        }
        changed += 1;
        fixes += h.applied.len();
        if args.write {
            if args.backup {
                let mut orig = path.clone().into_os_string();
                orig.push(".orig");
                if let Err(e) = std::fs::write(&orig, &h.original) {
                    eprintln!("error: {}: cannot write the backup: {e}", path.display());
                    errors += 1;
                    continue;
                }
            }
            if let Err(e) = write_atomically(path, &h.fixed) {
                eprintln!("error: {}: cannot write: {e}", path.display());
                errors += 1;
                continue;
            }
            for (code, message) in &h.applied {
                let _ = writeln!(out, "{}: {code} {message}", shown(path));
            }
        } else {
            out.push_str(&diff(&h));
        }
    }
    if write_stdout(&out).is_err() {
        return ExitCode::from(2);
    }
    let verb = if args.write { "fixed" } else { "would fix" };
    eprintln!(
        "{verb} {fixes} finding{} in {changed} file{}{}",
        if fixes == 1 { "" } else { "s" },
        if changed == 1 { "" } else { "s" },
        if unsafe_left > 0 {
            format!("; {unsafe_left} more with --unsafe (fixes that may change behaviour)")
        } else {
            String::new()
        }
    );
    if errors > 0 {
        ExitCode::from(2)
    } else if changed > 0 && !args.write {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
