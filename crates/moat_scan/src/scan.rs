//! The scan of one image: read once, layers streamed, the analyzers' files kept and every other
//! text file searched for secrets as it streams past; then the inventory, the secrets (files,
//! config env, build history) and, against the advisory database, the vulnerabilities.

use std::collections::BTreeMap;

use moat_audit::secrets::ValueKind;
use moat_vuln::{Database, Match, Query};
use serde::Serialize;

use crate::analyze::{self, Date};
use crate::image::{
    ImageConfig, ImageError, ImageSource, Inspection, Inspector, Limits, read_image,
};
use crate::matching;
use crate::model::Inventory;
use crate::secrets::{self, SecretHit};

/// How to scan.
#[derive(Debug, Clone)]
pub struct Options {
    /// Search for secrets (`--no-secrets` turns it off).
    pub secrets: bool,
    /// Bounds on what is read.
    pub limits: Limits,
    /// The day that decides whether the distribution is past its end of life.
    pub today: Date,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            secrets: true,
            limits: Limits::default(),
            today: Date::today(),
        }
    }
}

/// Where a secret was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "place", rename_all = "kebab-case")]
pub enum SecretPlace {
    /// A file of the image.
    File {
        /// Path relative to the image root.
        path: String,
        /// The layer that wrote it.
        layer: usize,
        /// The layer that deleted or replaced it: the file is not in the final filesystem, yet
        /// its layer still holds it.
        removed_in: Option<usize>,
    },
    /// The image config's `Env`.
    Env {
        /// The variable.
        name: String,
    },
    /// A step of the image's build history (`created_by`).
    History {
        /// 0-based index of the step, oldest first.
        step: usize,
    },
}

/// One secret found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Secret {
    /// What kind of value it is (`aws-access-key`, `github-token`, …).
    pub kind: String,
    /// The kind, in words.
    pub description: &'static str,
    /// Where.
    #[serde(flatten)]
    pub place: SecretPlace,
    /// 1-based line (of the file, of the env entry or history step: 1).
    pub line: usize,
    /// 1-based column where the value starts.
    pub column: usize,
    /// The key it is assigned to, for generic assignments.
    pub key: Option<String>,
    /// The value, redacted.
    pub evidence: String,
}

impl Secret {
    fn new(hit: SecretHit, place: SecretPlace) -> Secret {
        Secret {
            kind: kind_slug(hit.kind),
            description: hit.kind.describe(),
            place,
            line: hit.line,
            column: hit.column,
            key: hit.key,
            evidence: hit.evidence,
        }
    }

    /// `path:line:column`, `env NAME` or `history step N`.
    pub fn where_(&self) -> String {
        match &self.place {
            SecretPlace::File { path, .. } => format!("/{path}:{}:{}", self.line, self.column),
            SecretPlace::Env { name } => format!("config Env {name}"),
            SecretPlace::History { step } => format!("history step {step}"),
        }
    }
}

/// `AwsAccessKey` → `aws-access-key`.
fn kind_slug(kind: ValueKind) -> String {
    let name = format!("{kind:?}");
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// What a scan read: the inventory, the image's config and the secrets.
#[derive(Debug, Clone)]
pub struct Scanned {
    /// What was read, as the source names it.
    pub target: String,
    /// The image's name when the source says it.
    pub reference: Option<String>,
    /// Packages, distribution and layers.
    pub inventory: Inventory,
    /// The image config (none for a root filesystem).
    pub config: Option<ImageConfig>,
    /// Secrets found (empty when not searched).
    pub secrets: Vec<Secret>,
    /// What was skipped or could not be read, with why.
    pub warnings: Vec<String>,
}

/// Reads the files the analyzers do not keep as they stream past: text files for secrets
/// (when searched), executables for the packages built into them. One file is in memory at a
/// time, so a large image full of programs costs the largest of them, not their sum.
struct StreamInspector {
    secrets: bool,
}

impl Inspector for StreamInspector {
    fn wants(&self, path: &str, size: u64, mode: u32) -> bool {
        (self.secrets && secrets::wants(path, size)) || analyze::wants_binary(path, size, mode)
    }

    fn inspect(&self, path: &str, mode: u32, data: &[u8]) -> Inspection {
        let size = data.len() as u64;
        let mut found = Inspection::default();
        if self.secrets && secrets::wants(path, size) {
            found.hits = secrets::scan(data);
        }
        if analyze::wants_binary(path, size, mode) {
            (found.packages, found.warnings) = analyze::binary_packages(path, data, 0);
        }
        found
    }
}

/// Whether the analyzers keep a file (by path; executables are read as they stream past).
fn analyzed(path: &str, _size: u64, _mode: u32) -> bool {
    analyze::wants(path)
}

/// Reads `source` once and returns its inventory and secrets.
pub fn scan_image(source: &mut dyn ImageSource, options: &Options) -> Result<Scanned, ImageError> {
    let target = source.describe();
    let inspector = StreamInspector {
        secrets: options.secrets,
    };
    let image = read_image(source, &analyzed, Some(&inspector), &options.limits)?;
    let mut found = Vec::new();
    let mut binaries = Vec::new();
    let mut binary_warnings = Vec::new();
    for f in &image.found {
        if f.removed_in.is_none() {
            binaries.extend(f.packages.iter().cloned().map(|mut p| {
                p.layer = Some(f.layer);
                p
            }));
            binary_warnings.extend(f.warnings.iter().cloned());
        }
    }
    if options.secrets {
        // the analyzers' own files (lock files, manifests) are searched too
        for f in &image.files {
            if secrets::wants(&f.path, f.size) {
                for hit in secrets::scan(&f.data) {
                    found.push((f.path.clone(), f.layer, None, hit));
                }
            }
        }
        for f in image.found {
            for hit in f.hits {
                found.push((f.path.clone(), f.layer, f.removed_in, hit));
            }
        }
    }
    // final files first (by path, then line), then the buried ones
    found.sort_by(|a, b| {
        (a.2.is_some(), &a.0, a.1, a.3.line, a.3.column).cmp(&(
            b.2.is_some(),
            &b.0,
            b.1,
            b.3.line,
            b.3.column,
        ))
    });
    let mut secrets: Vec<Secret> = found
        .into_iter()
        .map(|(path, layer, removed_in, hit)| {
            Secret::new(
                hit,
                SecretPlace::File {
                    path,
                    layer,
                    removed_in,
                },
            )
        })
        .collect();
    if options.secrets
        && let Some(config) = &image.config
    {
        secrets.extend(config_secrets(config));
    }
    let mut inventory = analyze::inventory_on(
        image.files.into_iter().map(|f| (f.path, f.data, f.layer)),
        options.today,
    );
    inventory.packages.extend(binaries);
    inventory.layers = image.layers;
    let mut warnings = image.warnings;
    warnings.append(&mut binary_warnings);
    warnings.append(&mut inventory.warnings);
    Ok(Scanned {
        target,
        reference: image.reference,
        inventory,
        config: image.config,
        secrets,
        warnings,
    })
}

/// Secrets in the config's `Env` and in its build history. A history step that only repeats a
/// value already reported in `Env` (the `ENV` step that set it) is not reported again.
fn config_secrets(config: &ImageConfig) -> Vec<Secret> {
    let mut out = Vec::new();
    for entry in &config.env {
        let name = entry.split_once('=').map_or(entry.as_str(), |(n, _)| n);
        for hit in secrets::scan(entry.as_bytes()) {
            out.push(Secret::new(
                hit,
                SecretPlace::Env {
                    name: name.to_string(),
                },
            ));
        }
    }
    let in_env: Vec<String> = out.iter().map(|s| s.evidence.clone()).collect();
    for (step, h) in config.history.iter().enumerate() {
        let Some(created_by) = &h.created_by else {
            continue;
        };
        // one line: a step's command is reported as one place
        let line = created_by.replace('\n', " ");
        for hit in secrets::scan(line.as_bytes()) {
            if in_env.contains(&hit.evidence) {
                continue;
            }
            out.push(Secret::new(hit, SecretPlace::History { step }));
        }
    }
    out
}

/// One advisory that applies to an installed package: the advisory as matched against a
/// query (a source package for distributions), with every installed package that query came
/// from (the binary packages of one source).
#[derive(Debug, Clone, PartialEq)]
pub struct Vulnerability {
    /// The advisory, as matched.
    pub advisory: Match,
    /// Indexes of the affected packages in the inventory.
    pub packages: Vec<usize>,
}

/// The advisories of `db` that apply to the packages of `inventory`: one entry per advisory and
/// looked-up package (source package and version), most severe first.
pub fn vulnerabilities(
    db: &Database,
    inventory: &Inventory,
) -> Result<Vec<Vulnerability>, moat_vuln::Error> {
    // each distinct query is looked up once (a source package has many binaries)
    let mut by_query: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, p) in inventory.packages.iter().enumerate() {
        let q = matching::query(p);
        by_query
            .entry((q.ecosystem, q.name, q.version))
            .or_default()
            .push(i);
    }
    let mut out = Vec::new();
    for ((ecosystem, name, version), packages) in by_query {
        let matches = moat_vuln::match_package(db, &Query::new(&ecosystem, &name, &version))?;
        for advisory in matches {
            out.push(Vulnerability {
                advisory,
                packages: packages.clone(),
            });
        }
    }
    out.sort_by(|a, b| {
        b.advisory
            .severity
            .band
            .cmp(&a.advisory.severity.band)
            .then_with(|| a.advisory.package.cmp(&b.advisory.package))
            .then_with(|| a.advisory.id.cmp(&b.advisory.id))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_kebab_case() {
        assert_eq!(kind_slug(ValueKind::AwsAccessKey), "aws-access-key");
        assert_eq!(kind_slug(ValueKind::GitHubToken), "git-hub-token");
        assert_eq!(kind_slug(ValueKind::PrivateKey), "private-key");
    }

    #[test]
    fn env_secrets_are_not_repeated_from_the_env_step() {
        let token = "ghp_R4nd0mT0k3nV4lu3Th4tL00ksR34l1234567";
        let config = ImageConfig {
            env: vec!["PATH=/usr/bin".into(), format!("GITHUB_TOKEN={token}")],
            history: vec![
                crate::image::HistoryEntry {
                    created_by: Some(format!("ENV GITHUB_TOKEN={token}")),
                    ..Default::default()
                },
                crate::image::HistoryEntry {
                    created_by: Some(
                        "RUN /bin/sh -c curl https://deploy:S3cr3tPassw0rd@git.internal.corp/x"
                            .into(),
                    ),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let found = config_secrets(&config);
        let places: Vec<_> = found
            .iter()
            .map(|s| (s.where_(), s.kind.as_str()))
            .collect();
        assert_eq!(
            places,
            [
                ("config Env GITHUB_TOKEN".to_string(), "git-hub-token"),
                ("history step 1".to_string(), "credential-url"),
            ]
        );
        assert!(found.iter().all(|s| !s.evidence.contains("S3cr3tPassw0rd")));
        assert!(found.iter().all(|s| !s.evidence.contains(token)));
    }
}
