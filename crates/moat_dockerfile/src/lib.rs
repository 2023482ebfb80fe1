//! A span-preserving Dockerfile parser.
//!
//! No existing crate fits: the ones published either lack positions or fail on heredocs and on a
//! share of real files, so moat has its own. Every instruction, flag, argument and heredoc keeps
//! its byte span, so findings point at `file:line:column`.
//!
//! It reads what Docker (BuildKit) reads: parser directives (`# syntax=`, `# escape=`,
//! `# check=`), line continuations with comment and blank lines inside, any `--flag[=value]`,
//! JSON (exec) and shell forms, heredocs (`RUN <<EOF`, several per instruction, `<<-`, quoted
//! delimiters), ONBUILD triggers, and stages with their FROM image resolved against the global
//! ARGs. On top of that, [`Instruction::words`], [`Instruction::key_values`] and
//! [`Instruction::run_commands`] read the arguments the way rules need them, and [`shell`] splits
//! shell scripts into simple commands.
//!
//! ```
//! let src = "ARG TAG=3.20\nFROM alpine:${TAG} AS base\nRUN apk add curl && rm -rf /var/cache/apk\n";
//! let df = moat_dockerfile::parse(src).unwrap();
//! let stage = df.final_stage().unwrap();
//! assert_eq!(stage.image_resolved, "alpine:3.20");
//! let run = &df.instructions_of(stage)[1];
//! let commands = run.run_commands();
//! assert_eq!(commands[1].name(), Some("rm"));
//! assert_eq!(&src[commands[1].span.range()], "rm -rf /var/cache/apk");
//! ```
#![deny(missing_docs)]

mod ast;
mod commands;
pub mod expand;
mod heredoc;
mod instruction;
mod json;
mod lines;
mod parser;
pub mod shell;
mod stages;
mod text;
mod words;

pub use ast::*;

/// Parses a Dockerfile.
///
/// Fails on what Docker itself rejects while parsing: an unknown instruction, an unterminated
/// heredoc, a FROM without an image, no FROM at all or an instruction other than ARG before the
/// first one, an ONBUILD without (or with a forbidden) trigger, an invalid or repeated parser
/// directive. Everything else parses, and no input makes it panic.
pub fn parse(src: &str) -> Result<Dockerfile, ParseError> {
    parser::parse(src)
}

#[cfg(test)]
mod tests;
