use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pinning;
use crate::rules::dockerfile::helpers::pkg::Manager;

declare_rule! {
    /// ## What it does
    /// Reports packages installed with `zypper install` (or `zypper in`) without a version.
    /// One finding per install command names every unpinned package of it.
    ///
    /// ## Why is this bad?
    /// An unpinned install takes whatever the repository serves on the day of the build: the
    /// image is not reproducible, a rebuild can break, and a compromised or vulnerable release
    /// enters unreviewed. Pinning makes every change a reviewed diff.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN zypper install -y nginx
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN zypper install -y nginx=1.21.5
    /// ```
    ///
    /// ## Fix
    /// Write `package=version`, a range (`'package>=1.21'`, quoted for the shell), or install a
    /// local `.rpm` file.
    ///
    /// ## References
    /// - hadolint DL3037. moat does not report packages given as a variable
    ///   (`zypper in -y $PACKAGES`): their value is not in the Dockerfile.
    pub struct UnpinnedZypper {
        code: "D064",
        name: "unpinned-zypper-package",
        summary: "zypper install without package versions",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3037"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    pinning::report_installs(ctx, out, &UnpinnedZypper::INFO, |p| p.manager == Manager::Zypper && p.is_install());
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::dockerfile::helpers::testing::lines;

    #[test]
    fn versions() {
        let src = "FROM opensuse/leap:15.6\n\
                   RUN zypper --non-interactive in -y nginx curl=8.6.0 'vim>=9' ./local.rpm\n";
        assert_eq!(lines(check, src), [2]);
        assert!(
            lines(
                check,
                "FROM opensuse/leap:15.6\nRUN zypper refresh && zypper in -y $PKGS\n"
            )
            .is_empty()
        );
    }
}
