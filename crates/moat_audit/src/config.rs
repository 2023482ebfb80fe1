//! Configuration in layers: what the user writes in `.moat.toml` ([`RawConfig`], unknown keys are
//! errors with `file:line:col`), merged with command-line flags into a [`Config`], which yields
//! the [`Settings`] that rules read for one file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use moat_diagnostics::{InputError, LineIndex, Severity};
use serde::Deserialize;
use toml::Spanned;

use crate::rule::Rule;
use crate::rules;

/// File name looked for upward from each audited path.
pub const CONFIG_FILE_NAME: &str = ".moat.toml";

/// `.moat.toml` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConfig {
    /// Lowest severity that makes the exit code 1.
    pub fail_on: Option<Spanned<String>>,
    /// Rule selection and severities.
    #[serde(default)]
    pub rules: RawRules,
    /// Dockerfile settings.
    #[serde(default)]
    pub dockerfile: RawDockerfile,
    /// Secret detection settings.
    #[serde(default)]
    pub secrets: RawSecrets,
    /// Live engine settings.
    #[serde(default)]
    pub engine: RawEngine,
    /// Ignores by path.
    #[serde(default)]
    pub ignore: Vec<RawIgnore>,
    /// `[scan]`: read and checked by `moat scan` (`moat_scan::policy`), not by the audit.
    #[serde(default)]
    pub scan: Option<toml::Table>,
}

/// `[rules]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRules {
    /// Rules to turn on in addition to the default ones (codes, names or DL codes; `ALL`).
    #[serde(default)]
    pub enable: Vec<Spanned<String>>,
    /// Rules to turn off.
    #[serde(default)]
    pub disable: Vec<Spanned<String>>,
    /// Severity overrides by rule.
    #[serde(default)]
    pub severity: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// `[dockerfile]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawDockerfile {
    /// Registries base images may come from (`docker.io`, `ghcr.io/my-org`, …). Empty: any.
    #[serde(default)]
    pub trusted_registries: Vec<Spanned<String>>,
    /// Tags that name a moving channel (D005); replaces the built-in list (`[]` reports none).
    #[serde(default)]
    pub mutable_tags: Option<Vec<Spanned<String>>>,
}

/// `[secrets]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSecrets {
    /// Variable names (globs, case-insensitive) never reported as secrets.
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
}

/// `[engine]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawEngine {
    /// Age in days above which an image is reported (I001); 90 by default.
    pub max_image_age_days: Option<Spanned<u32>>,
}

/// One `[[ignore]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawIgnore {
    /// Glob of paths, relative to the directory of the config file.
    pub path: Option<Spanned<String>>,
    /// Glob of live container names (`moat audit --engine`).
    pub container: Option<Spanned<String>>,
    /// Glob of the image references live containers were created from.
    pub image: Option<Spanned<String>>,
    /// A label of live containers: `KEY` or `KEY=VALUE`.
    pub label: Option<Spanned<String>>,
    /// Why (shown nowhere, kept for the reader of the file; required for engine objects).
    pub reason: Option<Spanned<String>>,
    /// Rules ignored there; empty means all.
    #[serde(default)]
    pub rules: Vec<Spanned<String>>,
}

/// Command-line overrides.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--select`: run exactly these rules.
    pub select: Vec<String>,
    /// `--ignore`: never run these rules.
    pub ignore: Vec<String>,
    /// `--fail-on`.
    pub fail_on: Option<Severity>,
}

/// A path ignore resolved against its config file's directory.
#[derive(Debug, Clone)]
struct PathIgnore {
    glob: GlobSet,
    /// Rule codes; empty = all.
    codes: Vec<&'static str>,
}

/// An ignore of live containers, by name, image or label (all given conditions must hold).
#[derive(Debug, Clone)]
struct ObjectIgnore {
    container: Option<GlobSet>,
    image: Option<GlobSet>,
    label: Option<(String, Option<String>)>,
    /// Rule codes; empty = all.
    codes: Vec<&'static str>,
}

/// A validated configuration (one config file, or the defaults) merged with the overrides.
#[derive(Debug, Clone)]
pub struct Config {
    /// Config file it came from, if any.
    pub path: Option<PathBuf>,
    /// Directory ignores are relative to.
    pub root: PathBuf,
    enabled: Vec<&'static str>,
    severity: BTreeMap<&'static str, Severity>,
    /// Exit-code threshold.
    pub fail_on: Severity,
    ignores: Vec<PathIgnore>,
    object_ignores: Vec<ObjectIgnore>,
    settings: Settings,
}

/// Settings rules read.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Trusted registries (empty: no restriction).
    pub trusted_registries: Vec<String>,
    /// Secret variable-name allow-list (lower-cased globs).
    pub secret_allow: Vec<String>,
    /// Mutable tags (lower-cased) from `[dockerfile] mutable-tags`; `None`: the built-in list.
    pub mutable_tags: Option<Vec<String>>,
    /// `[engine] max-image-age-days`.
    pub max_image_age_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            trusted_registries: Vec::new(),
            secret_allow: Vec::new(),
            mutable_tags: None,
            max_image_age_days: DEFAULT_MAX_IMAGE_AGE_DAYS,
        }
    }
}

/// The default of `[engine] max-image-age-days`.
pub const DEFAULT_MAX_IMAGE_AGE_DAYS: u32 = 90;

impl Config {
    /// The defaults with `overrides` applied, rooted at `root`.
    pub fn defaults(root: &Path, overrides: &Overrides) -> Result<Self, InputError> {
        Self::build(None, root, &RawConfig::default(), "", overrides)
    }

    /// Reads and validates the config file at `path`.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Self, InputError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InputError {
            path: shown.clone(),
            line: None,
            column: None,
            message: format!("cannot read config: {e}"),
        })?;
        Self::parse(
            &shown,
            &text,
            path.parent().unwrap_or(Path::new(".")),
            overrides,
        )
    }

    /// Validates config `text` (shown as `path`) whose ignores are relative to `root`.
    pub fn parse(
        path: &str,
        text: &str,
        root: &Path,
        overrides: &Overrides,
    ) -> Result<Self, InputError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((None, None), |s| {
                let (l, c) = LineIndex::new(text).line_col(text, s.start);
                (Some(l), Some(c))
            });
            InputError {
                path: path.to_string(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        Self::build(Some(PathBuf::from(path)), root, &raw, text, overrides)
    }

    fn build(
        path: Option<PathBuf>,
        root: &Path,
        raw: &RawConfig,
        text: &str,
        overrides: &Overrides,
    ) -> Result<Self, InputError> {
        let shown = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let err = |span: std::ops::Range<usize>, message: String| {
            let (l, c) = LineIndex::new(text).line_col(text, span.start);
            InputError {
                path: shown.clone(),
                line: Some(l),
                column: Some(c),
                message,
            }
        };
        let codes = |list: &[Spanned<String>]| -> Result<Vec<&'static str>, InputError> {
            let mut out = Vec::new();
            for item in list {
                let found = resolve_rules(item.get_ref());
                if found.is_empty() {
                    return Err(err(item.span(), unknown_rule(item.get_ref())));
                }
                out.extend(found.iter().map(|r| r.info.code));
            }
            Ok(out)
        };

        let mut enabled: Vec<&'static str> = if overrides.select.is_empty() {
            let mut on: Vec<&'static str> = rules::all()
                .filter(|r| r.info.default_enabled)
                .map(|r| r.info.code)
                .collect();
            on.extend(codes(&raw.rules.enable)?);
            let off = codes(&raw.rules.disable)?;
            on.retain(|c| !off.contains(c));
            on
        } else {
            codes(&raw.rules.enable)?;
            codes(&raw.rules.disable)?;
            cli_codes(&overrides.select)?
        };
        let cli_off = cli_codes(&overrides.ignore)?;
        enabled.retain(|c| !cli_off.contains(c));
        enabled.sort_unstable();
        enabled.dedup();

        let mut severity = BTreeMap::new();
        for (rule, sev) in &raw.rules.severity {
            let found = resolve_rules(rule.get_ref());
            if found.is_empty() {
                return Err(err(rule.span(), unknown_rule(rule.get_ref())));
            }
            let sev_value: Severity = sev.get_ref().parse().map_err(|m| err(sev.span(), m))?;
            for r in found {
                severity.insert(r.info.code, sev_value);
            }
        }

        let fail_on = match (&overrides.fail_on, &raw.fail_on) {
            (Some(s), _) => *s,
            (None, Some(s)) => s.get_ref().parse().map_err(|m| err(s.span(), m))?,
            (None, None) => Severity::Medium,
        };

        let mut ignores = Vec::new();
        let mut object_ignores = Vec::new();
        let one_glob = |g: &Spanned<String>| -> Result<GlobSet, InputError> {
            let glob =
                Glob::new(g.get_ref()).map_err(|e| err(g.span(), format!("invalid glob: {e}")))?;
            GlobSetBuilder::new()
                .add(glob)
                .build()
                .map_err(|e| err(g.span(), format!("invalid glob: {e}")))
        };
        for ig in &raw.ignore {
            let object = ig
                .container
                .as_ref()
                .or(ig.image.as_ref())
                .or(ig.label.as_ref());
            match (&ig.path, object) {
                (Some(path), None) => {
                    let glob = Glob::new(path.get_ref())
                        .map_err(|e| err(path.span(), format!("invalid glob: {e}")))?;
                    let mut set = GlobSetBuilder::new();
                    set.add(glob);
                    // `dir/` or a plain directory name also covers what is below it
                    if let Ok(below) =
                        Glob::new(&format!("{}/**", path.get_ref().trim_end_matches('/')))
                    {
                        set.add(below);
                    }
                    let glob = set
                        .build()
                        .map_err(|e| err(path.span(), format!("invalid glob: {e}")))?;
                    ignores.push(PathIgnore {
                        glob,
                        codes: codes(&ig.rules)?,
                    });
                }
                (Some(path), Some(_)) => {
                    return Err(err(
                        path.span(),
                        "an ignore names either a `path` or live containers (`container`, `image`, `label`), not both".into(),
                    ));
                }
                (None, Some(first)) => {
                    if ig
                        .reason
                        .as_ref()
                        .is_none_or(|r| r.get_ref().trim().is_empty())
                    {
                        return Err(err(
                            first.span(),
                            "an ignore of live containers needs a `reason`".into(),
                        ));
                    }
                    let label = ig.label.as_ref().map(|l| {
                        let (k, v) = l
                            .get_ref()
                            .split_once('=')
                            .map_or((l.get_ref().clone(), None), |(k, v)| {
                                (k.to_string(), Some(v.to_string()))
                            });
                        (k, v)
                    });
                    object_ignores.push(ObjectIgnore {
                        container: ig.container.as_ref().map(one_glob).transpose()?,
                        image: ig.image.as_ref().map(one_glob).transpose()?,
                        label,
                        codes: codes(&ig.rules)?,
                    });
                }
                (None, None) => {
                    return Err(InputError {
                        path: shown.clone(),
                        line: None,
                        column: None,
                        message: "an `[[ignore]]` entry needs a `path`, or a `container`, `image` or `label`".into(),
                    });
                }
            }
        }

        let settings = Settings {
            trusted_registries: raw
                .dockerfile
                .trusted_registries
                .iter()
                .map(|r| r.get_ref().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            secret_allow: raw
                .secrets
                .allow
                .iter()
                .map(|s| s.get_ref().to_ascii_lowercase())
                .collect(),
            max_image_age_days: raw
                .engine
                .max_image_age_days
                .as_ref()
                .map_or(DEFAULT_MAX_IMAGE_AGE_DAYS, |d| *d.get_ref()),
            mutable_tags: match &raw.dockerfile.mutable_tags {
                None => None,
                Some(tags) => Some(
                    tags.iter()
                        .map(|t| {
                            let tag = t.get_ref().trim();
                            if tag.is_empty()
                                || !tag.bytes().all(|b| {
                                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
                                })
                            {
                                Err(err(
                                    t.span(),
                                    format!(
                                        "`{tag}` is not a tag name (letters, digits, `.`, `_`, `-`)"
                                    ),
                                ))
                            } else {
                                Ok(tag.to_ascii_lowercase())
                            }
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            },
        };

        Ok(Self {
            path,
            root: root.to_path_buf(),
            enabled,
            severity,
            fail_on,
            ignores,
            object_ignores,
            settings,
        })
    }

    /// Whether rule `code` runs.
    pub fn is_enabled(&self, code: &str) -> bool {
        self.enabled.binary_search(&code).is_ok()
    }

    /// The severity the configuration sets for rule `code`, if it sets one.
    pub fn severity_override(&self, code: &str) -> Option<Severity> {
        self.severity.get(code).copied()
    }

    /// Effective severity of a rule.
    pub fn severity_of(&self, rule: &Rule) -> Severity {
        self.severity
            .get(rule.info.code)
            .copied()
            .unwrap_or(rule.info.severity)
    }

    /// Whether findings of `code` in `path` are ignored by a `[[ignore]]` entry.
    pub fn is_path_ignored(&self, path: &Path, code: &str) -> bool {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        let rel = rel.strip_prefix("./").unwrap_or(rel);
        self.ignores
            .iter()
            .any(|ig| (ig.codes.is_empty() || ig.codes.contains(&code)) && ig.glob.is_match(rel))
    }

    /// Whether an `[[ignore]]` entry for live containers covers rule `code` on a container
    /// with this name, image reference and labels.
    pub fn is_container_ignored(
        &self,
        name: &str,
        image: &str,
        labels: &[(&str, Option<&str>)],
        code: &str,
    ) -> bool {
        self.object_ignores.iter().any(|ig| {
            (ig.codes.is_empty() || ig.codes.contains(&code))
                && ig.container.as_ref().is_none_or(|g| g.is_match(name))
                && ig.image.as_ref().is_none_or(|g| g.is_match(image))
                && ig.label.as_ref().is_none_or(|(k, v)| {
                    labels.iter().any(|(lk, lv)| {
                        lk == k && v.as_ref().is_none_or(|want| Some(want.as_str()) == *lv)
                    })
                })
        })
    }

    /// Whether any `[[ignore]]` entry exists.
    pub fn has_path_ignores(&self) -> bool {
        !self.ignores.is_empty()
    }

    /// Settings rules read.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

/// Rules named by `token`: a code, a kebab-case name, a reference such as `DL3007`, a code
/// prefix such as `D0`, or `ALL`.
pub fn resolve_rules(token: &str) -> Vec<&'static Rule> {
    let token = token.trim();
    if token.eq_ignore_ascii_case("all") {
        return rules::all().collect();
    }
    let exact: Vec<_> = rules::all().filter(|r| r.matches(token)).collect();
    if !exact.is_empty() {
        return exact;
    }
    if token.is_empty() {
        return Vec::new();
    }
    rules::all()
        .filter(|r| {
            r.info.code.len() > token.len() && r.info.code.starts_with(&token.to_ascii_uppercase())
        })
        .collect()
}

fn unknown_rule(token: &str) -> String {
    format!("unknown rule `{token}` (see `moat audit --list-rules`)")
}

fn cli_codes(list: &[String]) -> Result<Vec<&'static str>, InputError> {
    let mut out = Vec::new();
    for token in list
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|t| !t.trim().is_empty())
    {
        let found = resolve_rules(token);
        if found.is_empty() {
            return Err(InputError {
                path: "<command line>".into(),
                line: None,
                column: None,
                message: unknown_rule(token),
            });
        }
        out.extend(found.iter().map(|r| r.info.code));
    }
    Ok(out)
}

/// Finds the nearest `.moat.toml` at or above `start` (a file or directory).
pub fn discover(start: &Path) -> Option<PathBuf> {
    let start = if start.is_dir() {
        start
    } else {
        start.parent()?
    };
    let start = if start.as_os_str().is_empty() {
        Path::new(".")
    } else {
        start
    };
    let abs = std::fs::canonicalize(start).ok()?;
    abs.ancestors()
        .map(|d| d.join(CONFIG_FILE_NAME))
        .find(|p| p.is_file())
}
