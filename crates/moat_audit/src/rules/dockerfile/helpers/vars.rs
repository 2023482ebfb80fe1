//! Which build variables an instruction can see. A stage sees the `ENV` of the stages it builds
//! on by name (`FROM base`) and its own `ENV` and `ARG`; an `ARG` ends with its stage, and a
//! global `ARG` (before the first `FROM`) is visible in a stage only when the stage declares it
//! again. A variable the Dockerfile sets only where the instruction cannot see it expands to
//! nothing there.

use std::cell::RefCell;
use std::collections::HashSet;

use moat_dockerfile::expand::expand;
use moat_dockerfile::{Instruction, Kind};

use super::image_stages::stage_chain;
use crate::context::DockerfileContext;

/// The variables visible to one instruction, and every variable the file sets.
#[derive(Debug, Default)]
pub struct Scope {
    visible: HashSet<String>,
    set_in_file: HashSet<String>,
}

impl Scope {
    /// The scope of `instr` (an `ONBUILD` is judged where it is written).
    pub fn of(ctx: &DockerfileContext<'_>, instr: &Instruction) -> Scope {
        let df = ctx.dockerfile;
        let mut scope = Scope::default();
        for i in &df.instructions {
            let i = i.onbuild.as_deref().unwrap_or(i);
            if matches!(i.kind, Kind::Env | Kind::Arg) {
                scope
                    .set_in_file
                    .extend(i.key_values().into_iter().map(|(k, _)| k.value));
            }
        }
        let Some(stage) = instr.stage.and_then(|s| df.stages.get(s)) else {
            return scope;
        };
        for s in stage_chain(ctx, stage) {
            let own = s.index == stage.index;
            for i in df.instructions_of(s) {
                if own && i.span.start >= instr.span.start {
                    break;
                }
                if i.kind == Kind::Env || (own && i.kind == Kind::Arg) {
                    scope
                        .visible
                        .extend(i.key_values().into_iter().map(|(k, _)| k.value));
                }
            }
        }
        scope
    }

    /// The variables `word` uses that the file sets, but not where this instruction sees them.
    pub fn unseen(&self, word: &str) -> Vec<String> {
        if !word.contains('$') {
            return Vec::new();
        }
        let used = RefCell::new(Vec::new());
        expand(word, &|name| {
            used.borrow_mut().push(name.to_string());
            None
        });
        let mut unseen: Vec<String> = used
            .into_inner()
            .into_iter()
            .filter(|n| self.set_in_file.contains(n) && !self.visible.contains(n))
            .collect();
        unseen.dedup();
        unseen
    }
}

#[cfg(test)]
mod tests {
    use moat_diagnostics::SourceFile;

    use super::Scope;
    use crate::config::Settings;
    use crate::context::DockerfileContext;

    fn unseen(src: &str, word: &str) -> Vec<String> {
        let file = SourceFile::new("Dockerfile", src);
        let df = moat_dockerfile::parse(src).unwrap();
        let settings = Settings::default();
        let ctx = DockerfileContext::new(&file, &df, &settings);
        let run = df.instructions.last().unwrap();
        Scope::of(&ctx, run).unseen(word)
    }

    #[test]
    fn env_crosses_into_stages_built_on_it_only() {
        let base = "FROM fedora:40 AS build\nENV V=1\n";
        assert!(unseen(&format!("{base}FROM build\nRUN x\n"), "a-${V}").is_empty());
        assert_eq!(
            unseen(&format!("{base}FROM fedora:40\nRUN x\n"), "a-${V}"),
            ["V"]
        );
    }

    #[test]
    fn arg_ends_with_its_stage_and_globals_need_a_declaration() {
        let src = "FROM fedora:40 AS build\nARG V=1\nFROM build\nRUN x\n";
        assert_eq!(unseen(src, "a-$V"), ["V"]);
        let src = "ARG V=1\nFROM fedora:40\nRUN x\n";
        assert_eq!(unseen(src, "a-$V"), ["V"]);
        let src = "ARG V=1\nFROM fedora:40\nARG V\nRUN x\n";
        assert!(unseen(src, "a-$V").is_empty());
    }

    #[test]
    fn variables_the_file_never_sets_are_unknown_not_unseen() {
        let src = "FROM python:3.12\nRUN x\n";
        assert!(unseen(src, "a-${PYTHON_VERSION}").is_empty());
    }
}
