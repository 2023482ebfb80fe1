use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a container without a process limit: no `deploy.resources.limits.pids`, no
    /// legacy `pids_limit`, no `docker run --pids-limit`. A limit of `0` or `-1` means
    /// unlimited and is reported at its value.
    ///
    /// ## Why is this bad?
    /// Without a pids limit a fork bomb, or a bug that spawns processes in a loop, exhausts
    /// the host's process table: no container, and no admin shell, can start a process any
    /// more.
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
    ///           pids: 200
    /// ```
    ///
    /// ## Fix
    /// Set `deploy.resources.limits.pids`, `pids_limit`, or `docker run --pids-limit 200`, to
    /// a value comfortably above what the workload needs.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.29 (the PIDs cgroup limit is used).
    /// - Docker Bench for Security check 5.29; KICS "Pids Limit Not Set".
    pub struct NoPidsLimit {
        code: "C022",
        name: "no-pids-limit",
        summary: "container has no pids limit",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-5.29"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let facts = ctx.facts;
    match &facts.resources.pids {
        None => {
            out.emit_at(
                &NoPidsLimit::INFO,
                facts.location.clone(),
                format!("`{}` has no pids limit", facts.name),
            );
        }
        Some(p) if p.value <= 0 => {
            out.emit_at(
                &NoPidsLimit::INFO,
                p.location.clone(),
                format!(
                    "`{}` sets pids limit `{}`, which means unlimited",
                    facts.name, p.value
                ),
            );
        }
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::{compose_lines, run_findings};

    #[test]
    fn unlimited_values_are_reported() {
        let yaml = "services:\n  a:\n    image: x\n  b:\n    image: x\n    pids_limit: 100\n  c:\n    image: x\n    pids_limit: -1\n";
        assert_eq!(compose_lines(check, yaml), [2, 9]);
        assert!(run_findings(check, "docker run --pids-limit 64 nginx:1.27").is_empty());
        assert_eq!(
            run_findings(check, "docker run --pids-limit=0 nginx:1.27").len(),
            1
        );
    }
}
