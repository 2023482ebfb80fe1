//! What a rule is: static metadata ([`RuleInfo`]) declared next to its documentation with
//! [`declare_rule!`], and the check function it runs; [`crate::rules::REGISTRY`] lists them.

pub use moat_diagnostics::{Confidence, RuleInfo, Severity};

use crate::config::Config;
use crate::context::{
    ContainerContext, DaemonContext, DockerfileContext, Emitter, ImageContext, ProjectContext,
};

/// Declares a rule: a unit struct whose doc comment becomes the rule's documentation (what
/// `moat audit --explain CODE` prints), with its metadata in an associated `INFO` constant, and
/// the module-level `RULE` that the registry ([`crate::rules::REGISTRY`]) lists.
///
/// The metadata is built by `moat_diagnostics::rule_info!`, which the gateway's checks use too;
/// `fixable: true` (after `default_enabled`) marks a rule whose findings may carry a fix.
/// `check` names the input the rule reads (`Dockerfile`, `Container`, `Project`, `Daemon`, `Image`: the
/// module's `check` function is called with it) or `Meta` (findings about the audit itself,
/// such as unused ignores, which the sources emit). The doc comment must have the sections `## What it does`,
/// `## Why is this bad?`, `## Example`, `## Fix` and `## References` (a test enforces it).
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis struct $name:ident {
            code: $code:literal,
            name: $kebab:literal,
            summary: $summary:literal,
            severity: $sev:ident,
            confidence: $conf:ident,
            default_enabled: $enabled:literal,
            $(fix: $fix:ident,)?
            references: [$($reference:literal),* $(,)?],
            check: $kind:ident $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;

        impl $name {
            /// Metadata of this rule.
            pub const INFO: $crate::rule::RuleInfo = moat_diagnostics::rule_info! {
                $(#[doc = $doc])*
                code: $code,
                name: $kebab,
                summary: $summary,
                severity: $sev,
                confidence: $conf,
                default_enabled: $enabled,
                $(fix: $fix,)?
                references: [$($reference),*],
            };
        }

        /// This rule as the registry lists it.
        pub const RULE: $crate::rule::Rule = $crate::rule::Rule {
            info: &$name::INFO,
            check: $crate::rule::declare_rule!(@check $kind),
        };
    };
    (@check Meta) => { $crate::rule::Check::Meta };
    (@check $kind:ident) => { $crate::rule::Check::$kind(check) };
}
pub(crate) use declare_rule;

/// The input a rule reads.
#[derive(Clone, Copy)]
pub enum Check {
    /// Reads one parsed Dockerfile.
    Dockerfile(fn(&DockerfileContext<'_>, &mut Emitter<'_>)),
    /// Reads one container (a compose service, a `docker run` line, a live container).
    Container(fn(&ContainerContext<'_>, &mut Emitter<'_>)),
    /// Reads a whole compose project (topology: networks, which services publish ports).
    Project(fn(&ProjectContext<'_>, &mut Emitter<'_>)),
    /// Reads a Docker daemon configuration.
    Daemon(fn(&DaemonContext<'_>, &mut Emitter<'_>)),
    /// Reads an image of a live engine.
    Image(fn(&ImageContext<'_>, &mut Emitter<'_>)),
    /// About the audit itself (unused ignores, inputs not available): emitted by the sources;
    /// has no check function.
    Meta,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Check::Dockerfile(_) => "Check::Dockerfile",
            Check::Container(_) => "Check::Container",
            Check::Project(_) => "Check::Project",
            Check::Daemon(_) => "Check::Daemon",
            Check::Image(_) => "Check::Image",
            Check::Meta => "Check::Meta",
        })
    }
}

/// A registered rule: metadata and check.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Metadata.
    pub info: &'static RuleInfo,
    /// What it checks.
    pub check: Check,
}

impl Rule {
    /// The documentation as Markdown ([`RuleInfo::docs_text`]).
    pub fn docs(&self) -> String {
        self.info.docs_text()
    }

    /// Whether `token` (a code, a rule name, or a reference such as `DL3007`) names this rule.
    pub fn matches(&self, token: &str) -> bool {
        self.info.code.eq_ignore_ascii_case(token)
            || self.info.name.eq_ignore_ascii_case(token)
            || self
                .info
                .references
                .iter()
                .any(|r| r.eq_ignore_ascii_case(token))
    }

    /// The hadolint code this rule corresponds to, if any.
    pub fn hadolint_code(&self) -> Option<&'static str> {
        self.info
            .references
            .iter()
            .copied()
            .find(|r| r.starts_with("DL") || r.starts_with("SC"))
    }
}

/// What [`run_rules`] runs the rules on: one input, read by a source.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'s, 'a> {
    /// A parsed Dockerfile.
    Dockerfile(&'s DockerfileContext<'a>),
    /// One container.
    Container(&'s ContainerContext<'a>),
    /// A compose project as a whole.
    Project(&'s ProjectContext<'a>),
    /// A daemon configuration.
    Daemon(&'s DaemonContext<'a>),
    /// An image of a live engine: the image rules on its facts, and the Dockerfile rules of
    /// [`crate::sources::image::IMAGE_RULES`] on the Dockerfile its history records.
    Image {
        /// The image.
        image: &'s ImageContext<'a>,
        /// Its history, read as a Dockerfile.
        history: &'s DockerfileContext<'a>,
    },
}

/// Runs every rule that `config` enables and that reads `subject`'s kind of input, in registry
/// order, putting the findings in `emitter`. The one dispatch loop of the audit: every source
/// calls it.
pub fn run_rules(subject: Subject<'_, '_>, config: &Config, emitter: &mut Emitter<'_>) {
    for rule in crate::rules::all() {
        if !config.is_enabled(rule.info.code) {
            continue;
        }
        match (subject, rule.check) {
            (Subject::Dockerfile(ctx), Check::Dockerfile(check)) => check(ctx, emitter),
            (Subject::Container(ctx), Check::Container(check)) => check(ctx, emitter),
            (Subject::Project(ctx), Check::Project(check)) => check(ctx, emitter),
            (Subject::Daemon(ctx), Check::Daemon(check)) => check(ctx, emitter),
            (Subject::Image { history, .. }, Check::Dockerfile(check))
                if crate::sources::image::IMAGE_RULES.contains(&rule.info.code) =>
            {
                check(history, emitter);
            }
            (Subject::Image { image, .. }, Check::Image(check)) => check(image, emitter),
            _ => {}
        }
    }
}
