use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::copy_args::{copy_args, has_flag, is_git, is_url};

declare_rule! {
    /// ## What it does
    /// Reports an `ADD` of a remote source that is not verified: an `http(s)` URL without
    /// `--checksum=sha256:…`, or a Git repository (`git@host:repo.git`, `https://…/repo.git`)
    /// neither pinned to a full commit id (`#<40 hex digits>`) nor given a `--checksum`. Every
    /// stage is judged: what a build downloads matters even when it is not in the image.
    ///
    /// ## Why is this bad?
    /// The file behind a URL, or the commit behind a branch or tag, can change between builds:
    /// a compromised server or repository, or a man in the middle for `http://`, puts different
    /// content into the image without any error.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM alpine:3.20
    /// ADD https://github.com/krallin/tini/releases/download/v0.19.0/tini-static /tini
    /// ADD https://github.com/acme/tools.git#v1.2 /src/tools
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// # syntax=docker/dockerfile:1
    /// FROM alpine:3.20
    /// ADD --checksum=sha256:c5b0666b4cb676901f90dfcb37106783c5fe2077b04590973b885950611b30ee \
    ///     https://github.com/krallin/tini/releases/download/v0.19.0/tini-static /tini
    /// ADD https://github.com/acme/tools.git#1f0e3dad99908345f7439f8ffabdffc4c8d2ce62 /src/tools
    /// ```
    ///
    /// ## Fix
    /// Add `--checksum=sha256:<digest>` (Dockerfile syntax 1.6 and later) or pin the Git source
    /// to a commit id. Alternatively download with `curl` in a `RUN` and check the file with
    /// `sha256sum -c`.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.9 (ADD fetches remote content; verify it).
    /// - hadolint has no corresponding rule (DL3020 does not report URLs).
    pub struct AddUrlWithoutChecksum {
        code: "D041",
        name: "add-url-without-checksum",
        summary: "ADD of a remote URL without a checksum",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-4.9"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx.of_kind(Kind::Add) {
        if has_flag(instr, "checksum") {
            continue;
        }
        for source in copy_args(instr).sources {
            let v = source.value.as_str();
            if !is_url(v) {
                continue;
            }
            let message = if is_git(v) {
                if pinned_to_commit(v) {
                    continue;
                }
                format!("ADD of the Git repository `{v}` is not pinned to a commit")
            } else {
                format!("ADD of `{v}` without `--checksum`: the download is not verified")
            };
            out.emit(&AddUrlWithoutChecksum::INFO, source.span, message);
        }
    }
}

/// `…#<commit>` or `…#<commit>:subdir` with a full SHA-1 or SHA-256 commit id.
fn pinned_to_commit(source: &str) -> bool {
    let Some((_, fragment)) = source.split_once('#') else {
        return false;
    };
    let reference = fragment.split(':').next().unwrap_or_default();
    matches!(reference.len(), 40 | 64) && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::pinned_to_commit;

    #[test]
    fn git_pins() {
        assert!(pinned_to_commit(
            "https://github.com/a/b.git#1f0e3dad99908345f7439f8ffabdffc4c8d2ce62"
        ));
        assert!(pinned_to_commit(
            "git@github.com:a/b.git#1f0e3dad99908345f7439f8ffabdffc4c8d2ce62:sub"
        ));
        assert!(!pinned_to_commit("https://github.com/a/b.git#v1.2"));
        assert!(!pinned_to_commit("https://github.com/a/b.git#1f0e3da"));
        assert!(!pinned_to_commit("https://github.com/a/b.git"));
    }
}
