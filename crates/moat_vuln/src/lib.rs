//! moat's advisory database and matching, offline.
//!
//! - [`version`]: one total order per ecosystem (dpkg, apk, SemVer with Go's forms, PEP 440);
//! - [`osv`] and [`alpine`]: OSV records and Alpine secdb files, converted to [`Advisory`];
//! - [`Database`]: one local redb file built by `moat db import` from OSV folders, OSV
//!   `all.zip` exports and secdb files, looked up by (ecosystem, package), with its metadata
//!   and a maximum age;
//! - [`match_package`]: the advisories that apply to one [`Query`] (ecosystem, package,
//!   version), with the fixed versions and the severity.
//!
//! ```no_run
//! # fn main() -> Result<(), moat_vuln::Error> {
//! let db = moat_vuln::Database::open(std::path::Path::new("advisories.db"))?;
//! for advisory in db.lookup("crates.io", "openssl")? {
//!     println!("{}: {}", advisory.id, advisory.summary);
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod advisory;
pub mod alpine;
pub mod db;
mod error;
mod matching;
pub mod osv;
pub mod severity;
pub mod version;

pub use advisory::{Advisory, Affected, Event, FixStatus, Range, RangeKind, Verdict};
pub use db::{Database, Metadata, Source, SourceKind, default_path, parse_duration};
pub use error::{Error, OFFLINE_HOWTO};
pub use matching::{Match, Query, match_package};
pub use severity::{Band, Severity, SeveritySource};
pub use version::Scheme;
