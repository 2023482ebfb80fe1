//! `moat health`: asks a gateway's admin listener whether it is ready (`GET /readyz`), for a
//! container `HEALTHCHECK` in an image that holds the moat binary alone (no shell, no curl).
//!
//! Exit codes: 0 ready (200), 1 not ready (any other answer, no answer in time, refused),
//! 2 usage error (a URL that is not `http://HOST:PORT/PATH`).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

/// Arguments of `moat health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The readiness endpoint of the gateway's admin listener (plain HTTP).
    #[arg(default_value = "http://127.0.0.1:9901/readyz")]
    pub url: String,
    /// How long to wait for the answer.
    #[arg(long, default_value = "3s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 3s, 500ms)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        _ => Err(format!("`{s}` is not a duration (e.g. 3s, 500ms)")),
    }
}

/// `http://HOST:PORT/PATH` → (HOST:PORT, HOST, /PATH).
fn split_url(url: &str) -> Option<(String, String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let host = authority
        .rsplit_once(':')
        .filter(|(_, p)| p.parse::<u16>().is_ok())
        .map_or(authority, |(h, _)| h);
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Some((with_port, host.to_string(), path.to_string()))
}

/// One GET; the status code.
fn status(addr: &str, host: &str, path: &str, timeout: Duration) -> std::io::Result<u16> {
    let target = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut s = TcpStream::connect_timeout(&target, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut head = [0u8; 64];
    let n = s.read(&mut head)?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}

/// Runs `moat health`.
pub fn run(args: &HealthArgs) -> ExitCode {
    let Some((addr, host, path)) = split_url(&args.url) else {
        eprintln!("error: `{}` is not an http://HOST:PORT/PATH URL", args.url);
        return ExitCode::from(2);
    };
    match status(&addr, &host, &path, args.timeout) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(code) => {
            eprintln!("not ready: {} answered {code}", args.url);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("not ready: {}: {e}", args.url);
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_timeouts() {
        assert_eq!(
            split_url("http://127.0.0.1:9901/readyz"),
            Some((
                "127.0.0.1:9901".into(),
                "127.0.0.1".into(),
                "/readyz".into()
            ))
        );
        assert_eq!(
            split_url("http://gateway"),
            Some(("gateway:80".into(), "gateway".into(), "/".into()))
        );
        assert_eq!(split_url("https://x/readyz"), None);
        assert_eq!(split_url("http://u@x/"), None);
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("3s"), Ok(Duration::from_secs(3)));
        assert!(parse_timeout("3 minutes").is_err());
    }
}
