//! Every problem the lexer, preprocessor and parser can report, as a cheap
//! enum whose variants carry spans; [`SyntaxError::into_diagnostic`] (one
//! cold function) turns them into [`Diagnostic`]s with messages, labels and
//! `help:` lines. Keeping all wording here keeps it consistent.

use crate::diag::{Diagnostic, Span};

use super::lexer::NumberProblem;

/// A problem found before semantic analysis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SyntaxError {
    // ---- lexer ----
    UnexpectedChar {
        span: Span,
        ch: char,
    },
    SingleQuotedString {
        span: Span,
    },
    UnterminatedString {
        span: Span,
    },
    UnterminatedComment {
        span: Span,
    },
    UnterminatedEmbedded {
        span: Span,
    },
    SuspiciousEmbeddedClose {
        span: Span,
    },
    BadNumber {
        span: Span,
        text: String,
        problem: NumberProblem,
    },
    UnknownEscape {
        span: Span,
        ch: char,
    },
    OctalEscapeTooLarge {
        span: Span,
    },
    EmptyHexEscape {
        span: Span,
    },

    // ---- command-line arguments ----
    MissingArgument {
        span: Span,
        quoted: bool,
        index: u32,
        given: usize,
    },
    InArgument {
        span: Span,
        quoted: bool,
        index: u32,
        inner: Box<SyntaxError>,
    },
    NestedArgument {
        span: Span,
        index: u32,
    },

    // ---- macros ----
    DefineSyntax {
        span: Span,
        expected: &'static str,
        found: String,
    },
    DefineBodyBraces {
        span: Span,
    },
    DefineUnterminated {
        span: Span,
        name: String,
    },
    DefineInMacro {
        span: Span,
    },
    MacroRedefined {
        span: Span,
        name: String,
        first: Span,
    },
    MacroShadowsOperator {
        span: Span,
        name: String,
    },
    MacroDuplicateParam {
        span: Span,
        name: String,
    },
    MacroNeedsArgs {
        span: Span,
        name: String,
        params: usize,
        found: String,
    },
    MacroArgCount {
        span: Span,
        name: String,
        params: usize,
        given: usize,
    },
    MacroUnterminatedCall {
        span: Span,
        name: String,
    },
    MacroTooDeep {
        span: Span,
        name: String,
    },
    ExpansionTooLarge {
        span: Span,
    },

    // ---- conditionals ----
    PpUnterminated {
        open: Span,
    },
    PpStray {
        span: Span,
        token: &'static str,
    },
    PpDuplicateElse {
        span: Span,
        open: Span,
    },
    PpMissingThen {
        span: Span,
        open: Span,
        found: String,
    },
    PpCondition {
        span: Span,
        message: String,
        help: Option<String>,
    },

    // ---- grammar ----
    Expected {
        span: Span,
        expected: String,
        found: String,
        origin: Option<Span>,
        opener: Option<(Span, &'static str)>,
        help: Option<String>,
    },
    Misplaced {
        span: Span,
        message: String,
        label: String,
        help: Option<String>,
    },
    TooDeep {
        span: Span,
    },
    /// Embedded C or `@const` in the user's script without `-g`.
    NeedsGuru {
        span: Span,
        what: &'static str,
    },
    TooManyErrors {
        limit: usize,
    },
    NoProgress {
        span: Span,
    },
}

const ARG_HELP: &str = "$N is replaced by the tokens of the Nth argument after the script, @N by that argument as a string";

impl SyntaxError {
    /// The span the problem is reported at.
    pub(crate) fn span(&self) -> Option<Span> {
        use SyntaxError::*;
        match self {
            UnexpectedChar { span, .. }
            | SingleQuotedString { span }
            | UnterminatedString { span }
            | UnterminatedComment { span }
            | UnterminatedEmbedded { span }
            | SuspiciousEmbeddedClose { span }
            | BadNumber { span, .. }
            | UnknownEscape { span, .. }
            | OctalEscapeTooLarge { span }
            | EmptyHexEscape { span }
            | MissingArgument { span, .. }
            | InArgument { span, .. }
            | NestedArgument { span, .. }
            | DefineSyntax { span, .. }
            | DefineBodyBraces { span }
            | DefineUnterminated { span, .. }
            | DefineInMacro { span }
            | MacroRedefined { span, .. }
            | MacroShadowsOperator { span, .. }
            | MacroDuplicateParam { span, .. }
            | MacroNeedsArgs { span, .. }
            | MacroArgCount { span, .. }
            | MacroUnterminatedCall { span, .. }
            | MacroTooDeep { span, .. }
            | ExpansionTooLarge { span }
            | PpStray { span, .. }
            | PpDuplicateElse { span, .. }
            | PpMissingThen { span, .. }
            | PpCondition { span, .. }
            | Expected { span, .. }
            | Misplaced { span, .. }
            | TooDeep { span }
            | NeedsGuru { span, .. }
            | NoProgress { span } => Some(*span),
            PpUnterminated { open } => Some(*open),
            TooManyErrors { .. } => None,
        }
    }

    /// Builds the user-facing diagnostic.
    #[cold]
    pub(crate) fn into_diagnostic(self) -> Diagnostic {
        use SyntaxError::*;
        fn err(message: impl Into<String>) -> Diagnostic {
            Diagnostic::parse_error(message)
        }
        match self {
            UnexpectedChar { span, ch } => {
                let d = err(format!("unexpected character {}", quote_char(ch))).with_primary(span, "not part of any token");
                match ch {
                    '\'' => d.with_help("string literals are written in double quotes: \"text\""),
                    '\\' => d.with_help("a backslash only starts an escape inside a string literal"),
                    _ => d,
                }
            }
            SingleQuotedString { span } => err("string literals are written in double quotes")
                .with_primary(span, "single-quoted")
                .with_help("write \"text\"; single quotes have no meaning in SystemTap"),
            UnterminatedString { span } => err("unterminated string literal")
                .with_primary(span, "this string has no closing '\"'")
                .with_help("a string cannot span lines; write \\n for a newline, or split it into adjacent literals \"a\" \"b\""),
            UnterminatedComment { span } => {
                err("unterminated comment").with_primary(span, "this comment never ends").with_help("close it with '*/'")
            }
            UnterminatedEmbedded { span } => err("unterminated embedded C block")
                .with_primary(span, "this block never ends")
                .with_help("close embedded C with '%}'"),
            SuspiciousEmbeddedClose { span } => Diagnostic::warning("'}%' inside embedded C code")
                .with_primary(span, "this does not close the block")
                .with_help("embedded C is closed by '%}', not '}%'"),
            BadNumber { span, text, problem } => match problem {
                NumberProblem::TooLarge => err(format!("number '{text}' does not fit in 64 bits"))
                    .with_primary(span, "out of range")
                    .with_help("the largest literal is 18446744073709551615 (0xffffffffffffffff); larger values wrap to negative numbers"),
                NumberProblem::NoHexDigits => {
                    err(format!("hexadecimal number '{text}' has no digits")).with_primary(span, "expected hex digits after '0x'")
                }
                NumberProblem::BadOctalDigit => err(format!("invalid digit in octal number '{text}'"))
                    .with_primary(span, "a leading 0 makes a number octal")
                    .with_help(format!("for the decimal number write '{}'", text.trim_start_matches('0'))),
                NumberProblem::Junk => err(format!("invalid number '{text}'"))
                    .with_primary(span, "letters after the digits")
                    .with_help("numbers are decimal (42), octal (052) or hexadecimal (0x2a), without suffixes"),
            },
            UnknownEscape { span, ch } => Diagnostic::warning(format!("unknown escape sequence '\\{ch}'"))
                .with_primary(span, format!("this stands for a plain {}", quote_char(ch)))
                .with_help("escapes are \\n \\t \\r \\a \\b \\f \\v \\\\ \\\" \\ooo (octal) and \\xhh (hex); write '\\\\' for a backslash"),
            OctalEscapeTooLarge { span } => err("octal escape out of range")
                .with_primary(span, "larger than one byte")
                .with_help("octal escapes go up to \\377"),
            EmptyHexEscape { span } => {
                err("'\\x' escape without hex digits").with_primary(span, "expected one or two hex digits after '\\x'")
            }

            MissingArgument { span, quoted, index, given } => {
                let sigil = if quoted { '@' } else { '$' };
                if index == 0 {
                    return err(format!("no command-line argument {sigil}0"))
                        .with_primary(span, "arguments are numbered from 1")
                        .with_help(ARG_HELP);
                }
                let plural = if given == 1 { "" } else { "s" };
                err(format!("command-line argument {sigil}{index} is missing: {given} argument{plural} given"))
                    .with_primary(span, format!("needs argument {index}"))
                    .with_help(format!("pass {index} or more arguments after the script name, e.g. 'stap script.stp ARG1 ...'"))
            }
            InArgument { span, quoted, index, inner } => {
                let sigil = if quoted { '@' } else { '$' };
                let inner = inner.into_diagnostic();
                let mut d = Diagnostic::new(inner.kind, format!("in command-line argument {sigil}{index}: {}", inner.message))
                    .with_primary(span, format!("argument {index} is spliced in here"));
                d.help = inner.help;
                d.notes = inner.notes;
                d
            }
            NestedArgument { span, index } => err(format!("command-line argument ${index} refers to another argument"))
                .with_primary(span, "spliced in here")
                .with_help("arguments are not expanded recursively; pass the value itself"),

            DefineSyntax { span, expected, found } => err(format!("expected {expected} in '@define', found {found}"))
                .with_primary(span, format!("expected {expected}"))
                .with_help("macros are defined as '@define NAME %( BODY %)' or '@define NAME(A, B) %( BODY %)'"),
            DefineBodyBraces { span } => err("macro body must be enclosed in '%(' ... '%)'")
                .with_primary(span, "'%{' starts embedded C, not a macro body")
                .with_help("write '@define NAME(A, B) %( BODY %)'"),
            DefineUnterminated { span, name } => err(format!("unterminated definition of macro '@{name}'"))
                .with_primary(span, "this body has no closing '%)'"),
            DefineInMacro { span } => err("'@define' inside a macro body")
                .with_primary(span, "macros cannot define macros")
                .with_help("move this definition to the top level of the file"),
            MacroRedefined { span, name, first } => err(format!("macro '@{name}' is defined twice in this file"))
                .with_primary(span, "redefined here")
                .with_secondary(first, "first defined here"),
            MacroShadowsOperator { span, name } => Diagnostic::warning(format!("macro '@{name}' hides the built-in operator '@{name}'"))
                .with_primary(span, "defined here")
                .with_help("rename the macro unless you mean to replace the operator"),
            MacroDuplicateParam { span, name } => {
                err(format!("macro parameter '{name}' is declared twice")).with_primary(span, "duplicate parameter")
            }
            MacroNeedsArgs { span, name, params, found } => {
                let plural = if params == 1 { "" } else { "s" };
                err(format!("expected '(' after macro '@{name}', found {found}"))
                    .with_primary(span, format!("'@{name}' takes {params} argument{plural}"))
            }
            MacroArgCount { span, name, params, given } => {
                let plural = if params == 1 { "" } else { "s" };
                err(format!("macro '@{name}' takes {params} argument{plural} but {given} were given")).with_primary(span, "in this use")
            }
            MacroUnterminatedCall { span, name } => {
                err(format!("unterminated use of macro '@{name}'")).with_primary(span, "the argument list has no closing ')'")
            }
            MacroTooDeep { span, name } => err(format!("macro expansion nests too deeply (while expanding '@{name}')"))
                .with_primary(span, "expanded from here")
                .with_help("a macro that uses itself never stops expanding"),
            ExpansionTooLarge { span } => err("macro expansion produces too many tokens")
                .with_primary(span, "expanded from here")
                .with_help("a macro that uses itself several times grows exponentially"),

            PpUnterminated { open } => err("unterminated preprocessor conditional")
                .with_primary(open, "this '%(' has no closing '%)'")
                .with_help("write '%( CONDITION %? TOKENS %: TOKENS %)'"),
            PpStray { span, token } => err(format!("'{token}' outside a preprocessor conditional"))
                .with_primary(span, "no '%(' is open here")
                .with_help("conditionals are written '%( CONDITION %? TOKENS %: TOKENS %)'"),
            PpDuplicateElse { span, open } => err("a preprocessor conditional has two '%:' branches")
                .with_primary(span, "second '%:'")
                .with_secondary(open, "in this conditional"),
            PpMissingThen { span, open, found } => err(format!("expected '%?' after the condition, found {found}"))
                .with_primary(span, "expected '%?'")
                .with_secondary(open, "conditional opened here")
                .with_help("write '%( CONDITION %? TOKENS %: TOKENS %)'"),
            PpCondition { span, message, help } => {
                let d = err(message).with_primary(span, "in this condition");
                match help {
                    Some(h) => d.with_help(h),
                    None => d,
                }
            }

            Expected { span, expected, found, origin, opener, help } => {
                // A missing operand in SystemTap's words (`saw:` names
                // what came instead).
                let message = if expected == "an expression" {
                    "expected literal string or number".to_string()
                } else {
                    format!("expected {expected}, found {found}")
                };
                let mut d = err(message).with_primary(span, format!("expected {expected}"));
                if let Some((s, what)) = opener {
                    d = d.with_secondary(s, what);
                }
                if let Some(o) = origin {
                    d = d.with_secondary(o, "expanded from this macro text");
                }
                match help {
                    Some(h) => d.with_help(h),
                    None => d,
                }
            }
            Misplaced { span, message, label, help } => {
                let d = err(message).with_primary(span, label);
                match help {
                    Some(h) => d.with_help(h),
                    None => d,
                }
            }
            TooDeep { span } => err("nesting too deep")
                .with_primary(span, "too many nested expressions or statements here")
                .with_help("split the expression into smaller pieces using temporary variables"),
            NeedsGuru { span, what } => {
                // SystemTap's pass-1 wording, which already says what to do.
                let message = match what {
                    "@const" => "using @const operator not permitted; need stap -g".to_string(),
                    _ => format!("{what} in unprivileged script; need stap -g"),
                };
                err(message).with_primary(span, "allowed only in guru mode")
            }
            TooManyErrors { limit } => {
                Diagnostic::note(format!("stopped after {limit} errors; fix these and parse again to see the rest"))
            }
            NoProgress { span } => {
                err("internal error: the parser stopped making progress").with_primary(span, "here").with_help("please report this script as a stapkit bug")
            }
        }
    }
}

fn quote_char(ch: char) -> String {
    match ch {
        '\'' => "\"'\"".to_string(),
        c if c.is_control() => format!("'{}'", c.escape_default()),
        c => format!("'{c}'"),
    }
}
