//! Build stages: each FROM starts one; global ARGs resolve the FROM image.

use std::collections::HashMap;

use crate::ast::{Dockerfile, Instruction, Kind, ParseError, Span, Stage, Word};
use crate::expand::expand;

/// Splits the instructions into stages, setting [`Instruction::stage`] on each. Instructions
/// before the first FROM belong to no stage (see [`require_stage`]).
pub(crate) fn build(instructions: &mut [Instruction]) -> Result<Vec<Stage>, ParseError> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut globals = GlobalArgs::default();
    for (i, ins) in instructions.iter_mut().enumerate() {
        if ins.kind == Kind::From {
            if let Some(prev) = stages.last_mut() {
                prev.instructions.end = i;
            }
            stages.push(stage(ins, stages.len(), i, &globals)?);
        } else if ins.kind == Kind::Arg && stages.is_empty() {
            globals.declare(ins);
        }
        set_stage(ins, stages.len().checked_sub(1));
    }
    if let Some(last) = stages.last_mut() {
        last.instructions.end = instructions.len();
    }
    Ok(stages)
}

/// Fails as BuildKit does when an instruction has no stage to belong to: one other than `ARG`
/// before the first FROM ("no build stage in current context"), or a file without any FROM
/// (an empty or comment-only file included).
pub(crate) fn require_stage(instructions: &[Instruction]) -> Result<(), ParseError> {
    if let Some(first) = instructions
        .iter()
        .find(|i| i.stage.is_none() && i.kind != Kind::Arg)
    {
        return Err(ParseError {
            message: format!(
                "{} before the first FROM: only ARG may come before it (no build stage in \
                 current context)",
                first.kind.as_str()
            ),
            span: first.keyword,
        });
    }
    if !instructions.iter().any(|i| i.kind == Kind::From) {
        return Err(ParseError {
            message: "no FROM instruction: a Dockerfile needs at least one build stage".into(),
            span: instructions
                .first()
                .map_or_else(Span::default, |i| i.keyword),
        });
    }
    Ok(())
}

/// Sets the stage of `ins` and of its ONBUILD trigger.
fn set_stage(ins: &mut Instruction, stage: Option<usize>) {
    ins.stage = stage;
    if let Some(trigger) = ins.onbuild.as_deref_mut() {
        set_stage(trigger, stage);
    }
}

/// The stage started by the FROM instruction `from` (`FROM [--platform=…] image [AS name]`).
fn stage(
    from: &Instruction,
    index: usize,
    at: usize,
    globals: &GlobalArgs,
) -> Result<Stage, ParseError> {
    let mut words = from.words().into_iter();
    let image = words.next().ok_or_else(|| ParseError {
        message: "FROM requires the name of an image".into(),
        span: from.keyword,
    })?;
    let name = match (words.next(), words.next()) {
        (Some(r#as), Some(name)) if r#as.value.eq_ignore_ascii_case("as") => Some(Word {
            value: name.value.to_lowercase(),
            span: name.span,
        }),
        _ => None,
    };
    Ok(Stage {
        index,
        from: at,
        name,
        image_resolved: globals.expand(&image.value),
        image,
        platform: from.flag("platform").and_then(|f| f.value.clone()),
        instructions: at..at + 1,
    })
}

/// The ARGs declared before the first FROM, with their defaults (`None`: declared, unset).
#[derive(Debug, Default)]
struct GlobalArgs {
    values: HashMap<String, Option<String>>,
}

impl GlobalArgs {
    /// Adds the names of an ARG; defaults may refer to earlier ARGs. Re-declaring a name without a
    /// default keeps its earlier default.
    fn declare(&mut self, arg: &Instruction) {
        for (name, default) in arg.key_values() {
            let value = default.map(|d| self.expand(&d.value));
            match (self.values.get_mut(&name.value), value) {
                (Some(old), Some(v)) => *old = Some(v),
                (Some(_), None) => {}
                (None, v) => {
                    self.values.insert(name.value, v);
                }
            }
        }
    }

    /// Expands `s` with the defaults.
    fn expand(&self, s: &str) -> String {
        expand(s, &|name| self.values.get(name).cloned().flatten())
    }
}

impl Dockerfile {
    /// The last stage: the one `docker build` produces without `--target`.
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    /// The stage named `name` (`FROM … AS name`), compared case-insensitively.
    pub fn stage_named(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| {
            s.name
                .as_ref()
                .is_some_and(|n| n.value.eq_ignore_ascii_case(name))
        })
    }

    /// The instructions of `stage`, its FROM first.
    pub fn instructions_of(&self, stage: &Stage) -> &[Instruction] {
        self.instructions
            .get(stage.instructions.clone())
            .unwrap_or(&[])
    }

    /// The ARG instructions before the first FROM.
    pub fn global_args(&self) -> impl Iterator<Item = &Instruction> {
        self.instructions
            .iter()
            .take_while(|i| i.stage.is_none())
            .filter(|i| i.kind == Kind::Arg)
    }
}
