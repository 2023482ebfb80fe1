//! What a rule sees (a context per input) and where it puts findings (an [`Emitter`]).

use moat_deploy::{ComposeProject, ContainerFacts, DaemonFacts, ImageFacts};
use moat_diagnostics::{Applicability, Edit, Finding, Fix, Location, RuleInfo, SourceFile};
use moat_dockerfile::{Dockerfile, Instruction, Kind, Span, Stage, shell::Command};

use crate::config::Settings;

/// A parsed Dockerfile with the settings that apply to it and per-instruction caches.
#[derive(Debug)]
pub struct DockerfileContext<'a> {
    /// The file.
    pub file: &'a SourceFile,
    /// Its syntax tree.
    pub dockerfile: &'a Dockerfile,
    /// Resolved settings.
    pub settings: &'a Settings,
    /// The images that the audited scripts and compose projects build (`docker build -t`,
    /// compose `build:` with `image:`), as written: a `FROM` one of them is not pulled from a
    /// registry. Empty unless set with [`DockerfileContext::with_built_images`].
    pub built_images: &'a [String],
    /// Shell commands of each instruction (empty for instructions without a shell form).
    commands: Vec<Vec<Command>>,
}

impl<'a> DockerfileContext<'a> {
    /// Builds the context, splitting every RUN into commands once.
    pub fn new(file: &'a SourceFile, dockerfile: &'a Dockerfile, settings: &'a Settings) -> Self {
        let commands = dockerfile
            .instructions
            .iter()
            .map(|i| match (i.kind, i.onbuild.as_deref()) {
                (Kind::Run, _) => i.run_commands(),
                (Kind::Onbuild, Some(trigger)) if trigger.kind == Kind::Run => {
                    trigger.run_commands()
                }
                _ => Vec::new(),
            })
            .collect();
        Self {
            file,
            dockerfile,
            settings,
            built_images: &[],
            commands,
        }
    }

    /// The same context, knowing the images built alongside the Dockerfile.
    #[must_use]
    pub fn with_built_images(mut self, built_images: &'a [String]) -> Self {
        self.built_images = built_images;
        self
    }

    /// All instructions with their index.
    pub fn instructions(&self) -> impl Iterator<Item = (usize, &'a Instruction)> {
        self.dockerfile.instructions.iter().enumerate()
    }

    /// Instructions of `kind` (not looking inside ONBUILD).
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &'a Instruction> {
        self.dockerfile
            .instructions
            .iter()
            .filter(move |i| i.kind == kind)
    }

    /// Instructions of `kind` that follow an earlier one of the same kind in their stage (the
    /// ones a second CMD, ENTRYPOINT or HEALTHCHECK overrides).
    pub fn repeats_in_stage(&self, kind: Kind) -> Vec<&'a Instruction> {
        let df = self.dockerfile;
        df.stages
            .iter()
            .flat_map(|stage| {
                df.instructions_of(stage)
                    .iter()
                    .filter(move |i| i.kind == kind)
                    .skip(1)
            })
            .collect()
    }

    /// The final stage, which becomes the image.
    pub fn final_stage(&self) -> Option<&'a Stage> {
        self.dockerfile.final_stage()
    }

    /// Instructions of the final stage (FROM included); empty when there is no stage.
    pub fn final_instructions(&self) -> &'a [Instruction] {
        self.final_stage()
            .map_or(&[], |s| self.dockerfile.instructions_of(s))
    }

    /// Every RUN with its shell commands, including `ONBUILD RUN` triggers (yielded as the
    /// ONBUILD instruction, which carries the stage), since they run in every image built
    /// from this one.
    pub fn runs(&self) -> impl Iterator<Item = (&'a Instruction, &[Command])> {
        self.dockerfile
            .instructions
            .iter()
            .zip(&self.commands)
            .filter(|(i, _)| {
                i.kind == Kind::Run || i.onbuild.as_deref().is_some_and(|t| t.kind == Kind::Run)
            })
            .map(|(i, c)| (i, c.as_slice()))
    }

    /// Source text of a span.
    pub fn text(&self, span: Span) -> &'a str {
        self.file.text.get(span.range()).unwrap_or("")
    }
}

/// One container's settings (a compose service or a `docker run` line), with its project.
#[derive(Debug)]
pub struct ContainerContext<'a> {
    /// The container.
    pub facts: &'a ContainerFacts,
    /// The compose project it belongs to, if any.
    pub project: Option<&'a ComposeProject>,
    /// The images that the same compose project or script builds or tags (compose `build:`
    /// with `image:`, `docker build -t`, `docker tag`), as written: a container that runs one
    /// runs what was built there, not an image pulled from a registry.
    pub built_images: &'a [String],
    /// The images of the engine a live container runs on (empty for files).
    pub images: &'a [ImageFacts],
    /// Resolved settings.
    pub settings: &'a Settings,
}

/// A compose project as a whole.
#[derive(Debug)]
pub struct ProjectContext<'a> {
    /// The project.
    pub project: &'a ComposeProject,
    /// Resolved settings.
    pub settings: &'a Settings,
}

/// A Docker daemon configuration.
#[derive(Debug)]
pub struct DaemonContext<'a> {
    /// Its settings.
    pub facts: &'a DaemonFacts,
    /// Resolved settings.
    pub settings: &'a Settings,
}

/// An image of a live engine.
#[derive(Debug)]
pub struct ImageContext<'a> {
    /// The image.
    pub image: &'a ImageFacts,
    /// Resolved settings.
    pub settings: &'a Settings,
    /// The time of the audit, in seconds since the Unix epoch (rules do no I/O, not even the
    /// clock); `None` when unknown.
    pub now: Option<i64>,
}

/// Collects the findings of one input. Findings at a byte span ([`Emitter::emit`]: Dockerfile
/// rules) need the file the span is in; facts carry their own locations ([`Emitter::emit_at`]),
/// which need none, whether they come from a file or from an engine object.
#[derive(Debug, Default)]
pub struct Emitter<'a> {
    file: Option<&'a SourceFile>,
    findings: Vec<Finding>,
}

impl<'a> Emitter<'a> {
    /// An emitter for findings in `file`.
    pub fn new(file: &'a SourceFile) -> Self {
        Self {
            file: Some(file),
            findings: Vec::new(),
        }
    }

    /// An emitter for findings that carry their own locations (facts of containers, networks,
    /// daemons, images).
    pub fn detached() -> Self {
        Self::default()
    }

    /// Reports a finding of the rule `info` at `span` of the emitter's file, with its default
    /// severity. Returns it so that evidence or a fix can be added. On a detached emitter the
    /// finding has no position (a rule that reports spans runs on files only).
    pub fn emit(
        &mut self,
        info: &RuleInfo,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Finding {
        debug_assert!(self.file.is_some(), "a span needs a file");
        let location = self.file.map_or_else(
            || Location::file(String::new()),
            |f| f.location(span.range()),
        );
        self.emit_at(info, location, message)
    }

    /// Reports a finding at an already computed location (facts from compose files, daemon.json
    /// or the engine carry their own).
    pub fn emit_at(
        &mut self,
        info: &RuleInfo,
        location: Location,
        message: impl Into<String>,
    ) -> &mut Finding {
        self.findings.push(Finding {
            code: info.code.to_string(),
            name: info.name.to_string(),
            severity: info.severity,
            confidence: info.confidence,
            message: message.into(),
            location,
            references: info.references.iter().map(|r| (*r).to_string()).collect(),
            evidence: None,
            fix: None,
            related: Vec::new(),
            secret: None,
        });
        self.findings.last_mut().expect("just pushed")
    }

    /// The findings so far.
    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}

/// Adds a fix made of one edit.
pub fn fix(
    message: impl Into<String>,
    safe: bool,
    span: Span,
    replacement: impl Into<String>,
) -> Fix {
    Fix {
        message: message.into(),
        applicability: if safe {
            Applicability::Safe
        } else {
            Applicability::Unsafe
        },
        edits: vec![Edit {
            range: span.range(),
            replacement: replacement.into(),
        }],
    }
}
