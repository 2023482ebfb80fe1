use crate::context::{DaemonContext, Emitter};
use crate::rule::{Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports a `tcp://` entry of `hosts` in daemon.json when the daemon does not verify its
    /// clients with TLS: `tlsverify` is not `true`, or `tlscacert`, `tlscert` and `tlskey` are not
    /// all set. A host written without a scheme (`0.0.0.0:2375`) is a TCP host too, as dockerd
    /// reads it.
    ///
    /// ## Why is this bad?
    /// The Docker API is root on the host: whoever can send it a request can start a privileged
    /// container with `/` mounted. On a TCP socket without client verification, that is anyone
    /// who can reach the port. Plain `tcp://0.0.0.0:2375` is scanned for on the Internet and
    /// taken over within hours (crypto-miners, botnets). `tls: true` alone encrypts the traffic
    /// but still accepts every client. Binding to `127.0.0.1` narrows it to local users and
    /// host-network containers, which is still a privilege escalation.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "hosts": ["unix:///var/run/docker.sock", "tcp://10.0.0.5:2376"],
    ///   "tlsverify": true,
    ///   "tlscacert": "/etc/docker/tls/ca.pem",
    ///   "tlscert": "/etc/docker/tls/server-cert.pem",
    ///   "tlskey": "/etc/docker/tls/server-key.pem"
    /// }
    /// ```
    ///
    /// ## Fix
    /// Prefer the Unix socket (over SSH with `DOCKER_HOST=ssh://…` for remote use). If a TCP
    /// socket is needed, set `tlsverify: true` with a CA that signs only your clients'
    /// certificates, listen on the management interface only, and use port 2376. When
    /// `tlsverify` is on without explicit certificate paths, dockerd falls back to the files
    /// under `~/.docker` of the user running it: moat reports it (as `low`) so that the paths
    /// are written down, not because the socket is open.
    ///
    /// Severity: `critical` when the socket listens beyond loopback without client
    /// verification, `high` when it listens on loopback only, `low` when only certificate paths
    /// are missing.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.7 (Docker Bench for Security `check_2_7`).
    /// - <https://docs.docker.com/engine/security/protect-access/>
    pub struct DaemonTcpWithoutTls {
        code: "H001",
        name: "daemon-tcp-without-tls",
        summary: "the daemon listens on TCP without TLS client verification",
        severity: Critical,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-2.7"],
        check: Daemon,
    }
}

/// The address of a TCP host entry (`tcp://ADDR`, or `ADDR` without a scheme, as dockerd reads
/// it); `None` for other schemes (`unix://`, `fd://`, `npipe://`, `ssh://`).
fn tcp_address(host: &str) -> Option<&str> {
    let host = host.trim();
    match host.split_once("://") {
        Some((scheme, rest)) => scheme.eq_ignore_ascii_case("tcp").then_some(rest),
        None => (!host.is_empty() && !host.starts_with('/')).then_some(host),
    }
}

/// Whether a TCP address listens on loopback only (an empty host is dockerd's default,
/// `127.0.0.1`).
fn is_loopback(addr: &str) -> bool {
    let host = if let Some(rest) = addr.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        addr.rsplit_once(':').map_or(addr, |(h, _)| h)
    };
    let host = host.trim_end_matches('/');
    host.is_empty()
        || host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    let verify = f.tlsverify.as_ref().is_some_and(|v| v.value);
    let tls = verify || f.tls.as_ref().is_some_and(|v| v.value);
    let missing: Vec<&str> = [
        ("tlscacert", f.tlscacert.is_some()),
        ("tlscert", f.tlscert.is_some()),
        ("tlskey", f.tlskey.is_some()),
    ]
    .into_iter()
    .filter(|(_, set)| !set)
    .map(|(k, _)| k)
    .collect();
    for host in &f.hosts {
        let Some(addr) = tcp_address(&host.value) else {
            continue;
        };
        let local = is_loopback(addr);
        let reach = if local {
            "any local user or host-network container"
        } else {
            "anyone who can reach it"
        };
        // anyone who reaches the socket is root: critical when that is the network, high when
        // it is the host's own users; missing certificate paths are a gap in the record only
        let exposed = if local {
            Severity::High
        } else {
            Severity::Critical
        };
        let (message, severity) = if !tls {
            (
                format!(
                    "the Docker API on `{}` is served in plain text without authentication: {reach} controls the host as root",
                    host.value
                ),
                exposed,
            )
        } else if !verify {
            (
                format!(
                    "the Docker API on `{}` uses TLS but `tlsverify` is not `true`, so every client is accepted: {reach} controls the host as root",
                    host.value
                ),
                exposed,
            )
        } else if !missing.is_empty() {
            (
                format!(
                    "`tlsverify` is on for `{}` but `{}` {} not set: dockerd falls back to the files under `~/.docker`; write the paths down",
                    host.value,
                    missing.join("`, `"),
                    if missing.len() == 1 { "is" } else { "are" }
                ),
                Severity::Low,
            )
        } else {
            continue;
        };
        out.emit_at(&DaemonTcpWithoutTls::INFO, host.location.clone(), message)
            .severity = severity;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::{findings, lines, severities};

    #[test]
    fn addresses() {
        assert_eq!(tcp_address("tcp://0.0.0.0:2375"), Some("0.0.0.0:2375"));
        assert_eq!(tcp_address("TCP://[::]:2376"), Some("[::]:2376"));
        assert_eq!(tcp_address("0.0.0.0:2375"), Some("0.0.0.0:2375"));
        assert_eq!(tcp_address("unix:///var/run/docker.sock"), None);
        assert_eq!(tcp_address("fd://"), None);
        assert_eq!(tcp_address(""), None);
        assert!(is_loopback("127.0.0.1:2375"));
        assert!(is_loopback("localhost:2375"));
        assert!(is_loopback("[::1]:2375"));
        assert!(is_loopback(":2375"));
        assert!(is_loopback(""));
        assert!(!is_loopback("0.0.0.0:2375"));
        assert!(!is_loopback("[::]:2375"));
        assert!(!is_loopback("10.0.0.5:2376"));
    }

    #[test]
    fn judged_by_tls_settings() {
        let plain = r#"{"hosts": ["fd://", "tcp://0.0.0.0:2375", "unix:///run/docker.sock"]}"#;
        assert_eq!(lines(check, plain), [1]);
        let local = r#"{"hosts": ["tcp://127.0.0.1:2375"]}"#;
        assert!(findings(check, local)[0].1.contains("any local user"));
        assert!(findings(check, plain)[0].1.contains("plain text"));
        let tls_only = r#"{"hosts": ["tcp://0.0.0.0:2376"], "tls": true}"#;
        assert!(findings(check, tls_only)[0].1.contains("every client"));
        let no_certs =
            r#"{"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": true, "tlscacert": "/ca"}"#;
        assert!(
            findings(check, no_certs)[0]
                .1
                .contains("`tlscert`, `tlskey` are not set")
        );
        let good = r#"{"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": true,
            "tlscacert": "/ca", "tlscert": "/c", "tlskey": "/k"}"#;
        assert!(lines(check, good).is_empty());
        assert!(lines(check, r#"{"tls": false}"#).is_empty());
    }

    #[test]
    fn graded_by_exposure() {
        let json = r#"{"hosts": ["tcp://0.0.0.0:2375", "tcp://127.0.0.1:2375"]}"#;
        assert_eq!(
            severities(check, json),
            [Severity::Critical, Severity::High]
        );
        let json = r#"{"hosts": ["tcp://[::]:2376"], "tls": true}"#;
        assert_eq!(severities(check, json), [Severity::Critical]);
        let json = r#"{"hosts": ["tcp://10.0.0.5:2376"], "tlsverify": true}"#;
        assert_eq!(severities(check, json), [Severity::Low]);
    }
}
