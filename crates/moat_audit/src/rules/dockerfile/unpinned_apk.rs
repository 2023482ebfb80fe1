use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pinning;
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand};

declare_rule! {
    /// ## What it does
    /// Reports packages installed with `apk add` without a version (`=`, `~`, `<`, `>` and
    /// their combinations pin one).
    /// A version given by a variable counts when the variable is visible there (`ENV` of the
    /// stage or of a stage it builds on, `ARG` of the stage): one set only in another stage
    /// expands to nothing and is reported.
    /// One finding per install command names every unpinned package of it.
    ///
    /// ## Why is this bad?
    /// An unpinned install takes whatever the repository serves on the day of the build: the
    /// image is not reproducible, a rebuild can break, and a compromised or vulnerable release
    /// enters unreviewed. Pinning makes every change a reviewed diff.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apk add --no-cache curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apk add --no-cache curl=8.5.0-r0
    /// ```
    ///
    /// ## Fix
    /// Write `package=version` (or `package~version`); the name given to `--virtual` is not a package.
    ///
    /// ## References
    /// - hadolint DL3018.
    pub struct UnpinnedApk {
        code: "D058",
        name: "unpinned-apk-package",
        summary: "apk add without package versions",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3018"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    pinning::report_installs(ctx, out, &UnpinnedApk::INFO, applies);
}

fn applies(p: &PkgCommand<'_>) -> bool {
    p.manager == Manager::Apk && p.is_install()
}
