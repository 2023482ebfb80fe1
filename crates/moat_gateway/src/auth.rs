//! API keys: loaded from a file or the environment, held only as SHA-256 digests, looked up in
//! constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The known keys, as (id, SHA-256 digest of the key).
#[derive(Debug, Default)]
pub struct ApiKeys {
    entries: Vec<(String, [u8; 32])>,
}

impl ApiKeys {
    /// Parses lines of `id:key` or `id:sha256:HEX` (blank lines and `#` comments skipped).
    /// Errors name the 1-based line, never the key.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut entries: Vec<(String, [u8; 32])> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let lineno = i + 1;
            let Some((id, rest)) = line.split_once(':') else {
                return Err((lineno, "expected `id:key` or `id:sha256:HEX`".into()));
            };
            let id = id.trim();
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                return Err((lineno, "key id must be non-empty `[A-Za-z0-9._-]`".into()));
            }
            let digest = if let Some(hex) = rest.strip_prefix("sha256:") {
                parse_hex32(hex.trim())
                    .ok_or_else(|| (lineno, "sha256 digest must be 64 hex digits".to_string()))?
            } else {
                if rest.len() < 16 {
                    return Err((lineno, "API keys must be at least 16 characters".into()));
                }
                Sha256::digest(rest.as_bytes()).into()
            };
            if entries.iter().any(|(e, _)| e == id) {
                return Err((lineno, format!("duplicate key id `{id}`")));
            }
            entries.push((id.to_string(), digest));
        }
        Ok(Self { entries })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The id of the key `presented`, comparing against every digest in constant time.
    pub fn lookup(&self, presented: &[u8]) -> Option<&str> {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        let mut found: Option<&str> = None;
        for (id, d) in &self.entries {
            let eq: bool = d.ct_eq(&digest).into();
            if eq && found.is_none() {
                found = Some(id);
            }
        }
        found
    }
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let hi = (chunk[0] as char).to_digit(16)?;
        let lo = (chunk[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Hex SHA-256 of `key`, for writing hashed key files.
pub fn sha256_hex(key: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(64);
    for b in Sha256::digest(key.as_bytes()) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_hashed_keys() {
        let text = format!(
            "# comment\nalice:alice-secret-key-0001\n\nbob:sha256:{}\n",
            sha256_hex("bob-secret-key-00002")
        );
        let keys = ApiKeys::parse(&text).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.lookup(b"alice-secret-key-0001"), Some("alice"));
        assert_eq!(keys.lookup(b"bob-secret-key-00002"), Some("bob"));
        assert_eq!(keys.lookup(b"nope"), None);
        assert_eq!(keys.lookup(b""), None);
    }

    #[test]
    fn bad_lines_are_reported_without_the_key() {
        let e = ApiKeys::parse("ok:0123456789abcdef\nbroken\n").unwrap_err();
        assert_eq!(e.0, 2);
        let e = ApiKeys::parse("a:short").unwrap_err();
        assert!(!e.1.contains("short"));
        assert!(ApiKeys::parse("a:sha256:zz").is_err());
        assert!(ApiKeys::parse("a:0123456789abcdef\na:0123456789abcdeX").is_err());
    }
}
