use crate::context::{Emitter, ImageContext};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports an image of a live engine that was built longer ago than the configured age
    /// (`[engine] max-image-age-days` in `.moat.toml`, 90 days by default). Only images that a
    /// container of the audit uses are judged.
    ///
    /// ## Why is this bad?
    /// An image is a snapshot of its packages on the day it was built. Distributions publish
    /// security fixes every week; an image that is not rebuilt keeps every vulnerability found
    /// since, however often the container is restarted.
    ///
    /// ## Example
    /// ```sh
    /// docker image inspect --format '{{ .Created }}' example/api:1.4
    /// # 2024-01-09T10:12:44Z
    /// ```
    ///
    /// Use instead:
    /// ```sh
    /// docker build --pull -t example/api:1.4.1 .   # rebuilt on fresh base layers
    /// ```
    ///
    /// ## Fix
    /// Rebuild the image on a current base image (`docker build --pull`) on a schedule, scan
    /// it (`moat scan`), and re-create its containers. Pinned vendor images: update to the
    /// vendor's newest patch release.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.4 (images are scanned and rebuilt to include security
    ///   patches).
    pub struct ImageTooOld {
        code: "I001",
        name: "image-too-old",
        summary: "the image was built longer ago than the configured age",
        severity: Low,
        confidence: Medium,
        default_enabled: true,
        references: ["CIS-DOCKER-4.4"],
        check: Image,
    }
}

pub(crate) fn check(ctx: &ImageContext<'_>, out: &mut Emitter<'_>) {
    let (Some(created), Some(now)) = (ctx.image.created.as_deref(), ctx.now) else {
        return;
    };
    let Some(built) = unix_seconds(created) else {
        return;
    };
    let days = (now - built).div_euclid(86_400);
    let max = i64::from(ctx.settings.max_image_age_days);
    if days > max {
        out.emit_at(
            &ImageTooOld::INFO,
            ctx.image.location.clone(),
            format!(
                "`{}` was built {days} days ago (more than {max}): rebuild it on current base layers",
                ctx.image.reference
            ),
        )
        .evidence = Some(format!("created {created}"));
    }
}

/// Seconds since the Unix epoch of an RFC 3339 time (`2024-01-09T10:12:44.123Z`,
/// `…+02:00`).
fn unix_seconds(text: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()?;
    Some(t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::unix_seconds;

    #[test]
    fn engine_times_parse() {
        assert_eq!(unix_seconds("1970-01-02T00:00:00Z"), Some(86_400));
        assert_eq!(
            unix_seconds("2024-01-09T10:12:44.123456789Z"),
            Some(1_704_795_164)
        );
        assert_eq!(unix_seconds("2024-01-09T12:12:44+02:00"), Some(1_704_795_164));
        assert_eq!(unix_seconds("yesterday"), None);
    }
}

#[cfg(test)]
mod age_tests {
    use super::check;
    use crate::config::Settings;
    use crate::context::{Emitter, ImageContext};
    use crate::rules::image::helpers::testing::image;

    #[test]
    fn older_than_the_configured_age() {
        let now = 1_704_795_164 + 100 * 86_400; // 100 days after 2024-01-09T10:12:44Z
        let old = image("api:1", "sha256:aa", Some("2024-01-09T10:12:44Z"));
        let run = |max: u32, img| {
            let settings = Settings {
                max_image_age_days: max,
                ..Settings::default()
            };
            let ctx = ImageContext {
                image: img,
                settings: &settings,
                now: Some(now),
            };
            let mut out = Emitter::detached();
            check(&ctx, &mut out);
            out.into_findings()
        };
        let got = run(90, &old);
        assert_eq!(got.len(), 1);
        assert!(got[0].message.contains("100 days"), "{}", got[0].message);
        assert!(run(120, &old).is_empty());
        assert!(run(90, &image("x:1", "sha256:bb", None)).is_empty());
    }
}
