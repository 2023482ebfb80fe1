use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a container that does not drop all Linux capabilities (`cap_drop: [ALL]`,
    /// `--cap-drop ALL`). A privileged container is left to `C001` (it gets every capability
    /// whatever `cap_drop` says).
    ///
    /// ## Why is this bad?
    /// Docker's default set still grants capabilities most services never use, such as
    /// `CHOWN`, `DAC_OVERRIDE`, `FOWNER`, `SETUID`/`SETGID`, `NET_RAW` (spoofed packets, ARP
    /// poisoning on the bridge) and `MKNOD`. Each one widens what an attacker can do after
    /// taking over the process.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     cap_drop: [NET_RAW]
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     cap_drop: [ALL]
    ///     cap_add: [NET_BIND_SERVICE]
    /// ```
    ///
    /// ## Fix
    /// Drop `ALL` and add back only what the process needs. The finding points at the first
    /// `cap_drop` entry when some are dropped, else at the service (or the `docker run` line).
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.4 (restrict Linux kernel capabilities).
    pub struct CapabilitiesNotDropped {
        code: "C002",
        name: "capabilities-not-dropped",
        summary: "container does not drop all capabilities",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-5.4"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    // privileged, or `cap_add: [ALL]`: every capability, which C001 / C003 report
    if f.privileged.as_ref().is_some_and(|p| p.value) || f.cap_add.iter().any(|c| c.value == "ALL")
    {
        return;
    }
    // an interpolated entry may well be `ALL`: give it the benefit of the doubt
    if f.cap_drop
        .iter()
        .any(|c| c.value == "ALL" || c.interpolated)
    {
        return;
    }
    let (location, message) = match f.cap_drop.first() {
        Some(first) => (
            first.location.clone(),
            format!(
                "`{}` drops only some capabilities; drop `ALL` and add back what it needs",
                f.name
            ),
        ),
        None => (
            f.location.clone(),
            format!(
                "`{}` keeps Docker's default capabilities; drop `ALL` and add back what it needs",
                f.name
            ),
        ),
    };
    out.emit_at(&CapabilitiesNotDropped::INFO, location, message);
}

#[cfg(test)]
mod all_tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::run_findings;

    #[test]
    fn adding_all_is_not_keeping_the_defaults() {
        assert!(run_findings(check, "docker run --cap-add ALL nginx").is_empty());
        assert_eq!(run_findings(check, "docker run --cap-add NET_ADMIN nginx").len(), 1);
    }
}
