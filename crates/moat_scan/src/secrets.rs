//! Leaked secrets in an image's files: private keys, cloud and SaaS tokens of known formats,
//! URLs with a password, Google Cloud service-account keys, and generic assignments of a
//! random-looking value to a secret-named key (`API_KEY=…`, `"client_secret": "…"`).
//!
//! The detectors are the audit's (`moat_audit::secrets`: the same token formats, placeholders
//! and public keys are told apart the same way), applied line by line to text files. What is
//! read is bounded ([`MAX_FILE_SIZE`]); binary files (a NUL byte in the first 8 KiB) and the
//! places where keys are examples rather than secrets ([`wants`]: documentation, test data,
//! `usr/share`) are skipped. Every hit carries its value only redacted.

use moat_audit::secrets::{self, ValueKind, Verdict};

/// The most bytes of one file that are searched.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// One secret found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHit {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (bytes) where the value starts.
    pub column: usize,
    /// Byte range of the value in the file.
    pub span: std::ops::Range<usize>,
    /// What it is.
    pub kind: ValueKind,
    /// The key it is assigned to, for generic assignments (`API_KEY`).
    pub key: Option<String>,
    /// The value, redacted.
    pub evidence: String,
}

/// Whether a file at `path` (relative to the image root) of `size` bytes is searched: regular
/// text-sized files outside documentation, test data and shared data, which hold example keys
/// (`usr/share/doc`, `…/tests/…`, `*.md`), and outside package managers' own databases.
pub fn wants(path: &str, size: u64) -> bool {
    if size == 0 || size > MAX_FILE_SIZE {
        return false;
    }
    let lower = path.to_ascii_lowercase();
    let skipped_dirs = [
        "usr/share/",
        "usr/include/",
        "var/lib/dpkg/",
        "var/lib/apk/",
        "lib/apk/",
        "var/cache/",
        "proc/",
        "sys/",
        "dev/",
    ];
    if skipped_dirs.iter().any(|d| lower.starts_with(d)) {
        return false;
    }
    let example_parts = [
        "/test/",
        "/tests/",
        "/testdata/",
        "/test_data/",
        "/fixtures/",
        "/examples/",
        "/example/",
        "/doc/",
        "/docs/",
        "/__pycache__/",
    ];
    let with_slash = format!("/{lower}");
    if example_parts.iter().any(|p| with_slash.contains(p)) {
        return false;
    }
    let skipped_ext = [
        ".md", ".rst", ".html", ".htm", ".pyc", ".so", ".a", ".o", ".png", ".jpg", ".gif", ".svg",
        ".woff", ".woff2", ".ttf", ".gz", ".zip", ".jar", ".whl", ".mo", ".map",
    ];
    !skipped_ext.iter().any(|e| lower.ends_with(e))
}

/// The secrets in `data` (the file at `path`). At most one hit per value; a private key block
/// is one hit at its `BEGIN` line.
pub fn scan(data: &[u8]) -> Vec<SecretHit> {
    let head = &data[..data.len().min(8192)];
    if head.contains(&0) {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(data);
    let mut hits = Vec::new();
    let service_account = text.contains("\"service_account\"") && text.contains("\"private_key\"");
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        scan_line(line, line_no, offset, service_account, &mut hits);
        offset += line.len();
    }
    hits
}

fn scan_line(
    line: &str,
    line_no: usize,
    offset: usize,
    service_account: bool,
    hits: &mut Vec<SecretHit>,
) {
    let hit = |start: usize, end: usize, kind, key: Option<String>| SecretHit {
        line: line_no,
        column: start + 1,
        span: offset + start..offset + end,
        kind,
        key,
        evidence: secrets::redact(&line[start..end]),
    };
    // a private key block: reported where it begins (its body lines are not searched again:
    // base64 lines never match a token format)
    if let Some(at) = line.find("-----BEGIN ")
        && line[at..].contains("PRIVATE KEY-----")
    {
        let end = line.trim_end().len().max(at);
        let kind = if service_account {
            ValueKind::GcpServiceAccount
        } else {
            ValueKind::PrivateKey
        };
        hits.push(hit(at, end, kind, None));
        return;
    }
    if service_account && line.contains("\"private_key\"") {
        let at = line.find("\"private_key\"").unwrap_or(0);
        hits.push(hit(
            at,
            line.trim_end().len().max(at),
            ValueKind::GcpServiceAccount,
            None,
        ));
        return;
    }
    // known token formats and URLs with a password, token by token
    let mut found = false;
    for (start, token) in tokens(line) {
        if let Verdict::Secret(Some(kind)) = secrets::judge_value(token) {
            hits.push(hit(start, start + token.len(), kind, None));
            found = true;
        }
    }
    if found {
        return;
    }
    // a generic assignment: a secret-named key given a random-looking literal
    if let Some((key, start, value)) = assignment(line)
        && secrets::is_secret_name(key, &[])
        && secrets::judge(key, value, &[]) == Verdict::Secret(None)
        && secrets::looks_random(value)
    {
        hits.push(hit(
            start,
            start + value.len(),
            ValueKind::HighEntropy,
            Some(key.to_string()),
        ));
    }
}

/// The words of a line with their byte offsets, split at white space, quotes, `=`, `,` and
/// brackets (a URL keeps its `:` and `/`).
fn tokens(line: &str) -> impl Iterator<Item = (usize, &str)> {
    let is_sep = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '=' | ',' | '(' | ')' | '[' | ']' | '{' | '}' | ';' | '`' | '<' | '>'
            )
    };
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (is_sep(c), start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out.into_iter().filter(|(_, t)| t.len() >= 8)
}

/// `KEY=value`, `KEY: value`, `"key": "value"`, `export KEY="value"`: the key, the value's
/// byte offset in the line and the value (unquoted).
fn assignment(line: &str) -> Option<(&str, usize, &str)> {
    let trimmed = line.trim_start();
    let lead = line.len() - trimmed.len();
    let body = trimmed.strip_prefix("export ").unwrap_or(trimmed);
    let lead = lead + (trimmed.len() - body.len());
    let sep = body.find(['=', ':'])?;
    let key = body[..sep].trim().trim_matches(|c| c == '"' || c == '\'');
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return None;
    }
    let rest = &body[sep + 1..];
    let value_trimmed = rest.trim_start();
    let mut start = lead + sep + 1 + (rest.len() - value_trimmed.len());
    let mut value = value_trimmed.trim_end().trim_end_matches(',');
    if let Some(q) = value.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let inner = &value[1..];
        let end = inner.find(q)?;
        value = &inner[..end];
        start += 1;
    }
    (!value.is_empty()).then_some((key, start, value))
}

#[cfg(test)]
mod tests {
    use super::{ValueKind, scan, wants};

    fn kinds(text: &str) -> Vec<(usize, ValueKind)> {
        scan(text.as_bytes())
            .into_iter()
            .map(|h| (h.line, h.kind))
            .collect()
    }

    #[test]
    fn formats_and_assignments() {
        let text = "# app config\n\
            AWS_ACCESS_KEY_ID=AKIAZ3MSJV4WXYQ5P7TN\n\
            url = postgres://app:Tr0ub4dor3x@db.internal/app\n\
            token: ghp_R8fTq2LmZ0vX5nK7wP4sY1bH9cJ3dA6eG0iU\n\
            export API_KEY=\"q8Zr2LmX0vT5nK7wP4sY1bH9cJ3d\"\n\
            PASSWORD=changeme\n\
            PUBLIC_KEY=q8Zr2LmX0vT5nK7wP4sY1bH9cJ3d\n\
            -----BEGIN OPENSSH PRIVATE KEY-----\n\
            b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
            -----END OPENSSH PRIVATE KEY-----\n";
        assert_eq!(
            kinds(text),
            [
                (2, ValueKind::AwsAccessKey),
                (3, ValueKind::CredentialUrl),
                (4, ValueKind::GitHubToken),
                (5, ValueKind::HighEntropy),
                (8, ValueKind::PrivateKey),
            ]
        );
        let hits = scan(text.as_bytes());
        let api = &hits[3];
        assert_eq!(api.key.as_deref(), Some("API_KEY"));
        assert_eq!(&text[api.span.clone()], "q8Zr2LmX0vT5nK7wP4sY1bH9cJ3d");
        assert!(!api.evidence.contains("LmX0vT5"), "{}", api.evidence);
    }

    #[test]
    fn a_service_account_key_is_one_finding() {
        let json = "{\n  \"type\": \"service_account\",\n  \"project_id\": \"p\",\n  \"private_key_id\": \"abc\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIE...\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"x@p.iam.gserviceaccount.com\"\n}\n";
        assert_eq!(kinds(json), [(5, ValueKind::GcpServiceAccount)]);
    }

    #[test]
    fn binary_files_placeholders_and_examples_are_left_alone() {
        assert!(scan(b"\x7fELF\0\0\0AKIAZ3MSJV4WXYQ5P7TN").is_empty());
        assert!(
            kinds("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n").is_empty()
        );
        assert!(!wants("usr/share/doc/openssl/demo.key", 100));
        assert!(!wants("app/node_modules/x/test/key.pem", 100));
        assert!(!wants("app/README.md", 100));
        assert!(wants("app/.env", 100));
        assert!(wants("root/.ssh/id_rsa", 100));
        assert!(!wants("app/big.log", super::MAX_FILE_SIZE + 1));
    }
}
