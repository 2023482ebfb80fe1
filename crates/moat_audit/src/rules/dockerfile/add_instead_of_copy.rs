use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter, fix};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::copy_args::{copy_args, has_flag, is_url};

declare_rule! {
    /// ## What it does
    /// Reports an `ADD` with a local source that is neither a URL nor a tar archive that `ADD`
    /// would extract (`.tar`, `.tgz`, `.tar.gz`, `.tar.bz2`, `.tar.xz`, `.gz`, `.bz2`, `.xz`,
    /// `.Z`, `.lz`, `.lzma`, `.zst`, …). A zip file is not extracted by `ADD`, so it counts as a
    /// plain file. Sources given as a variable (`ADD $SRC /x`) are not judged.
    ///
    /// ## Why is this bad?
    /// `ADD` does more than copy: it fetches URLs and unpacks archives. Using it for plain files
    /// hides which of those a line relies on, and a file that later turns into an archive (or is
    /// replaced by one) is silently unpacked into the image.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM alpine:3.20
    /// ADD app.py requirements.txt /app/
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM alpine:3.20
    /// COPY app.py requirements.txt /app/
    /// ```
    ///
    /// ## Fix
    /// A safe fix replaces `ADD` with `COPY` when no source is an archive or a URL and no
    /// `ADD`-only flag (`--checksum`, `--keep-git-dir`, `--unpack`) is used. (`ADD` recognises
    /// archives by content, not by name: a local tar file without an archive extension would stop
    /// being unpacked.)
    ///
    /// ## References
    /// - hadolint DL3020. moat differs on purpose in three cases: `.zst` archives are unpacked by
    ///   current Docker versions and not reported; Git sources (`ADD git@github.com:org/repo.git
    ///   /src`) need `ADD` and are not reported (they are judged by D041); a source given as a
    ///   variable is not reported, as it may name an archive.
    /// - CIS Docker Benchmark 4.9 (use COPY instead of ADD).
    pub struct AddInsteadOfCopy {
        code: "D040",
        name: "add-instead-of-copy",
        summary: "ADD used where COPY would do",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Safe,
        references: ["DL3020", "CIS-DOCKER-4.9", "DS-0005"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx.of_kind(Kind::Add) {
        let args = copy_args(instr);
        let mut plain = Vec::new();
        let mut special = args.has_heredoc;
        for s in &args.sources {
            let v = s.value.as_str();
            if v.contains('$') || is_url(v) || is_archive(v) {
                special = true;
            } else {
                plain.push(s);
            }
        }
        let Some(first) = plain.first() else { continue };
        let names = plain
            .iter()
            .map(|w| format!("`{}`", w.value))
            .collect::<Vec<_>>()
            .join(", ");
        let finding = out.emit(
            &AddInsteadOfCopy::INFO,
            instr.keyword.to(first.span),
            format!("ADD of {names}, which is not an archive or URL: use COPY"),
        );
        let add_only = ["checksum", "keep-git-dir", "unpack"]
            .iter()
            .any(|f| has_flag(instr, f));
        if !special && !add_only {
            finding.fix = Some(fix("replace ADD with COPY", true, instr.keyword, "COPY"));
        }
    }
}

/// Whether `ADD` would unpack this file (judged by its extension, like hadolint).
fn is_archive(path: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        ".tar", ".z", ".bz2", ".gz", ".lz", ".lzma", ".tz", ".tb2", ".tbz", ".tbz2", ".tgz",
        ".tlz", ".tpz", ".txz", ".xz", ".zst", ".tzst",
    ];
    let lower = path.to_ascii_lowercase();
    EXTENSIONS.iter().any(|e| lower.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::check;
    use super::is_archive;
    use crate::rules::dockerfile::helpers::testing::assert_fix_converges;

    #[test]
    fn fix_converges() {
        assert_fix_converges(
            check,
            "FROM a\nadd --chown=app app.py /app/\n",
            "FROM a\nCOPY --chown=app app.py /app/\n",
        );
    }

    #[test]
    fn archives() {
        for p in [
            "a.tar",
            "a.tar.gz",
            "a.tgz",
            "a.tar.xz",
            "a.txz",
            "a.tar.bz2",
            "a.Z",
            "a.tar.zst",
            "*.tar.gz",
        ] {
            assert!(is_archive(p), "{p}");
        }
        for p in ["a.zip", "a.txt", "dir/", "a.7z", "a.deb", "a.rar", "a.jar"] {
            assert!(!is_archive(p), "{p}");
        }
    }
}
