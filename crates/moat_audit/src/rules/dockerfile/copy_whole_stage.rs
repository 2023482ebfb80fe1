use moat_dockerfile::{Kind, Stage};

use crate::context::{DockerfileContext, Emitter};
use moat_deploy::ImageRef;
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::copy_args::{copy_args, flag_value};
use crate::rules::dockerfile::helpers::image_stages::{image_stages, stage_chain};
use crate::rules::dockerfile::helpers::stage_refs::{FromRef, classify_from};

declare_rule! {
    /// ## What it does
    /// Reports, in the stages that make up the image, a `COPY --from=<stage or image>` that
    /// copies the whole filesystem of its source (`/`) onto the image's root:
    /// `COPY --from=build / /`. A source stage built `FROM scratch` is not reported: it holds
    /// only what was copied into it on purpose (an "export" stage).
    ///
    /// ## Why is this bad?
    /// Multi-stage builds exist to leave the build behind. Copying a builder's whole filesystem
    /// ships everything it had: compilers and package managers (tools for an attacker), caches,
    /// `.npmrc`/`.netrc`/`.git-credentials` and keys used during the build, and its
    /// `/etc/passwd` and setuid binaries over the final image's own.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20 AS build
    /// RUN npm ci && npm run build
    /// FROM node:20-slim
    /// COPY --from=build / /
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:20 AS build
    /// RUN npm ci && npm run build
    /// FROM node:20-slim
    /// COPY --from=build /app/dist /app/dist
    /// ```
    ///
    /// ## Fix
    /// Copy only the artifacts the image needs, or collect them in a `FROM scratch` stage and
    /// copy that one.
    ///
    /// ## References
    /// - hadolint DL3067. moat differs on purpose: it judges only the stages that make up the
    ///   image (a builder that copies another builder ships nothing), and does not report a
    ///   source stage built `FROM scratch`.
    /// - Docker documentation, "Multi-stage builds".
    pub struct CopyWholeStage {
        code: "D108",
        name: "copy-whole-stage",
        summary: "COPY --from copies a whole filesystem into the image",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["DL3067"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    let stages = &ctx.dockerfile.stages;
    for stage in image_stages(ctx) {
        for instr in ctx.dockerfile.instructions_of(stage) {
            if instr.kind != Kind::Copy {
                continue;
            }
            let Some(from) = flag_value(instr, "from") else {
                continue;
            };
            let args = copy_args(instr);
            let whole = args.sources.iter().any(|s| is_root(&s.value));
            let onto_root = args
                .dest
                .as_ref()
                .is_some_and(|d| d.value.trim_end_matches('.') == "/");
            if !(whole && onto_root) {
                continue;
            }
            let what = match classify_from(stages, stage.index, &from.value) {
                FromRef::Earlier => {
                    let Some(source) = source_stage(stages, stage.index, &from.value) else {
                        continue;
                    };
                    if built_from_scratch(ctx, source) {
                        continue;
                    }
                    format!("the whole filesystem of stage `{}`", from.value)
                }
                FromRef::Image | FromRef::Unknown => {
                    format!("the whole filesystem of image `{}`", from.value)
                }
                FromRef::Own | FromRef::Variable => continue,
            };
            out.emit(
                &CopyWholeStage::INFO,
                instr.span,
                format!(
                    "{what} is copied over the image: its tools, caches and build credentials ship \
                     too; copy only the artifacts"
                ),
            );
        }
    }
}

/// `/`, `/.`, `.`, `/*`: the source's root.
fn is_root(source: &str) -> bool {
    matches!(source, "/" | "/." | "." | "./" | "/*" | "./*")
}

/// The earlier stage `value` names (by name or index).
fn source_stage<'a>(stages: &'a [Stage], current: usize, value: &str) -> Option<&'a Stage> {
    let earlier = stages.get(..current)?;
    if let Ok(i) = value.parse::<usize>() {
        return earlier.get(i);
    }
    earlier.iter().rev().find(|s| {
        s.name
            .as_ref()
            .is_some_and(|n| n.value.eq_ignore_ascii_case(value))
    })
}

/// Whether `stage` starts, through the stages it builds on, from `scratch`.
fn built_from_scratch(ctx: &DockerfileContext<'_>, stage: &Stage) -> bool {
    stage_chain(ctx, stage)
        .first()
        .and_then(|root| ImageRef::parse(&root.image_resolved))
        .is_some_and(|i| i.is_scratch())
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::dockerfile::helpers::testing::lines;

    #[test]
    fn whole_filesystems_into_the_image() {
        let src = "FROM golang:1.23 AS build\nRUN go build -o /out/app .\n\
                   FROM scratch AS export\nCOPY --from=build /out/app /app\n\
                   FROM debian:12-slim\n\
                   COPY --from=build / /\n\
                   COPY --from=export / /\n\
                   COPY --from=build /out/app /usr/local/bin/app\n\
                   COPY --from=build / /opt/build\n\
                   COPY --from=docker.io/library/busybox:1.36 / /\n";
        assert_eq!(lines(check, src), [6, 10]);
    }

    #[test]
    fn builders_do_not_ship() {
        let src = "FROM golang:1.23 AS build\nRUN true\n\
                   FROM golang:1.23 AS test\nCOPY --from=build / /\n\
                   FROM debian:12-slim\nCOPY --from=build /app /app\n";
        assert!(lines(check, src).is_empty());
    }
}
