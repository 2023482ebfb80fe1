use moat_deploy::{Located, RestartPolicy};

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

/// The most retries CIS 5.15 accepts.
const MAX_RETRIES: u32 = 5;

declare_rule! {
    /// ## What it does
    /// Reports a restart policy that retries a failing container more than 5 times:
    /// `restart: on-failure:10`, `docker run --restart on-failure:10`, or
    /// `deploy.restart_policy.max_attempts: 10`.
    ///
    /// `always`, `unless-stopped` and a `restart_policy` without `max_attempts` are not
    /// reported: they restart a service without a count on purpose, and the CIS audit (like
    /// Docker Bench) only checks the retry count of `on-failure`.
    ///
    /// ## Why is this bad?
    /// A container that keeps crashing and being restarted hides the failure, burns CPU and
    /// logs, and, when the crash is triggered by an attacker, turns into a denial of service of
    /// the host. A small retry count makes a broken container stop and be noticed.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   worker:
    ///     image: example/worker:1.4
    ///     restart: on-failure:20
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   worker:
    ///     image: example/worker:1.4
    ///     restart: on-failure:5
    /// ```
    ///
    /// ## Fix
    /// Lower the retry count to 5 or fewer.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.15 (the `on-failure` restart policy is set to 5).
    /// - Docker Bench for Security check 5.15.
    pub struct RestartRetriesTooHigh {
        code: "C026",
        name: "restart-retries-too-high",
        summary: "restart policy retries more than 5 times",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.15"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let facts = ctx.facts;
    let policies = [&facts.restart, &facts.deploy_restart_policy];
    for policy in policies.into_iter().flatten() {
        report(ctx, out, policy);
    }
}

fn report(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>, policy: &Located<RestartPolicy>) {
    let Some(retries) = &policy.value.max_retries else {
        return;
    };
    if retries.value <= MAX_RETRIES {
        return;
    }
    out.emit_at(
        &RestartRetriesTooHigh::INFO,
        retries.location.clone(),
        format!(
            "`{}` is restarted up to {} times on failure (more than {MAX_RETRIES})",
            ctx.facts.name, retries.value
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::{compose_lines, run_findings};

    #[test]
    fn counts_above_five() {
        let yaml = "services:\n  a:\n    image: x\n    restart: on-failure:10\n  b:\n    image: x\n    restart: always\n  c:\n    image: x\n    restart: on-failure:5\n  d:\n    image: x\n    deploy:\n      restart_policy:\n        condition: on-failure\n        max_attempts: 6\n";
        assert_eq!(compose_lines(check, yaml), [4, 16]);
        assert_eq!(
            run_findings(check, "docker run --restart=on-failure:9 nginx").len(),
            1
        );
        assert!(run_findings(check, "docker run --restart unless-stopped nginx").is_empty());
    }
}
