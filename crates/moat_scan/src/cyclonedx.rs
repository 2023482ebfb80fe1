//! The inventory as a CycloneDX 1.6 JSON SBOM, with the vulnerabilities found
//! (<https://cyclonedx.org/docs/1.6/json/>): one component per package with its package URL,
//! and one vulnerability per advisory listing the components it affects.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::model::{Ecosystem, Inventory, Package};

/// A vulnerability to list in the SBOM.
#[derive(Debug, Clone, PartialEq)]
pub struct Vulnerability {
    /// Advisory id (`CVE-2024-1234`, `RUSTSEC-2024-0001`, `GO-2024-0001`, `GHSA-…`).
    pub id: String,
    /// Other ids of the same advisory.
    pub aliases: Vec<String>,
    /// Where the advisory comes from (`OSV`, `Alpine secdb`).
    pub source: String,
    /// One-line description.
    pub summary: Option<String>,
    /// Severity band: `critical`, `high`, `medium`, `low`, `info`, `unknown`.
    pub severity: String,
    /// CVSS base score, when known.
    pub score: Option<f64>,
    /// The CVSS vector the score comes from, when known.
    pub vector: Option<String>,
    /// Versions that fix it.
    pub fixed_versions: Vec<String>,
    /// Indexes of the affected packages in the inventory.
    pub affects: Vec<usize>,
}

/// The package URL of a package (<https://github.com/package-url/purl-spec>):
/// `pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12`, `pkg:cargo/serde@1.0.197`,
/// `pkg:golang/golang.org/x/net@v0.17.0`,
/// `pkg:rpm/rocky/openssl-libs@3.0.7-25.el9_3?distro=rocky-9.3&epoch=1` (the epoch a
/// qualifier, as the purl spec's `rpm` type has it; qualifiers in key order).
pub fn purl(p: &Package) -> String {
    let enc = |s: &str| percent_encode(s);
    match &p.ecosystem {
        Ecosystem::Debian(release) => format!(
            "pkg:deb/debian/{}@{}?distro=debian-{}",
            enc(&p.name),
            enc(&p.version),
            enc(release)
        ),
        Ecosystem::Ubuntu(release) => format!(
            "pkg:deb/ubuntu/{}@{}?distro=ubuntu-{}",
            enc(&p.name),
            enc(&p.version),
            enc(release)
        ),
        Ecosystem::Alpine(release) => format!(
            "pkg:apk/alpine/{}@{}?distro={}",
            enc(&p.name),
            enc(&p.version),
            enc(release.trim_start_matches('v'))
        ),
        Ecosystem::Rpm(distro) => rpm_purl(distro, &p.name, &p.version),
        Ecosystem::CratesIo => format!("pkg:cargo/{}@{}", enc(&p.name), enc(&p.version)),
        // Go module paths keep their slashes as namespace segments
        Ecosystem::Go => format!(
            "pkg:golang/{}@{}",
            p.name.split('/').map(enc).collect::<Vec<_>>().join("/"),
            enc(&p.version)
        ),
        Ecosystem::Npm => match p.name.strip_prefix('@').and_then(|n| n.split_once('/')) {
            Some((scope, name)) => format!(
                "pkg:npm/%40{}/{}@{}",
                enc(scope),
                enc(name),
                enc(&p.version)
            ),
            None => format!("pkg:npm/{}@{}", enc(&p.name), enc(&p.version)),
        },
        Ecosystem::PyPi => format!(
            "pkg:pypi/{}@{}",
            enc(&p.name.to_ascii_lowercase().replace('_', "-")),
            enc(&p.version)
        ),
    }
}

/// An RPM package's purl from its distribution (`rocky:9.3`, see [`Ecosystem::Rpm`]), name
/// and `[epoch:]version-release`. The namespace is the vendor (`rhel` → `redhat`, openSUSE's
/// `opensuse-*` → `opensuse`, `sles` → `suse`, else the os-release `ID`), the `distro`
/// qualifier `<ID>-<release>`; without a distribution, neither.
fn rpm_purl(distro: &str, name: &str, version: &str) -> String {
    let enc = |s: &str| percent_encode(s);
    let (epoch, version) = match version.split_once(':') {
        Some((e, v)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (Some(e), v),
        _ => (None, version),
    };
    let mut qualifiers = Vec::new();
    let namespace = match distro.split_once(':') {
        Some((id, release)) if !id.is_empty() => {
            let id = id.to_ascii_lowercase();
            qualifiers.push(format!("distro={}", enc(&format!("{id}-{release}"))));
            match id.as_str() {
                "rhel" => "redhat/".to_owned(),
                "sles" => "suse/".to_owned(),
                i if i.starts_with("opensuse") => "opensuse/".to_owned(),
                _ => format!("{}/", enc(&id)),
            }
        }
        _ => String::new(),
    };
    if let Some(e) = epoch {
        qualifiers.push(format!("epoch={e}"));
    }
    let mut purl = format!("pkg:rpm/{namespace}{}@{}", enc(name), enc(version));
    if !qualifiers.is_empty() {
        purl.push('?');
        purl.push_str(&qualifiers.join("&"));
    }
    purl
}

/// Percent-encodes what a purl segment may not hold as is (RFC 3986 unreserved characters
/// stay). Written here because the rule is four lines and no purl crate is in the tree.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The SBOM of `inventory` for the image `name`, with `vulnerabilities`; `serial` is the
/// document's UUID (`urn:uuid:…`) and `timestamp` its creation time (RFC 3339), both given by
/// the caller so that the output is reproducible in tests.
pub fn bom(
    name: &str,
    inventory: &Inventory,
    vulnerabilities: &[Vulnerability],
    serial: &str,
    timestamp: &str,
) -> Value {
    let refs: Vec<String> = inventory
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}#{i}", purl(p)))
        .collect();
    let components: Vec<Value> = inventory
        .packages
        .iter()
        .zip(&refs)
        .map(|(p, r)| {
            let mut props = vec![json!({"name": "moat:path", "value": p.path})];
            if let Some(layer) = p.layer {
                props.push(json!({"name": "moat:layer", "value": layer.to_string()}));
            }
            if let Some(src) = &p.source_name {
                props.push(json!({"name": "moat:source-package", "value": src}));
            }
            json!({
                "type": "library",
                "bom-ref": r,
                "name": p.name,
                "version": p.version,
                "purl": purl(p),
                "properties": props,
            })
        })
        .collect();
    let vulns: Vec<Value> = vulnerabilities
        .iter()
        .map(|v| {
            let mut rating = json!({ "severity": severity(&v.severity) });
            if let Some(score) = v.score {
                rating["score"] = json!(score);
                rating["method"] = json!("CVSSv31");
            }
            if let Some(vector) = &v.vector {
                rating["vector"] = json!(vector);
            }
            let mut out = json!({
                "id": v.id,
                "source": { "name": v.source },
                "ratings": [rating],
                "affects": v.affects.iter().filter_map(|i| refs.get(*i)).map(|r| json!({"ref": r})).collect::<Vec<_>>(),
            });
            if !v.aliases.is_empty() {
                out["references"] = v
                    .aliases
                    .iter()
                    .map(|a| json!({"id": a, "source": {"name": "alias"}}))
                    .collect();
            }
            if let Some(s) = &v.summary {
                out["description"] = json!(s);
            }
            if !v.fixed_versions.is_empty() {
                out["recommendation"] = json!(format!("upgrade to {}", v.fixed_versions.join(" or ")));
            }
            out
        })
        .collect();
    let mut component = json!({ "type": "container", "name": name });
    if let Some(os) = &inventory.os {
        component["description"] = json!(os.pretty_name.clone().unwrap_or_else(|| os.id.clone()));
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": { "components": [ { "type": "application", "name": "moat", "version": env!("CARGO_PKG_VERSION") } ] },
            "component": component,
        },
        "components": components,
        "vulnerabilities": vulns,
    })
}

/// CycloneDX's severity names (`critical` … `info`, `none`, `unknown`).
fn severity(band: &str) -> &'static str {
    match band {
        "critical" => "critical",
        "high" => "high",
        "medium" => "medium",
        "low" => "low",
        "info" => "info",
        "none" => "none",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::{percent_encode, purl};
    use crate::model::{Ecosystem, Package};

    fn pkg(ecosystem: Ecosystem, name: &str, version: &str) -> Package {
        Package {
            ecosystem,
            name: name.into(),
            version: version.into(),
            source_name: None,
            source_version: None,
            path: "x".into(),
            layer: None,
        }
    }

    #[test]
    fn package_urls() {
        assert_eq!(
            purl(&pkg(
                Ecosystem::Debian("12".into()),
                "libssl3",
                "3.0.11-1~deb12u2"
            )),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12"
        );
        assert_eq!(
            purl(&pkg(Ecosystem::Go, "golang.org/x/net", "v0.17.0")),
            "pkg:golang/golang.org/x/net@v0.17.0"
        );
        assert_eq!(
            purl(&pkg(Ecosystem::Npm, "@babel/core", "7.0.0")),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            purl(&pkg(Ecosystem::Alpine("v3.11".into()), "musl", "1.1.24-r2")),
            "pkg:apk/alpine/musl@1.1.24-r2?distro=3.11"
        );
        assert_eq!(percent_encode("a b:c"), "a%20b%3Ac");
    }

    #[test]
    fn rpm_package_urls() {
        let rocky = || Ecosystem::Rpm("rocky:9.3".into());
        assert_eq!(
            purl(&pkg(rocky(), "openssl-libs", "1:3.0.7-25.el9_3")),
            "pkg:rpm/rocky/openssl-libs@3.0.7-25.el9_3?distro=rocky-9.3&epoch=1"
        );
        assert_eq!(
            purl(&pkg(rocky(), "moat-tools", "2.0~rc1-1.el9")),
            "pkg:rpm/rocky/moat-tools@2.0~rc1-1.el9?distro=rocky-9.3"
        );
        assert_eq!(
            purl(&pkg(
                Ecosystem::Rpm("rhel:9.4".into()),
                "bash",
                "5.1.8-9.el9"
            )),
            "pkg:rpm/redhat/bash@5.1.8-9.el9?distro=rhel-9.4"
        );
        assert_eq!(
            purl(&pkg(
                Ecosystem::Rpm("opensuse-leap:15.5".into()),
                "libz1",
                "1.2.13-150500.4.3.1"
            )),
            "pkg:rpm/opensuse/libz1@1.2.13-150500.4.3.1?distro=opensuse-leap-15.5"
        );
        assert_eq!(
            purl(&pkg(Ecosystem::Rpm(String::new()), "bash", "2:5.1-1")),
            "pkg:rpm/bash@5.1-1?epoch=2"
        );
    }
}
