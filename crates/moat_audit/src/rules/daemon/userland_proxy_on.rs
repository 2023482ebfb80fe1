use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::{BoolKey, report_bool_key};

declare_rule! {
    /// ## What it does
    /// Reports a daemon.json where `userland-proxy` is not `false` (absent, so on by default,
    /// or `true`).
    ///
    /// ## Why is this bad?
    /// With the userland proxy, every published port is also served by a `docker-proxy`
    /// process on the host: one more root-run, network-facing program per port, and one that
    /// hides the client's address from the container (everything seems to come from the
    /// gateway), which defeats IP-based access rules and logging. With it off, the kernel's
    /// NAT rules (hairpin NAT) do the same work.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "userland-proxy": true
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "userland-proxy": false
    /// }
    /// ```
    ///
    /// ## Fix
    /// Set `"userland-proxy": false`. It needs `iptables` (the default) and a kernel with
    /// hairpin NAT; a few old setups that reach published ports through `localhost` on IPv6
    /// rely on the proxy.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.16 (Docker Bench for Security `check_2_16`).
    /// - <https://docs.docker.com/network/packet-filtering-firewalls/>
    pub struct UserlandProxyOn {
        code: "H007",
        name: "userland-proxy-on",
        summary: "published ports go through the userland proxy (`userland-proxy` not `false`)",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-2.16"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let k = BoolKey {
        key: "userland-proxy",
        value: ctx.facts.userland_proxy.as_ref(),
        want: false,
        wrong: "`userland-proxy` is `true`: a `docker-proxy` process serves every published port",
        absent: Some(
            "`userland-proxy` is not set, so it is on: a `docker-proxy` process serves every published port",
        ),
    };
    report_bool_key(ctx.facts, &UserlandProxyOn::INFO, &k, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::{assert_fix_converges, lines};

    #[test]
    fn absent_or_true() {
        assert_eq!(lines(check, "{\n  \"userland-proxy\": true\n}"), [2]);
        assert_eq!(lines(check, "{}"), [1]);
        assert!(lines(check, "{\"userland-proxy\": false}").is_empty());
        assert_fix_converges(
            check,
            "{\"userland-proxy\": true}",
            "{\"userland-proxy\": false}",
        );
    }
}
