use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pinning;
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand};

declare_rule! {
    /// ## What it does
    /// Reports packages installed with `npm install` without a version, or with `@latest`,
    /// `@next` or `@*`, and git repositories without a `#<commit-ish>` (`git+https://…`,
    /// `git+ssh://git@host:org/repo.git`, `github:org/repo`, `org/repo`: the `@` of a user in
    /// the URL is not a version). Local folders and tarballs (`./pkg`, `pkg-1.2.3.tar`,
    /// `.tgz`) are not judged. A reference that moves (`#main`, `#semver:^1`) is rule D066's.
    /// One finding per install command names every unpinned package of it.
    ///
    /// ## Why is this bad?
    /// An unpinned install takes whatever the repository serves on the day of the build: the
    /// image is not reproducible, a rebuild can break, and a compromised or vulnerable release
    /// enters unreviewed. Pinning makes every change a reviewed diff.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN npm install -g typescript
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN npm install -g typescript@5.4.5
    /// ```
    ///
    /// ## Fix
    /// Write `package@version` (`@scope/pkg@version`); a bare `npm install`/`npm ci` uses the lock file and is not reported, nor are paths and tarballs. Git URLs need a `#ref`.
    ///
    /// ## References
    /// - hadolint DL3016. moat also judges the `npm i` and `npm add` aliases, which hadolint does not.
    pub struct UnpinnedNpm {
        code: "D057",
        name: "unpinned-npm-package",
        summary: "npm install without package versions",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3016"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    pinning::report_installs(ctx, out, &UnpinnedNpm::INFO, applies);
}

fn applies(p: &PkgCommand<'_>) -> bool {
    p.manager == Manager::Npm && p.is_install()
}
