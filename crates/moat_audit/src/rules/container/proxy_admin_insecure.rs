use moat_deploy::Located;

use crate::context::{ContainerContext, Emitter};
use crate::rule::{Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports a reverse proxy or API gateway started with its administration interface open
    /// without authentication, in its command line or environment:
    /// - Traefik `--api.insecure` / `--api.insecure=true` (or `TRAEFIK_API_INSECURE=true`): the
    ///   dashboard and API on the `traefik` entry point (port 8080) without authentication;
    /// - Traefik `--serversTransport.insecureSkipVerify=true` (or
    ///   `TRAEFIK_SERVERSTRANSPORT_INSECURESKIPVERIFY=true`): TLS to every backend without
    ///   certificate checks (medium);
    /// - Kong `KONG_ADMIN_LISTEN` on an address other than loopback: the Admin API, which
    ///   configures routes, plugins and credentials, has no authentication of its own.
    ///
    /// Flags are matched without regard to case, as Traefik reads them.
    ///
    /// ## Why is this bad?
    /// The administration API of the proxy in front of an API is the key to the whole
    /// perimeter: whoever reaches it can read the routing, add a route to an internal service,
    /// or switch authentication off. These settings are meant for a laptop and end up in
    /// deployed compose files.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   proxy:
    ///     image: traefik:v3.1
    ///     command: ["--api.insecure=true", "--providers.docker"]
    ///     ports: ["80:80", "8080:8080"]
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   proxy:
    ///     image: traefik:v3.1
    ///     command: ["--api.dashboard=true", "--providers.docker"]
    ///     labels:
    ///       - traefik.http.routers.dashboard.rule=Host(`proxy.example.com`)
    ///       - traefik.http.routers.dashboard.service=api@internal
    ///       - traefik.http.routers.dashboard.middlewares=dashboard-auth
    /// ```
    ///
    /// ## Fix
    /// Serve the Traefik dashboard through a router with an authentication middleware (and not
    /// on a published port); keep backend TLS verification on and give Traefik the backends'
    /// CA; bind Kong's Admin API to `127.0.0.1` (or use Kong's RBAC in front of it).
    ///
    /// ## References
    /// - Traefik documentation, "API: insecure" ("not recommended in production").
    /// - Kong documentation, "Securing the Admin API".
    /// - OWASP API Security Top 10 2023, API8 (security misconfiguration).
    pub struct ProxyAdminInsecure {
        code: "C031",
        name: "proxy-admin-insecure",
        summary: "a proxy's admin API or dashboard is open without authentication",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["OWASP-API8:2023"],
        check: Container,
    }
}

/// Command-line flags (lower-case, without the value) and what they mean.
const FLAGS: [(&str, Severity, &str); 2] = [
    (
        "--api.insecure",
        Severity::High,
        "serves the Traefik dashboard and API without authentication",
    ),
    (
        "--serverstransport.insecureskipverify",
        Severity::Medium,
        "turns off TLS certificate checks to every backend",
    ),
];

/// The same settings as environment variables (upper-case).
const ENV: [(&str, usize); 2] = [
    ("TRAEFIK_API_INSECURE", 0),
    ("TRAEFIK_SERVERSTRANSPORT_INSECURESKIPVERIFY", 1),
];

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    let argv = f
        .entrypoint
        .iter()
        .chain(f.command.iter())
        .flat_map(|c| c.value.iter());
    let mut words = argv.peekable();
    while let Some(word) = words.next() {
        let lower = word.value.to_ascii_lowercase();
        let (flag, value) = match lower.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (lower.clone(), None),
        };
        let Some((_, severity, what)) = FLAGS.iter().find(|(f, _, _)| *f == flag) else {
            continue;
        };
        // a bare flag is `true`; `--flag false` (a separate value) is read too
        let value = value.or_else(|| {
            words
                .peek()
                .map(|w| w.value.to_ascii_lowercase())
                .filter(|v| v == "true" || v == "false")
        });
        if value.as_deref().is_some_and(|v| v != "true") {
            continue;
        }
        report(out, f.name.as_str(), word, *severity, &format!("`{}` {what}", word.value));
    }
    for var in &f.environment {
        let name = var.name.value.to_ascii_uppercase();
        let Some(value) = &var.value else { continue };
        if let Some((_, i)) = ENV.iter().find(|(n, _)| *n == name) {
            if value.value.trim().eq_ignore_ascii_case("true") {
                let (_, severity, what) = FLAGS[*i];
                report(
                    out,
                    &f.name,
                    &var.name,
                    severity,
                    &format!("`{}=true` {what}", var.name.value),
                );
            }
        } else if name == "KONG_ADMIN_LISTEN" && admin_listen_is_open(&value.value) {
            report(
                out,
                &f.name,
                &var.name,
                Severity::High,
                &format!(
                    "`KONG_ADMIN_LISTEN={}` opens Kong's Admin API beyond loopback, without authentication",
                    value.value.trim()
                ),
            );
        }
    }
}

fn report(
    out: &mut Emitter<'_>,
    service: &str,
    at: &Located<String>,
    severity: Severity,
    what: &str,
) {
    out.emit_at(
        &ProxyAdminInsecure::INFO,
        at.location.clone(),
        format!("`{service}`: {what}"),
    )
    .severity = severity;
}

/// Whether a Kong listen list (`0.0.0.0:8001, 127.0.0.1:8444 ssl`) has an address other than
/// loopback (`off` turns the Admin API off).
fn admin_listen_is_open(list: &str) -> bool {
    list.split(',').any(|entry| {
        let addr = entry.split_whitespace().next().unwrap_or_default();
        if addr.is_empty() || addr.eq_ignore_ascii_case("off") {
            return false;
        }
        let host = match addr.rsplit_once(':') {
            Some((h, _)) => h.trim_matches(['[', ']']),
            None => addr,
        };
        !(host.starts_with("127.") || host == "::1" || host.eq_ignore_ascii_case("localhost"))
    })
}

#[cfg(test)]
mod tests {
    use super::{admin_listen_is_open, check};
    use crate::rules::container::helpers::compose_testing::{compose_findings, run_findings};

    fn messages(yaml: &str) -> Vec<(usize, String)> {
        compose_findings(check, yaml)
            .into_iter()
            .map(|f| (f.location.line, format!("{}: {}", f.severity, f.message)))
            .collect()
    }

    #[test]
    fn traefik_insecure_api_in_every_spelling() {
        let yaml = r#"services:
  proxy:
    image: traefik:v3.1
    command:
      - --api.insecure=true
      - --providers.docker
      - --serversTransport.insecureSkipVerify=true
  proxy2:
    image: traefik:v2.11
    command: --api.insecure --entrypoints.web.address=:80
  quiet:
    image: traefik:v3.1
    command: ["--api.insecure=false", "--api.dashboard=true"]
  env:
    image: traefik:v3.1
    environment:
      TRAEFIK_API_INSECURE: "true"
"#;
        assert_eq!(
            messages(yaml),
            [
                (
                    5,
                    "high: `proxy`: `--api.insecure=true` serves the Traefik dashboard and API without authentication".to_string()
                ),
                (
                    7,
                    "medium: `proxy`: `--serversTransport.insecureSkipVerify=true` turns off TLS certificate checks to every backend".to_string()
                ),
                (
                    10,
                    "high: `proxy2`: `--api.insecure` serves the Traefik dashboard and API without authentication".to_string()
                ),
                (
                    17,
                    "high: `env`: `TRAEFIK_API_INSECURE=true` serves the Traefik dashboard and API without authentication".to_string()
                ),
            ]
        );
    }

    #[test]
    fn kong_admin_api_beyond_loopback() {
        let yaml = r"services:
  kong:
    image: kong:3.7
    environment:
      - KONG_ADMIN_LISTEN=0.0.0.0:8001, 0.0.0.0:8444 ssl
  kong-local:
    image: kong:3.7
    environment:
      KONG_ADMIN_LISTEN: 127.0.0.1:8001
";
        let got = messages(yaml);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, 5);
        assert!(admin_listen_is_open("[::]:8001"));
        assert!(!admin_listen_is_open("off"));
        assert!(!admin_listen_is_open("127.0.0.1:8001 http2, [::1]:8444 ssl"));
    }

    #[test]
    fn docker_run_flags() {
        let f = run_findings(
            check,
            "docker run -d -p 8080:8080 traefik:v3.1 --api.insecure=true --providers.docker",
        );
        assert_eq!(f.len(), 1);
    }
}
