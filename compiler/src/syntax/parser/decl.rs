//! Declarations: `global`, `private`, `function`.

use super::super::ast::{
    Function, FunctionBody, GlobalDecl, GlobalVar, Item, Literal, NumLit, Param, ScriptType,
    TypeAnnot,
};
use super::super::token::{Keyword, Punct, TokenKind};
use super::{PResult, Parser};
use crate::diag::Span;

const LITERAL_INIT_HELP: &str =
    "a global's initial value must be a literal; compute other values in 'probe begin { ... }'";

impl Parser {
    /// `private global ...`, `private function ...`, or `private x` (short
    /// for `private global x`).
    pub(super) fn private_item(&mut self) -> PResult<Item> {
        let start = self.bump().span;
        if self.eat_keyword(Keyword::Function) {
            return self.function(start, true).map(Item::Function);
        }
        if self.eat_keyword(Keyword::Global) {
            return self.global(start, true).map(Item::Global);
        }
        if let TokenKind::Ident(_) = self.kind() {
            return self.global(start, true).map(Item::Global);
        }
        Err(self.expected(
            "'global', 'function' or a variable name after 'private'",
            None,
        ))
    }

    /// The variables after `global`; `start` is the `global` (or `private`).
    pub(super) fn global(&mut self, start: Span, private: bool) -> PResult<GlobalDecl> {
        let mut vars = Vec::new();
        loop {
            vars.push(self.global_var()?);
            if !self.eat(Punct::Comma) {
                break;
            }
        }
        let span = self.span_from(start);
        self.eat(Punct::Semi);
        Ok(GlobalDecl {
            private,
            vars,
            span,
        })
    }

    fn global_var(&mut self) -> PResult<GlobalVar> {
        let name = self.expect_ident("a variable name")?;
        let start = name.span;
        let wrap = self.eat(Punct::Percent);
        let mut size = None;
        if self.at(Punct::LBracket) {
            let open = self.bump().span;
            let n = self.signed_number("an array size")?;
            if n.value < 1 || n.value > i64::from(i32::MAX) {
                self.misplaced(
                    n.span,
                    "array size out of range",
                    "must be between 1 and 2147483647",
                    None,
                );
            }
            size = Some(n);
            self.expect_closing(Punct::RBracket, open, "to close this '['")?;
        }
        let mut init = None;
        if self.at(Punct::Eq) {
            let eq = self.bump().span;
            if wrap || size.is_some() {
                self.misplaced(
                    eq,
                    "only scalar globals can be initialized",
                    "an array cannot have an initial value",
                    None,
                );
            }
            if !matches!(
                self.kind(),
                TokenKind::Str(_) | TokenKind::Number(_) | TokenKind::Punct(Punct::Minus)
            ) {
                // SystemTap's words (tests/oracle/printf_formats.stp, recovery).
                return Err(self.stap_error("expected literal string or number", LITERAL_INIT_HELP));
            }
            init = Some(self.literal("a number or string literal", Some(LITERAL_INIT_HELP))?);
            if let TokenKind::Punct(p) = self.kind() {
                if !matches!(p, Punct::Comma | Punct::Semi | Punct::RBrace) {
                    return Err(self.expected(
                        "',' or the end of the declaration",
                        Some(LITERAL_INIT_HELP.to_string()),
                    ));
                }
            }
        }
        Ok(GlobalVar {
            name,
            wrap,
            size,
            init,
            span: self.span_from(start),
        })
    }

    /// The rest of `function`; `start` is the `function` (or `private`).
    pub(super) fn function(&mut self, start: Span, private: bool) -> PResult<Function> {
        let name = match self.kind() {
            // SystemTap allows functions named like the type keywords.
            TokenKind::Keyword(k @ (Keyword::String | Keyword::Long)) => {
                let text = k.as_str().to_string();
                let span = self.bump().span;
                super::super::ast::Ident { name: text, span }
            }
            _ => self.expect_ident("a function name")?,
        };
        let ret = if self.eat(Punct::Colon) {
            Some(self.type_annot()?)
        } else {
            None
        };
        let open = self.expect(Punct::LParen, "'(' to start the parameter list")?;
        let mut params: Vec<Param> = Vec::new();
        if !self.eat(Punct::RParen) {
            loop {
                let pname = self.expect_ident("a parameter name")?;
                if params.iter().any(|p| p.name.name == pname.name) {
                    self.misplaced(
                        pname.span,
                        format!("duplicate parameter '{}'", pname.name),
                        "already declared",
                        None,
                    );
                }
                let ty = if self.eat(Punct::Colon) {
                    Some(self.type_annot()?)
                } else {
                    None
                };
                let span = self.span_from(pname.span);
                params.push(Param {
                    name: pname,
                    ty,
                    span,
                });
                if self.eat(Punct::Comma) {
                    continue;
                }
                self.expect_closing(Punct::RParen, open, "to close this '('")?;
                break;
            }
        }
        let mut priority = None;
        if self.eat(Punct::Colon) {
            let n = self.signed_number("a priority number")?;
            if n.value < 1 {
                self.misplaced(
                    n.span,
                    "function priority must be at least 1",
                    "priority 0 is reserved for script functions",
                    None,
                );
            }
            priority = Some(n);
        }
        let body = match self.kind() {
            TokenKind::Embedded(_) => FunctionBody::Embedded(self.embedded_code()),
            TokenKind::Punct(Punct::LBrace) => {
                let outer = std::mem::replace(&mut self.in_function, true);
                let block = self.block();
                self.in_function = outer;
                FunctionBody::Block(block?)
            }
            _ => return Err(self.expected("'{' or '%{' to start the function body", None)),
        };
        Ok(Function {
            private,
            name,
            ret,
            params,
            priority,
            body,
            span: self.span_from(start),
        })
    }

    fn type_annot(&mut self) -> PResult<TypeAnnot> {
        let ty = match self.kind() {
            TokenKind::Keyword(Keyword::Long) => ScriptType::Long,
            TokenKind::Keyword(Keyword::String) => ScriptType::String,
            _ => {
                let help = match self.kind() {
                    TokenKind::Ident(_) => Some(
                        "SystemTap has two types: 'long' (64-bit integer) and 'string'".to_string(),
                    ),
                    _ => None,
                };
                return Err(self.expected("'long' or 'string'", help));
            }
        };
        Ok(TypeAnnot {
            ty,
            span: self.bump().span,
        })
    }

    /// A literal where only literals are allowed (global initializers,
    /// probe-point arguments): a string (adjacent ones joined) or a number
    /// with an optional `-`.
    pub(super) fn literal(&mut self, what: &str, help: Option<&str>) -> PResult<Literal> {
        match self.kind() {
            TokenKind::Str(_) => Ok(Literal::String(self.string_lit())),
            TokenKind::Number(_) | TokenKind::Punct(Punct::Minus) => {
                self.signed_number(what).map(Literal::Number)
            }
            _ => Err(self.expected(what, help.map(str::to_string))),
        }
    }

    /// A number with an optional leading `-`; `-9223372036854775808` is the
    /// smallest, and values above `i64::MAX` wrap as in SystemTap.
    pub(super) fn signed_number(&mut self, what: &str) -> PResult<NumLit> {
        let start = self.span();
        let negative = self.eat(Punct::Minus);
        let TokenKind::Number(n) = *self.kind() else {
            return Err(self.expected(what, None));
        };
        self.bump();
        let span = self.span_from(start);
        let value = if negative {
            if n > 1u64 << 63 {
                self.misplaced(
                    span,
                    "number out of range",
                    "the smallest number is -9223372036854775808",
                    None,
                );
            }
            (n as i64).wrapping_neg()
        } else {
            n as i64
        };
        Ok(NumLit { value, span })
    }
}
