//! Deciding whether a variable name or a value looks like a secret. Shared by the Dockerfile
//! rules and the deploy-time rules (compose environment, `docker run -e`).
//!
//! Values are judged by shape (known token formats, credentials in URLs, private-key blocks, high
//! entropy), names by the words they are made of. The token formats are public facts documented
//! by their issuers; the checks are written by hand because a regex engine would be the only
//! dependency they need.

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
            ValueKind::PrivateKey => "a private key",
            ValueKind::HighEntropy => "a high-entropy string",
        }
    }
}

/// Whether `value` is only a reference to another variable (`$VAR`, `${VAR}`, `${VAR:-x}`):
/// such a value is not hard-coded.
pub fn is_reference(value: &str) -> bool {
    let v = value.trim();
    if let Some(rest) = v.strip_prefix("${") {
        return rest.ends_with('}') && !rest[..rest.len() - 1].contains('}');
    }
    v.strip_prefix('$').is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Whether a placeholder such as `changeme`, `xxx` or `<password>` (not a real secret, but
/// still a sign that one is meant to go there).
fn is_placeholder(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    v.is_empty()
        || v.starts_with('<') && v.ends_with('>')
        || v.chars().all(|c| c == 'x' || c == '*' || c == '.')
        || matches!(v.as_str(), "none" | "null" | "false" | "true" | "0" | "1")
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

// A name that ends in one of these holds a path, a version, an id or a switch, not a secret.
const NOT_SECRET_SUFFIX: &[&str] = &[
    "FILE",
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
];

// Public or non-secret key material.
const NOT_SECRET_NAMES: &[&str] = &["GPG_KEY", "GPG_KEYS", "PUBLIC_KEY", "PUB_KEY", "PGP_KEY"];

/// Whether the words of a variable name say that it holds a secret (`DB_PASSWORD`, `API_KEY`,
/// `githubToken`), honouring the built-in and configured allow-lists (`GPG_KEY`, `*_VERSION`,
/// `*_FILE`, …). [`is_secret_name`] refines it.
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
    if words
        .iter()
        .any(|w| w == "GPG" || w == "PUBLIC" || w == "PUB")
    {
        return false;
    }
    let has = |w: &str| words.iter().any(|x| x == w);
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

/// Whether `value` has the shape of a secret; `None` when it does not, or when it is a reference
/// to another variable or a placeholder.
pub fn classify_value(value: &str) -> Option<ValueKind> {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
    if v.len() < 8 || is_reference(v) || is_placeholder(v) {
        return None;
    }
    if v.contains("PRIVATE KEY-----") {
        return Some(ValueKind::PrivateKey);
    }
    if has_credential_url(v) {
        return Some(ValueKind::CredentialUrl);
    }
    for token in v.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '=' | ',' | ':')) {
        if let Some(kind) = token_kind(token) {
            return Some(kind);
        }
    }
    None
}

/// Like [`classify_value`], but also counts a long high-entropy string as a secret; use it for
/// values of variables whose name does not rule that out.
pub fn classify_value_with_entropy(value: &str) -> Option<ValueKind> {
    classify_value(value).or_else(|| {
        let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
        (!is_reference(v) && looks_random(v)).then_some(ValueKind::HighEntropy)
    })
}

fn token_kind(t: &str) -> Option<ValueKind> {
    let alnum = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
    let upper_alnum = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    if t.len() == 20 && (t.starts_with("AKIA") || t.starts_with("ASIA")) && upper_alnum(&t[4..]) {
        return Some(ValueKind::AwsAccessKey);
    }
    for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        if let Some(rest) = t.strip_prefix(prefix)
            && rest.len() >= 36
            && alnum(rest)
        {
            return Some(ValueKind::GitHubToken);
        }
    }
    if let Some(rest) = t.strip_prefix("github_pat_")
        && rest.len() >= 40
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Some(ValueKind::GitHubToken);
    }
    for prefix in ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"] {
        if let Some(rest) = t.strip_prefix(prefix)
            && rest.len() >= 10
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Some(ValueKind::SlackToken);
        }
    }
    for prefix in ["sk_live_", "rk_live_"] {
        if let Some(rest) = t.strip_prefix(prefix)
            && rest.len() >= 20
            && alnum(rest)
        {
            return Some(ValueKind::StripeKey);
        }
    }
    if let Some(rest) = t.strip_prefix("AIza")
        && rest.len() == 35
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Some(ValueKind::GoogleApiKey);
    }
    None
}

/// `scheme://user:password@host` with a literal, non-placeholder password.
fn has_credential_url(v: &str) -> bool {
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
            && !is_placeholder(password)
        {
            return true;
        }
        rest = after;
    }
    false
}

/// A string of 20+ characters from a base64/hex alphabet with high Shannon entropy, mixing
/// letters and digits. Plain hex strings (hashes, checksums) need 40+ characters.
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
    let is_hex = v.chars().all(|c| c.is_ascii_hexdigit());
    if is_hex {
        // Most long hex values in Dockerfiles are checksums; only very long ones count.
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

/// Values that cannot be secrets: empty, switches (`no`, `false`, `None`), placeholders made
/// of `x` or `*`, and file paths (`/run/secrets/db`, `./key.json`).
pub fn not_a_secret_value(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    let switch = matches!(
        lower.as_str(),
        "" | "none" | "null" | "nil" | "false" | "true" | "yes" | "no" | "on" | "off" | "0" | "1"
    );
    let filler = v.chars().all(|c| matches!(c, 'x' | 'X' | '*' | '.' | '-'));
    let path = v.starts_with(['/', '~']) || v.starts_with("./") || v.starts_with("../");
    let file = std::path::Path::new(&lower).extension().is_some_and(|e| {
        [
            "json", "pem", "key", "crt", "txt", "conf", "cfg", "ini", "yml", "yaml", "p12", "jks",
        ]
        .iter()
        .any(|x| e == *x)
    }) && !v.contains(char::is_whitespace);
    switch || filler || path || file
}

/// The secret shape of a value; long random-looking strings count only when the name does not
/// say what else the value is, and only when they mix upper- and lower-case letters (which
/// identifiers such as `supercronic-linux-amd64` or `org/4cbcd6dc79570c55` do not).
pub fn value_kind(name: &str, value: &str) -> Option<ValueKind> {
    if names_non_secret(name) || value.starts_with('/') || value.contains("://") {
        return classify_value(value);
    }
    let mixed_case = value.contains(|c: char| c.is_ascii_uppercase())
        && value.contains(|c: char| c.is_ascii_lowercase());
    classify_value_with_entropy(value).filter(|k| *k != ValueKind::HighEntropy || mixed_case)
}

/// Whether the last word of a name says the value is something other than a secret.
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
    ];
    let upper = name.to_ascii_uppercase();
    let last = upper.rsplit(['_', '-', '.']).next().unwrap_or_default();
    // `GISTURL`, `NODEVERSION`: suffixes of names written without separators
    SUFFIXES.contains(&last) || SUFFIXES.iter().any(|s| s.len() >= 3 && upper.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        let none: &[String] = &[];
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
        ] {
            assert!(is_secret_name(yes, none), "{yes}");
        }
        for no in [
            "GPG_KEY",
            "NODE_VERSION",
            "PASSWORD_FILE",
            "MYSQL_PASSWORD_FILE",
            "PWD",
            "PATH",
            "TOKEN_URL",
            "KEY_ID",
            "AWS_ACCESS_KEY_ID",
            "PUBLIC_KEY",
            "HOME",
            "SECRETS_DIR",
            "PYTHON_GPG_KEY",
        ] {
            assert!(!is_secret_name(no, none), "{no}");
        }
        assert!(!is_secret_name("BUILD_TOKEN", &["build_*".to_string()]));
    }

    #[test]
    fn secret_values() {
        assert_eq!(
            classify_value("AKIAIOSFODNN7EXAMPLE"),
            Some(ValueKind::AwsAccessKey)
        );
        assert_eq!(
            classify_value("postgres://app:s3cr3t@db:5432/app"),
            Some(ValueKind::CredentialUrl)
        );
        assert_eq!(classify_value("postgres://app:${DB_PASS}@db/app"), None);
        assert_eq!(
            classify_value("ghp_0123456789abcdefghijklmnopqrstuvwxyz"),
            Some(ValueKind::GitHubToken)
        );
        assert_eq!(
            classify_value("-----BEGIN RSA PRIVATE KEY-----"),
            Some(ValueKind::PrivateKey)
        );
        assert_eq!(classify_value("${API_KEY}"), None);
        assert_eq!(classify_value("production"), None);
        assert_eq!(
            classify_value_with_entropy("q8Zr2LmX0vT5nK7wP4sY1bH9"),
            Some(ValueKind::HighEntropy)
        );
        // checksums are hex
        assert_eq!(
            classify_value_with_entropy(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
            None
        );
        assert_eq!(classify_value_with_entropy("/usr/local/bin:/usr/bin"), None);
    }

    #[test]
    fn references() {
        assert!(is_reference("$FOO"));
        assert!(is_reference("${FOO:-bar}"));
        assert!(!is_reference("${A}${B}x"));
        assert!(!is_reference("plain"));
    }

    #[test]
    fn globs() {
        assert!(glob_match("*_token", "build_token"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a*d", "abc"));
    }
}
