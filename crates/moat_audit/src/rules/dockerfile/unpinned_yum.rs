use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pinning;
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand, pkg_commands};

declare_rule! {
    /// ## What it does
    /// Reports packages installed with `yum install` without a version.
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
    ///   (`yum install -y $INSTALL_PKGS`): their value is not in the Dockerfile.
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
    for (_, commands) in ctx.runs() {
        for p in pkg_commands(commands).filter(|p| applies(p)) {
            for package in pinning::unpinned(&p) {
                out.emit(
                    &UnpinnedYum::INFO,
                    package.span,
                    format!("`{}` is installed without a version", package.value),
                );
            }
        }
    }
}

fn applies(p: &PkgCommand<'_>) -> bool {
    p.manager == Manager::Yum && p.is_install()
}
