//! Alpine's security database ("secdb"): per release and repository, each package's `secfixes`,
//! a map from the version that fixed something to the CVE ids it fixed. Read from the YAML
//! files of the historical alpine-secdb repository (`v3.N/main.yaml`) and from the JSON Alpine
//! publishes today (the same shape).
//!
//! `V: [CVE-…]` means every version below `V` (apk order) is affected by those CVEs; a fixed
//! version `0` means the release was never affected. Each (CVE, package) becomes one
//! [`Advisory`] in ecosystem `Alpine:v3.N`, named by the package as secdb names it: the origin
//! (source) package.

use std::collections::BTreeMap;

use saphyr_parser::{Event as YamlEvent, Parser, ScalarStyle};
use serde_json::Value;

use crate::advisory::{Advisory, Affected, Event, Range, RangeKind, normalise_ecosystem};
use crate::severity::Severity;

/// One secdb file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecDb {
    /// `distroversion` (`v3.11`).
    pub distroversion: String,
    /// `reponame` (`main`, `community`), when given.
    pub reponame: Option<String>,
    /// The packages with their fixes.
    pub packages: Vec<SecDbPackage>,
}

/// One package of a secdb file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecDbPackage {
    /// The origin package's name.
    pub name: String,
    /// `(fixed version, ids)` in file order.
    pub secfixes: Vec<(String, Vec<String>)>,
}

/// Deepest nesting a secdb file may have (it needs 5).
const MAX_DEPTH: usize = 32;

impl SecDb {
    /// Reads the YAML form.
    pub fn from_yaml(text: &str) -> Result<SecDb, String> {
        SecDb::from_value(&yaml_to_value(text)?)
    }

    /// Reads the JSON form.
    pub fn from_json(bytes: &[u8]) -> Result<SecDb, String> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
        SecDb::from_value(&value)
    }

    fn from_value(v: &Value) -> Result<SecDb, String> {
        let root = v
            .as_object()
            .ok_or("not a secdb file: the top level is not a mapping")?;
        let distroversion = root
            .get("distroversion")
            .and_then(scalar)
            .ok_or("not a secdb file: no `distroversion`")?;
        let reponame = root.get("reponame").and_then(scalar);
        let mut packages = Vec::new();
        let list = match root.get("packages") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(items)) => items.as_slice(),
            Some(_) => return Err("`packages` is not a list".into()),
        };
        for (i, item) in list.iter().enumerate() {
            let pkg = item
                .get("pkg")
                .and_then(Value::as_object)
                .ok_or_else(|| format!("packages[{i}] has no `pkg` mapping"))?;
            let name = pkg
                .get("name")
                .and_then(scalar)
                .ok_or_else(|| format!("packages[{i}].pkg has no `name`"))?;
            let mut secfixes = Vec::new();
            match pkg.get("secfixes") {
                None | Some(Value::Null) => {}
                Some(Value::Object(map)) => {
                    for (version, ids) in map {
                        let ids = match ids {
                            Value::Null => Vec::new(),
                            Value::Array(ids) => ids.iter().filter_map(scalar).collect(),
                            other => scalar(other).into_iter().collect(),
                        };
                        secfixes.push((version.trim().to_owned(), ids));
                    }
                }
                Some(_) => {
                    return Err(format!(
                        "packages[{i}] ({name}): `secfixes` is not a mapping"
                    ));
                }
            }
            packages.push(SecDbPackage { name, secfixes });
        }
        Ok(SecDb {
            distroversion,
            reponame,
            packages,
        })
    }

    /// The OSV ecosystem of this file's release (`Alpine:v3.11`).
    pub fn ecosystem(&self) -> String {
        normalise_ecosystem(&format!("Alpine:{}", self.distroversion))
    }

    /// One advisory per (id, package); fixed versions `0` (never affected) are left out.
    pub fn into_advisories(self) -> Vec<Advisory> {
        let ecosystem = self.ecosystem();
        let mut out = Vec::new();
        for pkg in self.packages {
            // id → (other names of it, fixed versions)
            let mut by_id: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
            for (version, entries) in &pkg.secfixes {
                if version == "0" || version.is_empty() {
                    continue;
                }
                for entry in entries {
                    // entries are usually one id, sometimes `CVE-… XSA-…` or an id and a note
                    let mut tokens = entry.split_whitespace();
                    let Some(id) = tokens.next() else { continue };
                    let slot = by_id.entry(id.to_owned()).or_default();
                    for t in
                        tokens.filter(|t| t.contains('-') && t.chars().any(|c| c.is_ascii_digit()))
                    {
                        if !slot.0.iter().any(|a| a == t) {
                            slot.0.push(t.to_owned());
                        }
                    }
                    if !slot.1.contains(version) {
                        slot.1.push(version.clone());
                    }
                }
            }
            for (id, (aliases, fixed)) in by_id {
                let summary = format!("{id}: fixed in {} {}", pkg.name, fixed.join(", "));
                let ranges = fixed
                    .into_iter()
                    .map(|f| Range {
                        kind: RangeKind::Ecosystem,
                        events: vec![Event::Introduced("0".into()), Event::Fixed(f)],
                    })
                    .collect();
                out.push(Advisory {
                    id,
                    aliases,
                    summary,
                    modified: None,
                    published: None,
                    severity: Severity::unknown(),
                    affected: vec![Affected {
                        ecosystem: ecosystem.clone(),
                        name: pkg.name.clone(),
                        ranges,
                        versions: Vec::new(),
                        severity: None,
                        informational: None,
                    }],
                });
            }
        }
        out
    }
}

/// A scalar as a string (numbers included: `0`, `1.2`).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads a YAML document into a JSON value: mappings, sequences and scalars (every scalar is a
/// string but `~`/`null`/empty, which are null). Anchors and aliases are refused (secdb files
/// have none), and so is nesting deeper than [`MAX_DEPTH`].
fn yaml_to_value(text: &str) -> Result<Value, String> {
    enum Frame {
        Seq(Vec<Value>),
        Map(serde_json::Map<String, Value>, Option<String>),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    for next in Parser::new_from_str(text) {
        let (event, span) = next.map_err(|e| {
            format!(
                "invalid YAML at line {}, column {}: {}",
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            )
        })?;
        let value = match event {
            YamlEvent::StreamStart | YamlEvent::Nothing | YamlEvent::DocumentStart(_) => continue,
            YamlEvent::DocumentEnd | YamlEvent::StreamEnd => break,
            YamlEvent::Alias(_) => {
                return Err(format!(
                    "YAML aliases are not supported (line {})",
                    span.start.line()
                ));
            }
            YamlEvent::Scalar(s, style, _, _) => {
                if style == ScalarStyle::Plain
                    && matches!(s.as_ref(), "" | "~" | "null" | "Null" | "NULL")
                {
                    Value::Null
                } else {
                    Value::String(s.into_owned())
                }
            }
            YamlEvent::SequenceStart(_, _) | YamlEvent::MappingStart(_, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("YAML nested too deep (line {})", span.start.line()));
                }
                stack.push(if matches!(event, YamlEvent::SequenceStart(..)) {
                    Frame::Seq(Vec::new())
                } else {
                    Frame::Map(serde_json::Map::new(), None)
                });
                continue;
            }
            YamlEvent::SequenceEnd | YamlEvent::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items)) => Value::Array(items),
                Some(Frame::Map(map, _)) => Value::Object(map),
                None => return Err("unbalanced YAML".into()),
            },
        };
        match stack.last_mut() {
            None => {
                root = Some(value);
            }
            Some(Frame::Seq(items)) => items.push(value),
            Some(Frame::Map(map, key)) => match key.take() {
                None => {
                    let k = match value {
                        Value::String(s) => s,
                        Value::Null => String::new(),
                        _ => {
                            return Err(format!(
                                "a mapping key that is not a scalar (line {})",
                                span.start.line()
                            ));
                        }
                    };
                    *key = Some(k);
                }
                Some(k) => {
                    map.insert(k, value);
                }
            },
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_agree() {
        let yaml = "---\ndistroversion: v3.11\nreponame: main\npackages:\n  - pkg:\n      name: musl\n      secfixes:\n        1.1.23-r2:\n          - CVE-2019-14697\n        0:\n          - CVE-2099-0001\n  - pkg:\n      name: empty\n";
        let json = br#"{"distroversion": "v3.11", "reponame": "main", "packages": [
            {"pkg": {"name": "musl", "secfixes": {"1.1.23-r2": ["CVE-2019-14697"], "0": ["CVE-2099-0001"]}}},
            {"pkg": {"name": "empty"}}]}"#;
        let a = SecDb::from_yaml(yaml).unwrap();
        let b = SecDb::from_json(json).unwrap();
        assert_eq!(a.distroversion, "v3.11");
        assert_eq!(a.packages.len(), 2);
        let mut fa = a.packages[0].secfixes.clone();
        let mut fb = b.packages[0].secfixes.clone();
        fa.sort();
        fb.sort();
        assert_eq!(fa, fb);
        let advisories = a.into_advisories();
        assert_eq!(advisories.len(), 1, "a `0` fix is no advisory");
        let adv = &advisories[0];
        assert_eq!(adv.id, "CVE-2019-14697");
        assert_eq!(adv.affected[0].ecosystem, "Alpine:v3.11");
        assert!(adv.affected[0].evaluate("1.1.23-r1").is_some());
        assert!(adv.affected[0].evaluate("1.1.23-r2").is_none());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(SecDb::from_yaml("distroversion: [").is_err());
        assert!(
            SecDb::from_yaml("- a\n- b\n")
                .unwrap_err()
                .contains("not a mapping")
        );
        assert!(
            SecDb::from_yaml("reponame: main\n")
                .unwrap_err()
                .contains("distroversion")
        );
        assert!(SecDb::from_yaml("a: &x 1\nb: *x\n").is_err());
        assert!(SecDb::from_json(b"{").is_err());
    }
}
