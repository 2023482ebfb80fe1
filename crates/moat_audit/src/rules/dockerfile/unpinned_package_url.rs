use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pinning::{is_npm_git, url_of, vcs_ref};
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand, pkg_commands};

declare_rule! {
    /// ## What it does
    /// Reports a package that `pip` (or `pipx`) or `npm` installs from a URL whose content can
    /// change:
    /// - a repository at a branch or tag: `git+https://github.com/org/lib.git@main`,
    ///   `git+https://…@v1.2`, npm's `github:org/lib#v1.2` or `git+https://…#semver:^1`;
    /// - an archive without a hash: `https://github.com/org/lib/archive/main.zip`,
    ///   `https://example.com/lib-1.2.tar.gz`.
    ///
    /// A full commit hash (`@<40 hex digits>`, `#<40 hex digits>`), an archive URL with a pip
    /// hash fragment (`#sha256=…`), an archive of a commit (`/archive/<commit>.zip`) and files
    /// of the PyPI and npm registries (which never change once published) are fixed. A
    /// repository URL without any reference is rules D056 and D057's (unpinned packages).
    ///
    /// ## Why is this bad?
    /// Branches move with every push and tags can be moved or recreated; an archive URL serves
    /// whatever is there today. Whoever controls the repository (or takes it over) decides
    /// what the next build installs, and nothing checks it: no version, no hash.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN pip install --no-cache-dir "git+https://github.com/example/lib.git@main"
    /// RUN pip install --no-cache-dir https://github.com/example/tool/archive/main.zip
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN pip install --no-cache-dir \
    ///     "git+https://github.com/example/lib.git@1f0c6b2d4e5a6978899aabbccddeeff001122334"
    /// RUN pip install --no-cache-dir \
    ///     "https://github.com/example/tool/archive/v2.1.0.zip#sha256=<digest>"
    /// ```
    ///
    /// ## Fix
    /// Pin the commit hash, or add the archive's hash (`#sha256=…`, which pip verifies), or
    /// install a released version from the registry.
    ///
    /// ## References
    /// - pip documentation, "VCS Support" and "Secure installs" (hash-checking).
    /// - hadolint DL3013 and DL3016 accept any reference (a branch included); this rule is the
    ///   stricter check they do not make.
    pub struct UnpinnedPackageUrl {
        code: "D066",
        name: "unpinned-package-url",
        summary: "a package is installed from a branch, tag or archive URL that can change",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: [],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, commands) in ctx.runs() {
        for p in pkg_commands(commands).filter(PkgCommand::is_install) {
            let judge = match p.manager {
                Manager::Pip | Manager::Pipx => pip_url,
                Manager::Npm => npm_url,
                _ => continue,
            };
            for package in p.packages() {
                if package.value.contains('$') {
                    continue;
                }
                if let Some(why) = judge(&package.value) {
                    out.emit(
                        &UnpinnedPackageUrl::INFO,
                        package.span,
                        format!("`{}` {why}", package.value),
                    );
                }
            }
        }
    }
}

/// What is mutable about a pip argument's URL, if anything.
fn pip_url(pkg: &str) -> Option<String> {
    let url = url_of(pkg)?;
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("file:") {
        return None;
    }
    if ["git+", "hg+", "svn+", "bzr+"]
        .iter()
        .any(|s| lower.starts_with(s))
    {
        let r = vcs_ref(url)?;
        let svn_revision = lower.starts_with("svn+") && r.bytes().all(|b| b.is_ascii_digit());
        if is_commit(r) || svn_revision {
            return None;
        }
        return Some(format!(
            "installs `{r}`, a branch or tag that can move: pin the full commit hash \
             (`@<commit>`)"
        ));
    }
    let hashed = [
        "#sha256=", "#sha384=", "#sha512=", "&sha256=", "&sha384=", "&sha512=",
    ]
    .iter()
    .any(|h| lower.contains(h));
    if hashed || archive_is_fixed(&lower, &["files.pythonhosted.org"]) {
        return None;
    }
    Some(
        "is downloaded without a hash and can change: add `#sha256=<digest>` (pip checks it) or \
         install a released version"
            .into(),
    )
}

/// What is mutable about an npm argument's repository or tarball URL, if anything.
fn npm_url(pkg: &str) -> Option<String> {
    let lower = pkg.to_ascii_lowercase();
    if lower.starts_with("file:") {
        return None;
    }
    if is_npm_git(pkg) {
        let (_, r) = pkg.split_once('#')?;
        if is_commit(r) {
            return None;
        }
        return Some(format!(
            "installs `#{r}`, a branch, tag or range that can move: pin the full commit hash \
             (`#<commit>`)"
        ));
    }
    let remote = lower.starts_with("http://") || lower.starts_with("https://");
    if !remote || archive_is_fixed(&lower, &["registry.npmjs.org", "registry.yarnpkg.com"]) {
        return None;
    }
    Some("is a tarball downloaded without a hash and can change: install a released version".into())
}

/// A full commit hash: 40 (SHA-1) or 64 (SHA-256) hex digits.
fn is_commit(r: &str) -> bool {
    matches!(r.len(), 40 | 64) && r.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An archive URL whose content cannot change: on an immutable registry host, or naming a commit
/// in its path (`/archive/<commit>.zip`, `/tar.gz/<commit>`).
fn archive_is_fixed(url: &str, immutable_hosts: &[&str]) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or_default();
    if immutable_hosts.contains(&host) {
        return true;
    }
    rest.split(['/', '#', '?']).any(|segment| {
        let stem = segment
            .trim_end_matches(".zip")
            .trim_end_matches(".tar.gz")
            .trim_end_matches(".tgz")
            .trim_end_matches(".tar.bz2");
        is_commit(stem)
    })
}

#[cfg(test)]
mod tests {
    use super::{check, npm_url, pip_url};
    use crate::rules::dockerfile::helpers::testing::lines;

    const COMMIT: &str = "1f0c6b2d4e5a6978899aabbccddeeff001122334";

    #[test]
    fn pip_urls() {
        assert!(pip_url("git+https://github.com/o/r.git@main").is_some());
        assert!(pip_url("git+https://github.com/o/r.git@v1.2#egg=r").is_some());
        assert!(pip_url("r @ git+https://github.com/o/r.git@main").is_some());
        assert!(pip_url(&format!("git+https://github.com/o/r.git@{COMMIT}")).is_none());
        assert!(pip_url("git+https://github.com/o/r.git").is_none()); // D056's
        assert!(pip_url("git+ssh://git@github.com/o/r.git").is_none()); // D056's
        assert!(pip_url("svn+https://svn.example.com/repo/trunk@2019").is_none());
        assert!(pip_url("https://github.com/o/r/archive/main.zip").is_some());
        assert!(pip_url("https://github.com/o/r/archive/main.zip#sha256=ab12").is_none());
        assert!(pip_url(&format!("https://github.com/o/r/archive/{COMMIT}.zip")).is_none());
        assert!(pip_url("https://files.pythonhosted.org/packages/x/y/r-1.0.tar.gz").is_none());
        assert!(pip_url("django==4.2").is_none());
        assert!(pip_url("./wheels/r-1.0-py3-none-any.whl").is_none());
        assert!(pip_url("file:///wheels/r-1.0.tar.gz").is_none());
    }

    #[test]
    fn npm_urls() {
        assert!(npm_url("github:o/r#v1.2").is_some());
        assert!(npm_url("o/r#main").is_some());
        assert!(npm_url("git+https://github.com/o/r.git#semver:^1").is_some());
        assert!(npm_url(&format!("git+ssh://git@github.com:o/r.git#{COMMIT}")).is_none());
        assert!(npm_url("o/r").is_none()); // D057's
        assert!(npm_url("express@4.19.2").is_none());
        assert!(npm_url("@scope/pkg@1.0.0").is_none());
        assert!(npm_url("https://example.com/lib-1.0.tgz").is_some());
        assert!(npm_url("https://registry.npmjs.org/lib/-/lib-1.0.0.tgz").is_none());
    }

    #[test]
    fn fires_on_installs_only() {
        let src = "FROM python:3.12-slim\n\
                   RUN pip install --no-cache-dir git+https://github.com/o/r.git@main\n\
                   RUN pip download git+https://github.com/o/r.git@main\n\
                   RUN npm install --global github:o/tool#v2\n";
        assert_eq!(lines(check, src), [2, 4]);
    }
}
