use moat_dockerfile::{Arguments, Kind};

use crate::context::{DockerfileContext, Emitter, fix};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports the `MAINTAINER` instruction.
    ///
    /// ## Why is this bad?
    /// `MAINTAINER` has been deprecated since Docker 1.13; it fills a field that few tools read.
    /// A label is where tools look for the image's authors.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM alpine:3.20
    /// MAINTAINER Jane Doe <jane@example.com>
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM alpine:3.20
    /// LABEL org.opencontainers.image.authors="Jane Doe <jane@example.com>"
    /// ```
    ///
    /// ## Fix
    /// An unsafe fix replaces it with the `org.opencontainers.image.authors` label (unsafe
    /// because the image's `Author` field is no longer set).
    ///
    /// ## References
    /// - hadolint DL4000.
    pub struct MaintainerDeprecated {
        code: "D100",
        name: "maintainer-deprecated",
        summary: "MAINTAINER is deprecated",
        severity: Info,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["DL4000"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx.of_kind(Kind::Maintainer) {
        let finding = out.emit(
            &MaintainerDeprecated::INFO,
            instr.span,
            "MAINTAINER is deprecated: use the `org.opencontainers.image.authors` label",
        );
        if let Arguments::Shell(text) = &instr.args {
            let who = text.value.trim();
            if !who.is_empty() && !who.contains('\n') {
                let escaped = who.replace('\\', "\\\\").replace('"', "\\\"");
                finding.fix = Some(fix(
                    "replace MAINTAINER with a LABEL",
                    false,
                    instr.span,
                    format!("LABEL org.opencontainers.image.authors=\"{escaped}\""),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::dockerfile::helpers::testing::assert_fix_converges;

    #[test]
    fn fix_converges() {
        assert_fix_converges(
            check,
            "FROM a\nMAINTAINER Jane \"JD\" Doe <jd@example.com>\n",
            "FROM a\nLABEL org.opencontainers.image.authors=\"Jane \\\"JD\\\" Doe <jd@example.com>\"\n",
        );
    }
}
