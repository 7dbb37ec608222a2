//! The SystemTap language front end: preprocessor, lexer, parser, AST.
//!
//! ```text
//! text --lexer--> tokens --preprocess--> tokens --parser--> ast::Script
//!                          ($1 @1 $#, @define, %( %? %: %))      |
//!                                                  print::print <-+-> dump
//! ```
//!
//! [`parse`] runs the whole pipeline for one file and returns the tree with
//! every diagnostic found; it never fails and never panics. [`print()`]
//! writes a tree back in canonical form, and re-parsing that text gives
//! the same tree; [`dump_p1`] writes SystemTap's `stap -p1` text with the
//! same printer. [`dump`] writes the tree's structure for tests.
//!
//! **Architecture Invariant:** this module knows nothing of the rest of the
//! compiler; it depends only on [`crate::diag`]. It does not resolve names,
//! expand aliases or wildcards, or check types. Guru-only constructs
//! (embedded C, `@const`) are refused only in the user's script without
//! `-g`, as SystemTap's pass 1 does (`guru`); tapsets keep them.
//!
//! **API Boundary:** [`ast`] and [`parse`] are what semantic analysis
//! consumes.
//!
//! Code map: `lexer` (text to [`token::Token`]s), `preprocess` (`$N`/`@N`
//! splicing, `macros`, `cond`itionals evaluated against
//! [`PreprocessConfig`]), `parser` (`decl`, `probe`, `stmt`, `expr`,
//! `atom`, `target`), `guru` (guru-only syntax in the user's script),
//! `error` (every syntax error and its wording), [`format`] (the printf
//! directives pass 1 takes), [`ast`],
//! [`visit`], `print` (the canonical form and `-p1`), `dump`.
//!
//! Limits, so that no input can exhaust memory or the stack: nesting is at
//! most 256 units deep (an expression level costs 3, a statement 1; see
//! `parser::Cost`), macro expansion at most 64 levels and about a million
//! tokens, and a file reports at most 100 errors.

#![warn(missing_docs)]

pub mod ast;
pub mod config;
mod dump;
mod error;
pub mod format;
mod guru;
mod lexer;
mod parser;
mod preprocess;
mod print;
pub mod token;
pub mod visit;

use crate::diag::{Diagnostic, FileId, SourceMap};

pub use config::{LibraryMacro, LibraryMacros, PreprocessConfig, Privilege};
pub use dump::{dump, DumpConfig};
pub use print::{dump_p1, print, print_point};

/// The result of parsing one file.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The tree; complete if there are no errors, otherwise holding every
    /// item that could be recovered.
    pub script: ast::Script,
    /// Errors and warnings, in source order: what SystemTap reports, so
    /// a grammar error only where it is the first of its top-level item.
    pub diagnostics: Vec<Diagnostic>,
    /// Grammar errors after the first of the same top-level item, in
    /// source order; SystemTap's parser skips the rest of an item after
    /// an error, so `stap` leaves them out, and the code frames show them.
    pub follow_on: Vec<Diagnostic>,
}

impl Parsed {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        crate::diag::has_errors(&self.diagnostics)
    }
}

/// Tokens and the diagnostics found while producing them.
#[derive(Clone, Debug)]
pub struct Tokens {
    /// The tokens, without an end-of-file token.
    pub tokens: Vec<token::Token>,
    /// Errors and warnings, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses `file` of `map`: lexes, preprocesses against `cfg`, parses.
pub fn parse(map: &SourceMap, file: FileId, cfg: &PreprocessConfig) -> Parsed {
    let text = map.text(file);
    let (tokens, mut errors) = lexer::tokenize(file, text);
    let (tokens, pp_errors) = preprocess::preprocess(tokens, cfg);
    errors.extend(pp_errors);
    let (script, parse_errors, follow_on) = parser::parse_tokens(file, text.len(), tokens);
    errors.extend(parse_errors);
    if cfg.user_script && !cfg.guru {
        errors.extend(guru::guru_only_errors(&script));
    }
    Parsed {
        script,
        diagnostics: into_diagnostics(errors),
        follow_on: into_diagnostics(follow_on),
    }
}

/// The command-line arguments (`$N`, `@N`, 1-based) the text of `file`
/// names anywhere, conditional code included; `None` when it names
/// `$#` or `@#`, which may read any of them.
pub fn args_named(map: &SourceMap, file: FileId) -> Option<std::collections::BTreeSet<u32>> {
    let (tokens, _) = lexer::tokenize(file, map.text(file));
    let mut named = std::collections::BTreeSet::new();
    for t in tokens {
        match t.kind {
            token::TokenKind::Arg { index, .. } => {
                named.insert(index);
            }
            token::TokenKind::ArgCount { .. } => return None,
            _ => {}
        }
    }
    Some(named)
}

/// A library macro file (`.stpm`) of `map`: the macros it defines, in
/// the order written, and its diagnostics. Such a file may hold only
/// `@define`s (and conditionals around them); anything else is an error.
pub fn library_macros(
    map: &SourceMap,
    file: FileId,
    cfg: &PreprocessConfig,
) -> (Vec<(String, LibraryMacro)>, Vec<Diagnostic>) {
    let text = map.text(file);
    let (tokens, mut errors) = lexer::tokenize(file, text);
    let (macros, rest, pp_errors) = preprocess::library_macros(tokens, cfg);
    errors.extend(pp_errors);
    let mut diagnostics = into_diagnostics(errors);
    if let Some(tok) = rest.first() {
        diagnostics.push(
            Diagnostic::parse_error(format!(
                "unexpected {} in a library macro file: only @define is allowed",
                tok.kind
            ))
            .with_primary(tok.span, "not a macro definition"),
        );
    }
    (macros, diagnostics)
}

/// Lexes `file` of `map` without preprocessing (`$1`, `@define`, `%(` are
/// left as tokens).
pub fn lex(map: &SourceMap, file: FileId) -> Tokens {
    let (tokens, errors) = lexer::tokenize(file, map.text(file));
    Tokens {
        tokens,
        diagnostics: into_diagnostics(errors),
    }
}

/// Lexes and preprocesses `file` of `map`: the tokens the parser would see.
pub fn preprocess(map: &SourceMap, file: FileId, cfg: &PreprocessConfig) -> Tokens {
    let (tokens, mut errors) = lexer::tokenize(file, map.text(file));
    let (tokens, pp_errors) = preprocess::preprocess(tokens, cfg);
    errors.extend(pp_errors);
    Tokens {
        tokens,
        diagnostics: into_diagnostics(errors),
    }
}

/// Converts errors to diagnostics in source order (stable for equal spans;
/// span-less ones last).
fn into_diagnostics(mut errors: Vec<error::SyntaxError>) -> Vec<Diagnostic> {
    errors.sort_by_key(|e| e.span().map_or((1, 0), |s| (0, s.start)));
    errors
        .into_iter()
        .map(error::SyntaxError::into_diagnostic)
        .collect()
}
