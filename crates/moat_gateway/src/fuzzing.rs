//! Entry points for the fuzz targets in `crates/moat_gateway/fuzz/` (also run on seeds by the
//! unit tests, so a panic found once stays fixed). Not a stable API.

use crate::client_addr;
use crate::guard::HeadInspector;
use crate::ratelimit::{KeyKind, LimitSpec, Limiter, Store};
use std::path::Path;
use std::time::{Duration, Instant};

/// Config parsing, validation and the self-audit on arbitrary text: must never panic.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let report = crate::check::check_str("fuzz.toml", text, Path::new("/nonexistent"));
    for e in &report.errors {
        let _ = e.to_string();
    }
}

/// The request-policy path on arbitrary bytes: the smuggling guard in arbitrary chunking,
/// client-address resolution, query-key removal, key lookup and the rate-limit key handling.
pub fn request_policy(data: &[u8]) {
    // first byte chooses a split point for the head inspector
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut insp = HeadInspector::new(4096);
    if insp.feed(&data[..split]).is_ok() {
        let _ = insp.feed(&data[split..]);
    }
    if let Ok(head) = std::str::from_utf8(data) {
        let _ = crate::guard::check_head(data);
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(head) {
            headers.append("x-forwarded-for", v);
        }
        let trusted = ["0.0.0.0/0".parse().ok(), "::/0".parse().ok()]
            .into_iter()
            .flatten()
            .collect::<Vec<ipnet::IpNet>>();
        if let Ok(ip) = client_addr::resolve(
            "127.0.0.1"
                .parse()
                .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
            &headers,
            &trusted,
        ) {
            let _ = client_addr::key(ip, split as u8);
        }
        let _ = crate::phase::auth::take_query_param(Some(head), "api_key");
        let _ = crate::plan::parse_cidr(head);
        let _ = crate::util::parse_duration(head);
        let _ = crate::util::parse_rate(head);
        if let Ok(keys) = crate::auth::ApiKeys::parse(head) {
            let _ = keys.lookup(data);
        }
        let limiter = Limiter::new(LimitSpec {
            name: "fuzz".into(),
            key: KeyKind::Ip,
            count: 1,
            period: Duration::from_secs(1),
            burst: 1,
            dry_run: false,
            consumers: None,
            except_consumers: vec![],
            max_keys: 16,
        });
        let now = Instant::now();
        let Store::Memory(store) = limiter.store() else {
            return;
        };
        for part in head.split('\n') {
            let _ = limiter.check(part, now);
            store.refund_now(part, limiter.gcra(), 1);
        }
    }
}

/// An upstream response on arbitrary bytes: the head parser and the body decoder, fed in two
/// pieces (the first byte picks the split).
pub fn upstream_response(data: &[u8]) {
    crate::h1client::fuzz_response(data);
}

/// The canonical request target on arbitrary bytes (the first byte picks the path rules):
/// never panics, and every accepted path is canonical (a fixed point without `//` or dot
/// segments); hosts parse or are refused, and an accepted host parses to itself.
pub fn request_target(data: &[u8]) {
    use crate::canonical::{Host, PathRules, Treatment, canonical_path};
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let treatment = |b: u8| match b % 3 {
        0 => Treatment::Reject,
        1 => Treatment::Decode,
        _ => Treatment::Keep,
    };
    let rules = PathRules {
        escaped_slashes: treatment(pick),
        backslashes: treatment(pick / 3),
        keep_semicolons: pick & 0x80 != 0,
    };
    if let Ok(text) = std::str::from_utf8(rest)
        && let Ok(c) = canonical_path(text, &rules)
    {
        assert!(c.starts_with('/') && !c.contains("//"), "{text:?} -> {c:?}");
        assert!(
            c.split('/').all(|s| s != "." && s != ".."),
            "{text:?} -> {c:?}"
        );
        let again = canonical_path(&c, &rules);
        assert!(
            matches!(again, Ok(std::borrow::Cow::Borrowed(_))),
            "{text:?} -> {c:?} -> {again:?}"
        );
    }
    if let Ok(h) = Host::parse(rest) {
        assert_eq!(Host::parse(h.value.as_bytes()).as_ref(), Ok(&h), "{rest:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator, so the seeds below are extended the same way every run.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    fn mutations(seed: &[u8], n: usize) -> Vec<Vec<u8>> {
        let mut st = 0x9e37_79b9_7f4a_7c15_u64 ^ seed.len() as u64;
        (0..n)
            .map(|_| {
                let mut v = seed.to_vec();
                for _ in 0..(xorshift(&mut st) % 8) {
                    if v.is_empty() {
                        v.push(0);
                    }
                    let i = (xorshift(&mut st) as usize) % v.len();
                    match xorshift(&mut st) % 4 {
                        0 => v[i] = xorshift(&mut st) as u8,
                        1 => v.insert(i, b"\r\n:,=[]{}\"/%"[(xorshift(&mut st) % 12) as usize]),
                        2 => {
                            v.remove(i);
                        }
                        _ => v.truncate(i),
                    }
                }
                v
            })
            .collect()
    }

    #[test]
    fn config_target_survives_seeds_and_mutations() {
        let seeds: [&[u8]; 4] = [
            include_bytes!("../../../examples/gateway/moat-gateway.toml"),
            include_bytes!("../../../examples/gateway/insecure.toml"),
            b"[[listener]]\nlisten = \"[::]:0\"\nplain_http = true\n[[route]]\nname=\"r\"\nupstream=\"u\"\n",
            b"[limits]\nheader_read_timeout = \"99999999999999999999d\"\n[[rate_limit]]\nname=\"a\"\nkey=\"header:\"\nrate=\"4294967295/s\"\nburst=0\n",
        ];
        for s in seeds {
            config(s);
            for m in mutations(s, 200) {
                config(&m);
            }
        }
    }

    #[test]
    fn request_policy_target_survives_seeds_and_mutations() {
        let seeds: [&[u8]; 4] = [
            b"\x10GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
            b"\x05POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
            b"\xff1.1.1.1, [::1]:80, 10.0.0.1:8080, garbage",
            b"\x00a=1&api_key=%zz%4&api_key=x&&=",
        ];
        for s in seeds {
            request_policy(s);
            for m in mutations(s, 500) {
                request_policy(&m);
            }
        }
    }

    #[test]
    fn request_target_survives_seeds_and_mutations() {
        let seeds: [&[u8]; 6] = [
            // found by the fuzzer: a host of dots only used to parse to `.`
            b"\n..",
            b"\x00/open/../private/%2e%2E/x%2fy;z",
            b"\x01/a//b/./c/%252e%c0%ae\\d%5C",
            b"\x85/caf\xc3\xa9/%e2%82%ac/..%2F..",
            b"\x00API.Example.:8443",
            b"\x02[::1]:80",
        ];
        for s in seeds {
            request_target(s);
            for m in mutations(s, 1000) {
                request_target(&m);
            }
        }
    }

    #[test]
    fn upstream_response_target_survives_seeds_and_mutations() {
        let seeds: [&[u8]; 4] = [
            b"\x20HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
            b"\x08HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
            b"\x30HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nConnection: close, keep-alive\r\n\r\nabcdef",
            b"\x00HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip\r\n\r\nfffffffffffffff\r\n",
        ];
        for s in seeds {
            upstream_response(s);
            for m in mutations(s, 500) {
                upstream_response(&m);
            }
        }
    }
}
