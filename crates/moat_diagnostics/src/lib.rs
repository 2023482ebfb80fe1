//! The finding model shared by every moat job (audit, scan, gateway self-check, harden) and the
//! reporters that render it.
//!
//! A [`Finding`] is plain data: a stable code, a severity and confidence, a message, a
//! [`Location`] and optionally a [`Fix`] made of byte-range edits. Reporters (text, JSON, SARIF)
//! live in [`report`].
#![deny(missing_docs)]

mod model;
pub mod report;
mod source;

pub use model::*;
pub use source::{LineIndex, SourceFile};
