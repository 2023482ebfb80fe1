//! Deciding whether a variable or a value holds a secret. Every secret rule goes through here —
//! the Dockerfile rules (`ENV`/`ARG`, `RUN` text) and the deploy-time rules (compose
//! environment, `docker run -e`, command lines) — so that they agree on what a secret is.
//!
//! [`judge`] sorts a `NAME=value` pair and [`judge_value`] a value alone into one of three
//! [`Verdict`]s:
//!
//! - a **secret**: the name says it holds one (`DB_PASSWORD`, `API_KEY`, `githubToken`), or
//!   the value has the shape of one (a known token format, a URL with a password, a
//!   private-key block and, when the name does not say what else the value is, a long random
//!   string);
//! - a **placeholder** where a secret belongs (`changeme`, `<password>`, `your-token-here`,
//!   `xxxx`, `secret`, `TODO`, an issuer's documented example key such as
//!   `AKIAIOSFODNN7EXAMPLE`): nothing leaks, but a real secret is still to be set;
//! - **not a secret**: references (`${VAR}`, `{{ var }}`), references into a secret store
//!   (`op://…`, `vault:…`, AWS and Azure secret references) and encrypted values (SOPS,
//!   Ansible Vault), empty values, switches (`yes`, `none`), paths
//!   (`DB_PASSWORD_FILE=/run/secrets/db`), public keys and certificates (ssh,
//!   minisign, PGP and PEM public keys, certificates, age recipients, Stripe publishable keys),
//!   and variables whose name says they hold a path, a version, an id or a public key.
//!
//! The token formats are public facts documented by their issuers; the checks are written by
//! hand because a regex engine would be the only dependency they need.

/// Why a value looks secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `scheme://user:password@host`.
    CredentialUrl,
    /// AWS access key id (`AKIA…`, `ASIA…`).
    AwsAccessKey,
    /// GitHub token (`ghp_…`, `github_pat_…`, …).
    GitHubToken,
    /// Slack token (`xoxb-…`, …).
    SlackToken,
    /// Stripe secret key (`sk_live_…`, `rk_live_…`).
    StripeKey,
    /// Google API key (`AIza…`).
    GoogleApiKey,
    /// GitLab personal, project or deploy token (`glpat-…`, `gldt-…`, `glrt-…`).
    GitLabToken,
    /// npm access token (`npm_…`).
    NpmToken,
    /// PyPI API token (`pypi-AgEIcHlwaS5vcmc…`).
    PyPiToken,
    /// A Google Cloud service-account key (JSON with `"type": "service_account"` and a
    /// `private_key`).
    GcpServiceAccount,
    /// PEM private key block.
    PrivateKey,
    /// A long random-looking string.
    HighEntropy,
}

impl ValueKind {
    /// Words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            ValueKind::CredentialUrl => "a URL with an embedded password",
            ValueKind::AwsAccessKey => "an AWS access key id",
            ValueKind::GitHubToken => "a GitHub token",
            ValueKind::SlackToken => "a Slack token",
            ValueKind::StripeKey => "a Stripe secret key",
            ValueKind::GoogleApiKey => "a Google API key",
            ValueKind::GitLabToken => "a GitLab token",
            ValueKind::NpmToken => "an npm token",
            ValueKind::PyPiToken => "a PyPI token",
            ValueKind::GcpServiceAccount => "a Google Cloud service-account key",
            ValueKind::PrivateKey => "a private key",
            ValueKind::HighEntropy => "a high-entropy string",
        }
    }
}

/// What a value is, for the secret rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A hard-coded secret: `None` when the variable's name says so, the value's shape when
    /// the value does.
    Secret(Option<ValueKind>),
    /// A placeholder where a secret belongs (`changeme`, `<password>`, `xxxx`): no secret
    /// leaks, but a real one is still to be set.
    Placeholder,
    /// Not a secret: a reference, an empty value, a switch, a path, a public key.
    NotSecret,
}

/// Judges the value of variable (or option) `name`; `allow` is the configured allow-list of
/// names (globs, lower case). See the module documentation for the three classes.
pub fn judge(name: &str, value: &str, allow: &[String]) -> Verdict {
    let v = unquote(value);
    if v.is_empty() || is_reference(v) || is_kept_elsewhere(v) || is_public_key(v) {
        return Verdict::NotSecret;
    }
    if is_secret_name(name, allow) {
        return judge_secret(v);
    }
    let shape = judge_value(v);
    // a long random-looking string counts only when the name does not say what else the
    // value is, and only when it mixes upper- and lower-case letters (which identifiers such
    // as `supercronic-linux-amd64` or `org/4cbcd6dc79570c55` do not)
    if shape != Verdict::NotSecret
        || names_non_secret(name)
        || v.starts_with('/')
        || v.contains("://")
        || is_placeholder(v)
    {
        return shape;
    }
    let mixed_case = v.contains(|c: char| c.is_ascii_uppercase())
        && v.contains(|c: char| c.is_ascii_lowercase());
    if mixed_case && looks_random(v) {
        Verdict::Secret(Some(ValueKind::HighEntropy))
    } else {
        Verdict::NotSecret
    }
}

/// Judges the value of something known to hold a secret (a variable named like one, an
/// option such as `--requirepass`): a secret unless it is a reference, empty, a switch, a
/// path, a public key or a placeholder.
pub fn judge_secret(value: &str) -> Verdict {
    let v = unquote(value);
    if v.is_empty()
        || is_reference(v)
        || is_kept_elsewhere(v)
        || is_public_key(v)
        || not_a_secret_value(v)
    {
        Verdict::NotSecret
    } else if is_placeholder(v) || has_placeholder_shape(v) {
        Verdict::Placeholder
    } else {
        Verdict::Secret(None)
    }
}

/// Judges a value by its shape alone (no name, no entropy): a known token format, a URL with a
/// password or a private-key block is a secret, unless it is filled with a placeholder (a URL
/// password `changeme`, a host under `example.com`, an `EXAMPLE` key, a token made of `x`).
pub fn judge_value(value: &str) -> Verdict {
    let v = unquote(value);
    if v.len() < 8 || is_reference(v) || is_kept_elsewhere(v) || is_public_key(v) {
        return Verdict::NotSecret;
    }
    if v.contains("PRIVATE KEY-----") {
        return Verdict::Secret(Some(ValueKind::PrivateKey));
    }
    let mut placeholder = false;
    match credential_url(v) {
        Some(true) => return Verdict::Secret(Some(ValueKind::CredentialUrl)),
        Some(false) => placeholder = true,
        None => {}
    }
    for token in v.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '=' | ',' | ':')) {
        if let Some((kind, body)) = token_kind(token) {
            if is_placeholder_token(token, body) {
                placeholder = true;
            } else {
                return Verdict::Secret(Some(kind));
            }
        }
    }
    if placeholder {
        Verdict::Placeholder
    } else {
        Verdict::NotSecret
    }
}

/// `value` without surrounding white space and quotes.
fn unquote(value: &str) -> &str {
    value.trim().trim_matches(|c| c == '"' || c == '\'').trim()
}

/// Whether `value` is only a reference to a value set elsewhere: a variable (`$VAR`,
/// `${VAR}`, `${VAR:-x}`, make's `$(VAR)`) or a template expression filled in at deploy time
/// (`{{ db_password }}`, `${{ secrets.TOKEN }}`, `<%= ENV["TOKEN"] %>`, `#{DbPassword}`,
/// `@DB_PASSWORD@`, `%DB_PASSWORD%`, `__DB_PASSWORD__`). Such a value is not hard-coded.
pub fn is_reference(value: &str) -> bool {
    let v = value.trim();
    if (v.starts_with("${{") && v.ends_with("}}")) || (v.starts_with("<%") && v.ends_with("%>")) {
        return true;
    }
    let identifier = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    };
    if let Some(rest) = v.strip_prefix("${") {
        return rest.ends_with('}') && !rest[..rest.len() - 1].contains('}');
    }
    if let Some(rest) = v.strip_prefix("$(") {
        return rest.strip_suffix(')').is_some_and(identifier);
    }
    if let Some(rest) = v.strip_prefix("{{") {
        return rest.ends_with("}}") && !rest[..rest.len() - 2].contains("}}");
    }
    if let Some(rest) = v.strip_prefix("#{") {
        return rest.strip_suffix('}').is_some_and(identifier);
    }
    for (open, close) in [("@", "@"), ("%", "%"), ("__", "__")] {
        if let Some(inner) = v
            .strip_prefix(open)
            .and_then(|r| r.strip_suffix(close))
            .filter(|i| i.len() > 1)
        {
            return identifier(inner) && inner.chars().any(|c| c.is_ascii_alphabetic());
        }
    }
    v.strip_prefix('$').is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Whether `value` keeps the secret elsewhere: a reference into a secret store that is
/// resolved at run time (1Password `op://vault/item/field`, HashiCorp Vault `vault:path#key`,
/// AWS Secrets Manager and SSM Parameter Store ARNs, Azure Key Vault
/// `@Microsoft.KeyVault(…)`, GCP `projects/…/secrets/…`), or a value encrypted at rest (SOPS
/// `ENC[AES256_GCM,…]`, an Ansible Vault `$ANSIBLE_VAULT;…` blob).
fn is_kept_elsewhere(value: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "op://",
        "vault:",
        "arn:aws:secretsmanager:",
        "arn:aws:ssm:",
        "@Microsoft.KeyVault(",
        "$ANSIBLE_VAULT;",
    ];
    let v = value.trim();
    PREFIXES.iter().any(|p| v.starts_with(p))
        || (v.starts_with("ENC[") && v.ends_with(']'))
        || (v.starts_with("projects/") && v.contains("/secrets/"))
}

/// Lower-case words of a value: split on characters other than letters and digits, and on
/// lower-to-upper case changes (`INSERT_YOUR_KEY_HERE`, `yourPassword`).
fn value_words(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in value.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Whether `value` is a placeholder where a secret belongs: `<password>`, `[token]`, filler
/// (`xxxx`, `****`, `...`), a word that names the missing value (the whole value `secret`,
/// `password`, `token`, `mysecretpassword`) or asks for it (`changeme`, `change_me`,
/// `replace-me`, `TODO`, `placeholder`, `dummy`, `example`, `your-api-key-here`,
/// `INSERT_YOUR_TOKEN`), or a value that says it is unset (`not set`). An empty value is not
/// a placeholder: it sets nothing. The words `secret` and `password` inside a longer value do
/// not make it one (`hunter2-very-secret` is a secret): a real secret judged a placeholder
/// would be reported at low severity.
pub fn is_placeholder(value: &str) -> bool {
    // the whole value is a word that names what is missing (and the examples of the official
    // images' documentation: `mysecretpassword`, `my-secret-pw`)
    const WHOLE: &[&str] = &[
        "secret",
        "password",
        "passwd",
        "pass",
        "pwd",
        "token",
        "apikey",
        "key",
        "mysecret",
        "mypassword",
        "mysecretpassword",
        "mysecretpw",
        "supersecret",
        "changeit",
        "todo",
        "tbd",
        "fixme",
        "sample",
        "setme",
        "fillme",
        "foo",
        "foobar",
    ];
    // words that only a placeholder contains
    const PARTS: &[&str] = &[
        "changeme",
        "changethis",
        "replaceme",
        "replacethis",
        "replacewith",
        "placeholder",
        "example",
        "notset",
        "dummy",
        "redacted",
    ];
    // first words that ask for a value (`INSERT_YOUR_TOKEN`, `TODO: set me`)
    const FIRST: &[&str] = &["todo", "fixme", "tbd", "insert", "replace", "put", "change"];
    let v = unquote(value);
    if v.is_empty() {
        return false;
    }
    if (v.starts_with('<') && v.ends_with('>')) || (v.starts_with('[') && v.ends_with(']')) {
        return true;
    }
    if v.chars()
        .all(|c| matches!(c, 'x' | 'X' | '*' | '.' | '-' | '_' | '#' | '?'))
    {
        return true;
    }
    let words = value_words(v);
    let joined: String = words.concat();
    if joined.is_empty() {
        return false;
    }
    WHOLE.contains(&joined.as_str())
        || PARTS.iter().any(|p| joined.contains(p))
        || joined.starts_with("your")
        || words.iter().any(|w| w == "your")
        || words.last().is_some_and(|w| w == "here")
        || words.first().is_some_and(|w| FIRST.contains(&w.as_str()))
        || joined.contains("xxxx")
        || (joined.len() >= 6 && distinct(&joined) <= 2)
}

/// Number of distinct characters of `s`.
fn distinct(s: &str) -> usize {
    let mut seen: Vec<char> = s.chars().collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// Whether a value that is not a placeholder as a whole holds a secret shape filled with one
/// (`postgres://app:changeme@db/app`, `AKIAXXXXXXXXXXXXXXXX`).
fn has_placeholder_shape(v: &str) -> bool {
    judge_value(v) == Verdict::Placeholder
}

/// Whether the variable part of a token of a known format is a placeholder: it says `example`
/// (AWS documents `AKIAIOSFODNN7EXAMPLE`), is filled with `x`, has almost no distinct
/// characters, or counts up (`0123456789abcdef…`).
fn is_placeholder_token(token: &str, body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    if token.to_ascii_lowercase().contains("example") || lower.contains("xxxx") {
        return true;
    }
    let alnum: Vec<u8> = lower.bytes().filter(u8::is_ascii_alphanumeric).collect();
    if distinct(&lower) <= 3 {
        return true;
    }
    let rising = alnum.windows(2).filter(|w| w[1] == w[0] + 1).count();
    alnum.len() >= 8 && rising * 2 >= alnum.len()
}

/// Whether `value` is a public key or a certificate, which anyone may read: an ssh public key
/// (`ssh-ed25519 AAAA…`, `ssh-rsa`, `ecdsa-sha2-…`, `sk-…@openssh.com`), a minisign or
/// signify public key (`RWS…`, or a file starting `untrusted comment:`), a PGP public key
/// block, a PEM `PUBLIC KEY` or `CERTIFICATE`, an age recipient (`age1…`), or a Stripe
/// publishable key (`pk_live_…`). A value that also holds a private or secret key is not.
pub fn is_public_key(value: &str) -> bool {
    const SSH_KEY_TYPES: &[&str] = &[
        "ssh-ed25519",
        "ssh-rsa",
        "ssh-dss",
        "ssh-ed448",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ];
    let v = unquote(value);
    let lower = v.to_ascii_lowercase();
    if lower.contains("private key") || lower.contains("secret key") {
        return false;
    }
    if v.contains("-----BEGIN ") && (v.contains("PUBLIC KEY") || v.contains("CERTIFICATE")) {
        return true;
    }
    // a minisign or signify key or signature file; their secret keys say "secret key"
    if lower.starts_with("untrusted comment:") {
        return true;
    }
    let tokens: Vec<&str> = v.split_whitespace().collect();
    tokens.iter().enumerate().any(|(i, t)| {
        (SSH_KEY_TYPES.contains(t) && tokens.get(i + 1).is_some_and(|k| k.starts_with("AAAA")))
            || is_minisign_public_key(t)
            || is_age_recipient(t)
            || ((t.starts_with("pk_live_") || t.starts_with("pk_test_")) && t.len() > 20)
    })
}

/// A minisign (or signify) public key: the base64 of `Ed`, an 8-byte key id and a 32-byte
/// Ed25519 key, which is 56 characters starting `RWQ`…`RWT`.
fn is_minisign_public_key(t: &str) -> bool {
    t.len() == 56
        && t.starts_with("RW")
        && matches!(t.as_bytes()[2], b'Q'..=b'T')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

/// An age recipient (public key): `age1` and 58 bech32 characters.
fn is_age_recipient(t: &str) -> bool {
    t.len() == 62
        && t.starts_with("age1")
        && t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// Words of a variable name: split on `_`, `-`, `.` and lower-to-upper case changes, upper-cased.
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if matches!(c, '_' | '-' | '.' | ' ') {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase();
        cur.extend(c.to_uppercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

// A name that ends in one of these holds a path, a version, an id, a reference or a switch,
// not a secret.
const NOT_SECRET_SUFFIX: &[&str] = &[
    "FILE",
    "FILES",
    "FILENAME",
    "PATH",
    "DIR",
    "VERSION",
    "VER",
    "URL",
    "URI",
    "HOST",
    "PORT",
    "ID",
    "NAME",
    "ARN",
    "REF",
    "USER",
    "USERNAME",
    "TYPE",
    "LENGTH",
    "LEN",
    "EXPIRY",
    "EXPIRES",
    "TTL",
    "TIMEOUT",
    "ENABLED",
    "DISABLED",
    "ENABLE",
    "DISABLE",
    "REQUIRED",
    "MODE",
    "SERVER",
    "SERVERS",
    "KEYSERVER",
    "ALGORITHM",
    "HEADER",
    "FINGERPRINT",
    "SHA",
    "SHA1",
    "SHA256",
    "SHA512",
    "MD5",
    "CHECKSUM",
    "HASH",
    "URLS",
    "FORMAT",
    "PREFIX",
    "SIZE",
    "COUNT",
    "LOCATION",
    "ENDPOINT",
    "REGION",
    "FIELD",
    "PARAM",
    "LIFETIME",
    "DIRECTORY",
    "SECRETS",
    "STORE",
    "PROVIDER",
    "BACKEND",
    "KEYRING",
    "CERT",
    "CERTIFICATE",
];

// Public or non-secret key material.
const NOT_SECRET_NAMES: &[&str] = &["GPG_KEY", "GPG_KEYS", "PUBLIC_KEY", "PUB_KEY", "PGP_KEY"];

/// Words that make a name one of a public key or a value meant to be public (`MINISIGN_PUBKEY`,
/// `JWT_PUBLIC_KEY`, `STRIPE_PUBLISHABLE_KEY`, `NEXT_PUBLIC_API_URL`, `PYTHON_GPG_KEY`).
const PUBLIC_WORDS: &[&str] = &["GPG", "PUBLIC", "PUB", "PUBKEY", "PUBLICKEY", "PUBLISHABLE"];

/// Whether the words of a name say it holds a public key: one of [`PUBLIC_WORDS`], or a key
/// that is public by use (`RECAPTCHA_SITE_KEY`, `VERIFY_KEY`), or a name written without
/// separators that ends so (`MINISIGNPUBKEY`) — unless another word says secret
/// (`GPG_PASSPHRASE`, `GPG_PRIVATE_KEY`).
fn names_public_key(words: &[String]) -> bool {
    const SECRET_WORDS: &[&str] = &[
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PASSPHRASE",
        "SECRET",
        "TOKEN",
        "PRIVATE",
        "PRIVATEKEY",
    ];
    let n = words.len();
    if words.iter().any(|w| SECRET_WORDS.contains(&w.as_str())) {
        return false;
    }
    words.iter().any(|w| PUBLIC_WORDS.contains(&w.as_str()))
        || (n >= 2
            && words[n - 1] == "KEY"
            && matches!(words[n - 2].as_str(), "SITE" | "VERIFY" | "VERIFICATION"))
        || words
            .last()
            .is_some_and(|w| w.ends_with("PUBKEY") || w.ends_with("PUBLICKEY"))
}

/// Whether the words of a variable name say that it holds a secret (`DB_PASSWORD`, `API_KEY`,
/// `githubToken`), honouring the built-in and configured allow-lists (`GPG_KEY`, `*_VERSION`,
/// `*_FILE`, `*_PUBKEY`, …). [`is_secret_name`] refines it.
fn is_secret_name_by_words(name: &str, allow: &[String]) -> bool {
    let lower = name.to_ascii_lowercase();
    if allow.iter().any(|pattern| glob_match(pattern, &lower)) {
        return false;
    }
    let words = name_words(name);
    let Some(last) = words.last() else {
        return false;
    };
    if NOT_SECRET_SUFFIX.contains(&last.as_str()) {
        return false;
    }
    let upper = name.to_ascii_uppercase();
    if NOT_SECRET_NAMES
        .iter()
        .any(|n| upper == *n || upper.ends_with(&format!("_{n}")))
    {
        return false;
    }
    if names_public_key(&words) {
        return false;
    }
    let has = |w: &str| words.iter().any(|x| x == w);
    // `…_ACCESS_KEY` is the key's id in the S3 convention (AWS, MinIO, SeaweedFS:
    // `AWS_ACCESS_KEY` beside `AWS_SECRET_KEY`), unless a word says secret
    // (`AWS_SECRET_ACCESS_KEY`); an access key id in a value is still judged by its shape
    if words.ends_with(&["ACCESS".to_string(), "KEY".to_string()])
        && !has("SECRET")
        && !has("PRIVATE")
    {
        return false;
    }
    let any_word = |list: &[&str]| words.iter().any(|x| list.contains(&x.as_str()));
    if any_word(&[
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PASSPHRASE",
        "SECRET",
        "TOKEN",
        "APIKEY",
        "CREDENTIALS",
        "CREDENTIAL",
        "CREDS",
        "PRIVATEKEY",
        "AUTHTOKEN",
        "PWD",
    ]) {
        // `PWD` alone is the working directory
        return !(words.len() == 1 && words[0] == "PWD");
    }
    // KEY is a secret when it says what kind of key: API_KEY, SECRET_KEY, ACCESS_KEY, …
    has("KEY")
        && any_word(&[
            "API",
            "ACCESS",
            "PRIVATE",
            "SECRET",
            "ENCRYPTION",
            "MASTER",
            "SIGNING",
            "AUTH",
            "CLIENT",
            "LICENSE",
            "APP",
            "SERVICE",
            "ACCOUNT",
            "SESSION",
            "JWT",
            "HMAC",
            "STRIPE",
            "SENDGRID",
            "MAILGUN",
            "TWILIO",
            "OPENAI",
        ])
}

/// The kind of a token of a known format, with its variable part (after the fixed prefix).
fn token_kind(t: &str) -> Option<(ValueKind, &str)> {
    let alnum = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
    let upper_alnum = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    if t.len() == 20 && (t.starts_with("AKIA") || t.starts_with("ASIA")) && upper_alnum(&t[4..]) {
        return Some((ValueKind::AwsAccessKey, &t[4..]));
    }
    for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        if let Some(rest) = t.strip_prefix(prefix)
            && rest.len() >= 36
            && alnum(rest)
        {
            return Some((ValueKind::GitHubToken, rest));
        }
    }
    if let Some(rest) = t.strip_prefix("github_pat_")
        && rest.len() >= 40
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Some((ValueKind::GitHubToken, rest));
    }
    for prefix in ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"] {
        if let Some(rest) = t.strip_prefix(prefix)
            && rest.len() >= 10
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Some((ValueKind::SlackToken, rest));
        }
    }
    for prefix in ["sk_live_", "rk_live_"] {
        if let Some(rest) = t.strip_prefix(prefix)
            && rest.len() >= 20
            && alnum(rest)
        {
            return Some((ValueKind::StripeKey, rest));
        }
    }
    // GitLab: `glpat-` + 20 characters (personal), `gldt-` (deploy), `glrt-` (runner)
    for prefix in ["glpat-", "gldt-", "glrt-"] {
        if let Some(rest) = t.strip_prefix(prefix)
            && rest.len() >= 20
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Some((ValueKind::GitLabToken, rest));
        }
    }
    // npm: `npm_` + 36 base62 characters
    if let Some(rest) = t.strip_prefix("npm_")
        && rest.len() == 36
        && alnum(rest)
    {
        return Some((ValueKind::NpmToken, rest));
    }
    // PyPI: a macaroon whose base64 starts with the encoded "pypi.org" identifier
    if let Some(rest) = t.strip_prefix("pypi-AgEIcHlwaS5vcmc")
        && rest.len() >= 50
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Some((ValueKind::PyPiToken, rest));
    }
    if let Some(rest) = t.strip_prefix("AIza")
        && rest.len() == 35
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Some((ValueKind::GoogleApiKey, rest));
    }
    None
}

/// URLs of the form `scheme://user:password@host`: `Some(true)` when one has a literal
/// password, `Some(false)` when every password is a placeholder (`changeme`, `password`) or
/// the host is a documentation domain (`example.com`, `*.example`; RFC 2606), `None` when
/// there is no password (or only references such as `${DB_PASS}`).
fn credential_url(v: &str) -> Option<bool> {
    let mut found = None;
    let mut rest = v;
    while let Some(pos) = rest.find("://") {
        let after = &rest[pos + 3..];
        let authority_end = after
            .find(['/', ' ', '"', '\'', '?', '#'])
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        if let Some(at) = authority.rfind('@')
            && let Some((_, password)) = authority[..at].split_once(':')
            && !password.is_empty()
            && !password.starts_with('$')
            && !is_reference(password)
        {
            let host = authority[at + 1..]
                .split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let documentation = ["example.com", "example.org", "example.net", "example"]
                .iter()
                .any(|d| host == *d || host.ends_with(&format!(".{d}")));
            if !documentation && !is_placeholder(password) {
                return Some(true);
            }
            found = Some(false);
        }
        rest = after;
    }
    found
}

/// A string of 20+ characters from a base64/hex alphabet with high Shannon entropy, mixing
/// letters and digits. Plain hex strings (hashes, checksums) never count.
pub fn looks_random(v: &str) -> bool {
    if v.len() < 20 || v.len() > 512 {
        return false;
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-'))
    {
        return false;
    }
    let has_digit = v.chars().any(|c| c.is_ascii_digit());
    let has_alpha = v.chars().any(|c| c.is_ascii_alphabetic());
    if !(has_digit && has_alpha) {
        return false;
    }
    if v.chars().all(|c| c.is_ascii_hexdigit()) {
        // Most long hex values in Dockerfiles are checksums.
        return false;
    }
    entropy(v) >= 4.0
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Minimal glob match (`*` and `?`), case-sensitive, for allow-lists.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Redacts a secret for evidence: keeps a few leading characters.
pub fn redact(value: &str) -> String {
    let shown: String = value.chars().take(4).collect();
    format!("{shown}…(redacted)")
}

/// [`is_secret_name_by_words`], plus names written without separators (`S3SECRETKEY`,
/// `DBPASSWORD`), minus names whose last word says they configure something about a secret
/// rather than hold one (`FTP_PASS_PORT_START`, `GLUU_SECRET_ADAPTER`).
pub fn is_secret_name(name: &str, allow: &[String]) -> bool {
    const CONFIG_SUFFIXES: &[&str] = &[
        "ADAPTER",
        "SCHEME",
        "NAMESPACE",
        "START",
        "END",
        "MIN",
        "MAX",
        "RANGE",
        "LIMIT",
        "POLICY",
        "ATTEMPTS",
        "RETRIES",
        "INTERVAL",
        "ROTATION",
        "PROTOCOL",
        "STRATEGY",
        "METHOD",
        "ENGINE",
        "COMPLEXITY",
        "STRENGTH",
        "REGEX",
        "PATTERN",
    ];
    let upper = name.to_ascii_uppercase();
    let last = upper.rsplit(['_', '-', '.']).next().unwrap_or_default();
    if CONFIG_SUFFIXES.contains(&last) {
        return false;
    }
    if is_secret_name_by_words(name, allow) {
        return true;
    }
    let unseparated = !name.contains(['_', '-', '.']) && name.len() > 6;
    let lower = name.to_ascii_lowercase();
    unseparated
        && !allow.iter().any(|p| glob_match(p, &lower))
        && ["PASSWORD", "PASSWD", "SECRET", "TOKEN"]
            .iter()
            .any(|w| upper.contains(w))
        && !names_non_secret(name)
}

/// Whether a variable names a cloud access key id (`AWS_ACCESS_KEY_ID`): not a secret on its own
/// (it is not judged as one in deployment files), but it is one half of a credential pair,
/// identifies the account and the key, and should no more be baked into an image than its
/// secret half. The allow-list applies.
pub fn is_access_key_id(name: &str, allow: &[String]) -> bool {
    let lower = name.to_ascii_lowercase();
    if allow.iter().any(|pattern| glob_match(pattern, &lower)) {
        return false;
    }
    name_words(name).ends_with(&["ACCESS".to_string(), "KEY".to_string(), "ID".to_string()])
}

/// Values that cannot be secrets: empty, switches (`no`, `false`, `None`), sentinels that ask
/// the image to generate or skip a value (`**Random**`, `**None**`), and file paths
/// (`/run/secrets/db`, `./key.json`).
pub fn not_a_secret_value(value: &str) -> bool {
    let v = unquote(value);
    let lower = v.to_ascii_lowercase();
    let switch = matches!(
        lower.as_str(),
        "" | "none" | "null" | "nil" | "false" | "true" | "yes" | "no" | "on" | "off" | "0" | "1"
    );
    let sentinel = v.len() > 4 && v.starts_with("**") && v.ends_with("**");
    let path = v.starts_with(['/', '~']) || v.starts_with("./") || v.starts_with("../");
    let file = std::path::Path::new(&lower).extension().is_some_and(|e| {
        [
            "json", "pem", "key", "crt", "txt", "conf", "cfg", "ini", "yml", "yaml", "p12", "jks",
        ]
        .iter()
        .any(|x| e == *x)
    }) && !v.contains(char::is_whitespace);
    switch || sentinel || path || file
}

/// Whether the name says the value is something other than a secret: its last word is a
/// version, checksum, path, URL, id, reference or option list, or it names a public key.
fn names_non_secret(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "VERSION",
        "VER",
        "SHA",
        "SHA1",
        "SHA256",
        "SHA512",
        "MD5",
        "CHECKSUM",
        "HASH",
        "DIGEST",
        "PATH",
        "HOME",
        "DIR",
        "FILE",
        "URL",
        "URI",
        "HOST",
        "ID",
        "NAME",
        "TAG",
        "REF",
        "COMMIT",
        "REVISION",
        "RELEASE",
        "FINGERPRINT",
        "OPTS",
        "OPTIONS",
        "FLAGS",
        "ARGS",
        "IMAGE",
        "PUBKEY",
        "PUBLICKEY",
        "CERT",
        "CERTIFICATE",
        "KEYRING",
    ];
    let upper = name.to_ascii_uppercase();
    let last = upper.rsplit(['_', '-', '.']).next().unwrap_or_default();
    // `GISTURL`, `NODEVERSION`: suffixes of names written without separators
    SUFFIXES.contains(&last)
        || SUFFIXES.iter().any(|s| s.len() >= 3 && upper.ends_with(s))
        || names_public_key(&name_words(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: &[String] = &[];

    #[test]
    fn secret_names() {
        for yes in [
            "DB_PASSWORD",
            "API_KEY",
            "apiKey",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "NPM_TOKEN",
            "SECRET_KEY_BASE",
            "MYSQL_ROOT_PASSWORD",
            "client_secret",
            "PRIVATE_KEY",
            "SIGNING_KEY",
            "GPG_PASSPHRASE",
            "GPG_PRIVATE_KEY",
        ] {
            assert!(is_secret_name(yes, NONE), "{yes}");
        }
        for no in [
            "GPG_KEY",
            "NODE_VERSION",
            "PASSWORD_FILE",
            "MYSQL_PASSWORD_FILE",
            "DB_PASSWORD_FILENAME",
            "PWD",
            "PATH",
            "TOKEN_URL",
            "KEY_ID",
            "AWS_ACCESS_KEY_ID",
            "AWS_ACCESS_KEY",
            "MINIO_ACCESS_KEY",
            "PUBLIC_KEY",
            "HOME",
            "SECRETS_DIR",
            "PYTHON_GPG_KEY",
            "MINISIGN_PUBKEY",
            "JWT_PUBLIC_KEY",
            "DEPLOY_PUB_KEY",
            "cosignPubKey",
            "STRIPE_PUBLISHABLE_KEY",
            "RECAPTCHA_SITE_KEY",
            "DB_SECRET_ARN",
        ] {
            assert!(!is_secret_name(no, NONE), "{no}");
        }
        assert!(!is_secret_name("BUILD_TOKEN", &["build_*".to_string()]));
    }

    #[test]
    fn secret_shapes() {
        let secret = |k| Verdict::Secret(Some(k));
        assert_eq!(
            judge_value("AKIA2E0A8F3B244C9986"),
            secret(ValueKind::AwsAccessKey)
        );
        assert_eq!(
            judge_value("postgres://app:s3cr3t@db:5432/app"),
            secret(ValueKind::CredentialUrl)
        );
        assert_eq!(
            judge_value("postgres://app:${DB_PASS}@db/app"),
            Verdict::NotSecret
        );
        assert_eq!(
            judge_value("ghp_R8fTq2LmZ0vX5nK7wP4sY1bH9cJ3dA6eG0iU"),
            secret(ValueKind::GitHubToken)
        );
        assert_eq!(
            judge_value("-----BEGIN RSA PRIVATE KEY-----"),
            secret(ValueKind::PrivateKey)
        );
        assert_eq!(
            judge_value("glpat-Zq3xR8fTq2LmZ0vX5nK7"),
            secret(ValueKind::GitLabToken)
        );
        assert_eq!(
            judge_value("npm_R8fTq2LmZ0vX5nK7wP4sY1bH9cJ3dA6eG0iU"),
            secret(ValueKind::NpmToken)
        );
        assert_eq!(
            judge_value(
                "pypi-AgEIcHlwaS5vcmcCJGE2ZmQ4YzQ1LWU2NjctNDJkNC05ZjE3LTVmOWQ1N2E1ZDc0MQACKlsz"
            ),
            secret(ValueKind::PyPiToken)
        );
        assert_eq!(judge_value("npm_install_timeout"), Verdict::NotSecret);
        assert_eq!(judge_value("${API_KEY}"), Verdict::NotSecret);
        assert_eq!(judge_value("production"), Verdict::NotSecret);
        assert_eq!(
            judge("SETTING", "q8Zr2LmX0vT5nK7wP4sY1bH9", NONE),
            secret(ValueKind::HighEntropy)
        );
        // checksums are hex
        assert_eq!(
            judge(
                "SETTING",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                NONE
            ),
            Verdict::NotSecret
        );
        assert_eq!(
            judge("SETTING", "/usr/local/bin:/usr/bin", NONE),
            Verdict::NotSecret
        );
    }

    #[test]
    fn shapes_filled_with_placeholders() {
        for v in [
            // the key id AWS documents
            "AKIAIOSFODNN7EXAMPLE",
            "AKIAXXXXXXXXXXXXXXXX",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
            "sk_live_00000000000000000000",
            "postgres://app:changeme@db:5432/app",
            "postgres://app:password@db/app",
            "https://deploy:hunter22@git.example.com/app.git",
        ] {
            assert_eq!(judge_value(v), Verdict::Placeholder, "{v}");
        }
    }

    #[test]
    fn placeholders() {
        for v in [
            "changeme",
            "CHANGEME",
            "change_me",
            "change-me",
            "changemefirst",
            "replace-me",
            "REPLACE_WITH_YOUR_KEY",
            "example",
            "xxx",
            "xxxxxxxxxxxx",
            "****",
            "<password>",
            "<your-api-key>",
            "[token]",
            "your-secret-here",
            "yourpasswordhere",
            "INSERT_YOUR_OWN_API_KEY_HERE",
            "Dont make this your default",
            "secret",
            "password",
            "my-secret-pw",
            "TODO",
            "todo: set me",
            "dummy",
            "placeholder",
            "AWS_SECRET_ACCESS_KEY not set.",
            "token-goes-here",
        ] {
            assert!(is_placeholder(v), "{v}");
        }
        for v in [
            "",
            "hunter2",
            "s3cr3t-pa55",
            "Tr0ub4dor&3",
            "postgres",
            "q8Zr2LmX0vT5nK7wP4sY1bH9",
            "1234",
            "P@ssw0rd",
            "hunter2-very-secret",
            "registry-password",
            "verySecretKey1",
        ] {
            assert!(!is_placeholder(v), "{v}");
        }
    }

    #[test]
    fn public_keys_are_not_secrets() {
        for v in [
            "RWSGOq2NVecA2UPNdBUZykf1CCb147pkmdtYxgb3Ti+JO/wCYvhbAb/U",
            "untrusted comment: minisign public key 6CFAF9A5A2E8C3E0\nRWTg8+KiFfnwbP1Qbu5vxKfpOj9xLPUrPyT9ddM3yn1nLEkWdm1sNEcc",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0d8T3xN0o0eXn2d9hY7K2wS4zA1bQ0yJ8fV6uR5sE deploy@ci",
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 me@host",
            "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY=",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBF…\n-----END PGP PUBLIC KEY BLOCK-----",
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
            "pk_live_51HxQ2bK9vP3mN7rT0sW4yZ",
        ] {
            assert!(is_public_key(v), "{v}");
            for name in ["SIGNING_KEY", "SSH_KEY", "SETTING", "PRIVATE_KEY"] {
                assert_eq!(judge(name, v, NONE), Verdict::NotSecret, "{name}={v}");
            }
        }
        for v in [
            "untrusted comment: minisign encrypted secret key\nRWRTY0Iy…",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----",
            "RWSGOq2NVecA2UPNdBUZykf1CCb147pkmdtYxgb3Ti+JO/wCYvhbAb/Uxyz",
        ] {
            assert!(!is_public_key(v), "{v}");
        }
        // a name that says public, with a random value: no entropy finding
        assert_eq!(
            judge("MINISIGN_PUBKEY", "q8Zr2LmX0vT5nK7wP4sY1bH9", NONE),
            Verdict::NotSecret
        );
    }

    #[test]
    fn pairs() {
        let j = |n, v| judge(n, v, NONE);
        assert_eq!(j("DB_PASSWORD", "hunter2hunter2"), Verdict::Secret(None));
        assert_eq!(j("DB_PASSWORD", "changeme"), Verdict::Placeholder);
        assert_eq!(j("DB_PASSWORD", "xxxxxx"), Verdict::Placeholder);
        assert_eq!(j("DB_PASSWORD", ""), Verdict::NotSecret);
        assert_eq!(j("DB_PASSWORD", "${DB_PASSWORD}"), Verdict::NotSecret);
        assert_eq!(j("DB_PASSWORD", "{{ db_password }}"), Verdict::NotSecret);
        assert_eq!(j("DB_PASSWORD", "**Random**"), Verdict::NotSecret);
        for kept in [
            "op://prod/db/password",
            "vault:secret/data/db#password",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
            "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db/)",
            "projects/acme/secrets/db-password/versions/latest",
            "ENC[AES256_GCM,data:q8Zr2LmX0vT5,iv:nK7wP4sY1bH9,tag:cJ3dA6eG,type:str]",
            "${{ secrets.DB_PASSWORD }}",
            "<%= ENV['DB_PASSWORD'] %>",
        ] {
            assert_eq!(j("DB_PASSWORD", kept), Verdict::NotSecret, "{kept}");
        }
        assert_eq!(j("DB_PASSWORD_FILE", "/run/secrets/db"), Verdict::NotSecret);
        assert_eq!(j("DB_PASSWORD_FILE", "db_password"), Verdict::NotSecret);
        assert_eq!(
            j("DATABASE_URL", "postgres://app:changeme@db/app"),
            Verdict::Placeholder
        );
        assert_eq!(j("SETTING", "changeme"), Verdict::NotSecret);
        assert_eq!(j("LOG_LEVEL", "debug"), Verdict::NotSecret);
    }

    #[test]
    fn references() {
        for yes in [
            "$FOO",
            "${FOO:-bar}",
            "$(FOO)",
            "{{ .Values.password }}",
            "{{db_password}}",
            "#{DbPassword}",
            "@DB_PASSWORD@",
            "%DB_PASSWORD%",
            "__DB_PASSWORD__",
        ] {
            assert!(is_reference(yes), "{yes}");
        }
        for no in ["${A}${B}x", "plain", "@@", "%%", "100%"] {
            assert!(!is_reference(no), "{no}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("*_token", "build_token"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a*d", "abc"));
    }
}
