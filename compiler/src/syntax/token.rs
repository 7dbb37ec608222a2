//! Tokens: what the lexer produces and the preprocessor and parser consume.
//!
//! A [`Token`] carries its payload (identifier text, number value, decoded
//! string bytes), so tokens spliced in from command-line arguments or macro
//! bodies need no source text of their own.

use std::fmt;

use crate::diag::Span;

/// One token with its place in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Where it was written. Tokens produced by a macro expansion carry the
    /// span of the whole (outermost) invocation; tokens spliced from a `$N`
    /// argument carry the span of the `$N`.
    pub span: Span,
    /// Whether whitespace or a comment comes right before the token (or it
    /// starts the file). Probe-point component names such as `sys_*` are
    /// glued from adjacent tokens, so the parser needs to know.
    pub spaced: bool,
    /// Whether the token is the first on its line. Statements need no
    /// terminator, so error recovery resumes at a line that starts a new
    /// statement.
    pub line_start: bool,
    /// For tokens produced by a macro expansion: where the token is written
    /// in the macro body or argument, so errors can point there too.
    pub origin: Option<Span>,
}

/// The kinds of token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// An identifier, including target-variable names such as `$var`,
    /// `$$vars`, `$var$$`, and a lone `$` (pretty-print suffix).
    Ident(String),
    /// `@name`: a built-in operator (`@cast`, `@count`...), a macro use, or
    /// `@define`. The payload is the name without the `@`.
    AtWord(String),
    /// A reserved word.
    Keyword(Keyword),
    /// An unsigned integer literal (negation is a separate `-` token).
    Number(u64),
    /// A string literal, escapes decoded.
    Str(Vec<u8>),
    /// `%{ ... %}` embedded C; the payload is the text between the braces.
    Embedded(String),
    /// An operator or punctuation mark.
    Punct(Punct),
    /// `$N` (spliced as tokens) or `@N` (spliced as a string literal): a
    /// command-line argument reference, replaced by the preprocessor.
    Arg {
        /// Whether it was written `@N` (string) rather than `$N`.
        quoted: bool,
        /// N, counted from 1 (saturates on absurd values).
        index: u32,
    },
    /// `$#` (a number) or `@#` (a string): the argument count, replaced by
    /// the preprocessor.
    ArgCount {
        /// Whether it was written `@#`.
        quoted: bool,
    },
    /// Input already reported as an error (a stray character, a failed
    /// macro use); the parser skips it without reporting more.
    Invalid,
    /// End of input; only the parser's token stream ends with one.
    Eof,
}

/// The reserved words of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Keyword {
    /// `probe`
    Probe,
    /// `global`
    Global,
    /// `private`
    Private,
    /// `function`
    Function,
    /// `if`
    If,
    /// `else`
    Else,
    /// `for`
    For,
    /// `foreach`
    Foreach,
    /// `in`
    In,
    /// `limit`
    Limit,
    /// `return`
    Return,
    /// `delete`
    Delete,
    /// `while`
    While,
    /// `break`
    Break,
    /// `continue`
    Continue,
    /// `next`
    Next,
    /// `string`
    String,
    /// `long`
    Long,
    /// `try`
    Try,
    /// `catch`
    Catch,
}

impl Keyword {
    /// Every keyword, for lookups.
    pub const ALL: [Keyword; 20] = [
        Keyword::Probe,
        Keyword::Global,
        Keyword::Private,
        Keyword::Function,
        Keyword::If,
        Keyword::Else,
        Keyword::For,
        Keyword::Foreach,
        Keyword::In,
        Keyword::Limit,
        Keyword::Return,
        Keyword::Delete,
        Keyword::While,
        Keyword::Break,
        Keyword::Continue,
        Keyword::Next,
        Keyword::String,
        Keyword::Long,
        Keyword::Try,
        Keyword::Catch,
    ];

    /// The keyword spelled `text`, if any.
    pub fn lookup(text: &str) -> Option<Keyword> {
        Keyword::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// How the keyword is spelled.
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::Probe => "probe",
            Keyword::Global => "global",
            Keyword::Private => "private",
            Keyword::Function => "function",
            Keyword::If => "if",
            Keyword::Else => "else",
            Keyword::For => "for",
            Keyword::Foreach => "foreach",
            Keyword::In => "in",
            Keyword::Limit => "limit",
            Keyword::Return => "return",
            Keyword::Delete => "delete",
            Keyword::While => "while",
            Keyword::Break => "break",
            Keyword::Continue => "continue",
            Keyword::Next => "next",
            Keyword::String => "string",
            Keyword::Long => "long",
            Keyword::Try => "try",
            Keyword::Catch => "catch",
        }
    }
}

macro_rules! puncts {
    ($($(#[$doc:meta])* $name:ident => $text:literal,)*) => {
        /// Operators and punctuation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Punct {
            $($(#[$doc])* $name,)*
        }

        impl Punct {
            /// Every punctuation token, longest spellings first.
            pub const ALL: &'static [Punct] = &[$(Punct::$name,)*];

            /// How the token is spelled.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Punct::$name => $text,)*
                }
            }
        }
    };
}

puncts! {
    /// `<<<` (statistics accumulation)
    Accumulate => "<<<",
    /// `>>>` (logical shift right)
    UShr => ">>>",
    /// `<<=`
    ShlAssign => "<<=",
    /// `>>=`
    ShrAssign => ">>=",
    /// `==`
    EqEq => "==",
    /// `!=`
    NotEq => "!=",
    /// `<=`
    LtEq => "<=",
    /// `>=`
    GtEq => ">=",
    /// `=~`
    Match => "=~",
    /// `!~`
    NotMatch => "!~",
    /// `+=`
    PlusAssign => "+=",
    /// `-=`
    MinusAssign => "-=",
    /// `*=`
    StarAssign => "*=",
    /// `/=`
    SlashAssign => "/=",
    /// `%=`
    PercentAssign => "%=",
    /// `&=`
    AmpAssign => "&=",
    /// `^=`
    CaretAssign => "^=",
    /// `|=`
    PipeAssign => "|=",
    /// `.=`
    DotAssign => ".=",
    /// `&&`
    AndAnd => "&&",
    /// `||`
    OrOr => "||",
    /// `++`
    PlusPlus => "++",
    /// `--`
    MinusMinus => "--",
    /// `->`
    Arrow => "->",
    /// `<<`
    Shl => "<<",
    /// `>>`
    Shr => ">>",
    /// `%(` (preprocessor conditional open)
    PpOpen => "%(",
    /// `%?` (preprocessor then)
    PpThen => "%?",
    /// `%:` (preprocessor else)
    PpElse => "%:",
    /// `%)` (preprocessor close)
    PpClose => "%)",
    /// `{`
    LBrace => "{",
    /// `}`
    RBrace => "}",
    /// `(`
    LParen => "(",
    /// `)`
    RParen => ")",
    /// `[`
    LBracket => "[",
    /// `]`
    RBracket => "]",
    /// `,`
    Comma => ",",
    /// `;`
    Semi => ";",
    /// `.`
    Dot => ".",
    /// `?`
    Question => "?",
    /// `!`
    Bang => "!",
    /// `:`
    Colon => ":",
    /// `=`
    Eq => "=",
    /// `+`
    Plus => "+",
    /// `-`
    Minus => "-",
    /// `*`
    Star => "*",
    /// `/`
    Slash => "/",
    /// `%`
    Percent => "%",
    /// `~`
    Tilde => "~",
    /// `&`
    Amp => "&",
    /// `|`
    Pipe => "|",
    /// `^`
    Caret => "^",
    /// `<`
    Lt => "<",
    /// `>`
    Gt => ">",
}

impl TokenKind {
    /// Whether this is the punctuation `p`.
    pub fn is_punct(&self, p: Punct) -> bool {
        matches!(self, TokenKind::Punct(q) if *q == p)
    }

    /// Whether this is the keyword `k`.
    pub fn is_keyword(&self, k: Keyword) -> bool {
        matches!(self, TokenKind::Keyword(q) if *q == k)
    }
}

/// Describes a token the way error messages name what was found:
/// `'{'`, `identifier 'x'`, `keyword 'probe'`, `end of file`.
impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::Ident(name) => write!(f, "identifier '{name}'"),
            TokenKind::AtWord(name) => write!(f, "'@{name}'"),
            TokenKind::Keyword(k) => write!(f, "keyword '{}'", k.as_str()),
            TokenKind::Number(n) => write!(f, "number {n}"),
            TokenKind::Str(bytes) => {
                let text = String::from_utf8_lossy(bytes);
                let short: String = text.chars().take(24).collect();
                let dots = if short.len() < text.len() { "..." } else { "" };
                write!(f, "string \"{}{dots}\"", short.escape_default())
            }
            TokenKind::Embedded(_) => write!(f, "embedded C code '%{{ ... %}}'"),
            TokenKind::Punct(p) => write!(f, "'{}'", p.as_str()),
            TokenKind::Arg { quoted, index } => {
                write!(f, "'{}{index}'", if *quoted { '@' } else { '$' })
            }
            TokenKind::ArgCount { quoted } => write!(f, "'{}#'", if *quoted { '@' } else { '$' }),
            TokenKind::Invalid => write!(f, "invalid input"),
            TokenKind::Eof => write!(f, "end of file"),
        }
    }
}
