//! The [`Diagnostic`] value every compiler stage reports problems with.
//!
//! A diagnostic is plain data: a kind (which decides the header word, e.g.
//! `parse error:`), a one-line message, an optional primary label (the span
//! the caret goes under), secondary labels, notes and `help:` lines. Stages
//! build them with the chaining constructors below; [`super::render`] turns
//! them into text.

use super::source::Span;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Informational, attached to or following another diagnostic.
    Note,
    /// Suspicious but not fatal; `-w` silences these.
    Warning,
    /// The compilation cannot succeed.
    Error,
}

/// What kind of problem a diagnostic reports; decides its header word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DiagnosticKind {
    /// A lexical, preprocessor or grammar error (`parse error:`).
    ParseError,
    /// A resolution or type error found after parsing (`semantic error:`).
    SemanticError,
    /// Any other error, e.g. from translation or the kernel build (`error:`).
    Error,
    /// A warning (`WARNING:`).
    Warning,
    /// A stand-alone note (`note:`).
    Note,
}

impl DiagnosticKind {
    /// The severity this kind carries.
    pub fn severity(self) -> Severity {
        match self {
            DiagnosticKind::ParseError | DiagnosticKind::SemanticError | DiagnosticKind::Error => {
                Severity::Error
            }
            DiagnosticKind::Warning => Severity::Warning,
            DiagnosticKind::Note => Severity::Note,
        }
    }

    /// The word that opens the rendered header, SystemTap style.
    pub fn header(self) -> &'static str {
        match self {
            DiagnosticKind::ParseError => "parse error",
            DiagnosticKind::SemanticError => "semantic error",
            DiagnosticKind::Error => "error",
            DiagnosticKind::Warning => "WARNING",
            DiagnosticKind::Note => "note",
        }
    }
}

/// A span with a short explanation printed next to its underline.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    /// What is underlined.
    pub span: Span,
    /// Text after the underline; may be empty.
    pub message: String,
}

/// One reported problem.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Decides the header word and the severity.
    pub kind: DiagnosticKind,
    /// One line saying what is wrong, e.g. `expected ')', found '{'`.
    pub message: String,
    /// Where the problem is (caret underline), if it has a place.
    pub primary: Option<Label>,
    /// Related places (dash underline), e.g. the first definition.
    pub secondary: Vec<Label>,
    /// Extra facts, printed as `= note: ...`.
    pub notes: Vec<String>,
    /// Known fixes, printed as `= help: ...`.
    pub help: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic of `kind` with `message` and nothing else.
    pub fn new(kind: DiagnosticKind, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            kind,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            notes: Vec::new(),
            help: Vec::new(),
        }
    }

    /// A `parse error:`.
    pub fn parse_error(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(DiagnosticKind::ParseError, message)
    }

    /// A `semantic error:`.
    pub fn semantic_error(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(DiagnosticKind::SemanticError, message)
    }

    /// A plain `error:`.
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(DiagnosticKind::Error, message)
    }

    /// A `WARNING:`.
    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(DiagnosticKind::Warning, message)
    }

    /// A stand-alone `note:`.
    pub fn note(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(DiagnosticKind::Note, message)
    }

    /// Sets the primary label (replacing any earlier one).
    pub fn with_primary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.primary = Some(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Adds a secondary label.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Adds a note line.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help.push(help.into());
        self
    }

    /// The severity implied by the kind.
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }

    /// Whether this diagnostic makes the compilation fail.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// Whether any of `diagnostics` is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}
