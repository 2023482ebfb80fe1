//! The inventory of an image: every package found, where, and from which layer.

use serde::Serialize;

/// Where a package's versions and advisories come from: an OSV ecosystem name, with the
/// distribution release for OS packages (`Debian:12`, `Alpine:v3.19`), as OSV spells them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "release")]
pub enum Ecosystem {
    /// A Debian package (`var/lib/dpkg/status`), with the release (`12`).
    Debian(String),
    /// An Ubuntu package, with the release (`22.04`).
    Ubuntu(String),
    /// An Alpine package (`lib/apk/db/installed`), with the release branch (`v3.19`).
    Alpine(String),
    /// An RPM package (`rpmdb.sqlite`), with the distribution's os-release `ID` and release
    /// (`rocky:9.3`, `rhel:9.4`, `opensuse-leap:15.5`); [`Ecosystem::osv_name`] gives the OSV
    /// ecosystem its advisories use. Empty when the image has no os-release.
    Rpm(String),
    /// A Rust crate (`Cargo.lock`, `cargo auditable` binaries): OSV `crates.io`.
    CratesIo,
    /// A Go module (binaries' build info): OSV `Go`.
    Go,
    /// An npm package: OSV `npm`.
    Npm,
    /// A Python distribution: OSV `PyPI`.
    PyPi,
}

impl Ecosystem {
    /// The OSV ecosystem name (`Debian:12`, `Alpine:v3.19`, `crates.io`, `Go`, `npm`, `PyPI`;
    /// for RPM distributions, see [`rpm_osv_name`]).
    pub fn osv_name(&self) -> String {
        match self {
            Ecosystem::Debian(r) => format!("Debian:{r}"),
            Ecosystem::Ubuntu(r) => format!("Ubuntu:{r}"),
            Ecosystem::Alpine(r) => format!("Alpine:{r}"),
            Ecosystem::Rpm(distro) => rpm_osv_name(distro),
            Ecosystem::CratesIo => "crates.io".into(),
            Ecosystem::Go => "Go".into(),
            Ecosystem::Npm => "npm".into(),
            Ecosystem::PyPi => "PyPI".into(),
        }
    }

    /// The package-URL type (`deb`, `apk`, `cargo`, `golang`, `npm`, `pypi`, `rpm`).
    pub fn purl_type(&self) -> &'static str {
        match self {
            Ecosystem::Debian(_) | Ecosystem::Ubuntu(_) => "deb",
            Ecosystem::Alpine(_) => "apk",
            Ecosystem::Rpm(_) => "rpm",
            Ecosystem::CratesIo => "cargo",
            Ecosystem::Go => "golang",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPi => "pypi",
        }
    }
}

/// The OSV ecosystem of an RPM distribution's advisories, from `<os-release ID>:<release>`
/// (the ecosystems and their release suffixes as the OSV schema lists them,
/// <https://ossf.github.io/osv-schema/#affectedpackage-field>):
///
/// | `ID` | OSV | example |
/// |---|---|---|
/// | `rocky` | `Rocky Linux:<major>` | `rocky:9.3` → `Rocky Linux:9` |
/// | `almalinux` | `AlmaLinux:<major>` | `almalinux:9.4` → `AlmaLinux:9` |
/// | `rhel` | `Red Hat:enterprise_linux:<major>::baseos` | `rhel:9.4` → `Red Hat:enterprise_linux:9::baseos` |
/// | `opensuse-leap` | `openSUSE:Leap <release>` | `opensuse-leap:15.5` → `openSUSE:Leap 15.5` |
/// | `opensuse-tumbleweed` | `openSUSE:Tumbleweed` | |
/// | `sles` | `SUSE:Linux Enterprise Server <major>[ SP<minor>]` | `sles:15.5` → `SUSE:Linux Enterprise Server 15 SP5` |
/// | `mageia` | `Mageia:<release>` | `mageia:9` → `Mageia:9` |
/// | `openEuler` | `openEuler:<release>` | `openEuler:22.03-LTS-SP3` |
/// | `photon` | `Photon OS:<release>` | `photon:5.0` → `Photon OS:5.0` |
///
/// Red Hat scopes each advisory to one repository stream (`…::baseos`, `…::appstream`) and the
/// rpm database does not record which one a package came from: only BaseOS advisories are
/// looked up. Other distributions (Fedora, CentOS, Oracle Linux, Amazon Linux) have no OSV
/// ecosystem; their name stays `<ID>:<release>`, which no advisory uses.
pub fn rpm_osv_name(distro: &str) -> String {
    let (id, release) = distro.split_once(':').unwrap_or((distro, ""));
    let mut numbers = release.split('.');
    let major = numbers.next().unwrap_or_default();
    let minor = numbers.next().filter(|m| !m.is_empty() && *m != "0");
    match id {
        "rocky" => format!("Rocky Linux:{major}"),
        "almalinux" => format!("AlmaLinux:{major}"),
        "rhel" => format!("Red Hat:enterprise_linux:{major}::baseos"),
        "opensuse-leap" => format!("openSUSE:Leap {release}"),
        "opensuse-tumbleweed" => "openSUSE:Tumbleweed".into(),
        "sles" => match minor {
            Some(sp) => format!("SUSE:Linux Enterprise Server {major} SP{sp}"),
            None => format!("SUSE:Linux Enterprise Server {major}"),
        },
        "mageia" => format!("Mageia:{release}"),
        "openEuler" => format!("openEuler:{release}"),
        "photon" => format!("Photon OS:{release}"),
        _ => distro.to_owned(),
    }
}

/// One package of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    /// Ecosystem (and release, for OS packages).
    pub ecosystem: Ecosystem,
    /// Name as the ecosystem spells it (`libssl3`, `serde`, `golang.org/x/net`).
    pub name: String,
    /// Version as installed (`3.0.11-1~deb12u2`, `1.0.197`, `v0.17.0`).
    pub version: String,
    /// For OS packages, the source package it was built from (`openssl`), which distributions'
    /// advisories name; `None` when it is the package itself.
    pub source_name: Option<String>,
    /// The source package's version, when it differs from `version` (binNMUs: `1.2-3+b1` built
    /// from source `1.2-3`).
    pub source_version: Option<String>,
    /// The file the package was found in (`var/lib/dpkg/status`, `app/Cargo.lock`,
    /// `usr/local/bin/api`), relative to the image root, without a leading `/`.
    pub path: String,
    /// Index of the layer that introduced it (0 = the first layer), when known.
    pub layer: Option<usize>,
}

/// The distribution an image is built on (`etc/os-release`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsRelease {
    /// `ID` (`debian`, `alpine`, `ubuntu`).
    pub id: String,
    /// `VERSION_ID` (`12`, `3.19.1`).
    pub version_id: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
    /// Past its end of life, when known (no more security fixes).
    pub end_of_life: Option<bool>,
}

/// Everything found in an image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// The distribution, when the image has `etc/os-release`.
    pub os: Option<OsRelease>,
    /// Every package, in the order found.
    pub packages: Vec<Package>,
    /// Layer digests (`sha256:…`), in order, when the source has layers.
    pub layers: Vec<String>,
    /// Files that could not be read as what they claim to be, with why (an inventory goes on
    /// without them).
    pub warnings: Vec<String>,
}
