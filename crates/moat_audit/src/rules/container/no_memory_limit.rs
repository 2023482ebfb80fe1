use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a container without a memory limit: no `deploy.resources.limits.memory`, no
    /// legacy `mem_limit`, no `docker run --memory` / `-m`. A limit of `0` (unlimited) is
    /// reported at its value.
    ///
    /// ## Why is this bad?
    /// Without a limit a container may use all the memory of the host. A leak, a flood of large
    /// requests or a compromised process then starves every other container and the host
    /// itself, and the kernel's OOM killer may pick the Docker daemon or sshd instead of the
    /// culprit.
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
    ///           memory: 512m
    /// ```
    ///
    /// ## Fix
    /// Set `deploy.resources.limits.memory` (honoured by `docker compose up`, not only by
    /// swarm), `mem_limit`, or `docker run --memory 512m`. A memory reservation alone is a soft
    /// limit and does not count.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.11 (memory usage for containers is limited).
    /// - Docker Bench for Security check 5.11; KICS "Memory Not Limited".
    pub struct NoMemoryLimit {
        code: "C020",
        name: "no-memory-limit",
        summary: "container has no memory limit",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-5.11"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let facts = ctx.facts;
    match &facts.resources.memory {
        None => {
            out.emit_at(
                &NoMemoryLimit::INFO,
                facts.location.clone(),
                format!("`{}` has no memory limit", facts.name),
            );
        }
        Some(m) if m.value.bytes == Some(0) => {
            out.emit_at(
                &NoMemoryLimit::INFO,
                m.location.clone(),
                format!(
                    "`{}` sets memory limit `{}`, which means unlimited",
                    facts.name, m.value.raw
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
    fn any_form_of_limit_counts() {
        let yaml = "services:\n  a:\n    image: x\n  b:\n    image: x\n    deploy:\n      resources:\n        limits:\n          memory: 1.5G\n  c:\n    image: x\n    mem_limit: 256m\n  d:\n    image: x\n    mem_limit: 0\n  e:\n    image: x\n    deploy:\n      resources:\n        reservations:\n          memory: 64m\n";
        assert_eq!(compose_lines(check, yaml), [2, 15, 16]);
        assert!(run_findings(check, "docker run -m 512m nginx:1.27").is_empty());
        assert!(run_findings(check, "docker run --memory=1g nginx:1.27").is_empty());
        assert_eq!(run_findings(check, "docker run nginx:1.27").len(), 1);
    }
}
