//! One canonical request before any decision: the path, the host and the header names that
//! routing, policy, logs and the upstream all see.
//!
//! A proxy that decides on one reading of a request and forwards another is walked around:
//! `/open/../private` matched as `/open` but resolved by the upstream as `/private`, a `Host`
//! routed one way and forwarded another. So the gateway computes one canonical form first,
//! decides on it, and forwards exactly that form.
//!
//! **Paths** ([`canonical_path`]): percent-encoded unreserved characters (RFC 3986 §2.3) are
//! decoded, other escapes are kept with upper-case hex (§6.2.2.1) and `%25` stays `%25` (a path
//! is never decoded twice); dot segments are removed (§5.2.4), encoded ones included; runs of
//! `/` are merged (as NGINX's `merge_slashes`). Rejected by default, because upstreams read them
//! differently: an encoded slash `%2F` (Envoy's `path_with_escaped_slashes_action`), a
//! backslash raw or encoded (a separator on Windows/IIS and for some frameworks), `;` path
//! parameters (Tomcat/Spring strip them: `/open/..;/private`), NUL and control bytes, invalid
//! percent-encoding, and escapes that do not decode to UTF-8 (overlong `%c0%ae` is `.` to some
//! decoders). [`PathRules`] can decode or keep the first three instead.
//!
//! **Hosts** ([`Host::parse`]): an authority is a reg-name of letters, digits, `-`, `.`, `_`,
//! `~`, or an IPv4 address, or an IPv6 literal in brackets, with an optional port up to 65535;
//! nothing else (no user info, no quotes, no percent-encoding). The routing name is lower-case
//! without a trailing dot.
//!
//! Written here because no crate does the job: `url` follows the WHATWG URL standard (it keeps
//! `%2e%2e` segments only where browsers would, rewrites `\` in special schemes, and has no
//! reject policy), and `http::Uri` validates bytes without normalising.

use http::HeaderValue;
use std::borrow::Cow;

/// What to do with an encoded slash, or with a backslash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Treatment {
    /// 400 (the default).
    #[default]
    Reject,
    /// Treat it as a path separator `/` (before dot segments are removed).
    Decode,
    /// Forward it unchanged, as an ordinary character of its segment (an upstream that decodes
    /// it may resolve a path the gateway did not authorise).
    Keep,
}

/// How paths are canonicalised (`[paths]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PathRules {
    /// `%2F`.
    pub escaped_slashes: Treatment,
    /// `\` and `%5C`.
    pub backslashes: Treatment,
    /// Accept `;` in paths (path parameters), forwarded unchanged.
    pub keep_semicolons: bool,
}

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// The target is not an absolute path (`*`, authority-form, empty).
    NotAbsolute,
    /// `%` not followed by two hex digits.
    BadEscape,
    /// `%2F`.
    EscapedSlash,
    /// `\` or `%5C`.
    Backslash,
    /// NUL or another control byte, raw or encoded.
    Control,
    /// The decoded bytes are not UTF-8 (overlong or truncated sequences).
    NotUtf8,
    /// `;` path parameters.
    Semicolon,
}

impl PathError {
    /// The message of the 400 answer.
    pub fn message(self) -> &'static str {
        match self {
            Self::NotAbsolute => "the request target must be an absolute path",
            Self::BadEscape => "invalid percent-encoding in the path",
            Self::EscapedSlash => "encoded slash (%2F) in the path",
            Self::Backslash => "backslash in the path",
            Self::Control => "NUL or control character in the path",
            Self::NotUtf8 => "the path does not decode to UTF-8",
            Self::Semicolon => "path parameters (;) are not accepted",
        }
    }
}

/// Characters a path may carry unchanged on the fast path: unreserved, sub-delims except `;`,
/// `:`, `@` and `/` (RFC 3986 `pchar`). Anything else takes the full canonicalisation.
const fn plain_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
            );
        c += 1;
    }
    t
}
static PLAIN: [bool; 256] = plain_table();

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn push_escaped(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 0xf)] as char);
}

/// Whether `path` needs no change: only plain characters, no empty segment inside, no dot
/// segment. The usual path, checked in one pass without allocating.
fn already_canonical(path: &[u8]) -> bool {
    let mut seg_start = 1;
    for (i, &b) in path.iter().enumerate().skip(1) {
        if !PLAIN[usize::from(b)] {
            return false;
        }
        if b == b'/' {
            if is_dot_or_empty(&path[seg_start..i]) {
                return false;
            }
            seg_start = i + 1;
        }
    }
    let last = &path[seg_start..];
    last.is_empty() || !is_dot_or_empty(last)
}

fn is_dot_or_empty(seg: &[u8]) -> bool {
    matches!(seg, b"" | b"." | b"..")
}

/// The canonical form of an absolute path (the part of the target before `?`), or why it is
/// refused. Idempotent: the canonical form of a canonical path is itself.
///
/// # Errors
/// A [`PathError`] for every form the rules refuse.
pub fn canonical_path<'a>(path: &'a str, rules: &PathRules) -> Result<Cow<'a, str>, PathError> {
    let raw = path.as_bytes();
    if raw.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    if already_canonical(raw) {
        return Ok(Cow::Borrowed(path));
    }
    // pass 1: escapes decoded where the rules say so; `/` in `decoded` is a real separator
    let mut decoded = String::with_capacity(raw.len() + 8);
    // every escape decoded, to check that the whole path is UTF-8 without control bytes
    let mut full: Vec<u8> = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        let byte = raw[at];
        match byte {
            b'%' => {
                let (Some(high), Some(low)) = (
                    raw.get(at + 1).copied().and_then(hex),
                    raw.get(at + 2).copied().and_then(hex),
                ) else {
                    return Err(PathError::BadEscape);
                };
                let v = high * 16 + low;
                full.push(v);
                at += 3;
                if is_unreserved(v) {
                    decoded.push(v as char);
                    continue;
                }
                let treatment = match v {
                    b'/' => Some((rules.escaped_slashes, PathError::EscapedSlash)),
                    b'\\' => Some((rules.backslashes, PathError::Backslash)),
                    _ => None,
                };
                match treatment {
                    Some((Treatment::Reject, e)) => return Err(e),
                    Some((Treatment::Decode, _)) => decoded.push('/'),
                    Some((Treatment::Keep, _)) | None => push_escaped(&mut decoded, v),
                }
            }
            b'\\' => {
                full.push(byte);
                at += 1;
                match rules.backslashes {
                    Treatment::Reject => return Err(PathError::Backslash),
                    Treatment::Decode => decoded.push('/'),
                    Treatment::Keep => decoded.push('\\'),
                }
            }
            b';' if !rules.keep_semicolons => return Err(PathError::Semicolon),
            0x80.. => {
                // raw UTF-8 (the path is a `str`): sent on percent-encoded, its canonical form
                full.push(byte);
                push_escaped(&mut decoded, byte);
                at += 1;
            }
            _ => {
                full.push(byte);
                decoded.push(byte as char);
                at += 1;
            }
        }
    }
    if full.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(PathError::Control);
    }
    if std::str::from_utf8(&full).is_err() {
        return Err(PathError::NotUtf8);
    }
    // pass 2: merge `//`, remove dot segments (RFC 3986 §5.2.4: `..` above the root stays at
    // the root; a final `.` or `..` leaves a trailing slash)
    let mut out = String::with_capacity(decoded.len());
    let mut segments = decoded[1..].split('/').peekable();
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        match seg {
            "" | "." => {}
            ".." => {
                let cut = out.rfind('/').unwrap_or(0);
                out.truncate(cut);
            }
            s => {
                out.push('/');
                out.push_str(s);
                continue;
            }
        }
        if last {
            out.push('/');
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(if out == path {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(out)
    })
}

/// Whether `path` starts with `prefix` on a segment boundary, ignoring ASCII case: a stricter
/// route is never skipped because an upstream that ignores case (IIS, many Windows and some
/// Java deployments) reads `/PRIVATE` as `/private`.
pub fn prefix_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    let p = prefix.trim_end_matches('/').as_bytes();
    let path = path.as_bytes();
    path.len() >= p.len()
        && path[..p.len()].eq_ignore_ascii_case(p)
        && (path.len() == p.len() || path[p.len()] == b'/')
}

/// The one host of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Lower-case host without port or trailing dot (IPv6 literals keep their brackets): what
    /// routes match and the log records.
    pub name: String,
    /// Lower-case `host[:port]`, the value forwarded as `Host` and `X-Forwarded-Host` and in
    /// `Forwarded`.
    pub value: HeaderValue,
}

/// Why a host was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostError {
    /// HTTP/1.1 without `Host`.
    Missing,
    /// More than one `Host` field.
    Several,
    /// Not a valid authority.
    Invalid,
    /// HTTP/2 `:authority` and `host` name different hosts.
    Conflict,
}

impl HostError {
    /// The message of the 400 answer.
    pub fn message(self) -> &'static str {
        match self {
            Self::Missing => "a Host header is required",
            Self::Several => "more than one Host header",
            Self::Invalid => "the Host is not a valid host[:port]",
            Self::Conflict => ":authority and host name different hosts",
        }
    }
}

impl Host {
    /// Parses an authority (`host[:port]`), refusing user info, odd bytes and bad ports.
    ///
    /// # Errors
    /// [`HostError::Invalid`] when `raw` is not a valid authority.
    pub fn parse(raw: &[u8]) -> Result<Self, HostError> {
        Self::parse_with(raw, None)
    }

    /// [`Host::parse`] of a header value, which is reused (not copied) when it is already in
    /// canonical form, as it usually is.
    ///
    /// # Errors
    /// [`HostError::Invalid`] when `v` is not a valid authority.
    pub fn from_value(v: &HeaderValue) -> Result<Self, HostError> {
        Self::parse_with(v.as_bytes(), Some(v))
    }

    fn parse_with(raw: &[u8], original: Option<&HeaderValue>) -> Result<Self, HostError> {
        let (host, port) = if raw.first() == Some(&b'[') {
            let end = raw
                .iter()
                .position(|&b| b == b']')
                .ok_or(HostError::Invalid)?;
            let inner = std::str::from_utf8(&raw[1..end]).map_err(|_| HostError::Invalid)?;
            inner
                .parse::<std::net::Ipv6Addr>()
                .map_err(|_| HostError::Invalid)?;
            let rest = &raw[end + 1..];
            let port = match rest {
                [] => None,
                [b':', p @ ..] => Some(p),
                _ => return Err(HostError::Invalid),
            };
            (&raw[..=end], port)
        } else {
            let (host, port) = match raw.iter().position(|&b| b == b':') {
                Some(c) => (&raw[..c], Some(&raw[c + 1..])),
                None => (raw, None),
            };
            let ok = !host.is_empty()
                && host
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            if !ok {
                return Err(HostError::Invalid);
            }
            (host, port)
        };
        if let Some(p) = port {
            let valid = p.len() <= 5
                && p.iter().all(u8::is_ascii_digit)
                && p.iter().fold(0_u32, |n, &d| n * 10 + u32::from(d - b'0')) <= 65_535;
            if !valid {
                return Err(HostError::Invalid);
            }
        }
        let trimmed = host.strip_suffix(b".").unwrap_or(host);
        // no empty label: `..`, `.a`, `a..b` name nothing (one trailing dot is the DNS root)
        if trimmed.is_empty()
            || trimmed.starts_with(b".")
            || trimmed.ends_with(b".")
            || trimmed.windows(2).any(|w| w == b"..")
        {
            return Err(HostError::Invalid);
        }
        // ASCII only from here on
        let name = String::from_utf8_lossy(trimmed).to_ascii_lowercase();
        let canonical = trimmed.len() == host.len()
            && !raw.iter().any(u8::is_ascii_uppercase)
            && port.is_none_or(|p| !p.is_empty());
        let value = if canonical {
            if let Some(v) = original {
                return Ok(Self {
                    name,
                    value: v.clone(),
                });
            }
            HeaderValue::from_maybe_shared(bytes::Bytes::copy_from_slice(raw))
        } else {
            let mut v = name.clone();
            if let Some(p) = port.filter(|p| !p.is_empty()) {
                v.push(':');
                v.push_str(std::str::from_utf8(p).unwrap_or_default());
            }
            HeaderValue::from_maybe_shared(bytes::Bytes::from(v))
        }
        .map_err(|_| HostError::Invalid)?;
        Ok(Self { name, value })
    }
}

/// The request's one host (RFC 9112 §3.2, RFC 9113 §8.3.1): the target's authority when it has
/// one (absolute-form, HTTP/2 `:authority`), else the `Host` field. HTTP/1.1 needs exactly one
/// `Host` (even with an absolute-form target); HTTP/1.0 may have none; in HTTP/2 a `host` field
/// must name the same host as `:authority`. `None` for an HTTP/1.0 request without a host.
///
/// # Errors
/// A [`HostError`] for every case above that is refused.
pub fn request_host<B>(req: &http::Request<B>) -> Result<Option<Host>, HostError> {
    let mut fields = req.headers().get_all(http::header::HOST).iter();
    let field = fields.next();
    if fields.next().is_some() {
        return Err(HostError::Several);
    }
    let field = field.map(Host::from_value).transpose()?;
    let authority = req
        .uri()
        .authority()
        .map(|a| Host::parse(a.as_str().as_bytes()))
        .transpose()?;
    match (req.version(), authority, field) {
        (http::Version::HTTP_2, Some(a), Some(f)) if a.value != f.value => Err(HostError::Conflict),
        (http::Version::HTTP_2 | http::Version::HTTP_3, a, f) => Ok(a.or(f)),
        (http::Version::HTTP_11, _, None) => Err(HostError::Missing),
        (_, Some(a), _) => Ok(Some(a)),
        (_, None, f) => Ok(f),
    }
}

/// `name` lower-cased with `_` read as `-`: the spelling CGI, WSGI, PHP and Rack merge into one
/// `HTTP_*` variable.
pub fn same_field(name: &str, canonical: &str) -> bool {
    name.len() == canonical.len()
        && name
            .bytes()
            .zip(canonical.bytes())
            .all(|(a, b)| a.to_ascii_lowercase() == b || (a == b'_' && b == b'-'))
}

/// Appends `s` to `out` as an RFC 7230 `quoted-string` (as RFC 7239 requires for `Forwarded`
/// values that are not tokens): `"` and `\` escaped.
pub fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(p: &str) -> Result<String, PathError> {
        canonical_path(p, &PathRules::default()).map(Cow::into_owned)
    }

    #[test]
    fn paths_are_canonical() {
        for (raw, want) in [
            ("/", "/"),
            ("/a/b", "/a/b"),
            ("/a/b/", "/a/b/"),
            ("/open/../private/secret.txt", "/private/secret.txt"),
            ("/open/%2e%2e/private/x", "/private/x"),
            ("/open/.%2E/private/x", "/private/x"),
            ("//private", "/private"),
            ("/a//b///c", "/a/b/c"),
            ("/%70rivate", "/private"),
            ("/a/./b/.", "/a/b/"),
            ("/a/b/..", "/a/"),
            ("/..", "/"),
            ("/../../a", "/a"),
            ("/.well-known/x", "/.well-known/x"),
            ("/a..b/..c", "/a..b/..c"),
            ("/%252e%252e/x", "/%252e%252e/x"),
            ("/a%3bb", "/a%3Bb"),
            ("/caf%C3%A9", "/caf%C3%A9"),
            ("/café", "/caf%C3%A9"),
            ("/a%20b", "/a%20b"),
            ("/%7euser", "/~user"),
        ] {
            assert_eq!(canon(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        for (raw, e) in [
            ("*", PathError::NotAbsolute),
            ("", PathError::NotAbsolute),
            ("/open/..%2fprivate", PathError::EscapedSlash),
            ("/open/..%2Fprivate", PathError::EscapedSlash),
            ("/open/%5c..%5cprivate", PathError::Backslash),
            ("/open\\..\\private", PathError::Backslash),
            ("/private;x/y", PathError::Semicolon),
            ("/open/..;/private", PathError::Semicolon),
            ("/a%00b", PathError::Control),
            ("/a%0d%0ab", PathError::Control),
            ("/a%7fb", PathError::Control),
            ("/%c0%ae%c0%ae/x", PathError::NotUtf8),
            ("/%ff", PathError::NotUtf8),
            ("/%e2%82", PathError::NotUtf8),
            ("/%zz", PathError::BadEscape),
            ("/a%", PathError::BadEscape),
            ("/a%4", PathError::BadEscape),
        ] {
            assert_eq!(canon(raw), Err(e), "{raw}");
        }
    }

    #[test]
    fn rules_can_decode_or_keep() {
        let decode = PathRules {
            escaped_slashes: Treatment::Decode,
            backslashes: Treatment::Decode,
            keep_semicolons: true,
        };
        let keep = PathRules {
            escaped_slashes: Treatment::Keep,
            backslashes: Treatment::Keep,
            keep_semicolons: true,
        };
        let c = |p, r| canonical_path(p, r).map(Cow::into_owned);
        assert_eq!(c("/open/..%2fprivate", &decode).as_deref(), Ok("/private"));
        assert_eq!(c("/open\\..\\private", &decode).as_deref(), Ok("/private"));
        assert_eq!(c("/a%2fb", &keep).as_deref(), Ok("/a%2Fb"));
        assert_eq!(c("/a\\b/%5c", &keep).as_deref(), Ok("/a\\b/%5C"));
        assert_eq!(c("/a;b=1/c", &keep).as_deref(), Ok("/a;b=1/c"));
        assert_eq!(c("/a%00", &keep), Err(PathError::Control));
    }

    #[test]
    fn prefixes_match_on_segments_ignoring_case() {
        assert!(prefix_matches("/", "/x"));
        assert!(prefix_matches("/api", "/api"));
        assert!(prefix_matches("/api", "/API/v1"));
        assert!(prefix_matches("/api/", "/api/v1"));
        assert!(!prefix_matches("/api", "/apix"));
        assert!(!prefix_matches("/api", "/ap"));
    }

    #[test]
    fn hosts_are_authorities() {
        for (raw, name, value) in [
            ("api.test", "api.test", "api.test"),
            ("API.Test:8443", "api.test", "api.test:8443"),
            ("api.test.", "api.test", "api.test"),
            ("10.0.0.1:80", "10.0.0.1", "10.0.0.1:80"),
            ("[::1]:8080", "[::1]", "[::1]:8080"),
            ("[::1]", "[::1]", "[::1]"),
            ("my_service:5000", "my_service", "my_service:5000"),
            ("h:", "h", "h"),
        ] {
            let h = Host::parse(raw.as_bytes()).unwrap_or_else(|e| panic!("{raw}: {e:?}"));
            assert_eq!((h.name.as_str(), h.value.to_str().unwrap()), (name, value));
        }
        for raw in [
            "",
            ":80",
            ".",
            "x\";for=6.6.6.6;by=\"y",
            "user@admin.example",
            "admin.example:99999",
            "admin.example:123456",
            "a b",
            "a:b",
            "[::1",
            "[zz]:80",
            "[::1]x",
            "a%2eb",
            "a,b",
            "..",
            ".a",
            "a..b",
            "a..",
        ] {
            assert_eq!(
                Host::parse(raw.as_bytes()),
                Err(HostError::Invalid),
                "{raw}"
            );
        }
    }

    #[test]
    fn one_host_per_request() {
        use http::Version as V;
        let req = |v: http::Version, uri: &str, hosts: &[&str]| {
            let mut b = http::Request::builder().version(v).uri(uri);
            for h in hosts {
                b = b.header("host", *h);
            }
            b.body(()).unwrap()
        };
        let name = |r: &http::Request<()>| request_host(r).map(|h| h.map(|h| h.name));
        assert_eq!(
            name(&req(V::HTTP_11, "/x", &["api.test"])),
            Ok(Some("api.test".into()))
        );
        assert_eq!(
            name(&req(V::HTTP_11, "http://localhost/x", &["admin.example"])),
            Ok(Some("localhost".into()))
        );
        assert_eq!(name(&req(V::HTTP_11, "/x", &[])), Err(HostError::Missing));
        assert_eq!(
            name(&req(V::HTTP_11, "/x", &["a", "b"])),
            Err(HostError::Several)
        );
        assert_eq!(name(&req(V::HTTP_10, "/x", &[])), Ok(None));
        assert_eq!(
            name(&req(V::HTTP_2, "https://localhost/x", &["admin.example"])),
            Err(HostError::Conflict)
        );
        assert_eq!(
            name(&req(V::HTTP_2, "https://LOCALHOST/x", &["localhost"])),
            Ok(Some("localhost".into()))
        );
        assert_eq!(
            name(&req(V::HTTP_2, "https://localhost/x", &[])),
            Ok(Some("localhost".into()))
        );
    }

    /// Pieces that path-confusion attacks are made of.
    const PIECES: &[&str] = &[
        "/",
        "//",
        ".",
        "..",
        "%2e",
        "%2E",
        "%2f",
        "%2F",
        "%5c",
        "\\",
        "%25",
        "%252e",
        ";",
        "a",
        "open",
        "private",
        "PRIVATE",
        "%70",
        "%00",
        "%c0%ae",
        "%e2%82%ac",
        "é",
        "%",
        "%4",
        "x%3b",
        "~",
        "%7e",
        "?",
        "%3F",
        "%20",
    ];

    /// How an upstream that decodes every escape once and treats `/` and `\` as separators
    /// (Python's http.server, many frameworks, IIS) resolves a path: its segments.
    fn upstream_view(path: &str) -> Vec<Vec<u8>> {
        let b = path.as_bytes();
        let mut decoded = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && let (Some(h), Some(l)) = (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                )
            {
                decoded.push(h * 16 + l);
                i += 3;
            } else {
                decoded.push(b[i]);
                i += 1;
            }
        }
        let mut segs: Vec<Vec<u8>> = Vec::new();
        for s in decoded.split(|&c| c == b'/' || c == b'\\') {
            match s {
                b"" | b"." => {}
                b".." => {
                    segs.pop();
                }
                s => segs.push(s.to_ascii_lowercase()),
            }
        }
        segs
    }

    fn rules() -> impl proptest::strategy::Strategy<Value = PathRules> {
        use proptest::prelude::*;
        let t = || {
            prop_oneof![
                Just(Treatment::Reject),
                Just(Treatment::Decode),
                Just(Treatment::Keep)
            ]
        };
        (t(), t(), any::<bool>()).prop_map(|(escaped_slashes, backslashes, keep_semicolons)| {
            PathRules {
                escaped_slashes,
                backslashes,
                keep_semicolons,
            }
        })
    }

    proptest::proptest! {
        #[test]
        fn canonical_paths_are_fixed_points_without_dot_segments(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..14),
            rules in rules(),
        ) {
            let raw = format!("/{}", pieces.concat());
            if let Ok(c) = canonical_path(&raw, &rules) {
                proptest::prop_assert!(c.starts_with('/'));
                proptest::prop_assert!(!c.contains("//"), "{raw} -> {c}");
                proptest::prop_assert!(
                    c.split('/').all(|s| s != "." && s != ".."),
                    "{raw} -> {c}"
                );
                let again = canonical_path(&c, &rules);
                proptest::prop_assert!(
                    matches!(again, Ok(Cow::Borrowed(_))),
                    "{raw} -> {c} -> {again:?}"
                );
            }
        }

        /// Under the default rules (and with escaped slashes and backslashes decoded), the
        /// route a canonical path matches is the one the upstream resolves it to: no prefix is
        /// matched by one reading and missed by the other.
        #[test]
        fn the_route_decided_is_the_path_the_upstream_resolves(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..14),
            decode in proptest::prelude::any::<bool>(),
        ) {
            let rules = if decode {
                PathRules {
                    escaped_slashes: Treatment::Decode,
                    backslashes: Treatment::Decode,
                    keep_semicolons: false,
                }
            } else {
                PathRules::default()
            };
            let raw = format!("/{}", pieces.concat());
            if let Ok(c) = canonical_path(&raw, &rules) {
                let seen = upstream_view(&c);
                for prefix in ["/private", "/open/private", "/open"] {
                    let want: Vec<Vec<u8>> = prefix[1..]
                        .split('/')
                        .map(|s| s.as_bytes().to_vec())
                        .collect();
                    let upstream_in = seen.len() >= want.len() && seen[..want.len()] == want[..];
                    proptest::prop_assert_eq!(
                        prefix_matches(prefix, &c),
                        upstream_in,
                        "{} -> {} (upstream: {:?})", raw, c, seen
                    );
                }
            }
        }
    }

    #[test]
    fn field_spellings_and_quoting() {
        assert!(same_field("x_consumer_id", "x-consumer-id"));
        assert!(same_field("X-Consumer_Id", "x-consumer-id"));
        assert!(!same_field("x-consumer-ids", "x-consumer-id"));
        let mut s = String::new();
        push_quoted(&mut s, "a\"b\\c");
        assert_eq!(s, r#""a\"b\\c""#);
    }
}
