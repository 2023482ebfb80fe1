//! `M002`: an input a compose project needs is not there, so the values from it are unknown.

use moat_deploy::{UnavailableInput, UnavailableKind};

use crate::context::Emitter;
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports an input a compose project refers to that is not available where the audit
    /// runs: an `env_file` that cannot be read (commonly a `.env` that `.gitignore` keeps out
    /// of every checkout), or a variable that is not set, needed without a default
    /// (`${RESTART_POLICY}`) or required (`${DB_PASSWORD:?set it}`). One finding per file or
    /// variable, where it is first referred to.
    ///
    /// ## Why is this bad?
    /// It is not a weakness, but it limits the audit: `docker compose` would stop there, while
    /// moat goes on with the values that come from the input unknown. An unknown value is
    /// never taken for a hard-coded one, nor for a safe one: a judgement that depends on it is
    /// not made (a `privileged: ${PRIVILEGED:?}` is neither reported nor passed), and the
    /// variables of a missing env file cannot be checked for secrets.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:${TAG:?set TAG}
    ///     env_file: .env          # git-ignored: absent in CI
    ///     restart: ${RESTART_POLICY}
    /// ```
    ///
    /// ## Fix
    /// Audit where the inputs exist, or give them to the audit: export the variables (a
    /// `.env` beside the compose file is read too), or mark an env file that may be absent
    /// `required: false` in the long syntax (`env_file: [{path: .env, required: false}]`),
    /// which is then not reported. Where the inputs are absent on purpose, ignore the rule.
    ///
    /// ## References
    /// - Compose Specification, "Interpolation" and `env_file` (`required`).
    pub struct InputNotAvailable {
        code: "M002",
        name: "input-not-available",
        summary: "an input the project needs is not available: values from it are unknown",
        severity: Info,
        confidence: High,
        default_enabled: true,
        references: [],
        check: Meta,
    }
}

/// Reports one unavailable input.
pub(crate) fn report(input: &UnavailableInput, out: &mut Emitter<'_>) {
    let what = match input.kind {
        UnavailableKind::EnvFile => format!("env file `{}` cannot be read", input.name),
        UnavailableKind::Variable => format!("variable `{}` is not set", input.name),
    };
    let detail = input
        .detail
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    out.emit_at(
        &InputNotAvailable::INFO,
        input.location.clone(),
        format!("input not available: {what}{detail}; values from it are unknown"),
    );
}
