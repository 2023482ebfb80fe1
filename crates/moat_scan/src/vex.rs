//! OpenVEX documents (<https://github.com/openvex/spec>): statements by a product's maintainers
//! that a vulnerability does not affect it (`not_affected`, with a justification) or is
//! `fixed` in it. A scan takes such a statement as an ignore: the advisory is left out of the
//! report and listed with the statement.
//!
//! A statement applies to an advisory when its vulnerability (`name`, `@id` or one of its
//! `aliases`; a plain string in older documents) is the advisory's id or one of its aliases,
//! and one of its products is
//! - an installed package: a package URL compared without qualifiers, and with the version
//!   only when the statement gives one (`pkg:deb/debian/zlib1g` is every version); or
//! - the image itself (`pkg:oci/NAME…`, `pkg:docker/NAME…`, or the name or reference the scan
//!   was given), narrowed to the packages its `subcomponents` name when it has any.
//!
//! `affected` and `under_investigation` statements change nothing.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

/// One statement that takes advisories out of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// The vulnerability's name and aliases.
    pub vulnerability: Vec<String>,
    /// Product identifiers (`@id`, package URLs or image names).
    pub products: Vec<String>,
    /// Subcomponents of the products (package URLs).
    pub subcomponents: Vec<String>,
    /// `not_affected` or `fixed`.
    pub status: String,
    /// Why it is not affected, when said.
    pub justification: Option<String>,
    /// The impact statement, when said.
    pub impact_statement: Option<String>,
    /// The document it comes from.
    pub document: String,
}

/// The statements of an OpenVEX document that take advisories out (`not_affected`, `fixed`).
pub fn read(path: &Path) -> Result<Vec<Statement>, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, &path.display().to_string()).map_err(|e| format!("{}: {e}", path.display()))
}

/// [`read`] on a document's bytes; `name` is how statements cite it.
pub fn parse(bytes: &[u8], name: &str) -> Result<Vec<Statement>, String> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("not JSON: {e} (line {}, column {})", e.line(), e.column()))?;
    let context = doc
        .get("@context")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !context.starts_with("https://openvex.dev/ns") {
        return Err("not an OpenVEX document (its @context is not https://openvex.dev/ns…)".into());
    }
    let statements = doc
        .get("statements")
        .and_then(Value::as_array)
        .ok_or("no `statements` list")?;
    let mut out = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        let at = |what: &str| format!("statements[{i}]: {what}");
        let status = s
            .get("status")
            .and_then(Value::as_str)
            .ok_or_else(|| at("no `status`"))?;
        match status {
            "not_affected" | "fixed" => {}
            "affected" | "under_investigation" => continue,
            other => return Err(at(&format!("unknown status `{other}`"))),
        }
        let vulnerability = match s.get("vulnerability") {
            Some(Value::String(v)) => vec![v.clone()],
            Some(v @ Value::Object(_)) => {
                let mut names: Vec<String> = ["name", "@id"]
                    .iter()
                    .filter_map(|k| v.get(*k).and_then(Value::as_str))
                    .map(str::to_string)
                    .collect();
                if let Some(aliases) = v.get("aliases").and_then(Value::as_array) {
                    names.extend(aliases.iter().filter_map(Value::as_str).map(str::to_string));
                }
                names
            }
            _ => Vec::new(),
        };
        if vulnerability.is_empty() {
            return Err(at("no `vulnerability` name"));
        }
        let ids = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|p| match p {
                            Value::String(s) => Some(s.clone()),
                            Value::Object(_) => p
                                .get("@id")
                                .and_then(Value::as_str)
                                .map(str::to_string)
                                .or_else(|| {
                                    p.pointer("/identifiers/purl")
                                        .and_then(Value::as_str)
                                        .map(str::to_string)
                                }),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let products = ids(s.get("products"));
        let mut subcomponents = ids(s.get("subcomponents"));
        if let Some(list) = s.get("products").and_then(Value::as_array) {
            for p in list {
                subcomponents.extend(ids(p.get("subcomponents")));
            }
        }
        if products.is_empty() {
            return Err(at("no `products`"));
        }
        let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
        out.push(Statement {
            vulnerability,
            products,
            subcomponents,
            status: status.to_string(),
            justification: text("justification"),
            impact_statement: text("impact_statement"),
            document: name.to_string(),
        });
    }
    Ok(out)
}

/// `pkg:type/namespace/name@version?qualifiers#subpath` → (`pkg:type/namespace/name`,
/// version), percent-escapes of the version decoded.
fn split_purl(purl: &str) -> (&str, Option<String>) {
    let purl = purl.split(['?', '#']).next().unwrap_or_default();
    match purl.rsplit_once('@') {
        // an `@` inside the name part is `%40`-escaped, so the last one starts the version
        Some((base, version)) if !base.is_empty() => (base, Some(decode(version))),
        _ => (purl, None),
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the package URL `pattern` names the package `purl`: same type, namespace and name,
/// and the same version when the pattern has one.
pub fn purl_matches(pattern: &str, purl: &str) -> bool {
    let (pb, pv) = split_purl(pattern);
    let (b, v) = split_purl(purl);
    pb.eq_ignore_ascii_case(b) && pv.is_none_or(|pv| v.is_some_and(|v| v == pv))
}

/// Whether `product` names the image scanned, known by `names` (what the user typed, the
/// reference the source gave).
fn names_image(product: &str, names: &[&str]) -> bool {
    let repo = |r: &str| -> String {
        // `registry/ns/app:1.2@sha256:…` → `app`
        let r = r.split('@').next().unwrap_or_default();
        let last = r.rsplit('/').next().unwrap_or_default();
        last.split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    if let Some(rest) = product
        .strip_prefix("pkg:oci/")
        .or_else(|| product.strip_prefix("pkg:docker/"))
    {
        let (base, _) = split_purl(rest);
        let name = base
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        return names.iter().any(|n| repo(n) == name);
    }
    names.contains(&product)
}

impl Statement {
    /// Whether the statement speaks of the advisory `id` (with `aliases`).
    pub fn names_advisory(&self, id: &str, aliases: &[String]) -> bool {
        self.vulnerability
            .iter()
            .any(|v| v == id || aliases.contains(v))
    }

    /// Whether it covers the installed package `purl` of the image known by `names`.
    pub fn covers(&self, purl: &str, names: &[&str]) -> bool {
        self.products.iter().any(|p| {
            if p.starts_with("pkg:") && !names_image(p, names) {
                return purl_matches(p, purl);
            }
            names_image(p, names)
                && (self.subcomponents.is_empty()
                    || self.subcomponents.iter().any(|s| purl_matches(s, purl)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{
      "@context": "https://openvex.dev/ns/v0.2.0",
      "@id": "https://example.com/vex/1",
      "author": "API team",
      "timestamp": "2026-11-30T10:00:00Z",
      "version": 1,
      "statements": [
        {"vulnerability": {"name": "CVE-2026-27171", "aliases": ["DEBIAN-CVE-2026-27171"]},
         "products": [{"@id": "pkg:oci/debian-api", "subcomponents": [{"@id": "pkg:deb/debian/zlib1g"}]}],
         "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
        {"vulnerability": {"name": "RUSTSEC-2021-0003"},
         "products": [{"@id": "pkg:cargo/smallvec@0.6.10"}],
         "status": "fixed"},
        {"vulnerability": "RUSTSEC-2022-0013",
         "products": ["pkg:cargo/regex@1.5.4"],
         "status": "under_investigation"}
      ]
    }"#;

    #[test]
    fn statements_that_take_advisories_out() {
        let s = parse(DOC.as_bytes(), "vex.json").unwrap();
        assert_eq!(s.len(), 2, "under_investigation changes nothing");
        assert_eq!(
            s[0].vulnerability,
            ["CVE-2026-27171", "DEBIAN-CVE-2026-27171"]
        );
        assert_eq!(s[0].subcomponents, ["pkg:deb/debian/zlib1g"]);
        let names = ["moat-scan-fixture/debian-api:1"];
        let zlib = "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?distro=debian-12";
        assert!(s[0].names_advisory("DEBIAN-CVE-2026-27171", &[]));
        assert!(s[0].names_advisory("X", &["CVE-2026-27171".to_string()]));
        assert!(s[0].covers(zlib, &names));
        assert!(!s[0].covers("pkg:deb/debian/libc6@2.36", &names));
        assert!(!s[0].covers(zlib, &["other-image:1"]), "another image");
        assert!(s[1].covers("pkg:cargo/smallvec@0.6.10", &names));
        assert!(
            !s[1].covers("pkg:cargo/smallvec@0.6.9", &names),
            "another version"
        );
    }

    #[test]
    fn purls() {
        assert!(purl_matches(
            "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1",
            "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?distro=debian-12"
        ));
        assert!(purl_matches(
            "pkg:npm/%40scope/a",
            "pkg:npm/%40scope/a@1.0.0"
        ));
        assert!(!purl_matches(
            "pkg:npm/%40scope/a",
            "pkg:npm/%40scope/ab@1.0.0"
        ));
        assert!(!purl_matches("pkg:npm/a@1.0.0", "pkg:npm/a"));
        assert_eq!(decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn bad_documents() {
        let e = parse(b"{", "v").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        let e = parse(br#"{"@context": "https://example.com"}"#, "v").unwrap_err();
        assert!(e.contains("not an OpenVEX document"), "{e}");
        let e = parse(
            br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "maybe", "vulnerability": "X", "products": ["p"]}]}"#,
            "v",
        )
        .unwrap_err();
        assert!(e.contains("statements[0]: unknown status `maybe`"), "{e}");
        let e = parse(
            br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "fixed", "vulnerability": "X"}]}"#,
            "v",
        )
        .unwrap_err();
        assert!(e.contains("no `products`"), "{e}");
    }
}
