//! Errors, each naming the file it is about.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::db::format_duration;

/// What went wrong with the advisory database or its inputs.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read.
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not what it claims to be (malformed record, truncated zip, bad YAML).
    Invalid {
        /// The file.
        path: PathBuf,
        /// The entry inside an archive, when the problem is there.
        entry: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// An input path that holds nothing moat reads.
    Unrecognised {
        /// The path.
        path: PathBuf,
    },
    /// No database at the path.
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The database is older than allowed.
    Stale {
        /// The database.
        path: PathBuf,
        /// Its age.
        age: Duration,
        /// The maximum allowed.
        max: Duration,
        /// When it was built (RFC 3339).
        built_at: String,
    },
    /// The database file could not be created, written or read.
    Store {
        /// The database.
        path: PathBuf,
        /// What the store said.
        message: String,
    },
}

/// How to get advisory data onto a machine without network access.
pub const OFFLINE_HOWTO: &str = "moat reads advisories offline. On a machine with network access, download the OSV export of each ecosystem you scan \
(https://osv-vulnerabilities.storage.googleapis.com/<ECOSYSTEM>/all.zip, e.g. Debian, Alpine, Ubuntu, crates.io, Go, npm, PyPI), \
copy the zip files here, then run `moat db import Debian.zip Go.zip …` (folders of OSV `<ID>.json` files and Alpine secdb \
`main.yaml`/`main.json` files are read too)";

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read { path, source } => write!(f, "{}: cannot read: {source}", path.display()),
            Error::Invalid {
                path,
                entry: Some(entry),
                message,
            } => write!(f, "{} (entry {entry}): {message}", path.display()),
            Error::Invalid {
                path,
                entry: None,
                message,
            } => write!(f, "{}: {message}", path.display()),
            Error::Unrecognised { path } => write!(
                f,
                "{}: not an OSV record (.json), an OSV export (.zip), an Alpine secdb file (.yaml, .json) or a folder of them",
                path.display()
            ),
            Error::Missing { path } => write!(
                f,
                "no advisory database at {}. {OFFLINE_HOWTO}, or pass --db PATH.",
                path.display()
            ),
            Error::Stale {
                path,
                age,
                max,
                built_at,
            } => write!(
                f,
                "the advisory database {} is stale: built {built_at}, {} ago, more than --max-db-age {}. \
                 Refresh it with `moat db import` from newer OSV exports, or raise --max-db-age.",
                path.display(),
                format_duration(*age),
                format_duration(*max)
            ),
            Error::Store { path, message } => {
                write!(f, "{}: advisory database: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}
