//! The parser: preprocessed tokens to an [`ast::Script`], by recursive
//! descent.
//!
//! **It never fails and never panics.** Each grammar function returns
//! `PResult`; an error is recorded and the `Err(Recovered)` unwinds to the
//! nearest statement or item, which skips ahead to a synchronising token
//! (`;`, `}`, or `probe`/`function`/`global`/`private` at the top level) and
//! carries on, so one run reports every syntax error. Nesting is limited
//! (deep parentheses give an error, not a stack overflow), and a fuel
//! counter turns any bug that would stop the parser from advancing into an
//! internal-error diagnostic instead of a hang.
//!
//! The grammar lives in the submodules: [`decl`] (globals, functions),
//! [`probe`] (probes, aliases, probe points), [`stmt`] (statements,
//! foreach), [`expr`] (operators and precedence), [`atom`] (literals,
//! calls, `@` operators) and [`target`] (target expressions).

mod atom;
mod decl;
pub(crate) mod expr;
mod probe;
mod stmt;
mod target;

use std::cell::Cell;

use crate::diag::{FileId, Span};

use super::ast;
use super::error::SyntaxError;
use super::token::{Keyword, Punct, Token, TokenKind};

/// How many errors are reported before the parser gives up on a file.
const MAX_ERRORS: usize = 100;
/// How deeply constructs may nest, in cost units (see [`Cost`]). Trees
/// are at most this deep, so every recursive walk over them (the printer,
/// semantic analysis) stays within a small stack; the limit is sized for
/// debug builds on a 2 MiB thread stack.
const MAX_DEPTH: usize = 256;

/// What entering one level of nesting costs against [`MAX_DEPTH`]:
/// roughly proportional to the parser's stack use per level.
#[derive(Clone, Copy)]
pub(super) enum Cost {
    /// A statement inside another (`if`, loops, blocks, `else if` chains).
    Statement,
    /// One more operator in a left-associative chain, one more prefix
    /// operator, or one more `?:` arm.
    Operator,
    /// A probe-point brace group.
    Group,
    /// A parenthesized, argument or index sub-expression.
    Expression,
}

impl Cost {
    fn units(self) -> usize {
        match self {
            Cost::Statement | Cost::Operator => 1,
            Cost::Group => 2,
            Cost::Expression => 3,
        }
    }
}
/// How many times the parser may look at the same token without moving on.
const FUEL: u32 = 10_000;

/// Marks that an error was recorded and the caller should recover.
#[derive(Debug)]
pub(super) struct Recovered;

/// Result of a grammar function.
pub(super) type PResult<T> = Result<T, Recovered>;

/// Parses `tokens` (which need not end with an end token) from `file`
/// of `file_len` bytes into a script; returns it with the errors
/// SystemTap would report (the first of each top-level item) and the
/// follow-on errors after them in the same item.
pub(crate) fn parse_tokens(
    file: FileId,
    file_len: usize,
    tokens: Vec<Token>,
) -> (ast::Script, Vec<SyntaxError>, Vec<SyntaxError>) {
    let end = Span::new(file, file_len, file_len);
    let mut parser = Parser::new(file, end, tokens);
    let items = parser.items();
    let script = ast::Script {
        file,
        items,
        span: Span::new(file, 0, file_len),
    };
    let follow_on = std::mem::take(&mut parser.follow_on);
    (script, parser.finish(), follow_on)
}

pub(super) struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    eof: Token,
    /// The span of the last token consumed.
    prev_span: Span,
    prev_was_dot: bool,
    errors: Vec<SyntaxError>,
    /// Errors after the first one of the same top-level item: SystemTap's
    /// parser skips to the next item after an error, so it never reports
    /// them (observed with SystemTap 5.1, `tests/oracle/printf_formats.stp`
    /// case `where`); stapkit's code frames still show them.
    follow_on: Vec<SyntaxError>,
    /// Whether the item being parsed has had an error.
    item_errored: bool,
    error_count: usize,
    depth: usize,
    /// Set once parsing has been abandoned (too deep, too many errors):
    /// nothing more is reported.
    aborted: bool,
    fuel: Cell<u32>,
    stuck: Cell<bool>,
    /// Whether a function body is being parsed (`return` is allowed).
    pub(super) in_function: bool,
    /// Where an unclosed block was last reported, so that the enclosing
    /// blocks, which end at the same token, do not repeat it.
    pub(super) unclosed_reported_at: Option<usize>,
    /// The file parsed, and how many nodes have been numbered in it.
    file: FileId,
    nodes: u32,
}

impl Parser {
    fn new(file: FileId, end: Span, tokens: Vec<Token>) -> Parser {
        let eof = Token {
            kind: TokenKind::Eof,
            span: end,
            spaced: true,
            line_start: true,
            origin: None,
        };
        Parser {
            tokens,
            pos: 0,
            eof,
            prev_span: Span::new(file, 0, 0),
            prev_was_dot: false,
            errors: Vec::new(),
            follow_on: Vec::new(),
            item_errored: false,
            error_count: 0,
            depth: 0,
            aborted: false,
            fuel: Cell::new(FUEL),
            stuck: Cell::new(false),
            in_function: false,
            unclosed_reported_at: None,
            file,
            nodes: 0,
        }
    }

    /// A fresh id for the node being built.
    pub(super) fn node_id(&mut self) -> ast::NodeId {
        let id = ast::NodeId {
            file: self.file,
            index: self.nodes,
        };
        self.nodes = self.nodes.saturating_add(1);
        id
    }

    fn finish(mut self) -> Vec<SyntaxError> {
        if self.stuck.get() {
            let span = self.tokens.get(self.pos).map_or(self.eof.span, |t| t.span);
            self.errors.push(SyntaxError::NoProgress { span });
        }
        self.errors
    }

    // ---- looking at tokens ----

    /// The current token.
    pub(super) fn peek(&self) -> &Token {
        let fuel = self.fuel.get();
        if fuel == 0 {
            self.stuck.set(true);
            return &self.eof;
        }
        self.fuel.set(fuel - 1);
        self.tokens.get(self.pos).unwrap_or(&self.eof)
    }

    /// The token `n` places ahead of the current one.
    pub(super) fn nth(&self, n: usize) -> &Token {
        if self.stuck.get() {
            return &self.eof;
        }
        self.pos
            .checked_add(n)
            .and_then(|i| self.tokens.get(i))
            .unwrap_or(&self.eof)
    }

    pub(super) fn kind(&self) -> &TokenKind {
        &self.peek().kind
    }

    pub(super) fn at(&self, p: Punct) -> bool {
        self.kind().is_punct(p)
    }

    pub(super) fn at_keyword(&self, k: Keyword) -> bool {
        self.kind().is_keyword(k)
    }

    pub(super) fn at_eof(&self) -> bool {
        matches!(self.kind(), TokenKind::Eof)
    }

    /// An opaque position, to check whether the parser has moved.
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    /// The span of the current token.
    pub(super) fn span(&self) -> Span {
        self.peek().span
    }

    /// The span of the last consumed token.
    pub(super) fn prev_span(&self) -> Span {
        self.prev_span
    }

    /// A span from `start` to the end of the last consumed token.
    pub(super) fn span_from(&self, start: Span) -> Span {
        start.to(self.prev_span)
    }

    // ---- consuming tokens ----

    /// Consumes and returns the current token.
    pub(super) fn bump(&mut self) -> Token {
        if self.stuck.get() || self.pos >= self.tokens.len() {
            return self.eof.clone();
        }
        self.fuel.set(FUEL);
        let span = self.tokens[self.pos].span;
        let hole = Token {
            kind: TokenKind::Eof,
            span,
            spaced: false,
            line_start: false,
            origin: None,
        };
        let tok = std::mem::replace(&mut self.tokens[self.pos], hole);
        self.pos += 1;
        self.prev_span = tok.span;
        self.prev_was_dot = tok.kind.is_punct(Punct::Dot);
        tok
    }

    /// Consumes the current token if it is `p`.
    pub(super) fn eat(&mut self, p: Punct) -> bool {
        let yes = self.at(p);
        if yes {
            self.bump();
        }
        yes
    }

    /// Consumes the current token if it is keyword `k`.
    pub(super) fn eat_keyword(&mut self, k: Keyword) -> bool {
        let yes = self.at_keyword(k);
        if yes {
            self.bump();
        }
        yes
    }

    /// Consumes `p` or reports "expected `what`".
    pub(super) fn expect(&mut self, p: Punct, what: &str) -> PResult<Span> {
        if self.at(p) {
            return Ok(self.bump().span);
        }
        Err(self.expected(what, None))
    }

    /// Consumes the closing `p` of a construct opened at `opener`.
    pub(super) fn expect_closing(
        &mut self,
        p: Punct,
        opener: Span,
        opener_label: &'static str,
    ) -> PResult<Span> {
        if self.at(p) {
            return Ok(self.bump().span);
        }
        let what = format!("'{}'", p.as_str());
        Err(self.expected_with(&what, Some((opener, opener_label)), None))
    }

    /// Consumes the current token, which must be embedded C.
    pub(super) fn embedded_code(&mut self) -> ast::EmbeddedCode {
        let tok = self.bump();
        let code = match tok.kind {
            TokenKind::Embedded(code) => code,
            _ => String::new(),
        };
        ast::EmbeddedCode {
            code,
            span: tok.span,
        }
    }

    /// Consumes an identifier or reports "expected `what`".
    pub(super) fn expect_ident(&mut self, what: &str) -> PResult<ast::Ident> {
        if let TokenKind::Ident(_) = self.kind() {
            let tok = self.bump();
            if let TokenKind::Ident(name) = tok.kind {
                return Ok(ast::Ident {
                    name,
                    span: tok.span,
                });
            }
        }
        let help = match self.kind() {
            TokenKind::Keyword(k) => Some(format!(
                "'{}' is a reserved word and cannot name anything",
                k.as_str()
            )),
            _ => None,
        };
        Err(self.expected(what, help))
    }

    // ---- errors ----

    /// Records `error`; after too many, skips to the end of the file.
    pub(super) fn report(&mut self, error: SyntaxError) -> Recovered {
        if self.aborted {
            return Recovered;
        }
        self.error_count += 1;
        if self.error_count <= MAX_ERRORS {
            if std::mem::replace(&mut self.item_errored, true) {
                self.follow_on.push(error);
            } else {
                self.errors.push(error);
            }
        } else {
            self.errors
                .push(SyntaxError::TooManyErrors { limit: MAX_ERRORS });
            self.abort();
        }
        Recovered
    }

    /// Gives up on the rest of the file.
    fn abort(&mut self) {
        self.aborted = true;
        self.pos = self.tokens.len();
    }

    /// Reports "expected `what`, found <current token>".
    pub(super) fn expected(&mut self, what: &str, help: Option<String>) -> Recovered {
        self.expected_with(what, None, help)
    }

    pub(super) fn expected_with(
        &mut self,
        what: &str,
        opener: Option<(Span, &'static str)>,
        help: Option<String>,
    ) -> Recovered {
        let tok = self.peek();
        let (span, found) = match tok.kind {
            // Already reported by the lexer or preprocessor.
            TokenKind::Invalid => return Recovered,
            TokenKind::Eof => (self.prev_span.end_point(), "end of file".to_string()),
            ref kind => (tok.span, kind.to_string()),
        };
        let origin = tok.origin;
        self.report(SyntaxError::Expected {
            span,
            expected: what.to_string(),
            found,
            origin,
            opener,
            help,
        })
    }

    /// Reports `message`, SystemTap's own words, at the current token
    /// (`saw:` names it); `label` says more in stapkit's code frame.
    pub(super) fn stap_error(&mut self, message: &str, label: &str) -> Recovered {
        let tok = self.peek();
        let span = match tok.kind {
            // Already reported by the lexer or preprocessor.
            TokenKind::Invalid => return Recovered,
            TokenKind::Eof => self.prev_span.end_point(),
            _ => tok.span,
        };
        self.misplaced(span, message, label, None)
    }

    /// Reports a construct that is well-formed but not allowed here.
    pub(super) fn misplaced(
        &mut self,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<&str>,
    ) -> Recovered {
        self.report(SyntaxError::Misplaced {
            span,
            message: message.into(),
            label: label.into(),
            help: help.map(str::to_string),
        })
    }

    /// Enters one level of nesting; fails when too deep.
    pub(super) fn enter(&mut self, cost: Cost) -> PResult<()> {
        let cost = cost.units();
        if self.depth + cost > MAX_DEPTH {
            let span = self.span();
            let err = self.report(SyntaxError::TooDeep { span });
            // Every enclosing construct is now unfinished; give up on the
            // file rather than report each of them.
            self.abort();
            return Err(err);
        }
        self.depth += cost;
        Ok(())
    }

    /// Leaves a level entered with `cost`.
    pub(super) fn leave(&mut self, cost: Cost) {
        self.depth = self.depth.saturating_sub(cost.units());
    }

    // ---- recovery ----

    /// Whether the current token starts a top-level item.
    pub(super) fn at_item_start(&self) -> bool {
        match self.kind() {
            TokenKind::Keyword(Keyword::Probe | Keyword::Global | Keyword::Private) => true,
            // `kernel.function(...)` is a probe-point component, not an item.
            TokenKind::Keyword(Keyword::Function) => !self.prev_was_dot,
            _ => false,
        }
    }

    /// Skips to the end of a broken statement: past a `;`, or up to a `}`
    /// closing the enclosing block, the start of a top-level item, or a
    /// line that begins with something that starts a statement.
    pub(super) fn recover_statement(&mut self) {
        let mut depth = 0usize;
        let start = self.pos;
        loop {
            if self.at_eof() || self.at_item_start() {
                return;
            }
            if depth == 0 && self.pos > start && self.at_statement_line() {
                return;
            }
            match self.kind() {
                TokenKind::Punct(Punct::Semi) if depth == 0 => {
                    self.bump();
                    return;
                }
                TokenKind::Punct(Punct::RBrace) if depth == 0 => return,
                TokenKind::Punct(Punct::LBrace | Punct::LParen | Punct::LBracket) => depth += 1,
                TokenKind::Punct(Punct::RBrace | Punct::RParen | Punct::RBracket) => {
                    depth = depth.saturating_sub(1)
                }
                _ => {}
            }
            self.bump();
        }
    }

    /// Whether the current token starts a line and looks like the start of
    /// a statement (a name, `$var`, `@op`, `++`/`--` or a statement keyword).
    fn at_statement_line(&self) -> bool {
        let tok = self.peek();
        tok.line_start
            && match &tok.kind {
                TokenKind::Ident(_) | TokenKind::AtWord(_) => true,
                TokenKind::Punct(p) => matches!(p, Punct::PlusPlus | Punct::MinusMinus),
                TokenKind::Keyword(k) => matches!(
                    k,
                    Keyword::If
                        | Keyword::For
                        | Keyword::Foreach
                        | Keyword::While
                        | Keyword::Delete
                        | Keyword::Return
                        | Keyword::Next
                        | Keyword::Break
                        | Keyword::Continue
                        | Keyword::Try
                ),
                _ => false,
            }
    }

    /// Skips to the start of the next top-level item.
    fn recover_item(&mut self) {
        while !self.at_eof()
            && !self.at_item_start()
            && !matches!(self.kind(), TokenKind::Embedded(_))
        {
            self.bump();
        }
    }

    // ---- the top level ----

    fn items(&mut self) -> Vec<ast::Item> {
        let mut items = Vec::new();
        while !self.at_eof() {
            // After an unclosed block was reported, a stray `}` at the top
            // level most likely closes it: skip it quietly.
            if self.unclosed_reported_at.is_some() && self.at(Punct::RBrace) {
                self.bump();
                continue;
            }
            let start = self.pos;
            self.item_errored = false;
            match self.item() {
                Ok(item) => items.push(item),
                Err(Recovered) => {
                    if self.pos == start {
                        self.bump();
                    }
                    self.recover_item();
                }
            }
        }
        items
    }

    fn item(&mut self) -> PResult<ast::Item> {
        match self.kind() {
            TokenKind::Keyword(Keyword::Probe) => self.probe_item(),
            TokenKind::Keyword(Keyword::Global) => {
                let start = self.bump().span;
                self.global(start, false).map(ast::Item::Global)
            }
            TokenKind::Keyword(Keyword::Function) => {
                let start = self.bump().span;
                self.function(start, false).map(ast::Item::Function)
            }
            TokenKind::Keyword(Keyword::Private) => self.private_item(),
            TokenKind::Embedded(_) => Ok(ast::Item::Embedded(self.embedded_code())),
            _ => {
                let help = self.item_help();
                Err(self.expected("'probe', 'global', 'function', 'private' or '%{'", help))
            }
        }
    }

    /// A hint for a token that cannot start an item.
    fn item_help(&self) -> Option<String> {
        match self.kind() {
            TokenKind::Ident(name) if name == "include" || name == "import" => {
                Some("scripts cannot include files; tapsets are found through -I DIR".into())
            }
            TokenKind::Ident(name)
                if matches!(
                    name.as_str(),
                    "begin" | "end" | "kernel" | "syscall" | "timer" | "process"
                ) =>
            {
                Some(format!("probes are written 'probe {name} {{ ... }}'"))
            }
            TokenKind::Ident(_) => {
                Some("statements must be inside a 'probe' or 'function' body".into())
            }
            TokenKind::Punct(Punct::LBrace) => {
                Some("a handler needs a probe point: 'probe begin { ... }'".into())
            }
            _ => None,
        }
    }
}
