use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pinning;
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand, pkg_commands};

declare_rule! {
    /// ## What it does
    /// Reports packages installed with `pip install` without a version.
    ///
    /// ## Why is this bad?
    /// An unpinned install takes whatever the repository serves on the day of the build: the
    /// image is not reproducible, a rebuild can break, and a compromised or vulnerable release
    /// enters unreviewed. Pinning makes every change a reviewed diff.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN pip install --no-cache-dir flask
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN pip install --no-cache-dir flask==3.0.3
    /// ```
    ///
    /// ## Fix
    /// Pin with `==` (or a range operator such as `>=`, `~=`), or install from a requirements file with hashes (`pip install --require-hashes -r requirements.txt`): an install that names `-r`/`-c` is not reported, nor are local paths, wheels and archives.
    ///
    /// ## References
    /// - hadolint DL3013 (same exceptions). moat also recognises pip run by path
    ///   (`/venv/bin/pip install x`) and `python -m pip`, which hadolint does not.
    pub struct UnpinnedPip {
        code: "D056",
        name: "unpinned-pip-package",
        summary: "pip install without package versions",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3013"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, commands) in ctx.runs() {
        for p in pkg_commands(commands).filter(|p| applies(p)) {
            for package in pinning::unpinned(&p) {
                out.emit(
                    &UnpinnedPip::INFO,
                    package.span,
                    format!("`{}` is installed without a version", package.value),
                );
            }
        }
    }
}

fn applies(p: &PkgCommand<'_>) -> bool {
    p.manager == Manager::Pip && p.is_install()
}
