//! Shared helper for the secret rules of a container (C029, C030, C032): the environment
//! values the container gets and the secret-carrying words of its command lines, each judged by
//! [`crate::secrets`].

use moat_deploy::{EnvVar, Located, Provenance};
use moat_diagnostics::Location;

use crate::context::ContainerContext;
use crate::secrets::{self, Verdict, is_secret_name};

/// An environment variable with a literal value, as the container gets it.
pub struct EnvValue<'a> {
    /// The variable.
    pub var: &'a EnvVar,
    /// Its literal value.
    pub value: &'a Located<String>,
    /// What the value is.
    pub verdict: Verdict,
    /// ` (env file `PATH`)` for a line of an env file, or empty.
    pub origin: String,
}

/// The environment values of the container that are written literally (not interpolated, not
/// taken from the host), judged. Only the value the container gets is judged: a later entry of
/// the same name wins.
pub fn environment<'a>(ctx: &ContainerContext<'a>) -> Vec<EnvValue<'a>> {
    let env = &ctx.facts.environment;
    let mut out = Vec::new();
    for (i, var) in env.iter().enumerate() {
        if env[i + 1..].iter().any(|e| e.name.value == var.name.value)
            // an image's ENV is judged once, on the image (D010), not again per container
            || matches!(
                var.provenance,
                Provenance::Interpolated | Provenance::HostEnv | Provenance::Image { .. }
            )
        {
            continue;
        }
        let Some(value) = var.value.as_ref().filter(|v| !v.interpolated) else {
            continue;
        };
        let verdict = secrets::judge(&var.name.value, &value.value, &ctx.settings.secret_allow);
        let origin = match &var.provenance {
            Provenance::EnvFile { path } => format!(" (env file `{path}`)"),
            _ => String::new(),
        };
        out.push(EnvValue {
            var,
            value,
            verdict,
            origin,
        });
    }
    out
}

/// Clients that take the password glued to `-p` (`-ps3cret`).
const MYSQL_CLIENTS: &[&str] = &[
    "mysql",
    "mysqladmin",
    "mysqldump",
    "mysqlcheck",
    "mysqlimport",
    "mysqlshow",
    "mariadb",
    "mariadb-admin",
    "mariadb-dump",
    "mariadb-check",
];

/// Options that take a secret although their name does not say so.
const SECRET_OPTIONS: &[&str] = &["requirepass", "masterauth"];

/// Last words of option names that take no secret value (`--password-stdin`).
const NOT_A_VALUE: &[&str] = &["stdin", "prompt", "env", "cmd", "command"];

/// A word of a command line that carries a secret or a placeholder for one.
pub struct ArgValue<'a> {
    /// Where the argument is written.
    pub location: &'a Location,
    /// `command`, `entrypoint` or `healthcheck`.
    pub what: &'static str,
    /// The option or variable that takes the value (`--password`, `-p`, `DB_PASSWORD`); `None`
    /// when the word is judged by its shape alone.
    pub option: Option<String>,
    /// The word, for the evidence.
    pub word: String,
    /// What the value is (never `NotSecret`).
    pub verdict: Verdict,
}

/// One shell word of an argument, with the location of its argument and whether the argument
/// held a variable reference.
struct Token<'a> {
    text: String,
    location: &'a Location,
    interpolated: bool,
    /// The word ends a shell command (`;`, `&&`, `||`, `|`).
    ends_command: bool,
}

/// The words of `command:`/`entrypoint:` (or the `docker run` arguments) and of the healthcheck
/// test that carry a secret or a placeholder: an option named like a secret with a literal
/// value (`--password=s3cret`, `--api-key s3cret`, `--requirepass s3cret`), a MySQL/MariaDB
/// client password glued to `-p`, a `NAME=value` assignment of a secret name, or any word with
/// the shape of a secret.
pub fn command_line<'a>(ctx: &ContainerContext<'a>) -> Vec<ArgValue<'a>> {
    let facts = ctx.facts;
    let mut out = Vec::new();
    for (what, argv) in [
        ("command", &facts.command),
        ("entrypoint", &facts.entrypoint),
    ] {
        let Some(argv) = argv else {
            continue;
        };
        let tokens: Vec<Token<'_>> = argv
            .value
            .iter()
            .flat_map(|arg| words(&arg.value, &arg.location, arg.interpolated))
            .collect();
        scan(ctx, what, &tokens, &mut out);
    }
    if let Some(h) = &facts.healthcheck
        && let Some(test) = &h.value.test
    {
        let tokens: Vec<Token<'_>> = test
            .value
            .iter()
            .skip_while(|w| matches!(w.as_str(), "CMD" | "CMD-SHELL"))
            .flat_map(|w| words(w, &test.location, test.interpolated))
            .collect();
        scan(ctx, "healthcheck", &tokens, &mut out);
    }
    out
}

/// Splits an argument on white space (a `sh -c` script is one argument), dropping quotes.
fn words<'a>(arg: &str, location: &'a Location, interpolated: bool) -> Vec<Token<'a>> {
    arg.split_whitespace()
        .map(|w| Token {
            text: w
                .trim_matches(|c| c == '"' || c == '\'' || c == ';')
                .to_string(),
            location,
            interpolated,
            ends_command: w.ends_with(';') || matches!(w, "&&" | "||" | "|"),
        })
        .collect()
}

/// Whether an option name (without dashes) takes a secret value.
fn secret_option(name: &str, allow: &[String]) -> bool {
    let lower = name.to_ascii_lowercase();
    let last = lower.rsplit(['-', '_', '.']).next().unwrap_or_default();
    if NOT_A_VALUE.contains(&last) {
        return false;
    }
    SECRET_OPTIONS.contains(&lower.as_str()) || is_secret_name(name, allow)
}

fn scan<'a>(
    ctx: &ContainerContext<'a>,
    what: &'static str,
    tokens: &[Token<'a>],
    out: &mut Vec<ArgValue<'a>>,
) {
    let allow = &ctx.settings.secret_allow;
    let mut mysql = false;
    for (i, tok) in tokens.iter().enumerate() {
        let t = tok.text.as_str();
        if i > 0 && tokens[i - 1].ends_command {
            mysql = false;
        }
        let program = t.rsplit('/').next().unwrap_or(t);
        if MYSQL_CLIENTS.contains(&program) {
            mysql = true;
            continue;
        }
        if tok.interpolated {
            continue;
        }
        let found: Option<(String, &str)> = if let Some(opt) = t.strip_prefix('-') {
            let name = opt.trim_start_matches('-');
            if mysql && !opt.starts_with('-') && t.len() > 2 && t.starts_with("-p") {
                Some(("-p".to_string(), &t[2..]))
            } else if let Some((key, value)) = name.split_once('=') {
                secret_option(key, allow).then(|| (format!("--{key}"), value))
            } else if secret_option(name, allow)
                && let Some(next) = tokens.get(i + 1)
                && !next.interpolated
                && !next.text.starts_with('-')
            {
                Some((t.to_string(), next.text.as_str()))
            } else {
                None
            }
        } else if let Some((key, value)) = t.split_once('=')
            && !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && is_secret_name(key, allow)
        {
            Some((key.to_string(), value))
        } else {
            None
        };
        let (option, verdict) = match found {
            // a shell variable or command substitution is not hard-coded
            Some((_, value)) if value.contains(['$', '`']) => continue,
            Some((name, value)) => (Some(name), secrets::judge_secret(value)),
            None if t.contains('$') => continue,
            None => (None, secrets::judge_value(t)),
        };
        if verdict == Verdict::NotSecret {
            continue;
        }
        out.push(ArgValue {
            location: tok.location,
            what,
            option,
            word: t.to_string(),
            verdict,
        });
    }
}
