use std::net::IpAddr;

use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports each entry of `insecure-registries` in daemon.json that is not on loopback
    /// (`localhost`, `127.0.0.0/8`, `::1`), whether a registry (`registry.internal:5000`) or a
    /// CIDR range (`10.0.0.0/8`; `0.0.0.0/0` makes every registry insecure).
    ///
    /// ## Why is this bad?
    /// For an insecure registry, the daemon accepts plain HTTP or a TLS certificate it cannot
    /// verify. Anyone on the path between the host and the registry can then serve their own
    /// image under a trusted name, and the host runs it. Loopback registries are exempt: Docker
    /// treats `127.0.0.0/8` as insecure by default and the traffic never leaves the host.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "insecure-registries": ["registry.internal:5000", "10.0.0.0/8"]
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "insecure-registries": []
    /// }
    /// ```
    ///
    /// ## Fix
    /// Give the registry a certificate and, for a private CA, place the CA under
    /// `/etc/docker/certs.d/<registry:port>/ca.crt` instead of marking the registry insecure.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.5 (Docker Bench for Security `check_2_5`).
    /// - <https://docs.docker.com/registry/insecure/>
    pub struct InsecureRegistry {
        code: "H002",
        name: "insecure-registry",
        summary: "the daemon trusts a registry over plain HTTP or without certificate checks",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-2.5"],
        check: Daemon,
    }
}

/// Whether an `insecure-registries` entry covers loopback only.
fn is_loopback(entry: &str) -> bool {
    let entry = entry.trim();
    let entry = entry
        .split_once("://")
        .map_or(entry, |(_, rest)| rest)
        .trim_end_matches('/');
    // a CIDR range: loopback when its address is loopback and the prefix keeps it there
    if let Some((addr, prefix)) = entry.split_once('/') {
        let Ok(prefix) = prefix.parse::<u8>() else {
            return false;
        };
        return match addr.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => ip.is_loopback() && prefix >= 8,
            Ok(IpAddr::V6(ip)) => ip.is_loopback() && prefix == 128,
            Err(_) => false,
        };
    }
    let host = if let Some(rest) = entry.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else if entry.parse::<IpAddr>().is_ok() {
        entry
    } else {
        entry.rsplit_once(':').map_or(entry, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    for reg in &ctx.facts.insecure_registries {
        if is_loopback(&reg.value) {
            continue;
        }
        let everything = matches!(reg.value.trim(), "0.0.0.0/0" | "::/0");
        let message = if everything {
            format!(
                "`{}` in `insecure-registries` makes every registry insecure: images are pulled over plain HTTP or unverified TLS",
                reg.value
            )
        } else {
            format!(
                "registry `{}` is marked insecure: its images are pulled over plain HTTP or unverified TLS and can be swapped in transit",
                reg.value
            )
        };
        out.emit_at(&InsecureRegistry::INFO, reg.location.clone(), message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::lines;

    #[test]
    fn loopback_entries() {
        for e in [
            "localhost:5000",
            "localhost",
            "127.0.0.1:5000",
            "127.0.0.0/8",
            "[::1]:5000",
            "::1",
            "::1/128",
            "http://localhost:5000/",
        ] {
            assert!(is_loopback(e), "{e}");
        }
        for e in [
            "registry.internal:5000",
            "10.0.0.0/8",
            "0.0.0.0/0",
            "::/0",
            "127.0.0.0/1",
            "192.168.1.10:5000",
            "localhost.evil.com:5000",
            "",
        ] {
            assert!(!is_loopback(e), "{e}");
        }
    }

    #[test]
    fn one_finding_per_entry() {
        let json = "{\n  \"insecure-registries\": [\n    \"localhost:5000\",\n    \"registry.internal:5000\",\n    \"10.0.0.0/8\"\n  ]\n}";
        assert_eq!(lines(check, json), [4, 5]);
    }
}
