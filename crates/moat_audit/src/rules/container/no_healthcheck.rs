use moat_deploy::SourceKind;

use crate::context::{ContainerContext, Emitter};
use crate::rule::{Confidence, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports a container whose healthcheck is disabled (`healthcheck: {disable: true}`,
    /// `test: ["NONE"]`, `docker run --no-healthcheck`), and, with low confidence, a container
    /// that declares no healthcheck at all: the image may define a `HEALTHCHECK` that moat
    /// cannot see from the compose file or the command line.
    ///
    /// ## Why is this bad?
    /// Without a healthcheck Docker only knows whether the process runs, not whether it
    /// serves. A hung or degraded service stays "up", `depends_on: condition:
    /// service_healthy` cannot wait for it, and orchestrators cannot replace it.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     healthcheck:
    ///       disable: true
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     healthcheck:
    ///       test: ["CMD", "/app/healthcheck"]
    ///       interval: 30s
    ///       timeout: 3s
    ///       retries: 3
    /// ```
    ///
    /// ## Fix
    /// Declare a `healthcheck` (`docker run --health-cmd`), or a `HEALTHCHECK` in the image's
    /// Dockerfile and ignore the low-confidence finding. Prefer a check that needs no shell or
    /// `curl` in the image (a small binary, or the application's own `--healthcheck` flag).
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.27 (container health is checked at runtime).
    /// - Docker Bench for Security check 5.27; hadolint and moat D030 judge the Dockerfile side.
    pub struct NoHealthcheck {
        code: "C027",
        name: "no-healthcheck",
        summary: "container has no healthcheck",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.27"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let facts = ctx.facts;
    match &facts.healthcheck {
        Some(h) if h.value.disabled => {
            out.emit_at(
                &NoHealthcheck::INFO,
                h.location.clone(),
                format!("`{}` disables its healthcheck", facts.name),
            );
        }
        Some(_) => {}
        // a live container's configuration holds its image's health check: none is none
        None if facts.source_kind == SourceKind::Engine => {
            out.emit_at(
                &NoHealthcheck::INFO,
                facts.location.clone(),
                format!(
                    "`{}` has no healthcheck: neither the container nor its image defines one",
                    facts.name
                ),
            );
        }
        None => {
            let f = out.emit_at(
                &NoHealthcheck::INFO,
                facts.location.clone(),
                format!(
                    "`{}` declares no healthcheck (the image may define one)",
                    facts.name
                ),
            );
            f.confidence = Confidence::Low;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rule::Confidence;
    use crate::rules::container::helpers::compose_testing::{compose_findings, run_findings};

    #[test]
    fn disabled_is_sure_absent_is_not() {
        let yaml = "services:\n  a:\n    image: x\n  b:\n    image: x\n    healthcheck:\n      disable: true\n  c:\n    image: x\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n";
        let got: Vec<_> = compose_findings(check, yaml)
            .into_iter()
            .map(|f| (f.location.line, f.confidence))
            .collect();
        assert_eq!(got, [(2, Confidence::Low), (7, Confidence::High)]);
        assert_eq!(
            run_findings(check, "docker run --no-healthcheck nginx").len(),
            1
        );
        assert!(run_findings(check, "docker run --health-cmd true nginx").is_empty());
    }
}
