//! Whether a package argument names a version, per package manager (the conventions hadolint's
//! DL3008/DL3013/DL3016/DL3018/DL3028/DL3033/DL3037/DL3041/DL3062 use, written down from their
//! documentation and observed behaviour, corrected where a package manager reads the word
//! otherwise).

use moat_dockerfile::expand::expand;
use moat_dockerfile::{Instruction, Word};

use super::pkg::{Manager, PkgCommand, pkg_commands};
use super::vars::Scope;
use crate::context::{DockerfileContext, Emitter};
use crate::rule::RuleInfo;

/// A package argument installed without a version.
#[derive(Debug)]
pub struct Unpinned<'a> {
    /// The argument.
    pub word: &'a Word,
    /// Why the version that seems to be there is not one, when that needs saying.
    pub why: Option<String>,
}

impl Unpinned<'_> {
    /// The finding message: "`x` is installed without a version", and why when it looks pinned.
    pub fn message(&self) -> String {
        match &self.why {
            Some(why) => format!(
                "`{}` is installed without a version: {why}",
                self.word.value
            ),
            None => format!("`{}` is installed without a version", self.word.value),
        }
    }
}

/// Reports, for every package install that `applies`, the packages installed without a version:
/// one finding per install command (one problem: that command is not reproducible), underlining
/// its unpinned packages from the first to the last and naming them all. What the pinning rules
/// (D055–D060, D063, D064) share.
pub fn report_installs(
    ctx: &DockerfileContext<'_>,
    out: &mut Emitter<'_>,
    info: &RuleInfo,
    applies: impl Fn(&PkgCommand<'_>) -> bool,
) {
    for (instr, commands) in ctx.runs() {
        for p in pkg_commands(commands).filter(|p| applies(p)) {
            report(out, info, &unpinned(ctx, instr, &p));
        }
    }
}

/// One finding for the unpinned packages of one install command.
fn report(out: &mut Emitter<'_>, info: &RuleInfo, packages: &[Unpinned<'_>]) {
    let (first, last) = match packages {
        [] => return,
        [one] => {
            out.emit(info, one.word.span, one.message());
            return;
        }
        [first, .., last] => (first, last),
    };
    let names: Vec<String> = packages
        .iter()
        .map(|u| format!("`{}`", u.word.value))
        .collect();
    let mut message = format!(
        "{} packages are installed without a version: {}",
        packages.len(),
        names.join(", ")
    );
    // each reason once, with the packages it is about
    let mut reasons: Vec<(&str, Vec<String>)> = Vec::new();
    for u in packages {
        let Some(why) = u.why.as_deref() else { continue };
        let name = format!("`{}`", u.word.value);
        match reasons.iter_mut().find(|(w, _)| *w == why) {
            Some((_, names)) => names.push(name),
            None => reasons.push((why, vec![name])),
        }
    }
    let whys: Vec<String> = reasons
        .iter()
        .map(|(why, names)| format!("{}: {why}", names.join(", ")))
        .collect();
    if !whys.is_empty() {
        message.push_str(" (");
        message.push_str(&whys.join("; "));
        message.push(')');
    }
    let span = moat_dockerfile::Span::new(first.word.span.start, last.word.span.end);
    out.emit(info, span, message);
}

/// Package arguments of the install `p` (in `instr`) that carry no version. Empty when the
/// install is driven by a requirements or lock file, or installs groups.
pub fn unpinned<'a>(
    ctx: &DockerfileContext<'_>,
    instr: &Instruction,
    p: &PkgCommand<'a>,
) -> Vec<Unpinned<'a>> {
    if p.manager == Manager::Pip && p.has_flag(&["--requirement", "--constraint"], &['r', 'c']) {
        return Vec::new();
    }
    if p.manager == Manager::Pipx && p.has_flag(&["--spec"], &[]) {
        return Vec::new();
    }
    if p.manager == Manager::Gem && p.has_flag(&["--version"], &['v']) {
        return Vec::new();
    }
    if matches!(p.manager, Manager::Yum | Manager::Dnf) && p.is_action(&["groupinstall"]) {
        return Vec::new();
    }
    let mut scope: Option<Scope> = None;
    let mut out = Vec::new();
    for word in p.packages() {
        let v = word.value.as_str();
        if matches!(p.manager, Manager::Yum | Manager::Dnf | Manager::Zypper) && v.starts_with('@')
        {
            continue; // a group (`@development-tools`)
        }
        if v.contains('$') {
            let scope = scope.get_or_insert_with(|| Scope::of(ctx, instr));
            let unseen = scope.unseen(v);
            if !unseen.is_empty() {
                let names: Vec<String> = unseen.iter().map(|n| format!("`{n}`")).collect();
                out.push(Unpinned {
                    word,
                    why: Some(format!(
                        "{} is set in another stage, not in this one, and expands to nothing here",
                        names.join(", ")
                    )),
                });
            }
            // A variable this stage sets, or one from outside the file. For a system package
            // it pins only where a version goes (`git-core-${V}`, `curl=${V}`), not inside the
            // name (`php${V}-cli`); for a language package it may hold a whole specifier
            // (`django${SPEC}`), so it is taken as one.
            let language = matches!(
                p.manager,
                Manager::Pip | Manager::Pipx | Manager::Npm | Manager::Gem
            );
            let shape = expand(v, &|_| Some("0".to_string()));
            if !language && !is_pinned(p.manager, &shape) {
                out.push(Unpinned { word, why: None });
            }
            continue;
        }
        if p.module {
            if !v.contains(':') {
                out.push(Unpinned {
                    word,
                    why: Some("a module needs its stream (`name:stream`)".into()),
                });
            }
            continue;
        }
        if let Some(why) = url_without_ref(p.manager, v) {
            out.push(Unpinned {
                word,
                why: Some(why),
            });
        } else if !is_pinned(p.manager, v) {
            out.push(Unpinned { word, why: None });
        }
    }
    out
}

/// Whether one package argument is pinned (or is not a registry package at all). Arguments with
/// a variable are judged by [`unpinned`].
pub fn is_pinned(manager: Manager, pkg: &str) -> bool {
    let lower = pkg.to_ascii_lowercase();
    let ext = |e: &str| lower.ends_with(e);
    let local = pkg.starts_with('.') || pkg.starts_with('/') || pkg.starts_with('~');
    match manager {
        Manager::AptGet | Manager::Apt | Manager::Aptitude => {
            pkg.contains('=') || ext(".deb") || pkg.contains('/')
        }
        Manager::Apk => pkg.contains(['=', '~', '<', '>']) || ext(".apk"),
        Manager::Pip | Manager::Pipx => {
            let url = url_of(pkg);
            local
                || url.is_some()
                // a path: pip reads an argument with a `/` as one (`src/mypkg`)
                || pkg.contains('/')
                || ["==", ">=", "<=", "~=", "!=", "<", ">"]
                    .iter()
                    .any(|op| pkg.contains(op))
                || [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"]
                    .iter()
                    .any(|e| ext(e))
        }
        Manager::Npm => {
            if is_npm_git(pkg) {
                return pkg.contains('#');
            }
            let name = pkg.strip_prefix('@').unwrap_or(pkg);
            let version = name.split_once('@').map(|(_, v)| v);
            local
                || version.is_some_and(|v| !matches!(v, "" | "latest" | "next" | "*"))
                || ext(".tgz")
                || ext(".tar.gz")
                || ext(".tar")
        }
        Manager::Gem => pkg.contains(':') || local || ext(".gem"),
        Manager::Yum | Manager::Dnf | Manager::Zypper => {
            local
                || ext(".rpm")
                || pkg.contains(['=', '<', '>'])
                || pkg
                    .as_bytes()
                    .windows(2)
                    .any(|w| w[0] == b'-' && w[1].is_ascii_digit())
        }
        Manager::Go => go_version(pkg).is_ok(),
    }
}

/// For a VCS URL that pip or npm installs from: why it names no commit, tag or branch at all.
/// `None` for other arguments and for URLs with a reference (whether that reference moves is
/// rule D066's concern).
fn url_without_ref(manager: Manager, pkg: &str) -> Option<String> {
    match manager {
        Manager::Pip | Manager::Pipx => {
            let url = url_of(pkg)?;
            let vcs = ["git+", "hg+", "svn+", "bzr+"]
                .iter()
                .any(|s| url.starts_with(s));
            (vcs && vcs_ref(url).is_none()).then(|| {
                "the repository URL names no commit (`@<commit>`), so its default branch is installed"
                    .to_string()
            })
        }
        Manager::Npm => (is_npm_git(pkg) && !pkg.contains('#')).then(|| {
            "the repository names no commit or tag (`#<commit>`), so its default branch is installed"
                .to_string()
        }),
        _ => None,
    }
}

/// The URL of a pip argument: the argument itself (`git+https://…`, `https://…/x.zip`) or the
/// URL of a direct reference (`name @ git+https://…`).
pub fn url_of(pkg: &str) -> Option<&str> {
    let candidate = match pkg.split_once('@') {
        Some((name, rest)) if !name.contains("://") && rest.trim_start().contains("://") => {
            rest.trim()
        }
        _ => pkg,
    };
    let scheme = candidate.split("://").next()?;
    (candidate.contains("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
    .then_some(candidate)
}

/// The `@ref` of a pip VCS URL (`git+https://host/org/repo.git@v1.2#egg=x` → `v1.2`); a user in
/// the host part (`git+https://user@host/…`, `git+ssh://git@host/…`) is not a reference.
pub fn vcs_ref(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let rest = rest.split(['#', '?']).next().unwrap_or(rest);
    let (_, path) = rest.split_once('/')?;
    let (_, r) = path.rsplit_once('@')?;
    (!r.is_empty()).then_some(r)
}

/// Whether an npm argument installs from a git repository: a git URL, a `git@host:` address,
/// a hosted shorthand (`github:org/repo`, `org/repo`).
pub fn is_npm_git(pkg: &str) -> bool {
    let lower = pkg.to_ascii_lowercase();
    if lower.starts_with("git+") || lower.starts_with("git://") || lower.starts_with("git@") {
        return true;
    }
    if ["github:", "gitlab:", "bitbucket:", "gist:"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return true;
    }
    // `org/repo` (not `@scope/name`, not a path, not a URL, not a tarball)
    !pkg.starts_with(['@', '.', '/', '~'])
        && !pkg.contains("://")
        && lower.split('#').next().is_some_and(|p| {
            let tarball = matches!(p.rsplit_once('.').map(|(_, e)| e), Some("tgz" | "gz"));
            p.matches('/').count() == 1 && !tarball
        })
}

/// The version of a `go install`/`go get`/`go run` argument: `Ok` for a local package (`.`,
/// `./cmd/x`, `/src/x`) or a fixed version (`@v1.2.3`, a pseudo-version, a commit hash);
/// `Err(None)` without `@version`, `Err(Some(query))` for a query that moves (`latest`,
/// `upgrade`, a branch).
pub fn go_version(pkg: &str) -> Result<(), Option<&str>> {
    if pkg.starts_with('.') || pkg.starts_with('/') {
        return Ok(());
    }
    let Some((_, version)) = pkg.rsplit_once('@') else {
        return Err(None);
    };
    let semver = version
        .strip_prefix('v')
        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()));
    let commit = version.len() >= 7 && version.bytes().all(|b| b.is_ascii_hexdigit());
    if semver || commit {
        Ok(())
    } else {
        Err(Some(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins() {
        assert!(is_pinned(Manager::AptGet, "curl=7.88"));
        assert!(!is_pinned(Manager::AptGet, "curl"));
        assert!(is_pinned(Manager::Pip, "django>=3"));
        assert!(is_pinned(Manager::Pip, "."));
        assert!(is_pinned(Manager::Pip, "src/mypkg"));
        assert!(is_pinned(Manager::Npm, "@scope/x@1"));
        assert!(!is_pinned(Manager::Npm, "@scope/x"));
        assert!(!is_pinned(Manager::Npm, "express@latest"));
        assert!(is_pinned(Manager::Npm, "pkg-1.2.3.tar"));
        assert!(!is_pinned(
            Manager::Npm,
            "git+https://user@github.com/o/r.git"
        ));
        assert!(is_pinned(
            Manager::Npm,
            "git+https://user@github.com/o/r.git#v1"
        ));
        assert!(!is_pinned(Manager::Npm, "expressjs/express"));
        assert!(is_pinned(Manager::Apk, "python3<3.12"));
        assert!(is_pinned(Manager::Yum, "httpd-2.4"));
        assert!(!is_pinned(Manager::Yum, "python3-devel"));
        assert!(is_pinned(Manager::Zypper, "tomcat>=9"));
        assert!(is_pinned(Manager::Gem, "bundler:2.0"));
    }

    #[test]
    fn vcs_references_ignore_the_user_part() {
        assert_eq!(
            vcs_ref("git+https://github.com/o/r.git@v1#egg=r"),
            Some("v1")
        );
        assert_eq!(vcs_ref("git+https://user@github.com/o/r.git"), None);
        assert_eq!(vcs_ref("git+ssh://git@github.com/o/r.git"), None);
        assert_eq!(
            vcs_ref("git+ssh://git@github.com:o/r.git@main"),
            Some("main")
        );
        assert_eq!(
            url_of("mypkg @ git+https://github.com/o/r"),
            Some("git+https://github.com/o/r")
        );
        assert_eq!(url_of("django==4.2"), None);
        assert!(url_without_ref(Manager::Pip, "git+https://user@github.com/o/r.git").is_some());
        assert!(url_without_ref(Manager::Pip, "git+https://github.com/o/r.git@v1").is_none());
        assert!(url_without_ref(Manager::Pip, "https://example.com/x.zip").is_none());
    }

    #[test]
    fn go_versions() {
        assert!(go_version("golang.org/x/tools/gopls@v0.16.1").is_ok());
        assert!(go_version("example.com/x@v0.0.0-20240101000000-abcdef123456").is_ok());
        assert!(go_version("example.com/x@3f2a1b9").is_ok());
        assert!(go_version("./cmd/app").is_ok());
        assert!(go_version("example.com/x@latest").is_err());
        assert!(go_version("example.com/x@main").is_err());
        assert!(go_version("example.com/x").is_err());
    }
}
