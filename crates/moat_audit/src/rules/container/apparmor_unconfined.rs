use moat_deploy::SecurityOptKind;

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::helpers::security_opt::{is_unconfined, matching};

declare_rule! {
    /// ## What it does
    /// Reports `security_opt: [apparmor:unconfined]` / `--security-opt apparmor=unconfined`.
    ///
    /// ## Why is this bad?
    /// On hosts with AppArmor (Debian, Ubuntu, SUSE), Docker confines every container with
    /// the `docker-default` profile, which denies writes to `/proc` and `/sys` files and
    /// mounts that lead to escapes. `unconfined` removes that layer.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     security_opt:
    ///       - apparmor:unconfined
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
    /// Remove the option, or write a profile for the workload, load it on the host and name
    /// it: `apparmor=my-profile`.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.2 (an AppArmor profile is enabled).
    pub struct ApparmorUnconfined {
        code: "C014",
        name: "apparmor-unconfined",
        summary: "container runs without an AppArmor profile",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.2"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    for opt in matching(
        &ctx.facts.security_opt,
        |k| matches!(k, SecurityOptKind::Apparmor(p) if is_unconfined(p)),
    ) {
        out.emit_at(
            &ApparmorUnconfined::INFO,
            opt.location.clone(),
            format!(
                "`{}` runs with `{}`: AppArmor confinement is off",
                ctx.facts.name, opt.value.raw
            ),
        );
    }
}
