use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pinning;
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand};

declare_rule! {
    /// ## What it does
    /// Reports packages installed with `pip install` or `pipx install` without a version, and
    /// repository URLs without any reference (`git+https://…/lib.git`, a user in the host part,
    /// `git+https://deploy@host/…`, is not one). Local paths (`.`, `./dist/x.whl`,
    /// `src/plugin`: pip reads an argument with a `/` as a path), archives and the values of
    /// options (`--root-user-action ignore`) are not packages; the value of `-e` is. A URL with
    /// a branch or tag is rule D066's.
    /// One finding per install command names every unpinned package of it.
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
    /// - pip documentation, "pip install" (requirement specifiers, VCS support).
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
    pinning::report_installs(ctx, out, &UnpinnedPip::INFO, applies);
}

fn applies(p: &PkgCommand<'_>) -> bool {
    matches!(p.manager, Manager::Pip | Manager::Pipx) && p.is_install()
}
