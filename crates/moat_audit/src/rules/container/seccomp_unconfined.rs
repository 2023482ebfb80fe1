use moat_deploy::SecurityOptKind;

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::helpers::security_opt::{is_unconfined, matching};

declare_rule! {
    /// ## What it does
    /// Reports `security_opt: [seccomp:unconfined]` / `--security-opt seccomp=unconfined`.
    ///
    /// ## Why is this bad?
    /// Docker's default seccomp profile blocks about 44 system calls that containers do not
    /// need and that are behind many kernel exploits and escapes (`keyctl`, `bpf`,
    /// `unshare`, `mount`, `ptrace` on old kernels…). Unconfined, every one of them is
    /// reachable from the container.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     security_opt:
    ///       - seccomp:unconfined
    /// ```
    ///
    /// Use instead: the default profile (leave the option out), or a custom one.
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     security_opt:
    ///       - no-new-privileges:true
    /// ```
    ///
    /// ## Fix
    /// Remove the option. If a system call is really missing, copy Docker's default profile,
    /// allow that call only, and pass the file: `seccomp=./seccomp.json`.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.22 (the default seccomp profile is not disabled).
    pub struct SeccompUnconfined {
        code: "C013",
        name: "seccomp-unconfined",
        summary: "container runs without a seccomp profile",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.22"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    for opt in matching(
        &ctx.facts.security_opt,
        |k| matches!(k, SecurityOptKind::Seccomp(p) if is_unconfined(p)),
    ) {
        out.emit_at(
            &SeccompUnconfined::INFO,
            opt.location.clone(),
            format!(
                "`{}` runs with `{}`: the kernel's whole system call surface is reachable",
                ctx.facts.name, opt.value.raw
            ),
        );
    }
}
