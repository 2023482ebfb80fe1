use moat_deploy::SecurityOptKind;

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::helpers::security_opt::matching;

declare_rule! {
    /// ## What it does
    /// Reports `security_opt: [label:disable]` / `--security-opt label=disable`.
    ///
    /// ## Why is this bad?
    /// On SELinux hosts (RHEL, Fedora, CentOS), each container runs with its own MCS label, so
    /// a process that escapes still cannot touch other containers' or the host's files.
    /// `label:disable` turns the container into an unconfined process.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     security_opt:
    ///       - label:disable
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
    /// Remove the option. For host files the container must read, relabel the mount with
    /// `:z` (shared) or `:Z` (private) instead of disabling labelling.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.3 (SELinux security options are set).
    pub struct SelinuxDisabled {
        code: "C015",
        name: "selinux-disabled",
        summary: "container runs with SELinux labelling disabled",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.3"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    for opt in matching(
        &ctx.facts.security_opt,
        |k| matches!(k, SecurityOptKind::Label(v) if v.trim().eq_ignore_ascii_case("disable")),
    ) {
        out.emit_at(
            &SelinuxDisabled::INFO,
            opt.location.clone(),
            format!(
                "`{}` runs with `{}`: SELinux separation is off",
                ctx.facts.name, opt.value.raw
            ),
        );
    }
}
