//! The `docker run` / `docker create` source: a command line (or one found in a shell script or
//! Makefile) parsed into [`ContainerFacts`] with the flags of the Docker CLI reference.

use crate::common::{
    normalize_cap, parse_byte_size, parse_cpus, parse_device_short, parse_port_short,
    parse_restart, parse_security_opt, parse_ulimit_flag, parse_volume_short,
};
use crate::discover::is_makefile;
use crate::facts::{
    ContainerFacts, EnvVar, Healthcheck, KeyValue, Located, Mount, MountKind, Provenance,
    RestartPolicy, SecurityOpt, SourceKind, Syntax,
};
use crate::shell::{self, Mode, Word};
use moat_diagnostics::{InputError, Location, SourceFile};
use std::ops::Range;

/// `docker run` / `docker create` flags: long name, short letter, takes a value.
/// Aliases (`--net`, `--net-alias`, `--dns-opt`) map to the canonical name in [`canonical`].
const RUN_FLAGS: &[(&str, Option<char>, bool)] = &[
    ("add-host", None, true),
    ("annotation", None, true),
    ("attach", Some('a'), true),
    ("blkio-weight", None, true),
    ("blkio-weight-device", None, true),
    ("cap-add", None, true),
    ("cap-drop", None, true),
    ("cgroup-parent", None, true),
    ("cgroupns", None, true),
    ("cidfile", None, true),
    ("cpu-count", None, true),
    ("cpu-percent", None, true),
    ("cpu-period", None, true),
    ("cpu-quota", None, true),
    ("cpu-rt-period", None, true),
    ("cpu-rt-runtime", None, true),
    ("cpu-shares", Some('c'), true),
    ("cpus", None, true),
    ("cpuset-cpus", None, true),
    ("cpuset-mems", None, true),
    ("detach", Some('d'), false),
    ("detach-keys", None, true),
    ("device", None, true),
    ("device-cgroup-rule", None, true),
    ("device-read-bps", None, true),
    ("device-read-iops", None, true),
    ("device-write-bps", None, true),
    ("device-write-iops", None, true),
    ("disable-content-trust", None, false),
    ("dns", None, true),
    ("dns-option", None, true),
    ("dns-search", None, true),
    ("domainname", None, true),
    ("entrypoint", None, true),
    ("env", Some('e'), true),
    ("env-file", None, true),
    ("expose", None, true),
    ("gpus", None, true),
    ("group-add", None, true),
    ("health-cmd", None, true),
    ("health-interval", None, true),
    ("health-retries", None, true),
    ("health-start-interval", None, true),
    ("health-start-period", None, true),
    ("health-timeout", None, true),
    ("help", None, false),
    ("hostname", Some('h'), true),
    ("init", None, false),
    ("interactive", Some('i'), false),
    ("io-maxbandwidth", None, true),
    ("io-maxiops", None, true),
    ("ip", None, true),
    ("ip6", None, true),
    ("ipc", None, true),
    ("isolation", None, true),
    ("kernel-memory", None, true),
    ("label", Some('l'), true),
    ("label-file", None, true),
    ("link", None, true),
    ("link-local-ip", None, true),
    ("log-driver", None, true),
    ("log-opt", None, true),
    ("mac-address", None, true),
    ("memory", Some('m'), true),
    ("memory-reservation", None, true),
    ("memory-swap", None, true),
    ("memory-swappiness", None, true),
    ("mount", None, true),
    ("name", None, true),
    ("network", None, true),
    ("network-alias", None, true),
    ("no-healthcheck", None, false),
    ("oom-kill-disable", None, false),
    ("oom-score-adj", None, true),
    ("pid", None, true),
    ("pids-limit", None, true),
    ("platform", None, true),
    ("privileged", None, false),
    ("publish", Some('p'), true),
    ("publish-all", Some('P'), false),
    ("pull", None, true),
    ("quiet", Some('q'), false),
    ("read-only", None, false),
    ("restart", None, true),
    ("rm", None, false),
    ("runtime", None, true),
    ("security-opt", None, true),
    ("shm-size", None, true),
    ("sig-proxy", None, false),
    ("stop-signal", None, true),
    ("stop-timeout", None, true),
    ("storage-opt", None, true),
    ("sysctl", None, true),
    ("tmpfs", None, true),
    ("tty", Some('t'), false),
    ("ulimit", None, true),
    ("use-api-socket", None, false),
    ("user", Some('u'), true),
    ("userns", None, true),
    ("uts", None, true),
    ("volume", Some('v'), true),
    ("volume-driver", None, true),
    ("volumes-from", None, true),
    ("workdir", Some('w'), true),
];

/// Options of the `docker` command itself (before `run`): long, short, takes a value.
const GLOBAL_FLAGS: &[(&str, Option<char>, bool)] = &[
    ("config", None, true),
    ("context", Some('c'), true),
    ("debug", Some('D'), false),
    ("host", Some('H'), true),
    ("log-level", Some('l'), true),
    ("tls", None, false),
    ("tlscacert", None, true),
    ("tlscert", None, true),
    ("tlskey", None, true),
    ("tlsverify", None, false),
];

fn canonical(long: &str) -> &str {
    match long {
        "net" => "network",
        "net-alias" => "network-alias",
        "dns-opt" => "dns-option",
        other => other,
    }
}

fn lookup_long<'t>(
    table: &'t [(&'static str, Option<char>, bool)],
    name: &str,
) -> Option<&'t (&'static str, Option<char>, bool)> {
    let name = canonical(name);
    table.iter().find(|(l, _, _)| *l == name)
}

fn lookup_short<'t>(
    table: &'t [(&'static str, Option<char>, bool)],
    c: char,
) -> Option<&'t (&'static str, Option<char>, bool)> {
    table.iter().find(|(_, s, _)| *s == Some(c))
}

/// Maps spans of the parsed text to locations in the file.
struct Locator<'a> {
    src: &'a SourceFile,
    /// Where the parsed text starts in `src`.
    offset: usize,
    /// Added to the reported byte span (the `base` of [`parse_docker_run`]).
    shift: usize,
}

impl Locator<'_> {
    fn loc(&self, r: Range<usize>) -> Location {
        let mut l = self
            .src
            .location(r.start + self.offset..r.end + self.offset);
        l.span = Some(r.start + self.offset + self.shift..r.end + self.offset + self.shift);
        l
    }

    fn error(&self, r: Range<usize>, message: impl Into<String>) -> InputError {
        let l = self.loc(r);
        InputError {
            path: l.path,
            line: Some(l.line),
            column: Some(l.column),
            message: message.into(),
        }
    }
}

/// A flag's value and where it is written.
struct Arg {
    text: String,
    span: Range<usize>,
    /// Text and span correspond byte for byte (no quotes or escapes).
    verbatim: bool,
    has_var: bool,
}

impl Arg {
    fn sub(&self, r: Range<usize>) -> Range<usize> {
        if self.verbatim && r.end <= self.span.len() {
            self.span.start + r.start..self.span.start + r.end
        } else {
            self.span.clone()
        }
    }
}

/// Parses a `docker run` / `docker create` command line (`docker container run`, `sudo`,
/// global `docker` options and shell quoting accepted). Locations: `path`, with lines and
/// columns counted within `cmdline` and byte spans shifted by `base` (the offset of `cmdline`
/// in its file). To get lines of a file, use [`parse_docker_run_in`] or [`find_docker_runs`].
pub fn parse_docker_run(
    cmdline: &str,
    path: &str,
    base: usize,
) -> Result<ContainerFacts, InputError> {
    let src = SourceFile::new(path, cmdline);
    let loc = Locator {
        src: &src,
        offset: 0,
        shift: base,
    };
    parse_text(cmdline, &loc, false)
}

/// Parses the `docker run` command line at bytes `range` of `file`, located in that file.
pub fn parse_docker_run_in(
    file: &SourceFile,
    range: Range<usize>,
) -> Result<ContainerFacts, InputError> {
    let Some(text) = file.text.get(range.clone()) else {
        return Err(InputError {
            path: file.path.clone(),
            line: None,
            column: None,
            message: "range outside the file".into(),
        });
    };
    let loc = Locator {
        src: file,
        offset: range.start,
        shift: 0,
    };
    parse_text(text, &loc, is_makefile(&file.path))
}

fn parse_text(text: &str, loc: &Locator<'_>, make: bool) -> Result<ContainerFacts, InputError> {
    let words = shell::split(text, Mode { ops: true, make })
        .map_err(|(off, msg)| loc.error(off..off + 1, msg))?;
    for seg in words.split(|w| w.op) {
        if let Some(start) = docker_run_start(seg) {
            return parse_words(&seg[start..], loc);
        }
    }
    let end = text.len().min(1);
    Err(loc.error(0..end, "not a `docker run` or `docker create` command"))
}

/// Index of the `docker` word when `seg` is a `docker run|create` command (after `sudo`,
/// `exec`, `env`, `time`, `nohup`, `command`, shell keywords and `VAR=value` assignments).
fn docker_run_start(seg: &[Word]) -> Option<usize> {
    let (i, j) = docker_command(seg)?;
    match seg.get(j).map(|w| w.text.as_str()) {
        Some("run" | "create") => Some(i),
        Some("container") => matches!(
            seg.get(j + 1).map(|w| w.text.as_str()),
            Some("run" | "create")
        )
        .then_some(i),
        _ => None,
    }
}

/// When `seg` is a `docker` command (after `sudo`, `exec`, `env`, `time`, `nohup`, `command`,
/// shell keywords and `VAR=value` assignments): the index of the `docker` word and of its
/// subcommand (after the global options).
fn docker_command(seg: &[Word]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < seg.len() {
        let w = seg[i].text.as_str();
        let is_assign = w.split_once('=').is_some_and(|(n, _)| {
            !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        match w {
            "sudo" | "exec" | "env" | "time" | "nohup" | "command" | "then" | "do" | "else"
            | "!" | "{" => i += 1,
            "-u" | "-g" | "-h" | "-U" | "-C" if i > 0 => i += 2,
            _ if w.starts_with('-') && i > 0 => i += 1,
            _ if is_assign => i += 1,
            _ => break,
        }
    }
    let first = seg.get(i)?;
    let prog = first.text.trim_start_matches(['@', '-', '+']);
    if prog != "docker" && !prog.ends_with("/docker") {
        return None;
    }
    // global options, then the subcommand
    let mut j = i + 1;
    while let Some(w) = seg.get(j) {
        let t = w.text.as_str();
        if let Some(long) = t.strip_prefix("--") {
            let (name, has_eq) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            let (_, _, takes) = lookup_long(GLOBAL_FLAGS, name)?;
            j += if *takes && !has_eq { 2 } else { 1 };
        } else if let Some(short) = t.strip_prefix('-') {
            let c = short.chars().next()?;
            let (_, _, takes) = lookup_short(GLOBAL_FLAGS, c)?;
            j += if *takes && short.len() == 1 { 2 } else { 1 };
        } else {
            break;
        }
    }
    Some((i, j))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "t" => Some(true),
        "false" | "0" | "f" => Some(false),
        _ => None,
    }
}

/// Parses the words of one command starting at `docker`.
fn parse_words(seg: &[Word], loc: &Locator<'_>) -> Result<ContainerFacts, InputError> {
    let whole = seg[0].span.start..seg.last().map_or(seg[0].span.end, |w| w.span.end);
    let mut f = ContainerFacts::new("docker-run", SourceKind::DockerRun, loc.loc(whole.clone()));
    // skip `docker`, global options and the subcommand
    let mut i = 1;
    while i < seg.len() {
        let t = seg[i].text.as_str();
        i += 1;
        if t == "run" || t == "create" {
            break;
        }
        if t == "container" {
            continue;
        }
        if let Some(long) = t.strip_prefix("--") {
            if lookup_long(GLOBAL_FLAGS, long).is_some_and(|(_, _, v)| *v) && !long.contains('=') {
                i += 1;
            }
        } else if let Some(c) = t.strip_prefix('-').and_then(|s| s.chars().next())
            && lookup_short(GLOBAL_FLAGS, c).is_some_and(|(_, _, v)| *v)
            && t.len() == 2
        {
            i += 1;
        }
    }
    let mut health: Option<Located<Healthcheck>> = None;
    let mut image_at = None;
    while i < seg.len() {
        let w = &seg[i];
        let t = w.text.as_str();
        if t == "--" {
            image_at = Some(i + 1);
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let Some(&(canon, _, takes)) = lookup_long(RUN_FLAGS, name) else {
                return Err(loc.error(
                    w.span.clone(),
                    format!("unknown flag `--{name}` for docker run"),
                ));
            };
            let flag_span = w.span.start..w.span.start + 2 + name.len();
            if takes {
                let arg = if let Some(v) = inline {
                    let off = 2 + name.len() + 1;
                    Arg {
                        text: v.to_string(),
                        span: if w.verbatim {
                            w.span.start + off..w.span.end
                        } else {
                            w.span.clone()
                        },
                        verbatim: w.verbatim,
                        has_var: w.has_var,
                    }
                } else {
                    i += 1;
                    let Some(n) = seg.get(i) else {
                        return Err(
                            loc.error(w.span.clone(), format!("flag `--{name}` needs a value"))
                        );
                    };
                    Arg {
                        text: n.text.clone(),
                        span: n.span.clone(),
                        verbatim: n.verbatim,
                        has_var: n.has_var,
                    }
                };
                apply_value(&mut f, &mut health, canon, &arg, loc)?;
            } else {
                let value = match inline {
                    None => true,
                    Some(v) => parse_bool(v).ok_or_else(|| {
                        loc.error(
                            w.span.clone(),
                            format!("flag `--{name}` takes true or false"),
                        )
                    })?,
                };
                apply_bool(
                    &mut f,
                    &mut health,
                    canon,
                    value,
                    loc.loc(if w.verbatim {
                        w.span.clone()
                    } else {
                        flag_span
                    }),
                );
            }
            i += 1;
            continue;
        }
        if let Some(shorts) = t.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut consumed_next = false;
            for (ci, c) in shorts.char_indices() {
                let Some(&(canon, _, takes)) = lookup_short(RUN_FLAGS, c) else {
                    return Err(loc.error(
                        w.span.clone(),
                        format!("unknown flag `-{c}` for docker run"),
                    ));
                };
                if takes {
                    let rest = &shorts[ci + c.len_utf8()..];
                    let arg = if rest.is_empty() {
                        let Some(n) = seg.get(i + 1) else {
                            return Err(
                                loc.error(w.span.clone(), format!("flag `-{c}` needs a value"))
                            );
                        };
                        consumed_next = true;
                        Arg {
                            text: n.text.clone(),
                            span: n.span.clone(),
                            verbatim: n.verbatim,
                            has_var: n.has_var,
                        }
                    } else {
                        let rest = rest.strip_prefix('=').unwrap_or(rest);
                        let off = t.len() - rest.len();
                        Arg {
                            text: rest.to_string(),
                            span: if w.verbatim {
                                w.span.start + off..w.span.end
                            } else {
                                w.span.clone()
                            },
                            verbatim: w.verbatim,
                            has_var: w.has_var,
                        }
                    };
                    apply_value(&mut f, &mut health, canon, &arg, loc)?;
                    break;
                }
                let span = if w.verbatim {
                    w.span.start + 1 + ci..w.span.start + 1 + ci + c.len_utf8()
                } else {
                    w.span.clone()
                };
                apply_bool(&mut f, &mut health, canon, true, loc.loc(span));
            }
            i += if consumed_next { 2 } else { 1 };
            continue;
        }
        image_at = Some(i);
        break;
    }
    let Some(image_word) = image_at.and_then(|k| seg.get(k)) else {
        return Err(loc.error(whole, "`docker run` without an image"));
    };
    let image_i = image_at.unwrap_or(0);
    f.image = Some(Located::with_flag(
        image_word.text.clone(),
        loc.loc(image_word.span.clone()),
        image_word.has_var,
    ));
    let cmd = &seg[image_i + 1..];
    if let (Some(first), Some(last)) = (cmd.first(), cmd.last()) {
        let items = cmd
            .iter()
            .map(|w| Located::with_flag(w.text.clone(), loc.loc(w.span.clone()), w.has_var))
            .collect();
        f.command = Some(Located::new(
            items,
            loc.loc(first.span.start..last.span.end),
        ));
    }
    f.healthcheck = health;
    f.name = f
        .container_name
        .as_ref()
        .map_or_else(|| image_word.text.clone(), |n| n.value.clone());
    Ok(f)
}

fn health_mut<'h>(
    health: &'h mut Option<Located<Healthcheck>>,
    at: &Location,
) -> &'h mut Healthcheck {
    &mut health
        .get_or_insert_with(|| {
            Located::new(
                Healthcheck {
                    disabled: false,
                    test: None,
                    interval: None,
                    timeout: None,
                    retries: None,
                    start_period: None,
                },
                at.clone(),
            )
        })
        .value
}

fn apply_bool(
    f: &mut ContainerFacts,
    health: &mut Option<Located<Healthcheck>>,
    name: &str,
    value: bool,
    at: Location,
) {
    match name {
        "privileged" => f.privileged = Some(Located::new(value, at)),
        "read-only" => f.read_only = Some(Located::new(value, at)),
        "init" => f.init = Some(Located::new(value, at)),
        "publish-all" => f.publish_all = Some(Located::new(value, at)),
        "no-healthcheck" => health_mut(health, &at).disabled = value,
        _ => {
            if value {
                f.run_switches.push(Located::new(name.to_string(), at));
            }
        }
    }
}

fn apply_value(
    f: &mut ContainerFacts,
    health: &mut Option<Located<Healthcheck>>,
    name: &str,
    arg: &Arg,
    loc: &Locator<'_>,
) -> Result<(), InputError> {
    let v = arg.text.clone();
    let at = loc.loc(arg.span.clone());
    let located = || Located::with_flag(v.clone(), at.clone(), arg.has_var);
    let bad = |msg: String| loc.error(arg.span.clone(), msg);
    match name {
        "name" => f.container_name = Some(located()),
        "user" => f.user = Some(located()),
        "cap-add" => f
            .cap_add
            .push(Located::with_flag(normalize_cap(&v), at, arg.has_var)),
        "cap-drop" => f
            .cap_drop
            .push(Located::with_flag(normalize_cap(&v), at, arg.has_var)),
        "security-opt" => f
            .security_opt
            .push(Located::with_flag(security(&v), at, arg.has_var)),
        "tmpfs" => f.tmpfs.push(located()),
        "volume" => f.mounts.push(Located::with_flag(
            parse_volume_short(&v).map_err(bad)?,
            at,
            arg.has_var,
        )),
        "mount" => f.mounts.push(Located::with_flag(
            parse_mount_flag(&v).map_err(bad)?,
            at,
            arg.has_var,
        )),
        "volumes-from" => f.volumes_from.push(located()),
        "device" => f
            .devices
            .push(Located::with_flag(parse_device_short(&v), at, arg.has_var)),
        "pid" => f.pid = Some(located()),
        "ipc" => f.ipc = Some(located()),
        "uts" => f.uts = Some(located()),
        "userns" => f.userns = Some(located()),
        "cgroupns" => f.cgroup = Some(located()),
        "cgroup-parent" => f.cgroup_parent = Some(located()),
        "network" => {
            if matches!(v.as_str(), "host" | "none" | "bridge" | "default")
                || v.starts_with("container:")
            {
                f.network_mode = Some(located());
            } else {
                f.networks.push(located());
            }
        }
        "publish" => f.ports.push(Located::with_flag(
            parse_port_short(&v).map_err(bad)?,
            at,
            arg.has_var,
        )),
        "expose" => f.expose.push(located()),
        "env" => {
            let (k, val) = match v.split_once('=') {
                Some((k, val)) => (k, Some(val)),
                None => (v.as_str(), None),
            };
            let name = Located::with_flag(k.to_string(), loc.loc(arg.sub(0..k.len())), arg.has_var);
            let (value, provenance) = match val {
                Some(val) => (
                    Some(Located::with_flag(
                        val.to_string(),
                        loc.loc(arg.sub(k.len() + 1..v.len())),
                        arg.has_var,
                    )),
                    if arg.has_var {
                        Provenance::Interpolated
                    } else {
                        Provenance::Literal
                    },
                ),
                None => (None, Provenance::HostEnv),
            };
            f.environment.push(EnvVar {
                name,
                value,
                provenance,
            });
        }
        "env-file" => f.env_files.push(located()),
        "memory" => {
            f.resources.memory = Some(Located::with_flag(parse_byte_size(&v), at, arg.has_var));
        }
        "memory-reservation" => {
            f.resources.memory_reservation =
                Some(Located::with_flag(parse_byte_size(&v), at, arg.has_var));
        }
        "memory-swap" => {
            f.resources.memory_swap =
                Some(Located::with_flag(parse_byte_size(&v), at, arg.has_var));
        }
        "cpus" => f.resources.cpus = Some(Located::with_flag(parse_cpus(&v), at, arg.has_var)),
        "cpu-shares" | "cpu-quota" | "pids-limit" => {
            let n: i64 = v
                .trim()
                .parse()
                .map_err(|_| bad(format!("`--{name}` needs an integer")))?;
            let slot = match name {
                "cpu-shares" => &mut f.resources.cpu_shares,
                "cpu-quota" => &mut f.resources.cpu_quota,
                _ => &mut f.resources.pids,
            };
            *slot = Some(Located::with_flag(n, at, arg.has_var));
        }
        "cpuset-cpus" => f.resources.cpuset = Some(located()),
        "ulimit" => f.resources.ulimits.push(Located::with_flag(
            parse_ulimit_flag(&v).map_err(bad)?,
            at,
            arg.has_var,
        )),
        "restart" => {
            let (policy, retries) = parse_restart(&v).map_err(bad)?;
            let max_retries = retries
                .map(|(n, off)| Located::with_flag(n, loc.loc(arg.sub(off..v.len())), arg.has_var));
            f.restart = Some(Located::with_flag(
                RestartPolicy {
                    name: policy,
                    max_retries,
                },
                at,
                arg.has_var,
            ));
        }
        "health-cmd" => {
            health_mut(health, &at).test = Some(Located::with_flag(
                vec!["CMD-SHELL".into(), v],
                at.clone(),
                arg.has_var,
            ));
        }
        "health-interval" => health_mut(health, &at).interval = Some(located()),
        "health-timeout" => health_mut(health, &at).timeout = Some(located()),
        "health-start-period" => health_mut(health, &at).start_period = Some(located()),
        "health-retries" => {
            let n: i64 = v
                .trim()
                .parse()
                .map_err(|_| bad("`--health-retries` needs an integer".into()))?;
            health_mut(health, &at).retries = Some(Located::with_flag(n, at.clone(), arg.has_var));
        }
        "log-driver" => f.logging.driver = Some(located()),
        "log-opt" | "label" | "sysctl" => {
            let (k, val) = match v.split_once('=') {
                Some((k, val)) => (k, Some(val)),
                None => (v.as_str(), None),
            };
            let kv = KeyValue {
                key: Located::with_flag(k.to_string(), loc.loc(arg.sub(0..k.len())), arg.has_var),
                value: val.map(|x| {
                    Located::with_flag(
                        x.to_string(),
                        loc.loc(arg.sub(k.len() + 1..v.len())),
                        arg.has_var,
                    )
                }),
            };
            match name {
                "log-opt" => f.logging.options.push(kv),
                "label" => f.labels.push(kv),
                _ => f.sysctls.push(kv),
            }
        }
        "entrypoint" => {
            f.entrypoint = Some(Located::with_flag(vec![located()], at, arg.has_var));
        }
        "add-host" => f.extra_hosts.push(located()),
        "runtime" => f.runtime = Some(located()),
        "hostname" => f.hostname = Some(located()),
        "group-add" => f.group_add.push(located()),
        _ => {}
    }
    Ok(())
}

fn security(v: &str) -> SecurityOpt {
    parse_security_opt(v)
}

/// Parses `--mount type=bind,source=/x,target=/y,readonly,bind-propagation=rshared`.
fn parse_mount_flag(raw: &str) -> Result<Mount, String> {
    let mut m = Mount {
        kind: MountKind::Volume,
        source: None,
        target: String::new(),
        read_only: false,
        propagation: None,
        selinux: None,
        syntax: Syntax::Long,
    };
    for field in raw.split(',').map(str::trim).filter(|x| !x.is_empty()) {
        let (k, v) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.to_ascii_lowercase(), None),
        };
        match (k.as_str(), v) {
            ("type", Some(t)) => {
                m.kind = match t {
                    "bind" => MountKind::Bind,
                    "volume" => MountKind::Volume,
                    "tmpfs" => MountKind::Tmpfs,
                    "npipe" => MountKind::Npipe,
                    "cluster" => MountKind::Cluster,
                    "image" => MountKind::Image,
                    _ => return Err(format!("unknown mount type `{t}`")),
                };
            }
            ("source" | "src", Some(s)) => m.source = Some(s.to_string()).filter(|s| !s.is_empty()),
            ("target" | "destination" | "dst", Some(t)) => m.target = t.to_string(),
            ("readonly" | "ro", None) => m.read_only = true,
            ("readonly" | "ro", Some(b)) => {
                m.read_only = parse_bool(b).ok_or_else(|| format!("invalid `{k}` value `{b}`"))?;
            }
            ("bind-propagation", Some(p)) => m.propagation = Some(p.to_string()),
            _ => {}
        }
    }
    if m.target.is_empty() {
        return Err(format!("`--mount {raw}` needs a target"));
    }
    Ok(m)
}

/// Finds the `docker run` / `docker create` commands of a shell script or Makefile (chosen by
/// `path`: Makefile recipes use `$$` for `$` and keep `$(VAR)` as written) and parses each one,
/// located in `text`. Commands may span lines with `\` continuations and follow `sudo`,
/// `exec`, `&&`, `;`, `|` or `VAR=value`. A malformed command gives an error in its place.
pub fn find_docker_runs(text: &str, path: &str) -> Vec<Result<ContainerFacts, InputError>> {
    let file = SourceFile::new(path, text);
    let make = is_makefile(path);
    let mut out = Vec::new();
    for (start, line) in logical_lines(text) {
        if line.contains("docker") {
            scan_line(&file, start, line, make, &mut out);
        }
    }
    out
}

/// The logical lines of a script with their byte offsets: a line ends at a newline that a
/// backslash does not escape.
fn logical_lines(text: &str) -> Vec<(usize, &str)> {
    let b = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    while start < b.len() {
        let mut end = start;
        while end < b.len() {
            if b[end] == b'\n' {
                let mut k = end;
                let mut backslashes = 0;
                while k > start && b[k - 1] == b'\\' {
                    backslashes += 1;
                    k -= 1;
                }
                let cr = end > start && b[end - 1] == b'\r';
                if backslashes % 2 == 0 && !(cr && end >= 2 && b[end - 2] == b'\\') {
                    break;
                }
            }
            end += 1;
        }
        lines.push((start, &text[start..end]));
        start = end + 1;
    }
    lines
}

/// The images that a shell script or Makefile makes locally: the `-t`/`--tag` values of
/// `docker build`, `docker buildx build`, `docker image build` and `docker builder build`, and
/// the target of `docker tag SOURCE TARGET` (`docker image tag`). Located at the word; a name
/// holding a variable is kept as written (marked interpolated). In file order, but a caller
/// should not rely on it: functions and Makefile targets run in any order.
pub fn find_built_images(text: &str, path: &str) -> Vec<Located<String>> {
    let file = SourceFile::new(path, text);
    let make = is_makefile(path);
    let mut built: Vec<Located<String>> = Vec::new();
    for (start, line) in logical_lines(text) {
        if !line.contains("docker") {
            continue;
        }
        let Ok(words) = shell::split(line, Mode { ops: true, make }) else {
            continue;
        };
        let loc = Locator {
            src: &file,
            offset: start,
            shift: 0,
        };
        let located =
            |w: &Word| Located::with_flag(w.text.clone(), loc.loc(w.span.clone()), w.has_var);
        for seg in words.split(|w| w.op) {
            let Some((_, j)) = docker_command(seg) else {
                continue;
            };
            let sub: Vec<&str> = seg[j..].iter().take(2).map(|w| w.text.as_str()).collect();
            let args = match sub.as_slice() {
                ["build", ..] => &seg[j + 1..],
                ["buildx" | "image" | "builder", "build", ..] => &seg[j + 2..],
                ["tag", ..] | ["image", "tag", ..] => {
                    let rest = &seg[j + if sub[0] == "tag" { 1 } else { 2 }..];
                    if let Some(target) = rest.iter().filter(|w| !w.text.starts_with('-')).nth(1) {
                        built.push(located(target));
                    }
                    continue;
                }
                _ => continue,
            };
            let mut k = 0;
            while k < args.len() {
                let t = args[k].text.as_str();
                if t == "-t" || t == "--tag" {
                    if let Some(w) = args.get(k + 1) {
                        built.push(located(w));
                    }
                    k += 2;
                    continue;
                }
                if let Some(v) = t.strip_prefix("--tag=").or_else(|| {
                    t.strip_prefix("-t")
                        .filter(|v| !v.is_empty() && !t.starts_with("--"))
                }) {
                    let mut l = located(&args[k]);
                    l.value = v.trim_start_matches('=').to_string();
                    built.push(l);
                }
                k += 1;
            }
        }
    }
    built
}

fn scan_line(
    file: &SourceFile,
    start: usize,
    line: &str,
    make: bool,
    out: &mut Vec<Result<ContainerFacts, InputError>>,
) {
    let loc = Locator {
        src: file,
        offset: start,
        shift: 0,
    };
    let words = match shell::split(line, Mode { ops: true, make }) {
        Ok(w) => w,
        Err((off, msg)) => {
            // only a problem when the line looks like a docker run
            if line.contains("docker run")
                || line.contains("docker create")
                || line.contains("container run")
            {
                out.push(Err(loc.error(off..off + 1, msg)));
            }
            return;
        }
    };
    for seg in words.split(|w| w.op) {
        if let Some(i) = docker_run_start(seg) {
            out.push(parse_words(&seg[i..], &loc));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::find_built_images;

    #[test]
    fn images_built_or_tagged_by_a_script() {
        let script = "#!/bin/sh\nset -e\nsudo docker build -t acme/api:dev -f Dockerfile.api .\ndocker buildx build --platform linux/amd64 --tag=acme/worker --load ./worker\ndocker image build -tacme/cron . && docker tag acme/api:dev registry.acme.dev/api:1.0\ndocker build --target test -t \"$IMAGE\" .\ndocker run -d acme/api:dev\necho docker build -t not-a-command\n";
        let got: Vec<(String, usize, bool)> = find_built_images(script, "deploy.sh")
            .into_iter()
            .map(|l| (l.value, l.location.line, l.interpolated))
            .collect();
        assert_eq!(
            got,
            [
                ("acme/api:dev".to_string(), 3, false),
                ("acme/worker".to_string(), 4, false),
                ("acme/cron".to_string(), 5, false),
                ("registry.acme.dev/api:1.0".to_string(), 5, false),
                ("$IMAGE".to_string(), 6, true),
            ]
        );
        let mk = "IMAGE := acme/api\nbuild:\n\tdocker build -t $(IMAGE) .\n";
        assert!(find_built_images(mk, "Makefile")[0].interpolated);
    }
}
