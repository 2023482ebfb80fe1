//! Compose interpolation (`${VAR}`, `$VAR`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?e}`, `${VAR?e}`,
//! `${VAR:+x}`, `${VAR+x}`, `$$`) and the `.env` / `env_file` format.

use std::collections::BTreeMap;
use std::ops::Range;

/// The variables interpolation reads: what the caller supplies (usually the process
/// environment), completed by the project's `.env` file (the supplied values win).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// No variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current process environment (variables that are not valid Unicode are skipped).
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    /// Builder form of [`Env::set`].
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Adds the variables of `other` that are not already set.
    pub(crate) fn fill_from(&mut self, other: impl IntoIterator<Item = (String, String)>) {
        for (k, v) in other {
            self.vars.entry(k).or_insert(v);
        }
    }
}

/// Result of interpolating one string.
#[derive(Debug)]
pub(crate) struct Interpolated {
    pub value: String,
    /// At least one variable reference was found.
    pub had_refs: bool,
    /// Variables the value needed that are not set (their part of the value is empty): the
    /// value is unknown.
    pub missing: Vec<MissingVar>,
}

/// A variable a value needs that is not set: `${VAR}` / `$VAR` without a default, or
/// `${VAR:?message}` / `${VAR?message}` (where `docker compose` stops).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MissingVar {
    pub name: String,
    /// The `?` form's message, when it has one.
    pub message: Option<String>,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Interpolates `s`. An unset variable without a default becomes empty (as docker compose does,
/// with a warning), and so does one that `:?`/`?` requires (where docker compose stops): both
/// are listed in [`Interpolated::missing`]. Only a malformed reference is an error.
pub(crate) fn interpolate(s: &str, env: &Env) -> Result<Interpolated, String> {
    let mut missing = Vec::new();
    let mut r = interpolate_depth(s, env, 0, &mut missing)?;
    r.missing = missing;
    Ok(r)
}

fn interpolate_depth(
    s: &str,
    env: &Env,
    depth: usize,
    missing: &mut Vec<MissingVar>,
) -> Result<Interpolated, String> {
    if depth > 16 {
        return Err("interpolation nested too deeply".into());
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut had_refs = false;
    let mut i = 0;
    let mut lit = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        out.push_str(&s[lit..i]);
        match b.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(b'{') => {
                let close = matching_brace(b, i + 1).ok_or_else(|| {
                    format!("invalid interpolation format for `{s}`: unclosed `${{`")
                })?;
                let inner = &s[i + 2..close];
                out.push_str(&expand_braced(inner, env, depth, missing)?);
                had_refs = true;
                i = close + 1;
            }
            Some(&c) if is_name_start(c) => {
                let mut j = i + 1;
                while j < b.len() && is_name_char(b[j]) {
                    j += 1;
                }
                let name = &s[i + 1..j];
                match env.get(name) {
                    Some(v) => out.push_str(v),
                    None => missing.push(MissingVar {
                        name: name.to_string(),
                        message: None,
                    }),
                }
                had_refs = true;
                i = j;
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
        lit = i;
    }
    out.push_str(&s[lit..]);
    Ok(Interpolated {
        value: out,
        had_refs,
        missing: Vec::new(),
    })
}

/// Index of the `}` closing the `{` at `open`, counting nested `${`.
fn matching_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn expand_braced(
    inner: &str,
    env: &Env,
    depth: usize,
    missing: &mut Vec<MissingVar>,
) -> Result<String, String> {
    let b = inner.as_bytes();
    if b.is_empty() || !is_name_start(b[0]) {
        return Err(format!("invalid interpolation format: `${{{inner}}}`"));
    }
    let mut j = 1;
    while j < b.len() && is_name_char(b[j]) {
        j += 1;
    }
    let name = &inner[..j];
    let rest = &inner[j..];
    let val = env.get(name);
    if rest.is_empty() {
        if val.is_none() {
            missing.push(MissingVar {
                name: name.to_string(),
                message: None,
            });
        }
        return Ok(val.unwrap_or("").to_string());
    }
    let (colon, op, arg) = if let Some(r) = rest.strip_prefix(':') {
        let Some(op) = r.chars().next() else {
            return Err(format!("invalid interpolation format: `${{{inner}}}`"));
        };
        (true, op, &r[op.len_utf8()..])
    } else {
        let op = rest.chars().next().unwrap_or(' ');
        (false, op, &rest[op.len_utf8()..])
    };
    let unset = if colon {
        val.is_none_or(str::is_empty)
    } else {
        val.is_none()
    };
    match op {
        '-' => {
            if unset {
                Ok(interpolate_depth(arg, env, depth + 1, missing)?.value)
            } else {
                Ok(val.unwrap_or("").to_string())
            }
        }
        '?' => {
            if unset {
                let msg = interpolate_depth(arg, env, depth + 1, &mut Vec::new())?.value;
                missing.push(MissingVar {
                    name: name.to_string(),
                    message: Some(msg).filter(|m| !m.is_empty()),
                });
                Ok(String::new())
            } else {
                Ok(val.unwrap_or("").to_string())
            }
        }
        '+' => {
            if unset {
                Ok(String::new())
            } else {
                Ok(interpolate_depth(arg, env, depth + 1, missing)?.value)
            }
        }
        _ => Err(format!("invalid interpolation format: `${{{inner}}}`")),
    }
}

/// One line of an env file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvLine {
    pub name: String,
    pub name_span: Range<usize>,
    /// `None` for a bare `NAME` line (value taken from the host).
    pub value: Option<String>,
    /// Span of the value as written (quotes included).
    pub value_span: Range<usize>,
    /// The value contained a `${VAR}` reference.
    pub interpolated: bool,
}

/// Parses the env-file format of `.env` and `env_file:`: `NAME=value`, `export NAME=value`,
/// `# comments`, single quotes (literal), double quotes (`\n`, `\"`, `\\` escapes; may span
/// lines), ` # comment` after an unquoted value. Unquoted and double-quoted values are
/// interpolated with `env` and the variables defined above them. Errors carry a byte offset.
pub(crate) fn parse_env_file(text: &str, env: &Env) -> Result<Vec<EnvLine>, (usize, String)> {
    let mut out: Vec<EnvLine> = Vec::new();
    let mut local = env.clone();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // start of a line: skip blanks
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b'\r') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] == b'\n' {
            i += 1;
            continue;
        }
        if b[i] == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if text[i..].starts_with("export ") {
            i += 7;
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
        }
        let ns = i;
        while i < b.len() && !matches!(b[i], b'=' | b'\n' | b' ' | b'\t' | b'\r') {
            i += 1;
        }
        let name = text[ns..i].to_string();
        if name.is_empty() {
            return Err((ns, "expected a variable name".into()));
        }
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'\n' || b[i] == b'\r' {
            out.push(EnvLine {
                name_span: ns..ns + name.len(),
                name,
                value: None,
                value_span: i..i,
                interpolated: false,
            });
            continue;
        }
        if b[i] != b'=' {
            return Err((i, format!("expected `=` after `{name}`")));
        }
        i += 1;
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let vs = i;
        let (raw_value, interp) = match b.get(i) {
            Some(b'\'') => {
                let Some(close) = text[i + 1..].find('\'') else {
                    return Err((i, "unterminated single quote".into()));
                };
                let v = text[i + 1..i + 1 + close].to_string();
                i = i + 2 + close;
                (v, false)
            }
            Some(b'"') => {
                let mut v = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < b.len() {
                    match b[j] {
                        b'\\' if j + 1 < b.len() => {
                            match b[j + 1] {
                                b'n' => v.push('\n'),
                                b't' => v.push('\t'),
                                b'r' => v.push('\r'),
                                b'"' => v.push('"'),
                                b'$' => v.push_str("$$"),
                                _ => v.push('\\'),
                            }
                            if !matches!(b[j + 1], b'n' | b't' | b'r' | b'"' | b'\\' | b'$') {
                                j += 1;
                                continue;
                            }
                            j += 2;
                        }
                        b'"' => {
                            closed = true;
                            j += 1;
                            break;
                        }
                        _ => {
                            let c = text[j..].chars().next().unwrap_or(' ');
                            v.push(c);
                            j += c.len_utf8();
                        }
                    }
                }
                if !closed {
                    return Err((i, "unterminated double quote".into()));
                }
                i = j;
                (v, true)
            }
            _ => {
                let ls = i;
                while i < b.len() && b[i] != b'\n' {
                    if b[i] == b'#' && i > ls && matches!(b[i - 1], b' ' | b'\t') {
                        break;
                    }
                    i += 1;
                }
                (text[ls..i].trim_end().to_string(), true)
            }
        };
        let value_end = if matches!(b.get(vs), Some(b'\'' | b'"')) {
            i
        } else {
            vs + raw_value.len()
        };
        let (value, interpolated) = if interp {
            match interpolate(&raw_value, &local) {
                Ok(x) => (x.value, x.had_refs),
                Err(e) => return Err((vs, e)),
            }
        } else {
            (raw_value, false)
        };
        // rest of the line: only a comment may follow
        while i < b.len() && b[i] != b'\n' {
            i += 1;
        }
        local.set(name.clone(), value.clone());
        out.push(EnvLine {
            name_span: ns..ns + name.len(),
            name,
            value: Some(value),
            value_span: vs..value_end,
            interpolated,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::new().with("SET", "v").with("EMPTY", "")
    }

    #[test]
    fn all_forms() {
        let cases = [
            ("${SET}", "v"),
            ("$SET-x", "v-x"),
            ("${UNSET:-d}", "d"),
            ("${EMPTY:-d}", "d"),
            ("${EMPTY-d}", ""),
            ("${UNSET-d}", "d"),
            ("${SET:+x}", "x"),
            ("${UNSET:+x}", ""),
            ("${SET+x}", "x"),
            ("$$SET", "$SET"),
            ("a$", "a$"),
            ("${UNSET:-${SET}}", "v"),
            ("${UNSET}", ""),
        ];
        for (input, want) in cases {
            assert_eq!(interpolate(input, &env()).unwrap().value, want, "{input}");
        }
        assert!(!interpolate("$$X", &env()).unwrap().had_refs);
        assert!(interpolate("${SET}", &env()).unwrap().had_refs);
    }

    #[test]
    fn required_and_malformed() {
        let missing = |s: &str| interpolate(s, &env()).unwrap().missing;
        let need = MissingVar {
            name: "UNSET".into(),
            message: Some("need it".into()),
        };
        assert_eq!(missing("a${UNSET:?need it}b"), [need]);
        assert_eq!(missing("${EMPTY:?x}")[0].name, "EMPTY");
        assert_eq!(interpolate("${EMPTY?x}", &env()).unwrap().value, "");
        assert!(missing("${EMPTY?x}").is_empty());
        assert_eq!(missing("${UNSET?}")[0].message, None);
        assert_eq!(missing("$UNSET ${UNSET}").len(), 2);
        assert!(missing("${UNSET:-d} ${UNSET-d} ${UNSET:+x} ${SET}").is_empty());
        assert_eq!(missing("${UNSET:-${ALSO}}")[0].name, "ALSO");
        assert!(interpolate("${SET", &env()).is_err());
        assert!(interpolate("${}", &env()).is_err());
    }

    #[test]
    fn env_file_format() {
        let text = "# c\nA=1\nexport B='x y'\nC=\"q\\n${A}\"\nD=plain # comment\nE\nF=\n";
        let lines = parse_env_file(text, &Env::new()).unwrap();
        let got: Vec<(&str, Option<&str>)> = lines
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("A", Some("1")),
                ("B", Some("x y")),
                ("C", Some("q\n1")),
                ("D", Some("plain")),
                ("E", None),
                ("F", Some(""))
            ]
        );
        assert_eq!(&text[lines[0].value_span.clone()], "1");
        assert_eq!(&text[lines[3].value_span.clone()], "plain");
        assert_eq!(&text[lines[4].name_span.clone()], "E");
        assert!(lines[2].interpolated);
    }
}
