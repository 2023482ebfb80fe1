use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pinning;
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand};

declare_rule! {
    /// ## What it does
    /// Reports packages installed with `yum install` without a version, and modules installed
    /// with `yum module install` without a stream (`nodejs:20`). Groups (`yum groupinstall`,
    /// `@group`) cannot be pinned and are not judged.
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
    /// RUN yum install -y httpd
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN yum install -y httpd-2.4.57
    /// ```
    ///
    /// ## Fix
    /// Write `package-version`. `dnf` and `microdnf` are judged by D063.
    ///
    /// ## References
    /// - hadolint DL3033. moat does not report packages given as a variable
    ///   (`yum install -y $INSTALL_PKGS`): their value is not in the Dockerfile. moat differs on
    ///   purpose in one way: a version from an `ARG` of another stage is reported, where
    ///   hadolint accepts an `ARG` from any stage (an `ARG` ends with its stage, so it expands
    ///   to nothing here, as an `ENV` of an unrelated stage does for both).
    pub struct UnpinnedYum {
        code: "D060",
        name: "unpinned-yum-package",
        summary: "yum install without package versions",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3033"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    pinning::report_installs(ctx, out, &UnpinnedYum::INFO, applies);
}

fn applies(p: &PkgCommand<'_>) -> bool {
    p.manager == Manager::Yum && p.is_install()
}
