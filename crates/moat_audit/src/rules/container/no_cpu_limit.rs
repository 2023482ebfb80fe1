use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a container with no bound on the CPU it may use: no `cpus` (compose
    /// `deploy.resources.limits.cpus` or legacy `cpus`, `docker run --cpus`), no `cpu_quota`,
    /// no `cpuset` and no `cpu_shares`. A value of `0` means unlimited and is reported at the
    /// value.
    ///
    /// ## Why is this bad?
    /// A container that can use every core lets one busy or hostile workload (a request flood,
    /// a crypto miner after a compromise) starve the others and the host.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     deploy:
    ///       resources:
    ///         limits:
    ///           cpus: "1.5"
    /// ```
    ///
    /// ## Fix
    /// Set `deploy.resources.limits.cpus`, `cpus`, or `docker run --cpus 1.5`. moat also
    /// accepts `cpu_quota` and `cpuset` (hard bounds) and `cpu_shares`: a relative weight is
    /// not a limit, but it is what CIS 5.12 audits and it keeps the container from starving
    /// the others under contention.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.12 (CPU priority is set appropriately on containers).
    /// - Docker Bench for Security check 5.12; KICS "CPUs Not Limited".
    pub struct NoCpuLimit {
        code: "C021",
        name: "no-cpu-limit",
        summary: "container has no CPU limit",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-5.12"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let facts = ctx.facts;
    let r = &facts.resources;
    if let Some(c) = &r.cpus
        && c.value.cpus.is_some_and(|n| n <= 0.0)
        && r.cpu_quota.is_none()
        && r.cpuset.is_none()
    {
        out.emit_at(
            &NoCpuLimit::INFO,
            c.location.clone(),
            format!(
                "`{}` sets CPU limit `{}`, which means unlimited",
                facts.name, c.value.raw
            ),
        );
        return;
    }
    let bounded = r.cpus.is_some()
        || r.cpu_quota.as_ref().is_some_and(|q| q.value > 0)
        || r.cpuset.is_some()
        || r.cpu_shares.as_ref().is_some_and(|s| s.value > 0);
    if !bounded {
        out.emit_at(
            &NoCpuLimit::INFO,
            facts.location.clone(),
            format!("`{}` has no CPU limit", facts.name),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::{compose_lines, run_findings};

    #[test]
    fn limits_and_weights_count() {
        let yaml = "services:\n  a:\n    image: x\n  b:\n    image: x\n    cpus: 0.5\n  c:\n    image: x\n    cpu_shares: 512\n  d:\n    image: x\n    deploy:\n      resources:\n        limits:\n          cpus: '0'\n";
        assert_eq!(compose_lines(check, yaml), [2, 15]);
        assert!(run_findings(check, "docker run --cpus 2 nginx:1.27").is_empty());
        assert!(run_findings(check, "docker run --cpuset-cpus 0-1 nginx:1.27").is_empty());
        assert_eq!(run_findings(check, "docker run nginx:1.27").len(), 1);
    }
}
