//! Small shared helpers: duration and rate syntax, JSON error bodies, ids and timestamps.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Errors carried by bodies flowing through the gateway.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type of every response and proxied request.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// A complete body from bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty body.
pub fn empty() -> Body {
    full(Bytes::new())
}

/// Parses `250ms`, `10s`, `5m`, `1h`, `1d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        format!("invalid duration `{s}` (expected e.g. `500ms`, `10s`, `5m`, `1h`)")
    })?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        "d" => Duration::from_secs(n.saturating_mul(86400)),
        _ => {
            return Err(format!(
                "invalid duration `{s}` (unit must be one of ms, s, m, h, d)"
            ));
        }
    };
    Ok(d)
}

/// Parses `N/s`, `N/m`, `N/h`, `N/d` into (N, period).
pub fn parse_rate(s: &str) -> Result<(u32, Duration), String> {
    let bad = || format!("invalid rate `{s}` (expected e.g. `10/s`, `100/m`, `1000/h`)");
    let (n, per) = s.trim().split_once('/').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(format!(
            "rate `{s}` admits nothing; remove the route instead"
        ));
    }
    let period = match per.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_mins(1),
        "h" | "hour" => Duration::from_hours(1),
        "d" | "day" => Duration::from_hours(24),
        _ => return Err(bad()),
    };
    Ok((n, period))
}

/// A JSON error response: `{"error": {"status": N, "code": "...", "message": "...", "request_id": "..."}}`,
/// with `Cache-Control: no-store`.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({
        "error": { "status": status.as_u16(), "code": code, "message": message }
    });
    let mut resp = Response::new(full(body.to_string()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The output of a future that is ready at once (tests of the in-memory paths, without a
/// runtime).
#[cfg(test)]
pub(crate) fn ready_now<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("expected an answer at once"),
    }
}

/// The raw bytes of a complete HTTP/1.1 JSON error response that closes the connection, for
/// errors found below hyper (smuggling guards, header timeout, unparsable heads), with the
/// same hardening headers as the gateway's other errors.
pub fn raw_error(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: Option<&str>,
) -> Vec<u8> {
    let body = serde_json::json!({
        "error": { "status": status.as_u16(), "code": code, "message": message }
    })
    .to_string();
    let id = request_id.map_or_else(String::new, |id| format!("x-request-id: {id}\r\n"));
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\nx-frame-options: DENY\r\nreferrer-policy: no-referrer\r\n{id}connection: close\r\ncontent-length: {}\r\n\r\n{}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len(),
        body
    )
    .into_bytes()
}

/// `v4` in dotted form, written into `buf` without the formatting machinery (it is rendered on
/// every request: access log, rate-limit keys).
pub fn ipv4_text(v4: std::net::Ipv4Addr, buf: &mut [u8; 15]) -> &str {
    let mut num = itoa::Buffer::new();
    let mut len = 0;
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            buf[len] = b'.';
            len += 1;
        }
        let digits = num.format(octet).as_bytes();
        buf[len..len + digits.len()].copy_from_slice(digits);
        len += digits.len();
    }
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

static ID_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh 128-bit request id in hex (unique, not a secret).
pub fn request_id() -> String {
    String::from_utf8_lossy(&request_id_bytes()).into_owned()
}

/// [`request_id`] as a header value (one allocation).
pub fn request_id_header() -> HeaderValue {
    let id = request_id_bytes();
    HeaderValue::from_bytes(&id).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

fn request_id_bytes() -> [u8; 32] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    thread_local! {
        // xorshift state seeded once per thread from the std hasher's random keys
        static STATE: std::cell::Cell<u64> = std::cell::Cell::new({
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(since_epoch().as_nanos() as u64);
            h.finish() | 1
        });
    }
    // unique: a process-wide counter in the low half; unpredictable enough for an id (it is
    // not a secret): a per-thread xorshift64* in the high half
    let n = ID_COUNTER.fetch_add(1, Ordering::Relaxed);
    let r = STATE.with(|st| {
        let mut x = st.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        st.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    });
    let lo = n ^ (r.rotate_left(29) & 0xffff_ffff_0000_0000);
    let mut out = [0u8; 32];
    for (i, v) in [r, lo].into_iter().enumerate() {
        for (j, byte) in v.to_be_bytes().into_iter().enumerate() {
            out[i * 16 + j * 2] = HEX[usize::from(byte >> 4)];
            out[i * 16 + j * 2 + 1] = HEX[usize::from(byte & 0xf)];
        }
    }
    out
}

/// Whether an incoming `X-Request-Id` is safe to propagate (1..=128 of `[A-Za-z0-9._:-]`).
pub fn valid_request_id(v: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// RFC 3339 UTC timestamp with milliseconds.
pub fn rfc3339_now() -> String {
    rfc3339(since_epoch())
}

/// RFC 3339 UTC timestamp for a duration since the Unix epoch.
pub fn rfc3339(since_epoch: Duration) -> String {
    let mut out = Vec::with_capacity(24);
    write_rfc3339(&mut out, since_epoch);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the RFC 3339 UTC timestamp (milliseconds, `Z`) of `since_epoch` to `out`, without
/// allocating: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn write_rfc3339(out: &mut Vec<u8>, since_epoch: Duration) {
    // fixed-width fields written into one stack buffer, appended with one copy
    fn put(buf: &mut [u8], v: u64) {
        let mut v = v;
        for b in buf.iter_mut().rev() {
            *b = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    let secs = since_epoch.as_secs();
    let days = i64::try_from(secs / 86400).unwrap_or(0);
    let rem = secs % 86400;
    // civil-from-days (proleptic Gregorian), after H. Hinnant's public-domain algorithm
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let doe = shifted.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let year = year.max(0) as u64;
    if year > 9999 {
        // beyond four digits: as wide as needed, then the rest
        out.extend_from_slice(year.to_string().as_bytes());
    } else {
        put(&mut b[0..4], year);
    }
    put(&mut b[5..7], month as u64);
    put(&mut b[8..10], day as u64);
    put(&mut b[11..13], rem / 3600);
    put(&mut b[14..16], (rem % 3600) / 60);
    put(&mut b[17..19], rem % 60);
    put(&mut b[20..23], u64::from(since_epoch.subsec_millis()));
    out.extend_from_slice(if year > 9999 { &b[4..] } else { &b[..] });
}

/// The time since the Unix epoch (zero if the clock is before it).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_mins(5)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(parse_rate("10/s"), Ok((10, Duration::from_secs(1))));
        assert_eq!(parse_rate("1000/h"), Ok((1000, Duration::from_hours(1))));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("10").is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            rfc3339(Duration::from_millis(0)),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339(Duration::from_millis(1_709_251_199_123)),
            "2024-02-29T23:59:59.123Z"
        );
        assert_eq!(
            rfc3339(Duration::from_millis(253_402_300_799_999)),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(
            rfc3339(Duration::from_millis(951_782_400_007)),
            "2000-02-29T00:00:00.007Z"
        );
    }

    #[test]
    fn ipv4_text_matches_display() {
        for a in ["0.0.0.0", "10.0.255.7", "255.255.255.255", "127.0.0.1"] {
            let ip: std::net::Ipv4Addr = a.parse().unwrap();
            assert_eq!(ipv4_text(ip, &mut [0; 15]), ip.to_string());
        }
    }

    #[test]
    fn request_ids() {
        let a = request_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, request_id());
        assert!(valid_request_id(a.as_bytes()));
        assert!(!valid_request_id(b"a b"));
        assert!(!valid_request_id(&[b'a'; 129]));
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| request_id()).collect();
        assert_eq!(ids.len(), 10_000, "ids are unique");
        assert!(
            ids.iter()
                .all(|id| id.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }
}
