use moat_dockerfile::{Arguments, Instruction, Kind};

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::image_stages::{final_from, image_instructions};

declare_rule! {
    /// ## What it does
    /// Reports an image without a health check: the final stage, and the stages it builds on by
    /// name, have no `HEALTHCHECK`. A last `HEALTHCHECK NONE` is reported with its own message:
    /// it switches off a check the base image may define.
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
    /// - hadolint DL3057 (off by default there). moat differs on purpose: hadolint accepts a
    ///   final `HEALTHCHECK NONE`, which moat reports, since the image then has no health check
    ///   all the same (turn this rule off where the orchestrator probes instead).
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
    match instrs.iter().rev().find(|i| i.kind == Kind::Healthcheck) {
        Some(last) if is_none(last) => {
            out.emit(
                &MissingHealthcheck::INFO,
                last.span,
                "`HEALTHCHECK NONE` disables the image's health check",
            );
        }
        Some(_) => {}
        None => {
            if let Some(from) = final_from(ctx) {
                out.emit(
                    &MissingHealthcheck::INFO,
                    from.span,
                    "the final stage has no HEALTHCHECK",
                );
            }
        }
    }
}

/// `HEALTHCHECK NONE`.
fn is_none(instr: &Instruction) -> bool {
    match &instr.args {
        Arguments::Shell(text) => text.value.trim().eq_ignore_ascii_case("none"),
        Arguments::Exec(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::dockerfile::helpers::testing::{findings_with, lines};

    #[test]
    fn healthcheck_none_is_reported_where_it_is() {
        let src = "FROM nginx:1.27 AS base\nHEALTHCHECK CMD true\nFROM base\nHEALTHCHECK NONE\n";
        let got = findings_with(check, src, &crate::config::Settings::default());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 4);
        assert!(got[0].1.contains("NONE"));
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
