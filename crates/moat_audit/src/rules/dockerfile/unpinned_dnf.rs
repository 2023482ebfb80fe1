use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pinning;
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand};

declare_rule! {
    /// ## What it does
    /// Reports packages installed with `dnf install` (or `microdnf install`) without a
    /// version, and modules installed with `dnf module install` without a stream
    /// (`nodejs:20`). Groups (`dnf group install`, `@group`) cannot be pinned and are not
    /// judged.
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
    /// RUN dnf install -y httpd
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN dnf install -y httpd-2.4.57
    /// ```
    ///
    /// ## Fix
    /// Write `package-version`; `microdnf` is judged the same way.
    ///
    /// ## References
    /// - hadolint DL3041. moat differs deliberately: it recognises dnf run by path (`/bin/dnf`),
    ///   and it does not report packages given as a variable (`dnf install $PKGS`). A version
    ///   from an `ARG` of another stage is reported, where hadolint accepts an `ARG` from any
    ///   stage (an `ARG` ends with its stage, so it expands to nothing here).
    pub struct UnpinnedDnf {
        code: "D063",
        name: "unpinned-dnf-package",
        summary: "dnf install without package versions",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3041"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    pinning::report_installs(ctx, out, &UnpinnedDnf::INFO, applies);
}

fn applies(p: &PkgCommand<'_>) -> bool {
    p.manager == Manager::Dnf && p.is_install()
}
