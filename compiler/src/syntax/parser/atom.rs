//! The tightest-binding expressions: literals, variables, calls, the print
//! family, `@` operators, histograms and target expressions (`$var->f`,
//! `@cast(...)`, `&$var`, autocasts).

use super::super::ast::{
    Expr, ExprKind, HistKind, HistOp, Ident, Indexable, NumLit, PrintCall, PrintKind, StatOp,
    StrLit,
};
use super::super::token::{Punct, TokenKind};
use super::{PResult, Parser};
use crate::diag::Span;
use crate::text::similar;

/// The `@` operators the parser knows (besides macros, which are gone by now).
const AT_WORDS: [&str; 21] = [
    "cast",
    "var",
    "defined",
    "choose_defined",
    "probewrite",
    "entry",
    "perf",
    "const",
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "variance",
    "hist_linear",
    "hist_log",
    "kregister",
    "uregister",
    "kderef",
    "uderef",
    "define",
];

const HIST_USE_HELP: &str =
    "a histogram can be printed (print(@hist_log(s))), indexed by bucket (@hist_log(s)[3]) or iterated (foreach (b in @hist_log(s)))";

impl Parser {
    /// A string literal (adjacent literals joined); the current token must
    /// be a string.
    pub(super) fn string_lit(&mut self) -> StrLit {
        let start = self.span();
        let mut value = Vec::new();
        while let TokenKind::Str(_) = self.kind() {
            if let TokenKind::Str(bytes) = self.bump().kind {
                value.extend_from_slice(&bytes);
            }
        }
        StrLit {
            value,
            span: self.span_from(start),
        }
    }

    pub(super) fn nonempty_string(&mut self, what: &str) -> PResult<StrLit> {
        if !matches!(self.kind(), TokenKind::Str(_)) {
            return Err(self.expected(what, None));
        }
        let s = self.string_lit();
        if s.value.is_empty() {
            return Err(self.misplaced(
                s.span,
                format!("expected {what}, found an empty string"),
                "empty",
                None,
            ));
        }
        Ok(s)
    }

    /// A primary value: literal, parenthesized expression, variable, call,
    /// `@` operator, or embedded C.
    pub(super) fn value(&mut self) -> PResult<Expr> {
        match self.kind() {
            TokenKind::Punct(Punct::LParen) => self.parenthesized(),
            TokenKind::Ident(_) => self.symbol(),
            TokenKind::AtWord(_) => self.at_operator(),
            _ => self.literal_value(),
        }
    }

    fn parenthesized(&mut self) -> PResult<Expr> {
        let open = self.bump().span;
        let inner = self.expr()?;
        self.expect_closing(Punct::RParen, open, "to close this '('")?;
        Ok(inner)
    }

    /// Number, string and embedded-C values.
    fn literal_value(&mut self) -> PResult<Expr> {
        let start = self.span();
        match self.kind() {
            TokenKind::Number(n) => {
                let n = *n;
                self.bump();
                Ok(Expr {
                    id: self.node_id(),
                    kind: ExprKind::Number(n as i64),
                    span: start,
                })
            }
            TokenKind::Str(_) => {
                let s = self.string_lit();
                Ok(Expr {
                    id: self.node_id(),
                    kind: ExprKind::String(s.value),
                    span: s.span,
                })
            }
            TokenKind::Embedded(_) => {
                let code = self.embedded_code();
                Ok(Expr {
                    id: self.node_id(),
                    kind: ExprKind::Embedded(code.code),
                    span: code.span,
                })
            }
            TokenKind::Keyword(k) => {
                let help = format!(
                    "'{}' is a reserved word and cannot be used as a value",
                    k.as_str()
                );
                Err(self.expected("an expression", Some(help)))
            }
            _ => Err(self.expected("an expression", None)),
        }
    }

    /// A name: variable, array element, function call, or print call.
    fn symbol(&mut self) -> PResult<Expr> {
        let ident = self.expect_ident("a name")?;
        if let Some(kind) = PrintKind::lookup(&ident.name) {
            return self.print_call(kind, ident);
        }
        if self.at(Punct::LParen) {
            return self.call(ident);
        }
        if self.at(Punct::LBracket) {
            return self.array_element(ident);
        }
        let span = ident.span;
        Ok(Expr {
            id: self.node_id(),
            kind: ExprKind::Var(ident),
            span,
        })
    }

    fn call(&mut self, name: Ident) -> PResult<Expr> {
        let start = name.span;
        let open = self.bump().span;
        let args = self.call_args(open)?;
        Ok(Expr {
            id: self.node_id(),
            kind: ExprKind::Call { name, args },
            span: self.span_from(start),
        })
    }

    fn array_element(&mut self, name: Ident) -> PResult<Expr> {
        let start = name.span;
        let indices = self.index_list()?;
        Ok(Expr {
            id: self.node_id(),
            kind: ExprKind::Index {
                base: Indexable::Var(name),
                indices,
            },
            span: self.span_from(start),
        })
    }

    /// Comma-separated arguments up to `)`; the `(` is consumed.
    fn call_args(&mut self, open: Span) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        if self.eat(Punct::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(Punct::Comma) {
                continue;
            }
            self.expect_closing(Punct::RParen, open, "to close this '('")?;
            return Ok(args);
        }
    }

    /// A call of the print family, parsed as SystemTap's parser does and
    /// refused in its words (observed with SystemTap 5.1,
    /// `tests/oracle/printf_formats.stp`): `expected '('`, `expected
    /// literal string` for a format or delimiter that is not one, `invalid
    /// or missing conversion specifier` at the token after a format with a
    /// directive it does not take, `expected one of ', )'` after a value.
    /// A printd-family call closed with fewer than two values goes on
    /// reading values after its `)`, as SystemTap's does, so the error
    /// comes at what follows.
    fn print_call(&mut self, kind: PrintKind, name: Ident) -> PResult<Expr> {
        let start = name.span;
        if !self.at(Punct::LParen) {
            let label = format!(
                "'{}' is a built-in function and takes its arguments in '(...)'",
                kind.name()
            );
            return Err(self.stap_error("expected '('", &label));
        }
        let open = self.bump().span;
        let mut call = PrintCall {
            kind,
            format: None,
            args: Vec::new(),
            hist: None,
        };
        let plain = matches!(
            kind,
            PrintKind::Print | PrintKind::Println | PrintKind::Sprint | PrintKind::Sprintln
        );
        if plain
            && matches!(self.kind(), TokenKind::AtWord(w) if w == "hist_log" || w == "hist_linear")
        {
            let hist = self.hist_op()?;
            if self.at(Punct::LBracket) {
                // print(@hist_log(s)[3], ...): a bucket count, not a drawing.
                let indices = self.index_list()?;
                let span = hist.span.to(self.prev_span());
                call.args.push(Expr {
                    id: self.node_id(),
                    kind: ExprKind::Index {
                        base: Indexable::Hist(hist),
                        indices,
                    },
                    span,
                });
                while self.eat(Punct::Comma) {
                    call.args.push(self.expr()?);
                }
            } else {
                call.hist = Some(hist);
            }
            self.expect_closing(Punct::RParen, open, "to close this '('")?;
            return Ok(Expr {
                id: self.node_id(),
                kind: ExprKind::Print(Box::new(call)),
                span: self.span_from(start),
            });
        }
        if kind.has_format() || kind.has_delimiter() {
            if !matches!(self.kind(), TokenKind::Str(_)) {
                let label = if kind.has_format() {
                    "the format must be a string literal: it is checked when the script is compiled"
                } else {
                    "the first argument of the printd family is the delimiter string literal"
                };
                return Err(self.stap_error("expected literal string", label));
            }
            let format = self.string_lit();
            if kind.has_format() {
                if let Err(bad) = crate::syntax::format::directives(&format.value) {
                    let label = format!(
                        "after a format whose directive '{}' is not one of %[-+ #][width][.precision][l]diuxXocspbmM or %%",
                        bad.text.escape_debug()
                    );
                    return Err(self.stap_error("invalid or missing conversion specifier", &label));
                }
            }
            call.format = Some(format);
        } else if self.at(Punct::RParen) && kind.has_newline() {
            // println() and sprintln(): a newline alone.
            self.bump();
            return Ok(self.finish_print(call, start));
        } else {
            call.args.push(self.expr()?);
        }
        // After the format, delimiter or a value: `,` and the next value,
        // or `)`, which closes a printd-family call only after two values.
        let needed = if kind.has_delimiter() { 2 } else { 0 };
        loop {
            if self.eat(Punct::Comma) {
                call.args.push(self.expr()?);
            } else if self.at(Punct::RParen) {
                self.bump();
                if call.args.len() >= needed {
                    return Ok(self.finish_print(call, start));
                }
                call.args.push(self.expr()?);
            } else {
                let label = format!(
                    "a ',' and the next value, or ')' to close '{}('",
                    kind.name()
                );
                return Err(self.stap_error("expected one of ', )'", &label));
            }
        }
    }

    fn finish_print(&mut self, call: PrintCall, start: Span) -> Expr {
        Expr {
            id: self.node_id(),
            kind: ExprKind::Print(Box::new(call)),
            span: self.span_from(start),
        }
    }

    /// An array name or histogram, for indexing, `in` and `foreach`.
    pub(super) fn indexable(&mut self) -> PResult<Indexable> {
        match self.kind() {
            TokenKind::Ident(_) => Ok(Indexable::Var(self.expect_ident("an array name")?)),
            TokenKind::AtWord(w) if w == "hist_log" || w == "hist_linear" => {
                Ok(Indexable::Hist(self.hist_op()?))
            }
            _ => Err(self.expected("an array name", None)),
        }
    }

    /// `@hist_linear(stat, low, high, step)` or `@hist_log(stat)`.
    fn hist_op(&mut self) -> PResult<HistOp> {
        let tok = self.bump();
        let linear = matches!(&tok.kind, TokenKind::AtWord(w) if w == "hist_linear");
        let open = self.expect(Punct::LParen, "'('")?;
        let stat = Box::new(self.expr()?);
        let kind = if linear {
            let mut bounds = [0i64; 3];
            for (i, what) in ["the lowest value", "the highest value", "the bucket width"]
                .into_iter()
                .enumerate()
            {
                if !self.eat(Punct::Comma) {
                    let help = "write @hist_linear(stat, low, high, step) with literal numbers"
                        .to_string();
                    return Err(self.expected(&format!("',' and {what}"), Some(help)));
                }
                bounds[i] = self
                    .signed_number(&format!("{what} (a number literal)"))?
                    .value;
            }
            HistKind::Linear {
                low: bounds[0],
                high: bounds[1],
                step: bounds[2],
            }
        } else {
            HistKind::Log
        };
        self.expect_closing(Punct::RParen, open, "to close this '('")?;
        Ok(HistOp {
            kind,
            stat,
            span: self.span_from(tok.span),
        })
    }

    /// `( expr )` after an `@` operator.
    fn paren_expr(&mut self, op: &str) -> PResult<Expr> {
        let open = self.expect(Punct::LParen, &format!("'(' after '@{op}'"))?;
        let e = self.expr()?;
        self.expect_closing(Punct::RParen, open, "to close this '('")?;
        Ok(e)
    }

    fn at_operator(&mut self) -> PResult<Expr> {
        let start = self.span();
        let TokenKind::AtWord(name) = self.kind().clone() else {
            return Err(self.expected("an expression", None));
        };
        if name == "hist_log" || name == "hist_linear" {
            let hist = self.hist_op()?;
            if !self.at(Punct::LBracket) {
                return Err(self.misplaced(
                    hist.span,
                    "a histogram is not a value",
                    "histogram used as a value",
                    Some(HIST_USE_HELP),
                ));
            }
            let indices = self.index_list()?;
            return Ok(Expr {
                id: self.node_id(),
                kind: ExprKind::Index {
                    base: Indexable::Hist(hist),
                    indices,
                },
                span: self.span_from(start),
            });
        }
        if let Some(op) = StatOp::lookup(&name) {
            self.bump();
            let open = self.expect(Punct::LParen, &format!("'(' after '@{name}'"))?;
            let operand = Box::new(self.expr()?);
            let mut param = None;
            if self.eat(Punct::Comma) {
                if op != StatOp::Variance {
                    let span = self.prev_span();
                    return Err(self.misplaced(
                        span,
                        format!("'@{name}' takes one argument"),
                        "unexpected ','",
                        None,
                    ));
                }
                param = Some(self.signed_number("a number literal")?);
            }
            self.expect_closing(Punct::RParen, open, "to close this '('")?;
            return Ok(Expr {
                id: self.node_id(),
                kind: ExprKind::Stat { op, operand, param },
                span: self.span_from(start),
            });
        }
        let kind = match name.as_str() {
            "defined" => {
                self.bump();
                ExprKind::Defined(Box::new(self.paren_expr(&name)?))
            }
            "entry" => {
                self.bump();
                ExprKind::Entry(Box::new(self.paren_expr(&name)?))
            }
            "choose_defined" => {
                // SystemTap's library macro: (@defined(a) ? a : b).
                self.bump();
                let open = self.expect(Punct::LParen, "'(' after '@choose_defined'")?;
                let a = self.expr()?;
                self.expect(Punct::Comma, "','")?;
                let b = self.expr()?;
                self.expect_closing(Punct::RParen, open, "to close this '('")?;
                let span = self.span_from(start);
                let defined = Expr {
                    id: self.node_id(),
                    kind: ExprKind::Defined(Box::new(a.clone())),
                    span,
                };
                ExprKind::Ternary {
                    cond: Box::new(defined),
                    then: Box::new(a),
                    otherwise: Box::new(b),
                }
            }
            "probewrite" => {
                self.bump();
                let open = self.expect(Punct::LParen, "'(' after '@probewrite'")?;
                let var = self.expect_ident("a variable name")?;
                self.expect_closing(Punct::RParen, open, "to close this '('")?;
                ExprKind::Probewrite(var)
            }
            "const" | "perf" => {
                self.bump();
                let open = self.expect(Punct::LParen, &format!("'(' after '@{name}'"))?;
                let what = if name == "const" {
                    "a C expression string"
                } else {
                    "a perf counter name"
                };
                let s = self.nonempty_string(what)?;
                self.expect_closing(Punct::RParen, open, "to close this '('")?;
                if name == "const" {
                    ExprKind::Const(s)
                } else {
                    ExprKind::Perf(s)
                }
            }
            "kregister" | "uregister" => {
                self.bump();
                let open = self.expect(Punct::LParen, &format!("'(' after '@{name}'"))?;
                let number = self.signed_number("a register number")?;
                self.expect_closing(Punct::RParen, open, "to close this '('")?;
                ExprKind::Register {
                    user: name == "uregister",
                    number,
                }
            }
            "kderef" | "uderef" => {
                self.bump();
                let open = self.expect(Punct::LParen, &format!("'(' after '@{name}'"))?;
                let size: NumLit = self.signed_number("a size in bytes")?;
                self.expect(Punct::Comma, "',' and an address")?;
                let addr = Box::new(self.expr()?);
                self.expect_closing(Punct::RParen, open, "to close this '('")?;
                ExprKind::Deref {
                    user: name == "uderef",
                    size,
                    addr,
                }
            }
            _ => {
                let words = AT_WORDS.iter().copied().filter(|w| *w != "define");
                let suggestion = similar::closest(&name, words, |w| 2.max(w.len() / 4));
                let help = match suggestion {
                    Some(w) => format!("did you mean '@{w}'?"),
                    None => format!("no macro '@{name}' is defined; macros are defined with '@define {name} %( ... %)' before use"),
                };
                let span = self.span();
                return Err(self.misplaced(
                    span,
                    format!("unknown operator '@{name}'"),
                    "not a built-in operator or macro",
                    Some(&help),
                ));
            }
        };
        Ok(Expr {
            id: self.node_id(),
            kind,
            span: self.span_from(start),
        })
    }
}
