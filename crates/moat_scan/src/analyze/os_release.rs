//! The distribution: `etc/os-release` (or `usr/lib/os-release`), and whether it is past its end
//! of life.
//!
//! The file is a list of `KEY=value` lines; values follow shell quoting (double quotes with `\`
//! escapes of `$ " \ \``, single quotes taken literally, a backslash outside quotes escaping the
//! next character); `#` starts a comment line. `ID` defaults to `linux` when absent.
//!
//! ## End of life
//!
//! [`SUPPORT`] is the table of releases with the last day they receive security fixes from
//! their distribution, each with its public source. Debian counts its LTS period (security
//! fixes for the main architectures go on); Ubuntu counts standard support only (ESM needs a
//! subscription that images do not carry). A release missing from the table has an unknown
//! end of life.

use crate::model::{Ecosystem, OsRelease};

/// A calendar day (proleptic Gregorian, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year (`2026`).
    pub year: i32,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
}

impl Date {
    /// A day.
    pub const fn new(year: i32, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// Today, from the system clock (UTC).
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_unix_days(i64::try_from(secs / 86_400).unwrap_or(0))
    }

    /// The day `days` after 1970-01-01.
    pub fn from_unix_days(days: i64) -> Date {
        // Days to civil date, counting in 400-year eras that start on March 1st.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(year as i32, month, day)
    }
}

/// One release of a distribution and the last day it receives security fixes.
#[derive(Debug, Clone, Copy)]
pub struct Support {
    /// os-release `ID` (`debian`, `alpine`, `ubuntu`).
    pub id: &'static str,
    /// The release as [`OsInfo::release`] gives it (`12`, `v3.19`, `22.04`).
    pub release: &'static str,
    /// The last day of security fixes.
    pub last_day: Date,
    /// Where the date comes from.
    pub source: &'static str,
}

const DEBIAN_LTS: &str = "https://wiki.debian.org/LTS (end of LTS)";
const ALPINE: &str = "https://alpinelinux.org/releases/ (end of support)";
const UBUNTU: &str = "https://ubuntu.com/about/release-cycle (end of standard support; \
     month precision, the last day of the month)";

const fn row(
    id: &'static str,
    release: &'static str,
    last_day: Date,
    source: &'static str,
) -> Support {
    Support {
        id,
        release,
        last_day,
        source,
    }
}

/// Known releases and the end of their security support.
pub const SUPPORT: &[Support] = &[
    row("debian", "7", Date::new(2018, 5, 31), DEBIAN_LTS),
    row("debian", "8", Date::new(2020, 6, 30), DEBIAN_LTS),
    row("debian", "9", Date::new(2022, 6, 30), DEBIAN_LTS),
    row("debian", "10", Date::new(2024, 6, 30), DEBIAN_LTS),
    row("debian", "11", Date::new(2026, 8, 31), DEBIAN_LTS),
    row("debian", "12", Date::new(2028, 6, 30), DEBIAN_LTS),
    row("debian", "13", Date::new(2030, 6, 30), DEBIAN_LTS),
    row("alpine", "v3.3", Date::new(2017, 11, 1), ALPINE),
    row("alpine", "v3.4", Date::new(2018, 5, 1), ALPINE),
    row("alpine", "v3.5", Date::new(2018, 11, 1), ALPINE),
    row("alpine", "v3.6", Date::new(2019, 5, 1), ALPINE),
    row("alpine", "v3.7", Date::new(2019, 11, 1), ALPINE),
    row("alpine", "v3.8", Date::new(2020, 5, 1), ALPINE),
    row("alpine", "v3.9", Date::new(2020, 11, 1), ALPINE),
    row("alpine", "v3.10", Date::new(2021, 5, 1), ALPINE),
    row("alpine", "v3.11", Date::new(2021, 11, 1), ALPINE),
    row("alpine", "v3.12", Date::new(2022, 5, 1), ALPINE),
    row("alpine", "v3.13", Date::new(2022, 11, 1), ALPINE),
    row("alpine", "v3.14", Date::new(2023, 5, 1), ALPINE),
    row("alpine", "v3.15", Date::new(2023, 11, 1), ALPINE),
    row("alpine", "v3.16", Date::new(2024, 5, 23), ALPINE),
    row("alpine", "v3.17", Date::new(2024, 11, 22), ALPINE),
    row("alpine", "v3.18", Date::new(2025, 5, 9), ALPINE),
    row("alpine", "v3.19", Date::new(2025, 11, 1), ALPINE),
    row("alpine", "v3.20", Date::new(2026, 4, 1), ALPINE),
    row("alpine", "v3.21", Date::new(2026, 11, 1), ALPINE),
    row("alpine", "v3.22", Date::new(2027, 5, 1), ALPINE),
    row("alpine", "v3.23", Date::new(2027, 11, 1), ALPINE),
    row("ubuntu", "14.04", Date::new(2019, 4, 30), UBUNTU),
    row("ubuntu", "16.04", Date::new(2021, 4, 30), UBUNTU),
    row("ubuntu", "18.04", Date::new(2023, 5, 31), UBUNTU),
    row("ubuntu", "20.04", Date::new(2025, 5, 31), UBUNTU),
    row("ubuntu", "22.04", Date::new(2027, 4, 30), UBUNTU),
    row("ubuntu", "22.10", Date::new(2023, 7, 31), UBUNTU),
    row("ubuntu", "23.04", Date::new(2024, 1, 31), UBUNTU),
    row("ubuntu", "23.10", Date::new(2024, 7, 31), UBUNTU),
    row("ubuntu", "24.04", Date::new(2029, 4, 30), UBUNTU),
    row("ubuntu", "24.10", Date::new(2025, 7, 31), UBUNTU),
    row("ubuntu", "25.04", Date::new(2026, 1, 31), UBUNTU),
    row("ubuntu", "25.10", Date::new(2026, 7, 31), UBUNTU),
];

/// What the analyzers read from os-release.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsInfo {
    /// `ID` (`debian`), `linux` when absent.
    pub id: String,
    /// `ID_LIKE`, split on spaces (`["debian"]` for a derivative).
    pub id_like: Vec<String>,
    /// `VERSION_ID` (`12`, `3.19.1`).
    pub version_id: Option<String>,
    /// `VERSION_CODENAME` (`bookworm`).
    pub codename: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
}

impl OsInfo {
    /// Whether the distribution is `id` or derives from it (`ID_LIKE`).
    pub fn is_like(&self, id: &str) -> bool {
        self.id == id || self.id_like.iter().any(|l| l == id)
    }

    /// The release as advisories name it: Debian's major version (`12`, or the codename for
    /// testing/unstable without `VERSION_ID`), Alpine's branch (`v3.19`; `edge` for
    /// pre-releases), others' `VERSION_ID`.
    pub fn release(&self) -> Option<String> {
        let version = self.version_id.as_deref();
        match self.id.as_str() {
            "debian" => version
                .map(|v| v.split('.').next().unwrap_or(v).to_owned())
                .or_else(|| self.codename.clone()),
            "alpine" => version.map(alpine_branch),
            _ => version.map(str::to_owned),
        }
    }

    /// The ecosystem of the distribution's dpkg packages: `Ubuntu:<release>` on Ubuntu,
    /// `Debian:<release>` on Debian and its other derivatives.
    pub fn dpkg_ecosystem(&self) -> Ecosystem {
        let release = self.release().unwrap_or_default();
        if self.id == "ubuntu" {
            Ecosystem::Ubuntu(release)
        } else {
            Ecosystem::Debian(release)
        }
    }

    /// The end of security support of this release, when known.
    pub fn support(&self) -> Option<&'static Support> {
        let release = self.release()?;
        SUPPORT
            .iter()
            .find(|s| s.id == self.id && s.release == release)
    }

    /// The model's view on `today`.
    pub fn to_model(&self, today: Date) -> OsRelease {
        OsRelease {
            id: self.id.clone(),
            version_id: self.version_id.clone(),
            pretty_name: self.pretty_name.clone(),
            end_of_life: self.support().map(|s| today > s.last_day),
        }
    }
}

/// Alpine's branch for a `VERSION_ID`: `3.19.1` → `v3.19`; pre-releases (`3.20_alpha20240329`)
/// are `edge`.
fn alpine_branch(version: &str) -> String {
    if version.contains('_') {
        return "edge".into();
    }
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("v{major}.{minor}"),
        _ => format!("v{version}"),
    }
}

/// Whether `path` is an os-release file.
pub fn wants(path: &str) -> bool {
    path == "etc/os-release" || path == "usr/lib/os-release"
}

/// Parses an os-release file.
pub fn parse(data: &[u8]) -> Result<OsInfo, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut info = OsInfo::default();
    let mut assignments = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            return Err(format!("line {}: not KEY=value", n + 1));
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("line {}: bad key {key:?}", n + 1));
        }
        let value = unquote(raw).map_err(|e| format!("line {}: {e}", n + 1))?;
        assignments += 1;
        let value = Some(value).filter(|v| !v.is_empty());
        match key {
            "ID" => info.id = value.unwrap_or_default(),
            "ID_LIKE" => {
                info.id_like = value
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
            }
            "VERSION_ID" => info.version_id = value,
            "VERSION_CODENAME" => info.codename = value,
            "PRETTY_NAME" => info.pretty_name = value,
            _ => {}
        }
    }
    if assignments == 0 {
        return Err("no KEY=value line".into());
    }
    if info.id.is_empty() {
        info.id = "linux".into();
    }
    Ok(info)
}

/// A value with shell quoting removed.
fn unquote(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next() {
                    None => return Err("unterminated double quote".into()),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(e @ ('$' | '"' | '\\' | '`')) => out.push(e),
                        Some(e) => {
                            out.push('\\');
                            out.push(e);
                        }
                        None => return Err("unterminated double quote".into()),
                    },
                    Some(o) => out.push(o),
                }
            },
            '\'' => loop {
                match chars.next() {
                    None => return Err("unterminated single quote".into()),
                    Some('\'') => break,
                    Some(o) => out.push(o),
                }
            },
            '\\' => {
                if let Some(e) = chars.next() {
                    out.push(e);
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_to_dates() {
        assert_eq!(Date::from_unix_days(0), Date::new(1970, 1, 1));
        assert_eq!(Date::from_unix_days(19_782), Date::new(2024, 2, 29));
        assert_eq!(Date::from_unix_days(20_788), Date::new(2026, 12, 1));
        assert_eq!(Date::from_unix_days(-1), Date::new(1969, 12, 31));
    }

    #[test]
    fn quoting() {
        assert_eq!(
            unquote(r#""a \"b\" \$c \\ \x""#).unwrap(),
            r#"a "b" $c \ \x"#
        );
        assert_eq!(unquote(r"'a \b'").unwrap(), r"a \b");
        assert_eq!(unquote(r"plain\ word").unwrap(), "plain word");
        assert!(unquote("\"open").is_err());
    }

    #[test]
    fn every_row_has_a_source_and_a_real_day() {
        for s in SUPPORT {
            assert!(s.source.starts_with("https://"), "{s:?}");
            assert!((1..=12).contains(&s.last_day.month), "{s:?}");
            assert!((1..=31).contains(&s.last_day.day), "{s:?}");
        }
    }
}
