//! The compose source: files merged like `docker compose -f a -f b`, `extends` resolved,
//! interpolation applied, then each service turned into [`ContainerFacts`].
//!
//! Pipeline per file: YAML (anchors and merge keys applied) → top-level keys checked →
//! interpolation of every value (keys and `x-` extensions are not interpolated) → list/map
//! forms of `environment`, `labels`, `networks`, … normalised to mappings. Then the files are
//! merged in order, `extends` is resolved, and facts are read with exact locations.

use crate::common::{
    normalize_cap, parse_byte_size, parse_cpus, parse_device_short, parse_port_short,
    parse_restart, parse_security_opt, parse_volume_short,
};
use crate::facts::{
    ComposeProject, ContainerFacts, Device, EnvVar, Healthcheck, KeyValue, Located, Mount,
    MountKind, NetworkFacts, PortMapping, Provenance, RestartPolicy, SecretDef, SecretRef,
    SourceKind, Syntax, Ulimit, UnavailableInput, UnavailableKind, UnknownSetting, VolumeDef,
};
use crate::interp::{Env, MissingVar, interpolate, parse_env_file};
use crate::shell;
use crate::yaml::{self, Node, Value, same_key};
use moat_diagnostics::{InputError, SourceFile};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Top-level keys of the Compose Specification (`x-…` extensions are allowed too).
const TOP_LEVEL_KEYS: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "secrets", "configs", "include", "models",
];

/// Service keys of the Compose Specification and of docker-compose v1 (`x-…` allowed too).
const SERVICE_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "driver_opts",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
    "log_driver",
    "log_opt",
    "net",
    "dockerfile",
];

/// The compose files `docker compose` picks in `dir` when no `-f` is given: the first of
/// `compose.yaml`, `compose.yml`, `docker-compose.yml`, `docker-compose.yaml`, followed by its
/// `.override` file when one exists.
pub fn default_compose_files(dir: &Path) -> Vec<PathBuf> {
    for (stem, ext) in [
        ("compose", "yaml"),
        ("compose", "yml"),
        ("docker-compose", "yml"),
        ("docker-compose", "yaml"),
    ] {
        let main = dir.join(format!("{stem}.{ext}"));
        if main.is_file() {
            let mut out = vec![main];
            for e in [ext, if ext == "yml" { "yaml" } else { "yml" }] {
                let o = dir.join(format!("{stem}.override.{e}"));
                if o.is_file() {
                    out.push(o);
                    break;
                }
            }
            return out;
        }
    }
    Vec::new()
}

/// The base file of the overlay compose file `path` (whose text is `text`): when the file
/// defines a service with neither `image`, `build` nor `extends` (it only adds to a service
/// defined elsewhere, as `compose.prod.yaml` or `docker-compose.override.yml` do), the main
/// compose file of its directory (`compose.yaml`, `docker-compose.yml`, …), which `docker
/// compose -f BASE -f OVERLAY` merges it onto. `None` for a file that stands alone, for the
/// main file itself, and when there is no main file beside it.
pub fn overlay_base(path: &Path, text: &str) -> Option<PathBuf> {
    let src = Rc::new(SourceFile::new(path.display().to_string(), text));
    let root = yaml::parse(&src).ok()?;
    let services = root.get("services")?.as_map()?;
    let fragment = services.iter().any(|(k, v)| {
        !k.as_str().is_some_and(|n| n.starts_with("x-"))
            && ["image", "build", "extends"]
                .iter()
                .all(|key| v.get(key).is_none_or(Node::is_null))
    });
    if !fragment {
        return None;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let base = default_compose_files(dir).into_iter().next()?;
    (base.file_name() != path.file_name()).then_some(base)
}

fn io_error(path: &Path, e: &std::io::Error) -> InputError {
    InputError {
        path: path.display().to_string(),
        line: None,
        column: None,
        message: format!("cannot read file: {e}"),
    }
}

fn read_source(path: &Path) -> Result<Rc<SourceFile>, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, &e))?;
    Ok(Rc::new(SourceFile::new(path.display().to_string(), text)))
}

/// Loads compose files in `-f` order, merging each into the previous like `docker compose`.
/// The project directory (for `.env`) is the first file's directory; `env` wins over `.env`.
pub fn load_compose(paths: &[PathBuf], env: &Env) -> Result<ComposeProject, InputError> {
    let mut sources = Vec::new();
    for p in paths {
        sources.push(read_source(p)?);
    }
    load_sources(&sources, env)
}

/// [`load_compose`], with the text of the file named like `held.path` taken from `held`
/// instead of the disk (a file being edited, re-checked before it is written).
pub fn load_compose_with(
    paths: &[PathBuf],
    env: &Env,
    held: &SourceFile,
) -> Result<ComposeProject, InputError> {
    let mut sources = Vec::new();
    for p in paths {
        if p.display().to_string() == held.path {
            sources.push(Rc::new(held.clone()));
        } else {
            sources.push(read_source(p)?);
        }
    }
    load_sources(&sources, env)
}

/// Parses one compose text held in memory (`path` is used for locations and to resolve
/// `env_file`, `extends.file` and `.env` relative to its directory).
pub fn parse_compose(text: &str, path: &str, env: &Env) -> Result<ComposeProject, InputError> {
    load_sources(&[Rc::new(SourceFile::new(path, text))], env)
}

fn dir_of(src: &SourceFile) -> PathBuf {
    Path::new(&src.path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn project_env(first: Option<&Rc<SourceFile>>, env: &Env) -> Result<Env, InputError> {
    let mut env = env.clone();
    let Some(first) = first else { return Ok(env) };
    let dotenv = dir_of(first).join(".env");
    if dotenv.is_file() {
        let src = read_source(&dotenv)?;
        let lines = parse_env_file(&src.text, &env).map_err(|(off, msg)| at(&src, off, msg))?;
        env.fill_from(lines.into_iter().filter_map(|l| Some((l.name, l.value?))));
    }
    Ok(env)
}

fn at(src: &SourceFile, off: usize, message: String) -> InputError {
    let (line, column) = src.index.line_col(&src.text, off);
    InputError {
        path: src.path.clone(),
        line: Some(line),
        column: Some(column),
        message,
    }
}

fn load_sources(sources: &[Rc<SourceFile>], env: &Env) -> Result<ComposeProject, InputError> {
    let env = project_env(sources.first(), env)?;
    let mut unavailable = Unavailable::default();
    let mut merged: Option<Node> = None;
    for src in sources {
        let doc = load_with_includes(src, &env, 0, &mut unavailable)?;
        merged = Some(match merged {
            None => doc,
            Some(base) => merge(base, doc, ""),
        });
    }
    let Some(root) = merged else {
        return Ok(ComposeProject {
            paths: Vec::new(),
            name: None,
            services: Vec::new(),
            networks: Vec::new(),
            volumes: Vec::new(),
            secrets: Vec::new(),
            configs: Vec::new(),
            unavailable: Vec::new(),
        });
    };
    let mut project = ComposeProject {
        paths: sources.iter().map(|s| s.path.clone()).collect(),
        name: opt_str(&root, "name")?,
        services: Vec::new(),
        networks: Vec::new(),
        volumes: Vec::new(),
        secrets: Vec::new(),
        configs: Vec::new(),
        unavailable: Vec::new(),
    };
    if let Some(services) = root.get("services").and_then(Node::as_map) {
        for (key, _) in services {
            let Some(name) = key.as_str() else {
                return Err(key.error("a service name must be a string"));
            };
            if name.starts_with("x-") {
                continue;
            }
            let mut stack = Vec::new();
            let svc = resolve_extends(name, services, &env, &mut stack, key, &mut unavailable)?;
            project.services.push(service_facts(
                name,
                key,
                &svc,
                &env,
                sources,
                &mut unavailable,
            )?);
        }
    }
    for (key, net) in entries(root.get("networks"))? {
        project.networks.push(network_facts(key, net)?);
    }
    for (key, vol) in entries(root.get("volumes"))? {
        project.volumes.push(VolumeDef {
            name: located_key(key)?,
            driver: opt_str(vol, "driver")?,
            driver_opts: key_values(vol.get("driver_opts"))?,
            external: opt_external(vol)?,
        });
    }
    for (top, out) in [
        ("secrets", &mut project.secrets),
        ("configs", &mut project.configs),
    ] {
        for (key, def) in entries(root.get(top))? {
            out.push(SecretDef {
                name: located_key(key)?,
                file: opt_str(def, "file")?,
                environment: opt_str(def, "environment")?,
                content: opt_str(def, "content")?,
                external: opt_external(def)?,
            });
        }
    }
    project.unavailable = unavailable.inputs;
    project.unavailable.sort_by(|a, b| {
        let at =
            |u: &UnavailableInput| (u.location.path.clone(), u.location.line, u.location.column);
        at(a).cmp(&at(b))
    });
    Ok(project)
}

/// The inputs found unavailable while loading, one per env file or variable.
#[derive(Default)]
struct Unavailable {
    inputs: Vec<UnavailableInput>,
}

impl Unavailable {
    fn add(&mut self, input: UnavailableInput) {
        if !self
            .inputs
            .iter()
            .any(|i| i.kind == input.kind && i.name == input.name)
        {
            self.inputs.push(input);
        }
    }

    fn variable(&mut self, var: &MissingVar, location: moat_diagnostics::Location) {
        self.add(UnavailableInput {
            kind: UnavailableKind::Variable,
            name: var.name.clone(),
            detail: var.message.clone(),
            location,
        });
    }
}

/// Service keys whose values are read as text: an unknown value stays, marked interpolated
/// (rules do not take it for a hard-coded value).
const TEXT_KEYS: &[&str] = &[
    "annotations",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "depends_on",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "extra_hosts",
    "group_add",
    "hostname",
    "image",
    "ipc",
    "isolation",
    "labels",
    "logging",
    "mac_address",
    "network_mode",
    "networks",
    "pid",
    "platform",
    "profiles",
    "pull_policy",
    "runtime",
    "secrets",
    "security_opt",
    "stop_grace_period",
    "stop_signal",
    "sysctls",
    "tmpfs",
    "user",
    "userns_mode",
    "uts",
    "volumes_from",
    "working_dir",
];

/// Whether the value at `path` (below a service) is read as text.
fn is_text(path: &str) -> bool {
    let top = path.split('.').next().unwrap_or("");
    match top {
        "healthcheck" => !matches!(path, "healthcheck.retries" | "healthcheck.disable"),
        "deploy" => path.starts_with("deploy.labels") || path.ends_with(".condition"),
        _ => TEXT_KEYS.contains(&top),
    }
}

/// Removes from a service the unknown values that are not read as text (a boolean, a number,
/// a size, a port or mount written with an unset variable) and says where they were.
fn take_unknown(svc: &mut Node) -> Vec<UnknownSetting> {
    fn walk(n: &mut Node, path: &str, out: &mut Vec<UnknownSetting>) -> bool {
        match &mut n.value {
            Value::Str { .. } | Value::Null => {
                let remove = n.unknown && !is_text(path);
                if remove {
                    out.push(UnknownSetting {
                        key: path.to_string(),
                        location: n.location(),
                    });
                }
                remove
            }
            Value::Seq(items) => {
                items.retain_mut(|i| !walk(i, path, out));
                false
            }
            Value::Map(m) => {
                m.retain_mut(|(k, v)| {
                    let key = k.as_str().unwrap_or("");
                    let child = if path.is_empty() {
                        key.to_string()
                    } else {
                        format!("{path}.{key}")
                    };
                    !walk(v, &child, out)
                });
                false
            }
        }
    }
    let mut out = Vec::new();
    walk(svc, "", &mut out);
    out
}

/// Entries of an optional mapping (null values allowed), `x-` keys skipped.
fn entries(n: Option<&Node>) -> Result<Vec<(&Node, &Node)>, InputError> {
    let Some(n) = n else { return Ok(Vec::new()) };
    match &n.value {
        Value::Null => Ok(Vec::new()),
        Value::Map(m) => Ok(m
            .iter()
            .filter(|(k, _)| !k.as_str().is_some_and(|s| s.starts_with("x-")))
            .map(|(k, v)| (k, v))
            .collect()),
        _ => Err(n.error(format!("expected a mapping, found {}", n.kind_name()))),
    }
}

/// Loads a compose file and the files its `include:` names (each relative to the including
/// file; `path` may be a string or a list). The included files are merged first and the
/// including file on top of them.
fn load_with_includes(
    src: &Rc<SourceFile>,
    env: &Env,
    depth: usize,
    unavailable: &mut Unavailable,
) -> Result<Node, InputError> {
    let mut doc = load_doc(src, env, unavailable)?;
    let Some(include) = doc.get("include").filter(|n| !n.is_null()).cloned() else {
        return Ok(doc);
    };
    if depth > 16 {
        return Err(include.error("`include` nested too deeply"));
    }
    let Value::Seq(items) = &include.value else {
        return Err(include.error(format!(
            "`include` must be a sequence, found {}",
            include.kind_name()
        )));
    };
    let mut paths: Vec<&Node> = Vec::new();
    for item in items {
        match &item.value {
            Value::Str { .. } => paths.push(item),
            Value::Map(_) => match item.get("path").map(|p| &p.value) {
                Some(Value::Str { .. }) => paths.extend(item.get("path")),
                Some(Value::Seq(list)) => paths.extend(list.iter()),
                _ => return Err(item.error("an `include` entry needs a `path`")),
            },
            _ => return Err(item.error("an `include` entry must be a string or a mapping")),
        }
    }
    let mut base: Option<Node> = None;
    for p in paths {
        let Some(rel) = p.as_str() else {
            return Err(p.error("an included path must be a string"));
        };
        let full = dir_of(&p.src).join(rel);
        let inc = read_source(&full).map_err(|e| p.error(e.message))?;
        let inc_doc = load_with_includes(&inc, env, depth + 1, unavailable)?;
        base = Some(match base {
            None => inc_doc,
            Some(b) => merge(b, inc_doc, ""),
        });
    }
    if let Value::Map(m) = &mut doc.value {
        m.retain(|(k, _)| k.as_str() != Some("include"));
    }
    Ok(match base {
        None => doc,
        Some(b) => {
            let mut merged = merge(b, doc.clone(), "");
            merged.src = doc.src;
            merged.span = doc.span;
            merged
        }
    })
}

/// Parses, checks, interpolates and normalises one compose file.
fn load_doc(
    src: &Rc<SourceFile>,
    env: &Env,
    unavailable: &mut Unavailable,
) -> Result<Node, InputError> {
    let mut root = yaml::parse(src)?;
    if root.is_null() {
        root.value = Value::Map(Vec::new());
    }
    let Value::Map(entries) = &mut root.value else {
        return Err(root.error("a compose file must be a mapping"));
    };
    for (k, v) in entries.iter_mut() {
        let Some(key) = k.as_str() else {
            return Err(k.error("top-level keys must be strings"));
        };
        if key.starts_with("x-") {
            continue;
        }
        if !TOP_LEVEL_KEYS.contains(&key) {
            return Err(k.error(format!(
                "unknown top-level key `{key}` (expected one of: {}, or an `x-` extension)",
                TOP_LEVEL_KEYS.join(", ")
            )));
        }
        if matches!(
            key,
            "services" | "networks" | "volumes" | "secrets" | "configs"
        ) && !matches!(v.value, Value::Map(_) | Value::Null)
        {
            return Err(v.error(format!(
                "`{key}` must be a mapping, found {}",
                v.kind_name()
            )));
        }
        interpolate_tree(v, env, unavailable)?;
        if key == "services"
            && let Value::Map(services) = &mut v.value
        {
            for (sk, sv) in services.iter_mut() {
                let name = sk.as_str().unwrap_or("");
                if name.starts_with("x-") {
                    continue;
                }
                if sv.is_null() {
                    sv.value = Value::Map(Vec::new());
                }
                let Value::Map(keys) = &sv.value else {
                    return Err(sv.error(format!(
                        "service `{name}` must be a mapping, found {}",
                        sv.kind_name()
                    )));
                };
                for (k, _) in keys {
                    let key = k.as_str().unwrap_or("");
                    if !key.starts_with("x-") && !SERVICE_KEYS.contains(&key) {
                        return Err(k.error(format!("unknown key `{key}` in service `{name}`")));
                    }
                }
                normalize_service(sv)?;
            }
        }
    }
    Ok(root)
}

/// Interpolates every value below `n`; a value that needs a variable that is not set is
/// marked unknown, and the variable noted.
fn interpolate_tree(
    n: &mut Node,
    env: &Env,
    unavailable: &mut Unavailable,
) -> Result<(), InputError> {
    match &mut n.value {
        Value::Null => Ok(()),
        Value::Str { s, .. } => {
            if !s.contains('$') {
                return Ok(());
            }
            let r = match interpolate(s, env) {
                Ok(r) => r,
                Err(e) => return Err(n.error(e)),
            };
            let changed = r.value != *s;
            if changed {
                *s = r.value;
            }
            if r.had_refs {
                n.interpolated = true;
            }
            if !r.missing.is_empty() {
                n.unknown = true;
                for var in &r.missing {
                    unavailable.variable(var, n.location());
                }
            }
            if changed {
                n.exact = None;
            }
            Ok(())
        }
        Value::Seq(items) => items
            .iter_mut()
            .try_for_each(|i| interpolate_tree(i, env, unavailable)),
        Value::Map(m) => m
            .iter_mut()
            .filter(|(k, _)| !k.as_str().is_some_and(|s| s.starts_with("x-")))
            .try_for_each(|(_, v)| interpolate_tree(v, env, unavailable)),
    }
}

/// A new node covering bytes `range` of `n`'s value (or all of `n` when not verbatim).
fn sub_node(n: &Node, range: std::ops::Range<usize>, value: Value) -> Node {
    let (span, exact) = match n.exact {
        Some(off) if !n.interpolated => (
            n.span.start + off + range.start..n.span.start + off + range.end,
            Some(0),
        ),
        _ => (n.span.clone(), None),
    };
    Node {
        value,
        src: Rc::clone(&n.src),
        span,
        exact,
        interpolated: n.interpolated,
        unknown: n.unknown,
        tag: None,
    }
}

/// Turns `[K=V, K2]` into `{K: V, K2: null}` (`sep` is `=`; for `networks`, a list of names).
fn list_to_map(n: &mut Node, names_only: bool) -> Result<(), InputError> {
    let Value::Seq(items) = &n.value else {
        return Ok(());
    };
    let mut out = Vec::new();
    for item in items {
        let Some(s) = item.as_str() else {
            return Err(item.error(format!("expected a string, found {}", item.kind_name())));
        };
        let (k, v) = if names_only {
            (s, None)
        } else {
            match s.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (s, None),
            }
        };
        let key = sub_node(
            item,
            0..k.len(),
            Value::Str {
                s: k.to_string(),
                plain: true,
            },
        );
        let mut key = Node {
            interpolated: false,
            ..key
        };
        // after interpolation the entry is no longer verbatim, but its name usually still is
        if key.exact.is_none() {
            let raw = item.src.text.get(item.span.clone()).unwrap_or("");
            let off = usize::from(raw.starts_with(['"', '\'']));
            if raw.get(off..off + k.len()) == Some(k) {
                let start = item.span.start + off;
                key.span = start..start + k.len();
                key.exact = Some(0);
            }
        }
        let val = match v {
            Some(v) => sub_node(
                item,
                k.len() + 1..s.len(),
                Value::Str {
                    s: v.to_string(),
                    plain: false,
                },
            ),
            None => Node {
                value: Value::Null,
                ..item.clone()
            },
        };
        out.push((key, val));
    }
    n.value = Value::Map(out);
    Ok(())
}

fn normalize_service(svc: &mut Node) -> Result<(), InputError> {
    let Value::Map(m) = &mut svc.value else {
        return Ok(());
    };
    for (k, v) in m.iter_mut() {
        match k.as_str().unwrap_or("") {
            "environment" | "labels" | "sysctls" | "annotations" => list_to_map(v, false)?,
            "networks" => list_to_map(v, true)?,
            "build" | "deploy" => {
                if let Value::Map(bm) = &mut v.value {
                    for (bk, bv) in bm.iter_mut() {
                        if matches!(bk.as_str(), Some("args" | "labels")) {
                            list_to_map(bv, false)?;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn child_path(path: &str, key: &str) -> String {
    match path {
        "services" | "networks" | "volumes" | "secrets" | "configs" => format!("{path}.*"),
        "" => key.to_string(),
        _ => format!("{path}.{key}"),
    }
}

/// Merges `over` into `base` like `docker compose`: mappings key by key, `command`,
/// `entrypoint`, `healthcheck.test` replaced, `volumes`/`secrets`/`configs`/`devices` unique by
/// target, other sequences appended without duplicates, scalars replaced; `!reset` removes and
/// `!override` replaces.
fn merge(base: Node, over: Node, path: &str) -> Node {
    if over.tag.as_deref() == Some("!override") {
        return over;
    }
    match (base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => Node {
            value: Value::Map(merge_map(b, o, path)),
            src: base.src,
            span: base.span,
            exact: None,
            interpolated: false,
            unknown: false,
            tag: None,
        },
        (Value::Seq(b), Value::Seq(o)) => Node {
            value: Value::Seq(merge_seq(b, o, path)),
            src: over.src,
            span: over.span,
            exact: None,
            interpolated: false,
            unknown: false,
            tag: None,
        },
        (_, value) => Node {
            value,
            src: over.src,
            span: over.span,
            exact: over.exact,
            interpolated: over.interpolated,
            unknown: over.unknown,
            tag: None,
        },
    }
}

fn placeholder(src: &Rc<SourceFile>) -> Node {
    Node {
        value: Value::Null,
        src: Rc::clone(src),
        span: 0..0,
        exact: None,
        interpolated: false,
        unknown: false,
        tag: None,
    }
}

fn merge_map(base: Vec<(Node, Node)>, over: Vec<(Node, Node)>, path: &str) -> Vec<(Node, Node)> {
    let mut out = base;
    for (k, v) in over {
        let key = k.as_str().unwrap_or("").to_string();
        if v.tag.as_deref() == Some("!reset") {
            out.retain(|(e, _)| !same_key(e, &k));
            continue;
        }
        if let Some(pos) = out.iter().position(|(e, _)| same_key(e, &k)) {
            let old = std::mem::replace(&mut out[pos].1, placeholder(&v.src));
            out[pos].1 = merge(old, v, &child_path(path, &key));
            // a service or top-level definition stays where it was first written; any other
            // key is where its (last) value is
            if !matches!(
                path,
                "" | "services" | "networks" | "volumes" | "secrets" | "configs"
            ) {
                out[pos].0 = k;
            }
        } else {
            out.push((k, v));
        }
    }
    out
}

/// The key that makes an entry of `volumes`, `secrets`, `configs` or `devices` unique.
fn unique_key(n: &Node, path: &str) -> Option<String> {
    match (&n.value, path) {
        (Value::Str { s, .. }, "services.*.volumes") => {
            parse_volume_short(s).ok().map(|m| m.target)
        }
        (Value::Str { s, .. }, "services.*.devices") => {
            let d = parse_device_short(s);
            Some(d.container.unwrap_or(d.host))
        }
        (Value::Map(_), "services.*.volumes" | "services.*.devices") => {
            n.get("target").and_then(Node::as_str).map(str::to_string)
        }
        (Value::Map(_), "services.*.secrets" | "services.*.configs") => n
            .get("target")
            .or_else(|| n.get("source"))
            .and_then(Node::as_str)
            .map(str::to_string),
        (Value::Str { s, .. }, _) => Some(s.clone()),
        _ => None,
    }
}

fn merge_seq(base: Vec<Node>, over: Vec<Node>, path: &str) -> Vec<Node> {
    if matches!(
        path,
        "services.*.command" | "services.*.entrypoint" | "services.*.healthcheck.test"
    ) {
        return over;
    }
    let mut out = base;
    for item in over {
        let key = unique_key(&item, path);
        let pos = key.as_ref().and_then(|k| {
            out.iter()
                .position(|e| unique_key(e, path).as_ref() == Some(k))
        });
        match pos {
            Some(p) => out[p] = item,
            None => out.push(item),
        }
    }
    out
}

fn resolve_extends(
    name: &str,
    services: &[(Node, Node)],
    env: &Env,
    stack: &mut Vec<String>,
    at_key: &Node,
    unavailable: &mut Unavailable,
) -> Result<Node, InputError> {
    let Some((_, svc)) = services.iter().find(|(k, _)| k.as_str() == Some(name)) else {
        return Err(at_key.error(format!("`extends` refers to an unknown service `{name}`")));
    };
    let Some(ext) = svc.get("extends") else {
        return Ok(svc.clone());
    };
    let id = format!("{}#{name}", svc.src.path);
    if stack.contains(&id) || stack.len() > 32 {
        return Err(ext.error(format!("`extends` cycle through service `{name}`")));
    }
    stack.push(id);
    let (base_name, file) = match &ext.value {
        Value::Str { s, .. } => (s.clone(), None),
        Value::Map(_) => {
            let Some(service) = ext.get("service").and_then(Node::as_str) else {
                return Err(ext.error("`extends` needs a `service`"));
            };
            (service.to_string(), ext.get("file"))
        }
        _ => return Err(ext.error("`extends` must be a service name or a mapping")),
    };
    let base = match file {
        Some(f) => {
            let Some(fname) = f.as_str() else {
                return Err(f.error("`extends.file` must be a string"));
            };
            let path = dir_of(&f.src).join(fname);
            let src = read_source(&path).map_err(|e| f.error(e.message))?;
            let doc = load_doc(&src, env, unavailable)?;
            let svcs = doc
                .get("services")
                .and_then(Node::as_map)
                .unwrap_or(&[])
                .to_vec();
            resolve_extends(&base_name, &svcs, env, stack, ext, unavailable)?
        }
        None => resolve_extends(&base_name, services, env, stack, ext, unavailable)?,
    };
    stack.pop();
    let mut own = svc.clone();
    if let Value::Map(m) = &mut own.value {
        m.retain(|(k, _)| k.as_str() != Some("extends"));
    }
    let key_span = own.span.clone();
    let mut merged = merge(base, own, "services.*");
    // the service is where it is written, not where its base is
    merged.span = key_span;
    merged.src = Rc::clone(&svc.src);
    Ok(merged)
}

// ---- reading facts ------------------------------------------------------------------------

fn located_key(k: &Node) -> Result<Located<String>, InputError> {
    match k.as_str() {
        Some(s) => Ok(k.located(s.to_string())),
        None => Err(k.error("expected a string key")),
    }
}

fn scalar(n: &Node, what: &str) -> Result<Located<String>, InputError> {
    match &n.value {
        Value::Str { s, .. } => Ok(n.located(s.clone())),
        _ => Err(n.error(format!(
            "`{what}` must be a scalar, found {}",
            n.kind_name()
        ))),
    }
}

fn opt_str(m: &Node, key: &str) -> Result<Option<Located<String>>, InputError> {
    match m.get(key) {
        None => Ok(None),
        Some(n) if n.is_null() => Ok(None),
        Some(n) => scalar(n, key).map(Some),
    }
}

fn to_bool(n: &Node, what: &str) -> Result<Located<bool>, InputError> {
    let s = n.as_str().unwrap_or("");
    let v = match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" => true,
        "false" | "no" | "off" | "n" => false,
        _ => return Err(n.error(format!("`{what}` must be a boolean"))),
    };
    Ok(n.located(v))
}

fn opt_bool(m: &Node, key: &str) -> Result<Option<Located<bool>>, InputError> {
    match m.get(key) {
        None => Ok(None),
        Some(n) if n.is_null() => Ok(None),
        Some(n) => to_bool(n, key).map(Some),
    }
}

fn to_int(n: &Node, what: &str) -> Result<Located<i64>, InputError> {
    n.as_str()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .map(|v| n.located(v))
        .ok_or_else(|| n.error(format!("`{what}` must be an integer")))
}

fn opt_int(m: &Node, key: &str) -> Result<Option<Located<i64>>, InputError> {
    match m.get(key) {
        None => Ok(None),
        Some(n) if n.is_null() => Ok(None),
        Some(n) => to_int(n, key).map(Some),
    }
}

fn opt_external(m: &Node) -> Result<Option<Located<bool>>, InputError> {
    match m.get("external") {
        Some(n) if matches!(n.value, Value::Map(_)) => Ok(Some(n.located(true))),
        _ => opt_bool(m, "external"),
    }
}

/// A sequence of scalars (a single scalar is accepted as a one-item list when `single`).
fn str_list(m: &Node, key: &str, single: bool) -> Result<Vec<Located<String>>, InputError> {
    let Some(n) = m.get(key) else {
        return Ok(Vec::new());
    };
    match &n.value {
        Value::Null => Ok(Vec::new()),
        Value::Str { .. } if single => Ok(vec![scalar(n, key)?]),
        Value::Seq(items) => items.iter().map(|i| scalar(i, key)).collect(),
        _ => Err(n.error(format!(
            "`{key}` must be a sequence, found {}",
            n.kind_name()
        ))),
    }
}

fn key_values(n: Option<&Node>) -> Result<Vec<KeyValue>, InputError> {
    let Some(n) = n else { return Ok(Vec::new()) };
    match &n.value {
        Value::Null => Ok(Vec::new()),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| {
                Ok(KeyValue {
                    key: located_key(k)?,
                    value: if v.is_null() {
                        None
                    } else {
                        Some(scalar(v, "value")?)
                    },
                })
            })
            .collect(),
        Value::Seq(_) => {
            let mut c = n.clone();
            list_to_map(&mut c, false)?;
            key_values(Some(&c))
        }
        Value::Str { .. } => Err(n.error("expected a mapping or a list of KEY=VALUE")),
    }
}

/// argv from a string (shell-split) or a list.
fn argv(n: &Node, what: &str) -> Result<Option<Located<Vec<Located<String>>>>, InputError> {
    match &n.value {
        Value::Null => Ok(None),
        Value::Str { s, .. } => {
            let words = shell::split(s, shell::Mode::default())
                .map_err(|(_, msg)| n.error(format!("`{what}`: {msg}")))?;
            let items = words
                .into_iter()
                .map(|w| {
                    let loc = if w.verbatim {
                        n.sub_location(w.span)
                    } else {
                        n.location()
                    };
                    Located::with_flag(w.text, loc, n.interpolated || w.has_var)
                })
                .collect();
            Ok(Some(n.located(items)))
        }
        Value::Seq(items) => {
            let v = items
                .iter()
                .map(|i| scalar(i, what))
                .collect::<Result<_, _>>()?;
            Ok(Some(n.located(v)))
        }
        Value::Map(_) => Err(n.error(format!("`{what}` must be a string or a list"))),
    }
}

fn sequence<'a>(svc: &'a Node, key: &str) -> Result<&'a [Node], InputError> {
    match svc.get(key) {
        None => Ok(&[]),
        Some(n) => match &n.value {
            Value::Null => Ok(&[]),
            Value::Seq(items) => Ok(items),
            _ => Err(n.error(format!(
                "`{key}` must be a sequence, found {}",
                n.kind_name()
            ))),
        },
    }
}

fn port_facts(n: &Node) -> Result<Located<PortMapping>, InputError> {
    match &n.value {
        Value::Str { s, .. } => {
            let p = parse_port_short(s).map_err(|e| n.error(e))?;
            Ok(n.located(p))
        }
        Value::Map(_) => {
            let Some(target) = opt_str(n, "target")? else {
                return Err(n.error("a port in long syntax needs a `target`"));
            };
            let published_node = opt_str(n, "published")?;
            let published_at = published_node.as_ref().map(|p| p.location.clone());
            let published = published_node.map(|p| p.value);
            let range = |s: &str| -> Option<(u16, u16)> {
                match s.split_once('-') {
                    Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                    None => s.parse().ok().map(|p| (p, p)),
                }
            };
            Ok(n.located(PortMapping {
                host_ip: opt_str(n, "host_ip")?
                    .map(|h| h.value)
                    .filter(|h| !h.is_empty()),
                published_range: published.as_deref().and_then(range),
                published,
                target_range: range(&target.value),
                target: target.value,
                protocol: opt_str(n, "protocol")?.map_or_else(|| "tcp".into(), |p| p.value),
                mode: opt_str(n, "mode")?.map(|m| m.value),
                syntax: Syntax::Long,
                published_at,
            }))
        }
        _ => Err(n.error(format!(
            "a port must be a string or a mapping, found {}",
            n.kind_name()
        ))),
    }
}

fn mount_facts(n: &Node) -> Result<Located<Mount>, InputError> {
    match &n.value {
        Value::Str { s, .. } => {
            let m = parse_volume_short(s).map_err(|e| n.error(e))?;
            Ok(n.located(m))
        }
        Value::Map(_) => {
            let kind = match opt_str(n, "type")?.as_ref().map(|t| t.value.as_str()) {
                Some("bind") => MountKind::Bind,
                Some("volume") | None => MountKind::Volume,
                Some("tmpfs") => MountKind::Tmpfs,
                Some("npipe") => MountKind::Npipe,
                Some("cluster") => MountKind::Cluster,
                Some("image") => MountKind::Image,
                Some(other) => return Err(n.error(format!("unknown volume type `{other}`"))),
            };
            let Some(target) = opt_str(n, "target")? else {
                return Err(n.error("a volume in long syntax needs a `target`"));
            };
            let bind = n.get("bind");
            let propagation = match bind {
                Some(b) => opt_str(b, "propagation")?.map(|p| p.value),
                None => None,
            };
            let selinux = match bind {
                Some(b) => opt_str(b, "selinux")?.map(|p| p.value),
                None => None,
            };
            Ok(n.located(Mount {
                kind,
                source: opt_str(n, "source")?
                    .map(|s| s.value)
                    .filter(|s| !s.is_empty()),
                target: target.value,
                read_only: opt_bool(n, "read_only")?.is_some_and(|b| b.value),
                propagation,
                selinux,
                syntax: Syntax::Long,
            }))
        }
        _ => Err(n.error(format!(
            "a volume must be a string or a mapping, found {}",
            n.kind_name()
        ))),
    }
}

fn secret_ref(n: &Node) -> Result<Located<SecretRef>, InputError> {
    match &n.value {
        Value::Str { s, .. } => Ok(n.located(SecretRef {
            source: s.clone(),
            target: None,
            uid: None,
            gid: None,
            mode: None,
        })),
        Value::Map(_) => {
            let Some(source) = opt_str(n, "source")? else {
                return Err(n.error("a secret reference needs a `source`"));
            };
            Ok(n.located(SecretRef {
                source: source.value,
                target: opt_str(n, "target")?.map(|v| v.value),
                uid: opt_str(n, "uid")?.map(|v| v.value),
                gid: opt_str(n, "gid")?.map(|v| v.value),
                mode: opt_str(n, "mode")?.map(|v| v.value),
            }))
        }
        _ => Err(n.error("a secret reference must be a string or a mapping")),
    }
}

fn ulimits(n: Option<&Node>) -> Result<Vec<Located<Ulimit>>, InputError> {
    let mut out = Vec::new();
    for (k, v) in entries(n)? {
        let name = located_key(k)?.value;
        let (soft, hard) = match &v.value {
            Value::Map(_) => (
                opt_int(v, "soft")?.map(|x| x.value),
                opt_int(v, "hard")?.map(|x| x.value),
            ),
            Value::Str { .. } => {
                let x = to_int(v, &name)?.value;
                (Some(x), Some(x))
            }
            _ => return Err(v.error("a ulimit must be a number or a mapping with soft/hard")),
        };
        out.push(k.located(Ulimit { name, soft, hard }));
    }
    Ok(out)
}

fn restart_node(n: &Node) -> Result<Located<RestartPolicy>, InputError> {
    let s = scalar(n, "restart")?;
    let (name, retries) = parse_restart(&s.value).map_err(|e| n.error(e))?;
    let max_retries = retries.map(|(v, off)| Located::new(v, n.sub_location(off..s.value.len())));
    Ok(n.located(RestartPolicy { name, max_retries }))
}

/// Directory that relative paths of `node` are resolved against: for the `-f` files, the first
/// file's directory (as `docker compose` does); for files reached through `extends.file` or
/// `include`, their own directory.
/// `path` without its `.` components (`conf/./app.env` is `conf/app.env`), so one file has one
/// name in findings; `..` is kept (resolving it could cross a symbolic link).
fn without_dot_segments(path: &Path) -> PathBuf {
    let out: PathBuf = path
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

fn base_dir(node: &Node, top: &[Rc<SourceFile>]) -> PathBuf {
    if top.iter().any(|t| t.path == node.src.path) {
        top.first()
            .map_or_else(|| dir_of(&node.src), |first| dir_of(first))
    } else {
        dir_of(&node.src)
    }
}

fn env_from_files(
    svc: &Node,
    env: &Env,
    facts: &mut ContainerFacts,
    top: &[Rc<SourceFile>],
    unavailable: &mut Unavailable,
) -> Result<(), InputError> {
    let Some(n) = svc.get("env_file") else {
        return Ok(());
    };
    let items: Vec<&Node> = match &n.value {
        Value::Null => Vec::new(),
        Value::Str { .. } | Value::Map(_) => vec![n],
        Value::Seq(items) => items.iter().collect(),
    };
    for item in items {
        let (path_node, required) = match &item.value {
            Value::Str { .. } => (item, true),
            Value::Map(_) => {
                let Some(p) = item.get("path") else {
                    return Err(item.error("an `env_file` entry needs a `path`"));
                };
                (p, opt_bool(item, "required")?.is_none_or(|r| r.value))
            }
            _ => return Err(item.error("an `env_file` entry must be a string or a mapping")),
        };
        let rel = scalar(path_node, "env_file")?;
        facts.env_files.push(rel.clone());
        let full = without_dot_segments(&base_dir(path_node, top).join(&rel.value));
        let text = match std::fs::read_to_string(&full) {
            Ok(t) => t,
            Err(_) if !required => continue,
            Err(e) => {
                // docker compose stops here; the variables it holds are unknown to the audit
                let detail = (e.kind() != std::io::ErrorKind::NotFound).then(|| e.to_string());
                unavailable.add(UnavailableInput {
                    kind: UnavailableKind::EnvFile,
                    name: rel.value.clone(),
                    detail,
                    location: path_node.location(),
                });
                continue;
            }
        };
        let src = SourceFile::new(full.display().to_string(), text);
        facts.environment.extend(env_file_vars(&src, env)?);
    }
    Ok(())
}

/// The variables of an env file (compose `env_file` format: `NAME=value`, `export`, quotes,
/// comments, `${VAR}` interpolated from `env` and earlier lines; a bare `NAME` takes the host's
/// value), located in that file.
fn env_file_vars(src: &SourceFile, env: &Env) -> Result<Vec<EnvVar>, InputError> {
    let lines = parse_env_file(&src.text, env).map_err(|(off, msg)| at(src, off, msg))?;
    let mut out = Vec::new();
    for l in lines {
        let provenance = if l.value.is_none() {
            Provenance::HostEnv
        } else if l.interpolated {
            Provenance::Interpolated
        } else {
            Provenance::EnvFile {
                path: src.path.clone(),
            }
        };
        let value = match l.value {
            Some(v) => Some(Located::with_flag(
                v,
                src.location(l.value_span.clone()),
                l.interpolated,
            )),
            None => env
                .get(&l.name)
                .map(|v| Located::new(v.to_string(), src.location(l.name_span.clone()))),
        };
        out.push(EnvVar {
            name: Located::new(l.name, src.location(l.name_span)),
            value,
            provenance,
        });
    }
    Ok(out)
}

/// Reads an env file (the format of compose `env_file:` and `.env`; also fine for
/// `docker run --env-file`, whose format is the unquoted subset) into located variables.
/// A missing or unreadable file is an error without a line.
pub fn load_env_file(path: &Path, env: &Env) -> Result<Vec<EnvVar>, InputError> {
    let src = read_source(path)?;
    env_file_vars(&src, env)
}

fn network_facts(key: &Node, net: &Node) -> Result<NetworkFacts, InputError> {
    let name = located_key(key)?;
    Ok(NetworkFacts {
        location: name.location.clone(),
        name,
        driver: opt_str(net, "driver")?,
        internal: opt_bool(net, "internal")?,
        attachable: opt_bool(net, "attachable")?,
        external: opt_external(net)?,
        enable_ipv6: opt_bool(net, "enable_ipv6")?,
        driver_opts: key_values(net.get("driver_opts"))?,
        live: None,
    })
}

fn healthcheck(n: &Node) -> Result<Located<Healthcheck>, InputError> {
    if !matches!(n.value, Value::Map(_)) {
        return Err(n.error("`healthcheck` must be a mapping"));
    }
    let test = match n.get("test") {
        None => None,
        Some(t) => match &t.value {
            Value::Null => None,
            Value::Str { s, .. } => Some(t.located(vec!["CMD-SHELL".into(), s.clone()])),
            Value::Seq(items) => Some(
                t.located(
                    items
                        .iter()
                        .map(|i| scalar(i, "test").map(|x| x.value))
                        .collect::<Result<_, _>>()?,
                ),
            ),
            Value::Map(_) => return Err(t.error("`test` must be a string or a list")),
        },
    };
    let disabled = opt_bool(n, "disable")?.is_some_and(|d| d.value)
        || test
            .as_ref()
            .is_some_and(|t| t.value.first().is_some_and(|x| x == "NONE"));
    Ok(n.located(Healthcheck {
        disabled,
        test,
        interval: opt_str(n, "interval")?,
        timeout: opt_str(n, "timeout")?,
        retries: opt_int(n, "retries")?,
        start_period: opt_str(n, "start_period")?,
    }))
}

fn service_facts(
    name: &str,
    key: &Node,
    svc: &Node,
    env: &Env,
    top: &[Rc<SourceFile>],
    unavailable: &mut Unavailable,
) -> Result<ContainerFacts, InputError> {
    let mut f = ContainerFacts::new(name, SourceKind::Compose, key.location());
    f.partial =
        svc.get("image").is_none_or(Node::is_null) && svc.get("build").is_none_or(Node::is_null);
    let mut known = svc.clone();
    f.unknown = take_unknown(&mut known);
    let svc = &known;
    f.image = opt_str(svc, "image")?;
    f.build = match svc.get("build") {
        None => None,
        Some(b) => match &b.value {
            Value::Null => None,
            Value::Str { .. } => Some(scalar(b, "build")?),
            Value::Map(_) => Some(opt_str(b, "context")?.unwrap_or_else(|| b.located(".".into()))),
            Value::Seq(_) => return Err(b.error("`build` must be a string or a mapping")),
        },
    };
    f.container_name = opt_str(svc, "container_name")?;
    f.user = opt_str(svc, "user")?;
    f.privileged = opt_bool(svc, "privileged")?;
    for (k, out) in [("cap_add", &mut f.cap_add), ("cap_drop", &mut f.cap_drop)] {
        *out = str_list(svc, k, false)?
            .into_iter()
            .map(|c| Located::with_flag(normalize_cap(&c.value), c.location, c.interpolated))
            .collect();
    }
    f.security_opt = str_list(svc, "security_opt", false)?
        .into_iter()
        .map(|s| Located::with_flag(parse_security_opt(&s.value), s.location, s.interpolated))
        .collect();
    f.read_only = opt_bool(svc, "read_only")?;
    f.tmpfs = str_list(svc, "tmpfs", true)?;
    f.mounts = sequence(svc, "volumes")?
        .iter()
        .map(mount_facts)
        .collect::<Result<_, _>>()?;
    f.volumes_from = str_list(svc, "volumes_from", false)?;
    for d in sequence(svc, "devices")? {
        let dev = match &d.value {
            Value::Str { s, .. } => parse_device_short(s),
            Value::Map(_) => Device {
                host: opt_str(d, "source")?.map(|v| v.value).unwrap_or_default(),
                container: opt_str(d, "target")?.map(|v| v.value),
                permissions: opt_str(d, "permissions")?.map(|v| v.value),
            },
            _ => return Err(d.error("a device must be a string or a mapping")),
        };
        f.devices.push(d.located(dev));
    }
    f.pid = opt_str(svc, "pid")?;
    f.ipc = opt_str(svc, "ipc")?;
    f.uts = opt_str(svc, "uts")?;
    f.userns = opt_str(svc, "userns_mode")?;
    f.network_mode = opt_str(svc, "network_mode")?;
    f.cgroup = opt_str(svc, "cgroup")?;
    f.cgroup_parent = opt_str(svc, "cgroup_parent")?;
    f.ports = sequence(svc, "ports")?
        .iter()
        .map(port_facts)
        .collect::<Result<_, _>>()?;
    f.expose = str_list(svc, "expose", false)?;
    if let Some(n) = svc.get("networks") {
        f.networks = entries(Some(n))?
            .into_iter()
            .map(|(k, _)| located_key(k))
            .collect::<Result<_, _>>()?;
    }
    // environment: env_file entries first, then `environment` (which wins)
    env_from_files(svc, env, &mut f, top, unavailable)?;
    for (k, v) in entries(svc.get("environment"))? {
        let name = located_key(k)?;
        let (value, provenance) = match &v.value {
            Value::Null => (
                env.get(&name.value).map(|x| k.located(x.to_string())),
                Provenance::HostEnv,
            ),
            Value::Str { s, .. } => (
                Some(v.located(s.clone())),
                if v.interpolated {
                    Provenance::Interpolated
                } else {
                    Provenance::Literal
                },
            ),
            _ => return Err(v.error("an environment value must be a scalar")),
        };
        f.environment.push(EnvVar {
            name,
            value,
            provenance,
        });
    }
    f.secrets = sequence(svc, "secrets")?
        .iter()
        .map(secret_ref)
        .collect::<Result<_, _>>()?;
    f.configs = sequence(svc, "configs")?
        .iter()
        .map(secret_ref)
        .collect::<Result<_, _>>()?;
    // resources: legacy keys, then deploy.resources (which wins)
    let r = &mut f.resources;
    r.memory = opt_str(svc, "mem_limit")?
        .map(|s| Located::with_flag(parse_byte_size(&s.value), s.location, s.interpolated));
    r.memory_reservation = opt_str(svc, "mem_reservation")?
        .map(|s| Located::with_flag(parse_byte_size(&s.value), s.location, s.interpolated));
    r.memory_swap = opt_str(svc, "memswap_limit")?
        .map(|s| Located::with_flag(parse_byte_size(&s.value), s.location, s.interpolated));
    r.cpus = opt_str(svc, "cpus")?
        .map(|s| Located::with_flag(parse_cpus(&s.value), s.location, s.interpolated));
    r.cpu_shares = opt_int(svc, "cpu_shares")?;
    r.cpu_quota = opt_int(svc, "cpu_quota")?;
    r.cpuset = opt_str(svc, "cpuset")?;
    r.pids = opt_int(svc, "pids_limit")?;
    r.ulimits = ulimits(svc.get("ulimits"))?;
    if let Some(deploy) = svc.get("deploy").filter(|d| !d.is_null()) {
        if !matches!(deploy.value, Value::Map(_)) {
            return Err(deploy.error("`deploy` must be a mapping"));
        }
        if let Some(res) = deploy.get("resources").filter(|d| !d.is_null()) {
            if let Some(lim) = res.get("limits").filter(|d| !d.is_null()) {
                if let Some(m) = opt_str(lim, "memory")? {
                    r.memory = Some(Located::with_flag(
                        parse_byte_size(&m.value),
                        m.location,
                        m.interpolated,
                    ));
                }
                if let Some(c) = opt_str(lim, "cpus")? {
                    r.cpus = Some(Located::with_flag(
                        parse_cpus(&c.value),
                        c.location,
                        c.interpolated,
                    ));
                }
                if let Some(p) = opt_int(lim, "pids")? {
                    r.pids = Some(p);
                }
            }
            if let Some(resv) = res.get("reservations").filter(|d| !d.is_null())
                && let Some(m) = opt_str(resv, "memory")?
            {
                r.memory_reservation = Some(Located::with_flag(
                    parse_byte_size(&m.value),
                    m.location,
                    m.interpolated,
                ));
            }
        }
        if let Some(rp) = deploy.get("restart_policy").filter(|d| !d.is_null()) {
            let condition = opt_str(rp, "condition")?.map_or_else(|| "any".into(), |c| c.value);
            let max_retries = opt_int(rp, "max_attempts")?.map(|m| {
                Located::with_flag(
                    u32::try_from(m.value.max(0)).unwrap_or(u32::MAX),
                    m.location,
                    m.interpolated,
                )
            });
            f.deploy_restart_policy = Some(rp.located(RestartPolicy {
                name: condition,
                max_retries,
            }));
        }
    }
    f.restart = match svc.get("restart") {
        Some(n) if !n.is_null() => Some(restart_node(n)?),
        _ => None,
    };
    f.healthcheck = match svc.get("healthcheck") {
        Some(n) if !n.is_null() => Some(healthcheck(n)?),
        _ => None,
    };
    if let Some(lg) = svc.get("logging").filter(|d| !d.is_null()) {
        f.logging.driver = opt_str(lg, "driver")?;
        f.logging.options = key_values(lg.get("options"))?;
    }
    if let Some(c) = svc.get("command") {
        f.command = argv(c, "command")?;
    }
    if let Some(c) = svc.get("entrypoint") {
        f.entrypoint = argv(c, "entrypoint")?;
    }
    f.labels = key_values(svc.get("labels"))?;
    f.profiles = str_list(svc, "profiles", false)?;
    f.sysctls = key_values(svc.get("sysctls"))?;
    f.extra_hosts = match svc.get("extra_hosts") {
        Some(n) if matches!(n.value, Value::Map(_)) => key_values(Some(n))?
            .into_iter()
            .map(|kv| {
                let v = kv.value.map(|v| v.value).unwrap_or_default();
                Located::new(format!("{}={v}", kv.key.value), kv.key.location)
            })
            .collect(),
        _ => str_list(svc, "extra_hosts", false)?,
    };
    f.depends_on = match svc.get("depends_on") {
        Some(n) if matches!(n.value, Value::Map(_)) => entries(Some(n))?
            .into_iter()
            .map(|(k, _)| located_key(k))
            .collect::<Result<_, _>>()?,
        _ => str_list(svc, "depends_on", false)?,
    };
    f.init = opt_bool(svc, "init")?;
    f.runtime = opt_str(svc, "runtime")?;
    f.hostname = opt_str(svc, "hostname")?;
    f.group_add = str_list(svc, "group_add", false)?;
    Ok(f)
}
