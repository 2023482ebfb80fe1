use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::{BoolKey, report_bool_key};

declare_rule! {
    /// ## What it does
    /// Reports `"iptables": false` in daemon.json.
    ///
    /// ## Why is this bad?
    /// Docker keeps the host firewall in step with the containers: it isolates networks from
    /// each other, enforces `icc: false`, and opens only the ports that are published. With
    /// `iptables` off, none of that happens; the rules have to be written and kept current by
    /// hand as containers come and go, and mistakes leave containers either unreachable or open.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "iptables": false
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "iptables": true
    /// }
    /// ```
    ///
    /// ## Fix
    /// Remove the key or set `"iptables": true`. To restrict published ports further, add
    /// rules to the `DOCKER-USER` chain, which Docker leaves alone.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.4 (Docker Bench for Security `check_2_4`).
    /// - <https://docs.docker.com/network/packet-filtering-firewalls/>
    pub struct IptablesOff {
        code: "H009",
        name: "iptables-off",
        summary: "Docker may not manage the host firewall (`iptables` is `false`)",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-2.4"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let k = BoolKey {
        key: "iptables",
        value: ctx.facts.iptables.as_ref(),
        want: true,
        wrong: "`iptables` is `false`: Docker does not isolate container networks in the host firewall",
        absent: None,
    };
    report_bool_key(ctx.facts, &IptablesOff::INFO, &k, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::{assert_fix_converges, lines};

    #[test]
    fn only_when_false() {
        assert_eq!(lines(check, "{\n  \"iptables\": false\n}"), [2]);
        assert!(lines(check, "{}").is_empty());
        assert!(lines(check, "{\"iptables\": true}").is_empty());
        assert_fix_converges(check, "{\"iptables\": false}", "{\"iptables\": true}");
    }
}
