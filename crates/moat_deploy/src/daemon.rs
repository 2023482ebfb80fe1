//! The daemon.json source.
//!
//! `serde_json` reports where a syntax error is but gives no positions for the values it
//! parses, and the rules must point at the exact value (`"icc": true`). So this module has a
//! small JSON reader (RFC 8259, plus nothing) that keeps the byte span of every key and value.
//! Nesting depth is bounded.

use crate::facts::{DaemonFacts, JsonValue, Located, Ulimit};
use crate::runtime::DaemonSource;
use moat_diagnostics::{InputError, SourceFile};
use std::path::Path;

const MAX_DEPTH: usize = 128;

struct Reader<'a> {
    src: &'a SourceFile,
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn error(&self, at: usize, message: impl Into<String>) -> InputError {
        let (line, column) = self.src.index.line_col(&self.src.text, at);
        InputError {
            path: self.src.path.clone(),
            line: Some(line),
            column: Some(column),
            message: format!("invalid JSON: {}", message.into()),
        }
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Located<JsonValue>, InputError> {
        if depth > MAX_DEPTH {
            return Err(self.error(self.i, "nesting too deep"));
        }
        self.ws();
        let start = self.i;
        let v = match self.b.get(self.i) {
            None => return Err(self.error(self.i, "unexpected end of input")),
            Some(b'{') => {
                self.i += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        if self.b.get(self.i) != Some(&b'"') {
                            return Err(self.error(self.i, "expected a string key"));
                        }
                        let ks = self.i;
                        let k = self.string()?;
                        let key = Located::new(k, self.src.location(ks..self.i));
                        self.ws();
                        if self.b.get(self.i) != Some(&b':') {
                            return Err(self.error(self.i, "expected `:`"));
                        }
                        self.i += 1;
                        let v = self.value(depth + 1)?;
                        entries.push((key, v));
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.error(self.i, "expected `,` or `}`")),
                        }
                    }
                }
                JsonValue::Object(entries)
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.error(self.i, "expected `,` or `]`")),
                        }
                    }
                }
                JsonValue::Array(items)
            }
            Some(b'"') => JsonValue::String(self.string()?),
            Some(b't') => self.word("true", JsonValue::Bool(true))?,
            Some(b'f') => self.word("false", JsonValue::Bool(false))?,
            Some(b'n') => self.word("null", JsonValue::Null)?,
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number()?,
            Some(_) => return Err(self.error(self.i, "unexpected character")),
        };
        Ok(Located::new(v, self.src.location(start..self.i)))
    }

    fn word(&mut self, w: &str, v: JsonValue) -> Result<JsonValue, InputError> {
        if self.b[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(self.error(self.i, "unexpected word"))
        }
    }

    fn number(&mut self) -> Result<JsonValue, InputError> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |r: &mut Self| {
            let s = r.i;
            while r.i < r.b.len() && r.b[r.i].is_ascii_digit() {
                r.i += 1;
            }
            r.i > s
        };
        if !digits(self) {
            return Err(self.error(self.i, "expected a digit"));
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.error(self.i, "expected a digit after `.`"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.error(self.i, "expected an exponent"));
            }
        }
        Ok(JsonValue::Number(self.src.text[start..self.i].to_string()))
    }

    fn hex4(&mut self) -> Result<u32, InputError> {
        let h = self
            .src
            .text
            .get(self.i..self.i + 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.error(self.i, "invalid \\u escape"))?;
        self.i += 4;
        Ok(h)
    }

    fn string(&mut self) -> Result<String, InputError> {
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.error(start, "unterminated string"));
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let e = self.b.get(self.i + 1).copied();
                    self.i += 2;
                    match e {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi)
                                && self.b.get(self.i) == Some(&b'\\')
                                && self.b.get(self.i + 1) == Some(&b'u')
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err(self.error(self.i - 2, "invalid escape")),
                    }
                }
                c if c < 0x20 => return Err(self.error(self.i, "control character in string")),
                _ => {
                    let ch = self.src.text[self.i..].chars().next().unwrap_or('\u{FFFD}');
                    out.push(ch);
                    self.i += ch.len_utf8();
                }
            }
        }
    }
}

fn want_bool(
    src: &SourceFile,
    key: &str,
    v: &Located<JsonValue>,
) -> Result<Located<bool>, InputError> {
    match v.value {
        JsonValue::Bool(b) => Ok(Located::new(b, v.location.clone())),
        _ => Err(type_error(src, key, v, "a boolean")),
    }
}

fn want_str(
    src: &SourceFile,
    key: &str,
    v: &Located<JsonValue>,
) -> Result<Located<String>, InputError> {
    match &v.value {
        JsonValue::String(s) => Ok(Located::new(s.clone(), v.location.clone())),
        _ => Err(type_error(src, key, v, "a string")),
    }
}

fn want_strs(
    src: &SourceFile,
    key: &str,
    v: &Located<JsonValue>,
) -> Result<Vec<Located<String>>, InputError> {
    match &v.value {
        JsonValue::Array(items) => items.iter().map(|i| want_str(src, key, i)).collect(),
        _ => Err(type_error(src, key, v, "an array of strings")),
    }
}

fn type_error(src: &SourceFile, key: &str, v: &Located<JsonValue>, what: &str) -> InputError {
    InputError {
        path: src.path.clone(),
        line: Some(v.location.line),
        column: Some(v.location.column),
        message: format!("`{key}` must be {what}"),
    }
}

fn ulimits(src: &SourceFile, v: &Located<JsonValue>) -> Result<Vec<Located<Ulimit>>, InputError> {
    let JsonValue::Object(entries) = &v.value else {
        return Err(type_error(src, "default-ulimits", v, "an object"));
    };
    let mut out = Vec::new();
    for (k, u) in entries {
        let JsonValue::Object(fields) = &u.value else {
            return Err(type_error(
                src,
                "default-ulimits",
                u,
                "an object with Name, Soft, Hard",
            ));
        };
        let num = |name: &str| {
            fields
                .iter()
                .find(|(fk, _)| fk.value.eq_ignore_ascii_case(name))
                .and_then(|(_, fv)| match &fv.value {
                    JsonValue::Number(n) => n.parse::<i64>().ok(),
                    _ => None,
                })
        };
        out.push(Located::new(
            Ulimit {
                name: k.value.clone(),
                soft: num("Soft"),
                hard: num("Hard"),
            },
            k.location.clone(),
        ));
    }
    Ok(out)
}

/// Parses the text of a daemon.json. Malformed JSON and values of the wrong type for a known
/// key give a located error; unknown keys are kept in [`DaemonFacts::keys`].
pub fn parse_daemon_config(text: &str, path: &str) -> Result<DaemonFacts, InputError> {
    let src = SourceFile::new(path, text);
    let mut r = Reader {
        src: &src,
        b: src.text.as_bytes(),
        i: 0,
    };
    // a UTF-8 byte order mark is accepted
    if src.text.starts_with('\u{feff}') {
        r.i = 3;
    }
    let root = r.value(0)?;
    r.ws();
    if r.i < r.b.len() {
        return Err(r.error(r.i, "unexpected text after the JSON value"));
    }
    let location = root.location.clone();
    let JsonValue::Object(entries) = root.value else {
        return Err(type_error(&src, "daemon.json", &root, "an object"));
    };
    let mut f = DaemonFacts {
        path: path.to_string(),
        location,
        hosts: Vec::new(),
        tls: None,
        tlsverify: None,
        tlscacert: None,
        tlscert: None,
        tlskey: None,
        userns_remap: None,
        icc: None,
        live_restore: None,
        no_new_privileges: None,
        userland_proxy: None,
        iptables: None,
        insecure_registries: Vec::new(),
        log_driver: None,
        log_level: None,
        default_ulimits: Vec::new(),
        seccomp_profile: None,
        experimental: None,
        cgroup_parent: None,
        authorization_plugins: Vec::new(),
        storage_driver: None,
        keys: Vec::new(),
        source: DaemonSource::DaemonJson,
        info: None,
    };
    for (k, v) in &entries {
        let key = k.value.as_str();
        let s = &src;
        match key {
            "hosts" => f.hosts = want_strs(s, key, v)?,
            "tls" => f.tls = Some(want_bool(s, key, v)?),
            "tlsverify" => f.tlsverify = Some(want_bool(s, key, v)?),
            "tlscacert" => f.tlscacert = Some(want_str(s, key, v)?),
            "tlscert" => f.tlscert = Some(want_str(s, key, v)?),
            "tlskey" => f.tlskey = Some(want_str(s, key, v)?),
            "userns-remap" => f.userns_remap = Some(want_str(s, key, v)?),
            "icc" => f.icc = Some(want_bool(s, key, v)?),
            "live-restore" => f.live_restore = Some(want_bool(s, key, v)?),
            "no-new-privileges" => f.no_new_privileges = Some(want_bool(s, key, v)?),
            "userland-proxy" => f.userland_proxy = Some(want_bool(s, key, v)?),
            "iptables" => f.iptables = Some(want_bool(s, key, v)?),
            "insecure-registries" => f.insecure_registries = want_strs(s, key, v)?,
            "log-driver" => f.log_driver = Some(want_str(s, key, v)?),
            "log-level" => f.log_level = Some(want_str(s, key, v)?),
            "default-ulimits" => f.default_ulimits = ulimits(s, v)?,
            "seccomp-profile" => f.seccomp_profile = Some(want_str(s, key, v)?),
            "experimental" => f.experimental = Some(want_bool(s, key, v)?),
            "cgroup-parent" => f.cgroup_parent = Some(want_str(s, key, v)?),
            "authorization-plugins" => f.authorization_plugins = want_strs(s, key, v)?,
            "storage-driver" => f.storage_driver = Some(want_str(s, key, v)?),
            _ => {}
        }
    }
    f.keys = entries;
    Ok(f)
}

/// Reads and parses a daemon.json file.
pub fn load_daemon_config(path: &Path) -> Result<DaemonFacts, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        path: path.display().to_string(),
        line: None,
        column: None,
        message: format!("cannot read file: {e}"),
    })?;
    parse_daemon_config(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_values() {
        let text = "{\n  \"icc\": false,\n  \"hosts\": [\"unix:///var/run/docker.sock\", \"tcp://0.0.0.0:2375\"],\n  \"default-ulimits\": {\"nofile\": {\"Name\": \"nofile\", \"Hard\": 64000, \"Soft\": 64000}},\n  \"x-é\": {\"a\": [1.5e3, null, \"\\u00e9\\ud83d\\ude00\"]}\n}\n";
        let f = parse_daemon_config(text, "daemon.json").unwrap();
        let icc = f.icc.unwrap();
        assert!(!icc.value);
        assert_eq!(
            (
                icc.location.line,
                icc.location.column,
                icc.location.end_column
            ),
            (2, 10, 15)
        );
        assert_eq!(f.hosts[1].value, "tcp://0.0.0.0:2375");
        assert_eq!(
            (f.hosts[1].location.line, f.hosts[1].location.column),
            (3, 44)
        );
        assert_eq!(f.default_ulimits[0].value.soft, Some(64000));
        assert_eq!(f.keys.len(), 4);
        assert_eq!((f.location.line, f.location.end_line), (1, 6));
        assert_eq!(f.keys[3].0.value, "x-é");
    }

    #[test]
    fn errors_are_located() {
        let e = parse_daemon_config("{\n  \"icc\": tru\n}", "d").unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(10)));
        let e = parse_daemon_config("{\"icc\": \"yes\"}", "d").unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(9)));
        assert!(e.message.contains("boolean"));
        let e = parse_daemon_config("{\"a\": 1,}", "d").unwrap_err();
        assert_eq!(e.column, Some(9));
        assert!(parse_daemon_config("[1]", "d").is_err());
        assert!(parse_daemon_config("{} x", "d").is_err());
        assert!(parse_daemon_config(&"[".repeat(1000), "d").is_err());
    }
}

/// The daemon settings a `dockerd` command line gives (`--icc=false`, `--no-new-privileges`,
/// `-H tcp://0.0.0.0:2376`, `--userns-remap default`…), read as the daemon.json they stand for,
/// located in that text under the pseudo-path `<dockerd command line>`; and the file
/// `--config-file` names, when given. Flags moat has no rule for are left out.
pub fn daemon_command_line(args: &[String]) -> (DaemonFacts, Option<String>) {
    const BOOLS: &[&str] = &[
        "icc",
        "iptables",
        "userland-proxy",
        "live-restore",
        "no-new-privileges",
        "tls",
        "tlsverify",
        "experimental",
    ];
    const STRINGS: &[(&str, &str)] = &[
        ("userns-remap", "userns-remap"),
        ("log-level", "log-level"),
        ("l", "log-level"),
        ("log-driver", "log-driver"),
        ("storage-driver", "storage-driver"),
        ("s", "storage-driver"),
        ("seccomp-profile", "seccomp-profile"),
        ("cgroup-parent", "cgroup-parent"),
        ("tlscacert", "tlscacert"),
        ("tlscert", "tlscert"),
        ("tlskey", "tlskey"),
    ];
    const LISTS: &[(&str, &str)] = &[
        ("H", "hosts"),
        ("host", "hosts"),
        ("insecure-registry", "insecure-registries"),
        ("authorization-plugin", "authorization-plugins"),
    ];
    let mut bools: Vec<(&str, bool)> = Vec::new();
    let mut strings: Vec<(&str, String)> = Vec::new();
    let mut lists: Vec<(&str, Vec<String>)> = Vec::new();
    let mut ulimits: Vec<String> = Vec::new();
    let mut config_file = None;
    let mut i = 1;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        if let Some(key) = BOOLS.iter().find(|b| **b == name) {
            let value = inline.as_deref().is_none_or(|v| v != "false");
            bools.retain(|(k, _)| k != key);
            bools.push((key, value));
            continue;
        }
        let known = STRINGS
            .iter()
            .map(|(f, _)| *f)
            .chain(LISTS.iter().map(|(f, _)| *f))
            .chain(["default-ulimit", "config-file"])
            .any(|f| f == name);
        if !known {
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None if i < args.len() => {
                i += 1;
                args[i - 1].clone()
            }
            None => continue,
        };
        if let Some((_, key)) = STRINGS.iter().find(|(f, _)| *f == name) {
            strings.retain(|(k, _)| k != key);
            strings.push((key, value));
        } else if let Some((_, key)) = LISTS.iter().find(|(f, _)| *f == name) {
            match lists.iter_mut().find(|(k, _)| k == key) {
                Some((_, values)) => values.push(value),
                None => lists.push((key, vec![value])),
            }
        } else if name == "default-ulimit" {
            ulimits.push(value);
        } else {
            config_file = Some(value);
        }
    }
    // written as JSON text by hand: the daemon.json reader takes text (and keeps positions)
    let q = |v: &str| {
        let mut out = String::from("\"");
        for c in v.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if u32::from(c) < 0x20 => out.push(' '),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    };
    let mut entries: Vec<String> = Vec::new();
    for (k, v) in bools {
        entries.push(format!("  {}: {v}", q(k)));
    }
    for (k, v) in strings {
        entries.push(format!("  {}: {}", q(k), q(&v)));
    }
    for (k, v) in lists {
        let items: Vec<String> = v.iter().map(|x| q(x)).collect();
        entries.push(format!("  {}: [{}]", q(k), items.join(", ")));
    }
    if !ulimits.is_empty() {
        let mut limits = Vec::new();
        for u in &ulimits {
            // `nofile=1024:2048`
            let (name, range) = u.split_once('=').unwrap_or((u, ""));
            let (soft, hard) = range.split_once(':').unwrap_or((range, range));
            let num = |s: &str| {
                s.parse::<i64>()
                    .map_or_else(|_| "null".to_string(), |n| n.to_string())
            };
            limits.push(format!(
                "{}: {{\"Name\": {}, \"Soft\": {}, \"Hard\": {}}}",
                q(name),
                q(name),
                num(soft),
                num(hard)
            ));
        }
        entries.push(format!("  \"default-ulimits\": {{{}}}", limits.join(", ")));
    }
    let text = format!("{{\n{}\n}}\n", entries.join(",\n"));
    let mut facts = parse_daemon_config(&text, COMMAND_LINE_PATH)
        .unwrap_or_else(|_| parse_daemon_config("{}", COMMAND_LINE_PATH).expect("`{}` parses"));
    facts.source = DaemonSource::CommandLine;
    (facts, config_file)
}

/// The pseudo-path of settings read from a `dockerd` command line.
pub const COMMAND_LINE_PATH: &str = "<dockerd command line>";

#[cfg(test)]
mod command_line_tests {
    use super::daemon_command_line;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_become_settings() {
        let (f, config) = daemon_command_line(&args(
            "/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375 --icc=false --no-new-privileges --userns-remap default --default-ulimit nofile=1024:2048 --containerd=/run/containerd/containerd.sock --config-file /etc/docker/custom.json",
        ));
        assert_eq!(f.hosts.len(), 2);
        assert_eq!(f.icc.map(|v| v.value), Some(false));
        assert_eq!(f.no_new_privileges.map(|v| v.value), Some(true));
        assert_eq!(f.userns_remap.map(|v| v.value).as_deref(), Some("default"));
        assert_eq!(f.default_ulimits.len(), 1);
        assert_eq!(config.as_deref(), Some("/etc/docker/custom.json"));
        let (none, _) = daemon_command_line(&args("/usr/sbin/dockerd"));
        assert!(none.icc.is_none() && none.hosts.is_empty());
    }

    #[test]
    fn what_info_does_not_report_is_unknown_until_the_host_says() {
        use crate::DaemonSource;
        let mut live = super::parse_daemon_config("{}", "daemon:x").unwrap();
        live.source = DaemonSource::EngineInfo;
        assert!(live.is_unknown("userland-proxy"));
        let (flags, _) = daemon_command_line(&args("/usr/sbin/dockerd --userland-proxy=false"));
        live.fill_from_file(&flags);
        assert_eq!(live.userland_proxy.as_ref().map(|v| v.value), Some(false));
        assert!(live.is_unknown("iptables"));
        // the host's command line and daemon.json were read: an absent setting is the default
        live.source = DaemonSource::LocalDaemon;
        assert!(!live.is_unknown("iptables"));
    }
}
