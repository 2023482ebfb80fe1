//! What a scan reports and when it fails: severities shown, unfixed advisories, the threshold
//! of the exit code, and ignores with a reason and an expiry date — from the `[scan]` table of
//! `.moat.toml` and the command line (which wins).
//!
//! ```toml
//! [scan]
//! fail-on = "high"              # lowest severity that makes the exit code 1
//! severity = ["critical", "high", "medium"]   # bands shown (default: all)
//! ignore-unfixed = true
//! secrets = true                # false: do not search for secrets
//!
//! [[scan.ignore]]
//! id = "CVE-2011-3374"          # an advisory id or one of its aliases
//! package = "apt"               # optional: only for this package (binary or source name)
//! reason = "apt-key is not used at run time"   # required
//! expires = 2027-06-30          # optional; after that day the ignore no longer applies
//! ```

use std::path::Path;

use moat_vuln::{Band, FixStatus};
use serde::{Deserialize, Serialize};

use crate::analyze::Date;
use crate::cyclonedx::purl;
use crate::model::Inventory;
use crate::scan::Vulnerability;
use crate::vex::Statement;

/// One ignore entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignore {
    /// Advisory id or alias.
    pub id: String,
    /// Package (binary or source name), when the ignore is limited to one.
    pub package: Option<String>,
    /// Why.
    pub reason: String,
    /// The last day it applies.
    #[serde(serialize_with = "ser_date")]
    pub expires: Option<Date>,
}

#[allow(clippy::ref_option)] // serde's serialize_with passes a reference
fn ser_date<S: serde::Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&format_date(*d)),
        None => s.serialize_none(),
    }
}

/// `2027-06-30`.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// `YYYY-MM-DD`, a real day.
pub fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days_in_month)
        .contains(&day)
        .then_some(Date::new(year, month, day))
}

/// What to report and when to fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Bands shown; `None`: all.
    pub severities: Option<Vec<Band>>,
    /// Leave out advisories with no fixed version.
    pub ignore_unfixed: bool,
    /// The lowest band that makes the exit code 1 (secrets count as high).
    pub fail_on: Band,
    /// Search for secrets.
    pub secrets: bool,
    /// Ignore entries.
    pub ignores: Vec<Ignore>,
    /// OpenVEX statements that take advisories out (`--vex`).
    pub vex: Vec<Statement>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            severities: None,
            ignore_unfixed: false,
            fail_on: Band::Unknown,
            secrets: true,
            ignores: Vec::new(),
            vex: Vec::new(),
        }
    }
}

/// A band by name, as written on the command line or in the config (`critical`, `high`,
/// `medium`, `low`, `none`, `unknown`).
pub fn parse_band(word: &str) -> Result<Band, String> {
    match word.trim().to_ascii_lowercase().as_str() {
        "unknown" => Ok(Band::Unknown),
        w => Band::of_word(w).ok_or_else(|| {
            format!("unknown severity `{word}` (critical, high, medium, low, none, unknown)")
        }),
    }
}

#[derive(Debug, Default, Deserialize)]
struct RawFile {
    #[serde(default)]
    scan: RawScan,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawScan {
    fail_on: Option<String>,
    severity: Option<Vec<String>>,
    ignore_unfixed: Option<bool>,
    secrets: Option<bool>,
    #[serde(default)]
    ignore: Vec<RawIgnore>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawIgnore {
    id: String,
    package: Option<String>,
    reason: Option<String>,
    expires: Option<toml::Value>,
}

impl Policy {
    /// The `[scan]` table of the config file at `path` (other tables are the audit's).
    pub fn from_file(path: &Path) -> Result<Policy, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Policy::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The `[scan]` table of a config file's text.
    pub fn from_toml(text: &str) -> Result<Policy, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| one_line(&e.to_string()))?;
        let raw = raw.scan;
        let mut policy = Policy::default();
        if let Some(f) = raw.fail_on {
            policy.fail_on = parse_band(&f).map_err(|e| format!("scan.fail-on: {e}"))?;
        }
        if let Some(list) = raw.severity {
            let bands = list
                .iter()
                .map(|w| parse_band(w))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("scan.severity: {e}"))?;
            policy.severities = Some(bands);
        }
        policy.ignore_unfixed = raw.ignore_unfixed.unwrap_or(false);
        policy.secrets = raw.secrets.unwrap_or(true);
        for (i, ig) in raw.ignore.into_iter().enumerate() {
            let at = format!("scan.ignore[{i}] ({})", ig.id);
            let reason = ig
                .reason
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| format!("{at}: `reason` is required: say why it is ignored"))?;
            let expires = match ig.expires {
                None => None,
                Some(toml::Value::Datetime(d)) => Some(
                    parse_date(&d.to_string())
                        .ok_or_else(|| format!("{at}: `expires` must be a day (2027-06-30)"))?,
                ),
                Some(toml::Value::String(s)) => Some(parse_date(&s).ok_or_else(|| {
                    format!("{at}: `expires` must be a day (2027-06-30), not `{s}`")
                })?),
                Some(other) => {
                    return Err(format!(
                        "{at}: `expires` must be a day (2027-06-30), not a {}",
                        other.type_str()
                    ));
                }
            };
            policy.ignores.push(Ignore {
                id: ig.id,
                package: ig.package,
                reason,
                expires,
            });
        }
        Ok(policy)
    }
}

/// toml's messages span several lines (the source line and a caret): kept, indented.
fn one_line(message: &str) -> String {
    message.trim_end().replace('\n', "\n  ")
}

/// What took a vulnerability out of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppression {
    /// An ignore entry (its index in [`Policy::ignores`]).
    Ignore(usize),
    /// An OpenVEX statement (its index in [`Policy::vex`]).
    Vex(usize),
}

/// The vulnerabilities a policy leaves to report, and what it took out.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// Reported.
    pub shown: Vec<Vulnerability>,
    /// Taken out by an ignore entry or a VEX statement.
    pub ignored: Vec<(Vulnerability, Suppression)>,
    /// Taken out by `severity` or `ignore-unfixed`.
    pub filtered: usize,
    /// Ignore entries past their expiry day (they applied to nothing).
    pub expired: Vec<usize>,
}

impl Policy {
    /// Sorts `vulnerabilities` into shown, ignored and filtered, on `today`, for the image
    /// known by `names` (what the user typed, the reference its source gave; for VEX products).
    pub fn apply(
        &self,
        vulnerabilities: Vec<Vulnerability>,
        inventory: &Inventory,
        names: &[&str],
        today: Date,
    ) -> Applied {
        let mut out = Applied {
            expired: (0..self.ignores.len())
                .filter(|&i| self.ignores[i].expires.is_some_and(|e| e < today))
                .collect(),
            ..Applied::default()
        };
        for v in vulnerabilities {
            let a = &v.advisory;
            let ignore = self.ignores.iter().enumerate().position(|(i, ig)| {
                !out.expired.contains(&i)
                    && (ig.id == a.id || a.aliases.contains(&ig.id))
                    && ig.package.as_ref().is_none_or(|p| {
                        *p == a.package
                            || v.packages.iter().any(|&k| inventory.packages[k].name == *p)
                    })
            });
            if let Some(i) = ignore {
                out.ignored.push((v, Suppression::Ignore(i)));
                continue;
            }
            let vex = self.vex.iter().position(|s| {
                s.names_advisory(&a.id, &a.aliases)
                    && v.packages
                        .iter()
                        .any(|&k| s.covers(&purl(&inventory.packages[k]), names))
            });
            if let Some(i) = vex {
                out.ignored.push((v, Suppression::Vex(i)));
                continue;
            }
            let band_shown = self
                .severities
                .as_ref()
                .is_none_or(|s| s.contains(&a.severity.band));
            if !band_shown || (self.ignore_unfixed && a.status == FixStatus::Unfixed) {
                out.filtered += 1;
                continue;
            }
            out.shown.push(v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("2027-06-30"), Some(Date::new(2027, 6, 30)));
        assert_eq!(parse_date("2028-02-29"), Some(Date::new(2028, 2, 29)));
        assert_eq!(parse_date("2027-02-29"), None);
        assert_eq!(parse_date("2027-13-01"), None);
        assert_eq!(parse_date("27-1"), None);
        assert_eq!(format_date(Date::new(2027, 1, 5)), "2027-01-05");
    }

    #[test]
    fn config_table() {
        let p = Policy::from_toml(
            r#"
fail-on = "high"   # the audit's own key, not read here
[rules]
disable = ["D001"]
[scan]
fail-on = "medium"
severity = ["critical", "HIGH"]
ignore-unfixed = true
[[scan.ignore]]
id = "CVE-2011-3374"
package = "apt"
reason = "not used at run time"
expires = 2027-06-30
[[scan.ignore]]
id = "RUSTSEC-2020-0071"
reason = "no local time calls"
expires = "2026-01-01"
"#,
        )
        .unwrap();
        assert_eq!(p.fail_on, Band::Medium);
        assert_eq!(p.severities, Some(vec![Band::Critical, Band::High]));
        assert!(p.ignore_unfixed && p.secrets);
        assert_eq!(p.ignores[0].expires, Some(Date::new(2027, 6, 30)));
        assert_eq!(p.ignores[1].expires, Some(Date::new(2026, 1, 1)));
        assert_eq!(p.ignores[1].package, None);
        // no [scan] table: the defaults
        assert_eq!(
            Policy::from_toml("fail-on = \"low\"\n").unwrap(),
            Policy::default()
        );
    }

    #[test]
    fn config_errors_say_where_and_what() {
        let e = Policy::from_toml("[scan]\nfail-on = \"severe\"\n").unwrap_err();
        assert!(e.contains("unknown severity `severe`"), "{e}");
        let e = Policy::from_toml("[scan]\nfial-on = \"high\"\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("fial-on"), "{e}");
        let e = Policy::from_toml("[[scan.ignore]]\nid = \"X\"\n").unwrap_err();
        assert!(e.contains("`reason` is required"), "{e}");
        let e =
            Policy::from_toml("[[scan.ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = \"soon\"\n")
                .unwrap_err();
        assert!(e.contains("must be a day"), "{e}");
        let e = Policy::from_toml("[scan\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }
}
