//! Source files, spans and diagnostics shared by every compiler stage.
//!
//! [`SourceMap`] holds every text of a compilation (scripts, tapsets, `-e`
//! text named `<input>`); a [`Span`] is a byte range in one of them. Stages
//! report problems as [`Diagnostic`] values and never print. `stap`
//! prints them with [`StapRenderer`], byte for byte as SystemTap does;
//! [`render`] gives deterministic, colourless text headed in SystemTap's
//! words (`parse error:`, `semantic error:`, `WARNING:`) followed by a
//! rustc-like code frame with every label, which the snapshot tests
//! keep so that each label's place is checked.
//!
//! **API Boundary:** the syntax, semantic, codegen and kernel stages all
//! depend on this module; keep it free of any stage's details.

#![warn(missing_docs)]

mod diagnostic;
mod render;
mod source;
mod stap;

pub use diagnostic::{has_errors, Diagnostic, DiagnosticKind, Label, Severity};
pub use render::{render, render_all};
pub use source::{FileId, LineCol, SourceFile, SourceMap, Span};
pub use stap::{token, StapRenderer};
