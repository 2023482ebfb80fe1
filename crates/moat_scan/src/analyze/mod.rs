//! Analyzers: pure functions from a file's path and contents to the packages it records.
//!
//! Each analyzer is one row of [`ANALYZERS`]: a cheap test on the path alone (or, for
//! executables, on the first bytes) and a parser. They know nothing of how files are read: the
//! image reader asks [`wants`] (and [`wants_binary`] for executables) while it streams the layers,
//! and hands the files of the final filesystem to [`inventory`], which runs every analyzer and
//! collects one warning for each file that does not parse (the inventory goes on without it).
//!
//! | format | files | ecosystem |
//! |---|---|---|
//! | os-release | `etc/os-release`, `usr/lib/os-release` | (the distribution) |
//! | dpkg | `var/lib/dpkg/status`, `var/lib/dpkg/status.d/*` | `Debian:12`, `Ubuntu:22.04` |
//! | apk | `lib/apk/db/installed` | `Alpine:v3.19` |
//! | rpm (SQLite) | `var/lib/rpm/rpmdb.sqlite`, `usr/lib/sysimage/rpm/rpmdb.sqlite` | `Rocky Linux:9`, `AlmaLinux:9`, … ([`Ecosystem::osv_name`]) |
//! | Cargo | `**/Cargo.lock`, ELF binaries with `cargo auditable`'s `.dep-v0` | `crates.io` |
//! | Go | executables with Go build info (modules and the `stdlib`) | `Go` |
//! | npm | `**/package-lock.json`, `**/node_modules/*/package.json` | `npm` |
//! | Python | `**/*.dist-info/METADATA`, `**/*.egg-info/PKG-INFO`, `**/requirements*.txt`, `**/poetry.lock`, `**/Pipfile.lock` | `PyPI` |
//!
//! OS packages need the distribution release for their ecosystem, so the os-release file is read
//! first and the package databases of the distribution are parsed after it, whatever order the
//! files come in (without one, they are still read, with an empty release and a warning).
//! Packages are de-duplicated by ecosystem, name, version and file (the same file handed over
//! twice, the same crate twice in one lock file).

mod apk;
mod cargo;
mod dpkg;
mod elf;
mod go;
mod npm;
pub mod os_release;
mod python;
mod rpm;
mod sqlite;
mod stanza;

use std::collections::HashSet;

use crate::model::{Ecosystem, Inventory, Package};
pub use os_release::{Date, OsInfo};

/// The largest executable handed to the binary analyzers (Go build info, `cargo auditable`).
pub const MAX_BINARY_SIZE: u64 = 256 * 1024 * 1024;

/// The smallest: anything shorter is not a Go or Rust program.
pub const MIN_BINARY_SIZE: u64 = 1024;

/// What analyzers know besides the file: the distribution, for OS packages.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The image's os-release, when it has one.
    pub os: Option<OsInfo>,
}

/// How an analyzer picks its files.
#[derive(Debug, Clone, Copy)]
pub enum Selector {
    /// By path alone (relative to the root, without a leading `/`).
    Path(fn(&str) -> bool),
    /// Executables ([`wants_binary`]) whose first bytes pass the test (an ELF header).
    Binary(fn(&[u8]) -> bool),
}

/// The signature of a parser: path, contents, layer index and context to packages, or why the
/// file does not parse.
pub type AnalyzeFn = fn(&str, &[u8], usize, &Context) -> Result<Vec<Package>, String>;

/// One analyzer: the files it wants and how it reads them.
#[derive(Debug, Clone, Copy)]
pub struct Analyzer {
    /// Short name, used in warnings (`dpkg`, `cargo-lock`).
    pub name: &'static str,
    /// Which files it reads.
    pub selector: Selector,
    /// Whether it needs the distribution ([`Context::os`]): such files are parsed after
    /// os-release.
    pub needs_os: bool,
    /// The parser.
    pub analyze: AnalyzeFn,
}

/// Every analyzer, in the order they run on a file (a file may be read by several).
pub const ANALYZERS: &[Analyzer] = &[
    Analyzer {
        name: "dpkg",
        selector: Selector::Path(dpkg::wants),
        needs_os: true,
        analyze: dpkg::analyze,
    },
    Analyzer {
        name: "apk",
        selector: Selector::Path(apk::wants),
        needs_os: true,
        analyze: apk::analyze,
    },
    Analyzer {
        name: "rpm",
        selector: Selector::Path(rpm::wants),
        needs_os: true,
        analyze: rpm::analyze,
    },
    Analyzer {
        name: "cargo-lock",
        selector: Selector::Path(cargo::wants_lock),
        needs_os: false,
        analyze: cargo::analyze_lock,
    },
    Analyzer {
        name: "cargo-auditable",
        selector: Selector::Binary(elf::is_elf),
        needs_os: false,
        analyze: cargo::analyze_auditable,
    },
    Analyzer {
        name: "go-binary",
        selector: Selector::Binary(go::sniff),
        needs_os: false,
        analyze: go::analyze,
    },
    Analyzer {
        name: "npm-lock",
        selector: Selector::Path(npm::wants_lock),
        needs_os: false,
        analyze: npm::analyze_lock,
    },
    Analyzer {
        name: "npm-package",
        selector: Selector::Path(npm::wants_package_json),
        needs_os: false,
        analyze: npm::analyze_package_json,
    },
    Analyzer {
        name: "python-metadata",
        selector: Selector::Path(python::wants_metadata),
        needs_os: false,
        analyze: python::analyze_metadata,
    },
    Analyzer {
        name: "python-requirements",
        selector: Selector::Path(python::wants_requirements),
        needs_os: false,
        analyze: python::analyze_requirements,
    },
    Analyzer {
        name: "poetry-lock",
        selector: Selector::Path(python::wants_poetry_lock),
        needs_os: false,
        analyze: python::analyze_poetry_lock,
    },
    Analyzer {
        name: "pipfile-lock",
        selector: Selector::Path(python::wants_pipfile_lock),
        needs_os: false,
        analyze: python::analyze_pipfile_lock,
    },
];

/// Whether some analyzer reads the file at `path` (relative to the root, without a leading
/// `/`), decided from the path alone: os-release, package databases, lock files and package
/// manifests. Executables are asked about with [`wants_binary`].
pub fn wants(path: &str) -> bool {
    os_release::wants(path)
        || ANALYZERS
            .iter()
            .any(|a| matches!(a.selector, Selector::Path(w) if w(path)))
}

/// Whether an executable file (`mode` with an execute bit) of `size` bytes is handed over for
/// the binary analyzers: Go build info and `cargo auditable` dependency lists. Between
/// [`MIN_BINARY_SIZE`] and [`MAX_BINARY_SIZE`], and not named like a script (`*.sh`, `*.py`, …);
/// the contents then decide (an ELF header).
pub fn wants_binary(path: &str, size: u64, mode: u32) -> bool {
    const SCRIPTS: [&str; 8] = [".sh", ".py", ".pl", ".rb", ".js", ".txt", ".bash", ".php"];
    let name = file_name(path);
    mode & 0o111 != 0
        && (MIN_BINARY_SIZE..=MAX_BINARY_SIZE).contains(&size)
        && !SCRIPTS.iter().any(|s| name.ends_with(s))
}

/// The packages built into the executable at `path` (Go build info, `cargo auditable`), found
/// in `layer`, with a warning for each part that does not parse. For files read as they stream
/// past rather than kept ([`crate::image::Inspector`]).
pub fn binary_packages(path: &str, data: &[u8], layer: usize) -> (Vec<Package>, Vec<String>) {
    let mut inv = Inventory::default();
    let analyzers: Vec<&Analyzer> = ANALYZERS
        .iter()
        .filter(|a| matches!(a.selector, Selector::Binary(s) if s(data)))
        .collect();
    run(
        &analyzers,
        path,
        data,
        layer,
        &Context::default(),
        &mut inv,
        &mut HashSet::new(),
    );
    (inv.packages, inv.warnings)
}

/// The inventory of a filesystem from its wanted files — `(path relative to the root without a
/// leading '/', contents, layer index)` — on today's date (for the end-of-life flag).
pub fn inventory(files: impl IntoIterator<Item = (String, Vec<u8>, usize)>) -> Inventory {
    inventory_on(files, Date::today())
}

/// [`inventory`], with the date that decides whether the distribution is past its end of life.
pub fn inventory_on(
    files: impl IntoIterator<Item = (String, Vec<u8>, usize)>,
    today: Date,
) -> Inventory {
    let mut inv = Inventory::default();
    let mut os_files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut deferred: Vec<(String, Vec<u8>, usize)> = Vec::new();
    let mut seen = HashSet::new();
    let mut ctx = Context::default();
    for (path, data, layer) in files {
        if os_release::wants(&path) {
            os_files.push((path, data));
            continue;
        }
        let picked = picked(&path, &data);
        if picked.iter().any(|a| a.needs_os) {
            deferred.push((path, data, layer));
            continue;
        }
        run(&picked, &path, &data, layer, &ctx, &mut inv, &mut seen);
    }
    // etc/os-release wins over usr/lib/os-release (usually the same file, linked).
    os_files.sort_by_key(|(p, _)| !p.starts_with("etc/"));
    for (path, data) in &os_files {
        match os_release::parse(data) {
            Ok(info) => {
                if ctx.os.is_none() {
                    inv.os = Some(info.to_model(today));
                    ctx.os = Some(info);
                }
            }
            Err(e) => inv.warnings.push(format!("{path}: os-release: {e}")),
        }
    }
    if ctx.os.is_none()
        && let Some((path, _, _)) = deferred.first()
    {
        inv.warnings.push(format!(
            "{path}: no os-release: the distribution's packages carry no release"
        ));
    }
    for (path, data, layer) in &deferred {
        let picked = picked(path, data);
        run(&picked, path, data, *layer, &ctx, &mut inv, &mut seen);
    }
    inv
}

/// The analyzers that read this file.
fn picked(path: &str, data: &[u8]) -> Vec<&'static Analyzer> {
    let by_path: Vec<_> = ANALYZERS
        .iter()
        .filter(|a| matches!(a.selector, Selector::Path(w) if w(path)))
        .collect();
    if !by_path.is_empty() {
        return by_path;
    }
    ANALYZERS
        .iter()
        .filter(|a| matches!(a.selector, Selector::Binary(s) if s(data)))
        .collect()
}

fn run(
    analyzers: &[&Analyzer],
    path: &str,
    data: &[u8],
    layer: usize,
    ctx: &Context,
    inv: &mut Inventory,
    seen: &mut HashSet<(Ecosystem, String, String, String)>,
) {
    for a in analyzers {
        match (a.analyze)(path, data, layer, ctx) {
            Ok(packages) => {
                for p in packages {
                    let key = (
                        p.ecosystem.clone(),
                        p.name.clone(),
                        p.version.clone(),
                        p.path.clone(),
                    );
                    if seen.insert(key) {
                        inv.packages.push(p);
                    }
                }
            }
            Err(e) => inv.warnings.push(format!("{path}: {}: {e}", a.name)),
        }
    }
}

/// A package found at `path` in `layer`, without a source package.
fn package(ecosystem: Ecosystem, name: &str, version: &str, path: &str, layer: usize) -> Package {
    Package {
        ecosystem,
        name: name.to_owned(),
        version: version.to_owned(),
        source_name: None,
        source_version: None,
        path: path.to_owned(),
        layer: Some(layer),
    }
}

/// The last component of a path.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
