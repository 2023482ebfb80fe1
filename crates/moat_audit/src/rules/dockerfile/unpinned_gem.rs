use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pinning;
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand};

declare_rule! {
    /// ## What it does
    /// Reports packages installed with `gem install` (or its alias `gem i`) without a version
    /// (`name:version`, or `-v`/`--version`). What follows `--` is passed to the gem's build
    /// (`-- --use-system-libraries true`) and is not a gem.
    /// One finding per install command names every unpinned package of it.
    ///
    /// ## Why is this bad?
    /// An unpinned install takes whatever the repository serves on the day of the build: the
    /// image is not reproducible, a rebuild can break, and a compromised or vulnerable release
    /// enters unreviewed. Pinning makes every change a reviewed diff.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN gem install rails
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN gem install rails:7.1.3
    /// ```
    ///
    /// ## Fix
    /// Write `gem:version` or pass `-v VERSION`.
    ///
    /// ## References
    /// - hadolint DL3028. moat also reads `gem install` inside `bash -l -c '…'` (common with
    ///   rvm), which hadolint does not.
    pub struct UnpinnedGem {
        code: "D059",
        name: "unpinned-gem",
        summary: "gem install without versions",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3028"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    pinning::report_installs(ctx, out, &UnpinnedGem::INFO, applies);
}

fn applies(p: &PkgCommand<'_>) -> bool {
    p.manager == Manager::Gem && p.is_install()
}
