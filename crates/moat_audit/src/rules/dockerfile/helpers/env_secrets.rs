//! Shared helper for the secret rules of `ENV` and `ARG` (D010, D013): every variable a
//! Dockerfile sets, where it ends up, and what [`crate::secrets::judge`] makes of its value.

use moat_dockerfile::{Kind, Word};

use crate::context::DockerfileContext;
use crate::rules::dockerfile::helpers::image_stages::image_instructions;
use crate::secrets::{self, Verdict};

/// Where a variable is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A build argument (any stage).
    Arg,
    /// An ENV that the image inherits (the final stage and the stages it builds on by name).
    ImageEnv,
    /// An ENV of a stage that the image does not inherit.
    BuildEnv,
}

impl Place {
    /// The instruction keyword.
    pub fn keyword(self) -> &'static str {
        if self == Place::Arg { "ARG" } else { "ENV" }
    }
}

/// One `NAME=value` of an `ENV` or `ARG`.
#[derive(Debug)]
pub struct Assignment {
    /// Where it is set.
    pub place: Place,
    /// The variable name.
    pub name: Word,
    /// The value as written (`None` for `ARG NAME` without a default).
    pub value: Option<Word>,
    /// Whether the name says it holds a secret.
    pub secret_name: bool,
    /// The verdict on the value (`NotSecret` without a value).
    pub verdict: Verdict,
}

impl Assignment {
    /// The value, or `""`.
    pub fn value_text(&self) -> &str {
        self.value.as_ref().map_or("", |v| v.value.as_str())
    }

    /// Whether the value is a reference (`${DB_PASSWORD}`), which an `ENV` bakes into the image
    /// with whatever was passed at build time.
    pub fn is_reference(&self) -> bool {
        self.value
            .as_ref()
            .is_some_and(|v| secrets::is_reference(&v.value))
    }
}

/// Every variable set by `ENV` and `ARG`, in file order, judged.
pub fn assignments(ctx: &DockerfileContext<'_>) -> Vec<Assignment> {
    let image = image_instructions(ctx);
    let allow = &ctx.settings.secret_allow;
    let mut out = Vec::new();
    for (_, instr) in ctx.instructions() {
        let place = match instr.kind {
            Kind::Arg => Place::Arg,
            Kind::Env if image.iter().any(|i| std::ptr::eq(*i, instr)) => Place::ImageEnv,
            Kind::Env => Place::BuildEnv,
            _ => continue,
        };
        for (name, value) in instr.key_values() {
            let verdict = value.as_ref().map_or(Verdict::NotSecret, |v| {
                secrets::judge(&name.value, &v.value, allow)
            });
            out.push(Assignment {
                place,
                secret_name: secrets::is_secret_name(&name.value, allow),
                name,
                value,
                verdict,
            });
        }
    }
    out
}
