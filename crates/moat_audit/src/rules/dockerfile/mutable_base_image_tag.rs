use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::base_image::pulled_images;

declare_rule! {
    /// ## What it does
    /// Reports an image whose tag names a channel rather than a release: `nightly`, `edge`,
    /// `dev`, `main`, `master`, `canary`, `beta`, `stable`, `rolling`, `lts` and the like (the
    /// list is below), alone or followed by a variant without a version (`stable-slim`,
    /// `lts-alpine`). It judges base images and images pulled by `COPY --from=<image>` and
    /// `RUN --mount=…,from=<image>`. An image pinned by digest is not reported, and `latest` is
    /// rule D002's.
    ///
    /// ## Why is this bad?
    /// Such a tag is moved by its publisher on purpose, often daily: `alpine:edge` follows
    /// Alpine's development branch, `node:lts` jumps to the next major release when it becomes
    /// LTS, `debian:stable` to the next Debian. Like `latest`, the same Dockerfile builds a
    /// different image from one day to the next, and unreviewed (sometimes unreleased) code
    /// enters it. A tag with a version (`nightly-2024-06-01`, `3.20`) is not reported.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM alpine:edge
    /// COPY --from=ghcr.io/example/tools:nightly /usr/bin/tool /usr/bin/tool
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM alpine:3.20
    /// COPY --from=ghcr.io/example/tools:1.4.2 /usr/bin/tool /usr/bin/tool
    /// ```
    ///
    /// ## Fix
    /// Name a release tag, better with its digest (`alpine:3.20@sha256:…`), and let Renovate or
    /// Dependabot propose updates.
    ///
    /// The tags reported: `alpha`, `beta`, `canary`, `current`, `dev`, `devel`, `develop`,
    /// `development`, `edge`, `experimental`, `head`, `lts`, `main`, `master`, `next`,
    /// `nightly`, `preview`, `rc`, `rolling`, `sid`, `snapshot`, `stable`, `testing`, `trunk`,
    /// `unstable`. `[dockerfile] mutable-tags = ["nightly", "edge", "preview"]` in `.moat.toml`
    /// replaces the list (where one of these is a release in your registry, or your own
    /// channels have other names).
    ///
    /// ## References
    /// - Docker build best practices ("pin base image versions"); CIS Docker Benchmark 4.2.
    /// - hadolint DL3007 reports `latest` only.
    pub struct MutableBaseImageTag {
        code: "D005",
        name: "mutable-base-image-tag",
        summary: "image tag names a channel that moves (nightly, edge, stable…)",
        severity: Low,
        confidence: Medium,
        default_enabled: true,
        references: ["CIS-DOCKER-4.2"],
        check: Dockerfile,
    }
}

/// Tags that name a moving channel. Sorted (a test checks it).
pub const MUTABLE_TAGS: &[&str] = &[
    "alpha",
    "beta",
    "canary",
    "current",
    "dev",
    "devel",
    "develop",
    "development",
    "edge",
    "experimental",
    "head",
    "lts",
    "main",
    "master",
    "next",
    "nightly",
    "preview",
    "rc",
    "rolling",
    "sid",
    "snapshot",
    "stable",
    "testing",
    "trunk",
    "unstable",
];

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for image in pulled_images(ctx) {
        if image.unresolved || image.image.digest.is_some() {
            continue;
        }
        let Some(tag) = image.image.tag.as_deref() else {
            continue;
        };
        let found = match &ctx.settings.mutable_tags {
            Some(list) => channel(tag, list.iter().map(String::as_str)),
            None => channel(tag, MUTABLE_TAGS.iter().copied()),
        };
        if let Some(channel) = found {
            let what = if tag.eq_ignore_ascii_case(channel) {
                format!("the tag `{tag}`, a channel that moves")
            } else {
                format!("the tag `{tag}`, which follows the `{channel}` channel and moves")
            };
            out.emit(
                &MutableBaseImageTag::INFO,
                image.span,
                format!("{} uses {what}", image.describe()),
            );
        }
    }
}

/// The channel `tag` follows, if it is one of `channels` alone or followed by a variant without
/// a version (`stable-slim`; not `nightly-2024-06-01`, not `beta2`).
fn channel<'a>(tag: &str, mut channels: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let (head, variant) = lower.split_once('-').unwrap_or((&lower, ""));
    if variant.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    channels.find(|c| *c == head)
}

#[cfg(test)]
mod tests {
    use super::{MUTABLE_TAGS, channel, check};
    use crate::rules::dockerfile::helpers::testing::{findings_with, lines};

    #[test]
    fn tags() {
        assert_eq!(channel("edge", MUTABLE_TAGS.iter().copied()), Some("edge"));
        assert_eq!(channel("stable-slim", MUTABLE_TAGS.iter().copied()), Some("stable"));
        assert_eq!(channel("LTS-alpine", MUTABLE_TAGS.iter().copied()), Some("lts"));
        assert_eq!(channel("nightly-2024-06-01", MUTABLE_TAGS.iter().copied()), None);
        assert_eq!(channel("lts-alpine3.20", MUTABLE_TAGS.iter().copied()), None);
        assert_eq!(channel("3.20", MUTABLE_TAGS.iter().copied()), None);
        assert_eq!(channel("bookworm", MUTABLE_TAGS.iter().copied()), None);
        assert_eq!(channel("latest", MUTABLE_TAGS.iter().copied()), None);
        assert_eq!(channel("main-3f2a1b9", MUTABLE_TAGS.iter().copied()), None);
        let mut sorted = MUTABLE_TAGS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, MUTABLE_TAGS);
    }

    #[test]
    fn every_pulled_image() {
        let src = "FROM alpine:edge AS build\n\
                   FROM node:lts-slim@sha256:0123\n\
                   COPY --from=ghcr.io/example/tools:nightly /t /t\n\
                   RUN --mount=type=bind,from=docker.io/library/debian:testing,target=/d true\n\
                   COPY --from=build /x /x\n";
        assert_eq!(lines(check, src), [1, 3, 4]);
    }

    #[test]
    fn the_list_is_configurable() {
        let settings = crate::config::Settings {
            mutable_tags: Some(vec!["weekly".into()]),
            ..crate::config::Settings::default()
        };
        let src = "FROM alpine:edge AS a\nFROM example/app:weekly-slim\n";
        let got: Vec<usize> = findings_with(check, src, &settings)
            .into_iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(got, [2]);
        assert_eq!(lines(check, src), [1]);
    }
}
