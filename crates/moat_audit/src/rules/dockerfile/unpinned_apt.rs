use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pinning;
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand};

declare_rule! {
    /// ## What it does
    /// Reports packages installed with `apt-get install` (or `aptitude install`) without a
    /// version. A simulation (`apt-get install -s`, `--dry-run`) installs nothing and is not
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
    /// RUN apt-get install -y --no-install-recommends curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u5
    /// ```
    ///
    /// ## Fix
    /// Write `package=version` for each package (`apt-cache policy curl` shows the candidates). A `.deb` file or path is not reported.
    ///
    /// ## References
    /// - hadolint DL3008. moat differs deliberately: it reads commands behind `sudo` and inside
    ///   `sh -c '…'`, and it does not report a package given as a variable (`apt-get install
    ///   $PKGS`), whose value it cannot see.
    pub struct UnpinnedApt {
        code: "D055",
        name: "unpinned-apt-package",
        summary: "apt-get install without package versions",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3008"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    pinning::report_installs(ctx, out, &UnpinnedApt::INFO, applies);
}

fn applies(p: &PkgCommand<'_>) -> bool {
    matches!(p.manager, Manager::AptGet | Manager::Aptitude) && p.is_install()
}
