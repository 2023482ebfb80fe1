use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::image_stages::{final_from, image_instructions};

declare_rule! {
    /// ## What it does
    /// Reports an image without a health check: the final stage, and the stages it builds on by
    /// name, have no `HEALTHCHECK`. An explicit `HEALTHCHECK NONE` is accepted: it records the
    /// decision that this image is not health-checked.
    ///
    /// ## Why is this bad?
    /// Without a health check the engine only knows whether the process is alive, not whether it
    /// serves: a hung server stays "running", restart policies and `depends_on: condition:
    /// service_healthy` cannot react, and an attacker-induced failure goes unnoticed.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// COPY . /app
    /// CMD ["gunicorn", "app:app", "-b", "0.0.0.0:8000"]
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// COPY . /app
    /// HEALTHCHECK --interval=30s --timeout=3s \
    ///   CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8000/health')"
    /// CMD ["gunicorn", "app:app", "-b", "0.0.0.0:8000"]
    /// ```
    ///
    /// ## Fix
    /// Add a `HEALTHCHECK` that exercises the service with tools present in the image. When the
    /// orchestrator does the health checking (Kubernetes probes), disable this rule in
    /// `.moat.toml`. Health checks set in the base image cannot be seen here.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.6 (add HEALTHCHECK instructions to the container image).
    /// - hadolint DL3057 (off by default there). Like hadolint and Docker Bench for Security
    ///   (4.6 checks that the image config has a health check entry), moat accepts a final
    ///   `HEALTHCHECK NONE`: it is the documented, explicit way to say that this image is not
    ///   health-checked (for instance because the base image's check does not apply).
    /// - Trivy DS-0026, checkov CKV_DOCKER_2.
    pub struct MissingHealthcheck {
        code: "D030",
        name: "missing-healthcheck",
        summary: "the image has no HEALTHCHECK",
        severity: Low,
        confidence: Medium,
        default_enabled: true,
        references: ["DL3057", "CIS-DOCKER-4.6", "DS-0026", "CKV_DOCKER_2"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    let instrs = image_instructions(ctx);
    // A final `HEALTHCHECK NONE` is an explicit decision, not an omission: accepted.
    if instrs.iter().any(|i| i.kind == Kind::Healthcheck) {
        return;
    }
    if let Some(from) = final_from(ctx) {
        out.emit(
            &MissingHealthcheck::INFO,
            from.span,
            "the final stage has no HEALTHCHECK",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::dockerfile::helpers::testing::{findings_with, lines};

    #[test]
    fn explicit_healthcheck_none_is_a_decision_not_an_omission() {
        let src = "FROM nginx:1.27 AS base\nHEALTHCHECK CMD true\nFROM base\nHEALTHCHECK NONE\n";
        let got = findings_with(check, src, &crate::config::Settings::default());
        assert!(got.is_empty(), "{got:?}");
        // Without it the same image is reported at its final FROM.
        assert_eq!(lines(check, "FROM nginx:1.27\nRUN true\n"), vec![1]);
    }

    #[test]
    fn inherited_healthcheck_counts() {
        assert!(
            lines(
                check,
                "FROM nginx:1.27 AS base\nHEALTHCHECK CMD true\nFROM base\n"
            )
            .is_empty()
        );
        assert_eq!(
            lines(
                check,
                "FROM nginx:1.27 AS base\nHEALTHCHECK CMD true\nFROM nginx:1.27\n"
            ),
            [3]
        );
    }
}
