//! Macros: `@define NAME %( BODY %)`, `@define NAME(A, B) %( BODY %)`, and
//! their uses `@NAME` / `@NAME(x, y)` with parameters `@A` in the body.
//!
//! A definition is visible from its place to the end of the file and may
//! not be repeated; a use of a macro with parameters must pass exactly that
//! many arguments (split at top-level commas, `(`/`[` nesting respected).
//! The expansion itself is driven by the token stream in the parent module.

use std::collections::HashMap;
use std::rc::Rc;

use crate::diag::Span;

use super::super::error::SyntaxError;
use super::super::token::{Punct, Token, TokenKind};
use super::{invalid, is, Preprocessor};

/// The built-in `@` operators; a macro with one of these names hides it.
const AT_OPERATORS: [&str; 19] = [
    "cast",
    "defined",
    "probewrite",
    "entry",
    "perf",
    "var",
    "avg",
    "count",
    "sum",
    "min",
    "max",
    "hist_linear",
    "hist_log",
    "const",
    "variance",
    "kregister",
    "uregister",
    "kderef",
    "uderef",
];

/// A macro definition.
pub(super) struct MacroDef {
    /// Where the name was written, for "first defined here".
    pub(super) name_span: Span,
    /// Parameter names, without `@`.
    pub(super) params: Vec<String>,
    /// The body, between `%(` and `%)`.
    pub(super) body: Rc<[Token]>,
}

/// Parameter bindings visible inside one macro activation.
pub(super) type Env = Rc<HashMap<String, Binding>>;

/// A macro argument: its tokens, and the bindings in force where it was
/// written (arguments are closures, like SystemTap's).
#[derive(Clone)]
pub(super) struct Binding {
    /// The argument's tokens.
    pub(super) tokens: Rc<[Token]>,
    /// The bindings where the use was written.
    pub(super) env: Env,
}

impl Preprocessor<'_> {
    /// Reads a definition after `@define` (at top level, from the file).
    pub(super) fn define(&mut self, at: Span) {
        let found = |t: Option<&Token>| t.map_or("end of file".to_string(), |t| t.kind.to_string());
        let name = match self.peek_same_source() {
            Some(Token {
                kind: TokenKind::Ident(name),
                span,
                ..
            }) => (name.clone(), *span),
            other => {
                let span = other.map_or(at.end_point(), |t| t.span);
                let found = found(other);
                self.errors.push(SyntaxError::DefineSyntax {
                    span,
                    expected: "a macro name",
                    found,
                });
                return;
            }
        };
        self.next_same_source();
        let (name, name_span) = name;

        let mut params: Vec<String> = Vec::new();
        if self
            .peek_same_source()
            .is_some_and(|t| is(t, Punct::LParen))
        {
            self.next_same_source();
            loop {
                match self.next_same_source() {
                    Some(Token {
                        kind: TokenKind::Ident(p),
                        span,
                        ..
                    }) => {
                        if params.contains(&p) {
                            self.errors.push(SyntaxError::MacroDuplicateParam {
                                span,
                                name: p.clone(),
                            });
                        }
                        params.push(p);
                    }
                    other => {
                        let span = other.as_ref().map_or(name_span.end_point(), |t| t.span);
                        let found = found(other.as_ref());
                        self.errors.push(SyntaxError::DefineSyntax {
                            span,
                            expected: "a parameter name",
                            found,
                        });
                        return;
                    }
                }
                match self.next_same_source() {
                    Some(t) if is(&t, Punct::Comma) => continue,
                    Some(t) if is(&t, Punct::RParen) => break,
                    other => {
                        let span = other.as_ref().map_or(name_span.end_point(), |t| t.span);
                        let found = found(other.as_ref());
                        self.errors.push(SyntaxError::DefineSyntax {
                            span,
                            expected: "',' or ')'",
                            found,
                        });
                        return;
                    }
                }
            }
        }

        match self.peek_same_source() {
            Some(t) if is(t, Punct::PpOpen) => {
                self.next_same_source();
            }
            Some(Token {
                kind: TokenKind::Embedded(_),
                span,
                ..
            }) => {
                let span = *span;
                self.next_same_source();
                self.errors.push(SyntaxError::DefineBodyBraces { span });
                return;
            }
            other => {
                let span = other.map_or(name_span.end_point(), |t| t.span);
                let expected = if params.is_empty() {
                    "'(' or '%(' to start the macro body"
                } else {
                    "'%(' to start the macro body"
                };
                let found = found(other);
                self.errors.push(SyntaxError::DefineSyntax {
                    span,
                    expected,
                    found,
                });
                return;
            }
        }

        let mut body = Vec::new();
        let mut depth = 0usize;
        loop {
            let Some(tok) = self.next_same_source() else {
                self.errors.push(SyntaxError::DefineUnterminated {
                    span: name_span,
                    name,
                });
                return;
            };
            if is(&tok, Punct::PpOpen) {
                depth += 1;
            } else if is(&tok, Punct::PpClose) {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            body.push(tok);
        }

        if name == "define" {
            self.errors.push(SyntaxError::DefineSyntax {
                span: name_span,
                expected: "a macro name",
                found: "'define'".into(),
            });
            return;
        }
        if let Some(first) = self.macros.get(&name) {
            self.errors.push(SyntaxError::MacroRedefined {
                span: name_span,
                name,
                first: first.name_span,
            });
            return;
        }
        if AT_OPERATORS.contains(&name.as_str()) {
            self.errors.push(SyntaxError::MacroShadowsOperator {
                span: name_span,
                name: name.clone(),
            });
        }
        self.macros.insert(
            name,
            Rc::new(MacroDef {
                name_span,
                params,
                body: body.into(),
            }),
        );
    }

    /// Drops the rest of a `@define` found inside a macro body (already
    /// reported): its name, parameters and `%( ... %)` body.
    pub(super) fn skip_nested_define(&mut self) {
        if matches!(
            self.peek_same_source(),
            Some(Token {
                kind: TokenKind::Ident(_),
                ..
            })
        ) {
            self.next_same_source();
        }
        if self
            .peek_same_source()
            .is_some_and(|t| is(t, Punct::LParen))
        {
            while let Some(t) = self.next_same_source() {
                if is(&t, Punct::RParen) {
                    break;
                }
            }
        }
        if !self
            .peek_same_source()
            .is_some_and(|t| is(t, Punct::PpOpen))
        {
            return;
        }
        let mut depth = 0usize;
        while let Some(t) = self.next_same_source() {
            if is(&t, Punct::PpOpen) {
                depth += 1;
            } else if is(&t, Punct::PpClose) {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
        }
    }

    /// Expands a use of `def`; `at` is the `@name` token. A use that cannot
    /// be expanded is reported and gives an invalid token to emit.
    pub(super) fn invoke(&mut self, at: Token, name: &str, def: &MacroDef) -> Option<Token> {
        let caller_env = self
            .frames
            .last()
            .map(|f| f.env.clone())
            .unwrap_or_default();
        if def.params.is_empty() {
            let span = self.outer_span(at.span);
            return self.push_frame(def.body.clone(), Env::default(), span, name.to_string());
        }
        match self.peek_same_source() {
            Some(t) if is(t, Punct::LParen) => {
                self.next_same_source();
            }
            other => {
                let found = other.map_or("end of file".to_string(), |t| t.kind.to_string());
                self.errors.push(SyntaxError::MacroNeedsArgs {
                    span: at.span,
                    name: name.to_string(),
                    params: def.params.len(),
                    found,
                });
                return Some(invalid(at.span));
            }
        }
        let mut args: Vec<Vec<Token>> = vec![Vec::new()];
        let mut depth = 0usize;
        let close = loop {
            let Some(tok) = self.next_same_source() else {
                self.errors.push(SyntaxError::MacroUnterminatedCall {
                    span: at.span,
                    name: name.to_string(),
                });
                return Some(invalid(at.span));
            };
            match tok.kind {
                TokenKind::Punct(Punct::LParen | Punct::LBracket) => depth += 1,
                TokenKind::Punct(Punct::RParen | Punct::RBracket) if depth > 0 => depth -= 1,
                TokenKind::Punct(Punct::RParen) => break tok.span,
                TokenKind::Punct(Punct::Comma) if depth == 0 => {
                    args.push(Vec::new());
                    continue;
                }
                _ => {}
            }
            if let Some(last) = args.last_mut() {
                last.push(tok);
            }
        };
        let use_span = at.span.to(close);
        if args.len() != def.params.len() {
            self.errors.push(SyntaxError::MacroArgCount {
                span: use_span,
                name: name.to_string(),
                params: def.params.len(),
                given: args.len(),
            });
            return Some(invalid(use_span));
        }
        let env: HashMap<String, Binding> = def
            .params
            .iter()
            .cloned()
            .zip(args)
            .map(|(p, tokens)| {
                (
                    p,
                    Binding {
                        tokens: tokens.into(),
                        env: caller_env.clone(),
                    },
                )
            })
            .collect();
        let span = self.outer_span(use_span);
        self.push_frame(def.body.clone(), Rc::new(env), span, name.to_string())
    }
}
