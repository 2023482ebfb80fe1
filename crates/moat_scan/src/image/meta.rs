//! An image's metadata: the image configuration, and which manifest of a `docker save` archive
//! (`manifest.json`) or an OCI layout (`index.json`, nested indexes, manifests) is the image.

use std::collections::BTreeMap;

use serde_json::Value;

use super::ImageError;
use super::path::clean;

/// The image configuration (`application/vnd.oci.image.config.v1+json`, Docker's image JSON):
/// what the image runs and how it was built. Fields a configuration lacks are empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageConfig {
    /// `config.User` (`None` when unset: root).
    pub user: Option<String>,
    /// `config.Env` (`NAME=value`).
    pub env: Vec<String>,
    /// `config.Labels`.
    pub labels: BTreeMap<String, String>,
    /// `config.Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `config.Cmd`.
    pub cmd: Vec<String>,
    /// `config.WorkingDir`.
    pub working_dir: Option<String>,
    /// `config.ExposedPorts` (`80/tcp`).
    pub exposed_ports: Vec<String>,
    /// `os`.
    pub os: Option<String>,
    /// `architecture`.
    pub architecture: Option<String>,
    /// `created`.
    pub created: Option<String>,
    /// `history`, oldest first.
    pub history: Vec<HistoryEntry>,
    /// `rootfs.diff_ids`: the digests of the uncompressed layers, bottom first.
    pub diff_ids: Vec<String>,
    /// The whole document.
    pub raw: Value,
}

/// One step of an image's build history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When.
    pub created: Option<String>,
    /// The instruction (`/bin/sh -c #(nop)  ENV A=b`, `RUN /bin/sh -c apt-get …`).
    pub created_by: Option<String>,
    /// A comment (`buildkit.dockerfile.v0`).
    pub comment: Option<String>,
    /// The step made no layer.
    pub empty_layer: bool,
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

impl ImageConfig {
    /// Parses a configuration document.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let raw: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        if !raw.is_object() {
            return Err("not a JSON object".into());
        }
        let c = raw
            .get("config")
            .or_else(|| raw.get("Config"))
            .cloned()
            .unwrap_or(Value::Null);
        let labels = c
            .get("Labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let exposed_ports = c
            .get("ExposedPorts")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let history = raw
            .get("history")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|h| HistoryEntry {
                        created: string(h, "created"),
                        created_by: string(h, "created_by"),
                        comment: string(h, "comment"),
                        empty_layer: h
                            .get("empty_layer")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            user: string(&c, "User"),
            env: strings(c.get("Env")),
            labels,
            entrypoint: strings(c.get("Entrypoint")),
            cmd: strings(c.get("Cmd")),
            working_dir: string(&c, "WorkingDir"),
            exposed_ports,
            os: string(&raw, "os"),
            architecture: string(&raw, "architecture"),
            created: string(&raw, "created"),
            history,
            diff_ids: strings(raw.get("rootfs").and_then(|r| r.get("diff_ids"))),
            raw,
        })
    }
}

/// The image chosen in a source: its configuration, and its layers as members of the source
/// (`<id>/layer.tar`, `blobs/sha256/<hex>`), bottom first.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) config: Vec<u8>,
    pub(crate) layers: Vec<String>,
    pub(crate) digests: Vec<String>,
    pub(crate) reference: Option<String>,
}

/// Loads a member of the source (`manifest.json`, `blobs/sha256/<hex>`) as bytes, `None` when
/// absent.
pub(crate) type Loader<'a> = dyn FnMut(&str) -> Result<Option<Vec<u8>>, ImageError> + 'a;

/// Finds the image in a `docker save` archive (`manifest.json`) or an OCI layout
/// (`index.json`): the one named `wanted` (a tag, or an image id or config digest prefix),
/// else the only one.
pub(crate) fn resolve(
    what: &str,
    load: &mut Loader<'_>,
    wanted: Option<&str>,
) -> Result<Resolved, ImageError> {
    if let Some(bytes) = load("manifest.json")? {
        return docker_manifest(what, &bytes, load, wanted);
    }
    if let Some(bytes) = load("index.json")? {
        return oci_index(what, &bytes, load, wanted);
    }
    Err(ImageError::Unsupported {
        what: what.to_string(),
        detail: "neither manifest.json nor index.json: not a docker-archive or an OCI layout"
            .into(),
    })
}

fn corrupt(what: &str, detail: impl Into<String>) -> ImageError {
    ImageError::Corrupt {
        what: what.to_string(),
        detail: detail.into(),
    }
}

fn json(what: &str, doc: &str, bytes: &[u8]) -> Result<Value, ImageError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(&format!("{what}: {doc}"), e.to_string()))
}

/// `docker.io/library/busybox` and `busybox:latest` are `busybox:latest`.
fn familiar(reference: &str) -> String {
    let mut r = reference;
    for prefix in [
        "docker.io/library/",
        "index.docker.io/library/",
        "docker.io/",
        "index.docker.io/",
    ] {
        if let Some(rest) = r.strip_prefix(prefix) {
            r = rest;
            break;
        }
    }
    let last = r.rsplit('/').next().unwrap_or(r);
    if last.contains(':') || r.contains('@') {
        r.to_string()
    } else {
        format!("{r}:latest")
    }
}

/// Whether `wanted` names the image with these tags and this config digest (hex).
fn matches(wanted: &str, tags: &[String], config_hex: &str) -> bool {
    let hex = wanted.strip_prefix("sha256:").unwrap_or(wanted);
    if hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && config_hex.starts_with(hex) {
        return true;
    }
    let w = familiar(wanted);
    tags.iter().any(|t| familiar(t) == w || t == wanted)
}

/// `sha256:<hex>` as the member `blobs/sha256/<hex>`; `None` for a digest that is not one.
pub(crate) fn digest_path(digest: &str) -> Option<String> {
    let (alg, hex) = digest.split_once(':')?;
    let ok_alg = !alg.is_empty()
        && alg
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let ok_hex = !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_alphanumeric());
    (ok_alg && ok_hex).then(|| format!("blobs/{alg}/{hex}"))
}

struct Candidate {
    config: String,
    tags: Vec<String>,
    layers: Vec<String>,
}

fn docker_manifest(
    what: &str,
    bytes: &[u8],
    load: &mut Loader<'_>,
    wanted: Option<&str>,
) -> Result<Resolved, ImageError> {
    let doc = json(what, "manifest.json", bytes)?;
    let Some(images) = doc.as_array() else {
        return Err(corrupt(
            &format!("{what}: manifest.json"),
            "not a JSON array",
        ));
    };
    let mut candidates = Vec::new();
    for image in images {
        let config = image
            .get("Config")
            .and_then(Value::as_str)
            .ok_or_else(|| corrupt(&format!("{what}: manifest.json"), "an image without Config"))?;
        candidates.push(Candidate {
            config: config.to_string(),
            tags: strings(image.get("RepoTags")),
            layers: strings(image.get("Layers")),
        });
    }
    let config_hex = |c: &Candidate| {
        let name = c.config.rsplit('/').next().unwrap_or(&c.config);
        name.strip_suffix(".json").unwrap_or(name).to_string()
    };
    let label = |c: &Candidate| {
        if c.tags.is_empty() {
            format!("sha256:{}", config_hex(c))
        } else {
            c.tags.join(" ")
        }
    };
    let names: Vec<String> = candidates.iter().map(label).collect();
    let chosen = match wanted {
        Some(w) => candidates
            .iter()
            .find(|c| matches(w, &c.tags, &config_hex(c)))
            .ok_or_else(|| ImageError::NotFound {
                what: what.to_string(),
                reference: w.to_string(),
                images: names.clone(),
            })?,
        None => match candidates.as_slice() {
            [one] => one,
            [] => return Err(corrupt(&format!("{what}: manifest.json"), "no image")),
            _ => {
                return Err(ImageError::Ambiguous {
                    what: what.to_string(),
                    images: names,
                });
            }
        },
    };
    let config_member = clean(&chosen.config)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            corrupt(
                &format!("{what}: manifest.json"),
                format!("bad Config path {}", chosen.config),
            )
        })?;
    let config = load(&config_member)?.ok_or_else(|| ImageError::Missing {
        what: format!("{what}: manifest.json"),
        name: format!("the configuration {config_member}"),
    })?;
    let mut layers = Vec::with_capacity(chosen.layers.len());
    for l in &chosen.layers {
        let member = clean(l).filter(|p| !p.is_empty()).ok_or_else(|| {
            corrupt(
                &format!("{what}: manifest.json"),
                format!("bad layer path {l}"),
            )
        })?;
        layers.push(member);
    }
    let diff_ids = ImageConfig::parse(&config)
        .map(|c| c.diff_ids)
        .unwrap_or_default();
    let digests = layers
        .iter()
        .enumerate()
        .map(|(i, member)| match member.strip_prefix("blobs/") {
            Some(rest) => rest.replacen('/', ":", 1),
            None => diff_ids.get(i).cloned().unwrap_or_else(|| member.clone()),
        })
        .collect();
    let reference = wanted
        .and_then(|w| chosen.tags.iter().find(|t| familiar(t) == familiar(w)))
        .or_else(|| chosen.tags.first())
        .cloned();
    Ok(Resolved {
        config,
        layers,
        digests,
        reference,
    })
}

/// The platform of this build, as OCI names it (`amd64`, `arm64`).
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn oci_index(
    what: &str,
    bytes: &[u8],
    load: &mut Loader<'_>,
    wanted: Option<&str>,
) -> Result<Resolved, ImageError> {
    let doc = json(what, "index.json", bytes)?;
    let manifests = doc
        .get("manifests")
        .and_then(Value::as_array)
        .ok_or_else(|| corrupt(&format!("{what}: index.json"), "no manifests"))?;
    let name_of = |d: &Value| {
        let ann = d.get("annotations");
        ann.and_then(|a| a.get("io.containerd.image.name"))
            .or_else(|| ann.and_then(|a| a.get("org.opencontainers.image.ref.name")))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let digest_of = |d: &Value| {
        d.get("digest")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let names: Vec<String> = manifests
        .iter()
        .map(|d| name_of(d).unwrap_or_else(|| digest_of(d)))
        .collect();
    let chosen = match wanted {
        Some(w) => manifests
            .iter()
            .find(|d| {
                let ann = d.get("annotations");
                let mut tags: Vec<String> = Vec::new();
                for key in [
                    "io.containerd.image.name",
                    "org.opencontainers.image.ref.name",
                ] {
                    if let Some(n) = ann.and_then(|a| a.get(key)).and_then(Value::as_str) {
                        tags.push(n.to_string());
                    }
                }
                // an OCI layout's ref.name may be the tag alone (`latest`)
                let tag_alone = tags
                    .iter()
                    .any(|t| !t.contains(['/', ':']) && w.ends_with(&format!(":{t}")));
                let digest = digest_of(d);
                let hex = digest.split_once(':').map_or("", |(_, h)| h);
                tag_alone || matches(w, &tags, hex)
            })
            .ok_or_else(|| ImageError::NotFound {
                what: what.to_string(),
                reference: w.to_string(),
                images: names.clone(),
            })?,
        None => match manifests.as_slice() {
            [one] => one,
            [] => return Err(corrupt(&format!("{what}: index.json"), "no manifests")),
            _ => {
                return Err(ImageError::Ambiguous {
                    what: what.to_string(),
                    images: names,
                });
            }
        },
    };
    let reference = name_of(chosen);
    let mut descriptor = chosen.clone();
    for _ in 0..4 {
        let digest = digest_of(&descriptor);
        let member = digest_path(&digest).ok_or_else(|| {
            corrupt(
                &format!("{what}: index.json"),
                format!("bad digest {digest:?}"),
            )
        })?;
        let blob = load(&member)?.ok_or_else(|| ImageError::Missing {
            what: format!("{what}: index.json"),
            name: format!("the manifest {digest}"),
        })?;
        let doc = json(what, &format!("manifest {digest}"), &blob)?;
        if let Some(list) = doc.get("manifests").and_then(Value::as_array) {
            // an index of platforms: this host's, else the only one
            let platform = |d: &Value| {
                let p = d.get("platform");
                let os = p
                    .and_then(|p| p.get("os"))
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                let arch = p
                    .and_then(|p| p.get("architecture"))
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                (os.to_string(), arch.to_string())
            };
            let pick = list
                .iter()
                .find(|d| platform(d) == ("linux".to_string(), host_arch().to_string()))
                .or_else(|| (list.len() == 1).then(|| &list[0]));
            match pick {
                Some(d) => descriptor = d.clone(),
                None => {
                    return Err(ImageError::Ambiguous {
                        what: format!("{what}: index {digest}"),
                        images: list
                            .iter()
                            .map(|d| {
                                let (os, arch) = platform(d);
                                format!("{os}/{arch}")
                            })
                            .collect(),
                    });
                }
            }
            continue;
        }
        let config_digest = doc
            .get("config")
            .and_then(|c| c.get("digest"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let config_member = digest_path(config_digest).ok_or_else(|| {
            corrupt(
                &format!("{what}: manifest {digest}"),
                format!("bad config digest {config_digest:?}"),
            )
        })?;
        let config = load(&config_member)?.ok_or_else(|| ImageError::Missing {
            what: format!("{what}: manifest {digest}"),
            name: format!("the configuration {config_digest}"),
        })?;
        let mut layers = Vec::new();
        let mut digests = Vec::new();
        for l in doc
            .get("layers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let d = l.get("digest").and_then(Value::as_str).unwrap_or("");
            let member = digest_path(d).ok_or_else(|| {
                corrupt(
                    &format!("{what}: manifest {digest}"),
                    format!("bad layer digest {d:?}"),
                )
            })?;
            layers.push(member);
            digests.push(d.to_string());
        }
        return Ok(Resolved {
            config,
            layers,
            digests,
            reference,
        });
    }
    Err(corrupt(
        &format!("{what}: index.json"),
        "indexes nested too deep",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn familiar_names() {
        assert_eq!(familiar("busybox"), "busybox:latest");
        assert_eq!(familiar("docker.io/library/busybox:1"), "busybox:1");
        assert_eq!(familiar("localhost:5000/app"), "localhost:5000/app:latest");
        assert!(matches("busybox", &["busybox:latest".into()], "abcd"));
        assert!(matches("sha256:abcd", &[], "abcdef"));
        assert!(!matches("abc", &[], "abcdef"));
    }

    #[test]
    fn digests_cannot_leave_the_blobs() {
        assert_eq!(
            digest_path("sha256:ab12").as_deref(),
            Some("blobs/sha256/ab12")
        );
        assert_eq!(digest_path("sha256:../../etc/passwd"), None);
        assert_eq!(digest_path("../x:ab"), None);
        assert_eq!(digest_path("nodigest"), None);
    }
}
