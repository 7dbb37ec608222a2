//! Target expressions: `$var`, `$var->member[index]$`, `&$var`, `@cast`,
//! `@var`, and autocasts (any value followed by `->`, `[` or `$`).

use super::super::ast::{
    Expr, ExprKind, Ident, TargetBase, TargetComponent, TargetComponentKind, TargetExpr,
};
use super::super::token::{Punct, TokenKind};
use super::{PResult, Parser};
use crate::diag::Span;

/// Splits a trailing pretty-print suffix off a target name: `$var$$` gives
/// (`$var`, `$$`). Names made only of `$`, or without a suffix, are kept.
fn split_pretty(name: &str) -> (&str, &str) {
    match name.rfind(|c| c != '$') {
        Some(last) if last + 1 < name.len() => name.split_at(last + 1),
        _ => (name, ""),
    }
}

impl Parser {
    /// A value with optional `&` and target-expression suffixes.
    pub(super) fn dwarf_value(&mut self) -> PResult<Expr> {
        let target_start = match self.kind() {
            TokenKind::Punct(Punct::Amp) => true,
            TokenKind::Ident(name) => name.starts_with('$'),
            TokenKind::AtWord(name) => name == "cast" || name == "var",
            _ => false,
        };
        if target_start {
            return self.target_expr();
        }
        let value = self.value()?;
        if self.at(Punct::Arrow) || self.at(Punct::LBracket) || self.at_pretty_suffix() {
            return self.autocast(value);
        }
        Ok(value)
    }

    /// `value->...`, `value[...]`, `value$`: an autocast target expression.
    fn autocast(&mut self, value: Expr) -> PResult<Expr> {
        let start = value.span;
        let mut target = TargetExpr {
            base: TargetBase::Autocast(value),
            components: Vec::new(),
            address_of: false,
        };
        self.target_components(&mut target)?;
        Ok(Expr {
            id: self.node_id(),
            kind: ExprKind::Target(Box::new(target)),
            span: self.span_from(start),
        })
    }

    /// A target expression starting with `&`, `$name`, `@cast` or `@var`.
    fn target_expr(&mut self) -> PResult<Expr> {
        let start = self.span();
        let ampersand = self.eat(Punct::Amp);
        let mut target = match self.kind() {
            TokenKind::Ident(name) if name.starts_with('$') => self.target_var()?,
            TokenKind::AtWord(name) if name == "cast" => self.cast()?,
            TokenKind::AtWord(name) if name == "var" => self.at_var()?,
            _ => {
                let value = self.value()?;
                match value.kind {
                    ExprKind::Target(inner) if inner.address_of => {
                        return Err(self.misplaced(
                            start,
                            "cannot take the address of an address",
                            "'&' applied twice",
                            None,
                        ));
                    }
                    ExprKind::Target(inner) => *inner,
                    _ => TargetExpr {
                        base: TargetBase::Autocast(value),
                        components: Vec::new(),
                        address_of: false,
                    },
                }
            }
        };
        target.address_of = ampersand;
        self.target_components(&mut target)?;
        Ok(Expr {
            id: self.node_id(),
            kind: ExprKind::Target(Box::new(target)),
            span: self.span_from(start),
        })
    }

    /// `$name`, `$name$`, `$$vars$$`...
    fn target_var(&mut self) -> PResult<TargetExpr> {
        let tok = self.bump();
        let TokenKind::Ident(name) = tok.kind else {
            return Err(super::Recovered);
        };
        let (base, suffix) = split_pretty(&name);
        let mut components = Vec::new();
        if !suffix.is_empty() {
            components.push(self.pretty(suffix, tok.span)?);
        }
        let base = TargetBase::Var(Ident {
            name: base.to_string(),
            span: tok.span,
        });
        Ok(TargetExpr {
            base,
            components,
            address_of: false,
        })
    }

    fn at_pretty_suffix(&self) -> bool {
        matches!(self.kind(), TokenKind::Ident(name) if !name.is_empty() && name.chars().all(|c| c == '$'))
    }

    fn pretty(&mut self, suffix: &str, span: Span) -> PResult<TargetComponent> {
        match suffix {
            "$" => Ok(TargetComponent {
                kind: TargetComponentKind::Pretty { deep: false },
                span,
            }),
            "$$" => Ok(TargetComponent {
                kind: TargetComponentKind::Pretty { deep: true },
                span,
            }),
            _ => Err(self.misplaced(
                span,
                format!("unknown pretty-print suffix '{suffix}'"),
                "expected '$' or '$$'",
                None,
            )),
        }
    }

    /// `->member`, `[index]` and `$`/`$$` after a target base.
    fn target_components(&mut self, target: &mut TargetExpr) -> PResult<()> {
        let already_pretty = |t: &TargetExpr| {
            t.components
                .iter()
                .any(|c| matches!(c.kind, TargetComponentKind::Pretty { .. }))
        };
        while !already_pretty(target) {
            if self.at(Punct::Arrow) {
                let arrow = self.bump().span;
                let (text, span) = match self.kind() {
                    TokenKind::Ident(name) => (name.clone(), self.span()),
                    TokenKind::Keyword(k) => (k.as_str().to_string(), self.span()),
                    _ => return Err(self.expected("a member name after '->'", None)),
                };
                self.bump();
                let (member, suffix) = split_pretty(&text);
                let (member, suffix) = if member.chars().all(|c| c == '$') {
                    ("", text.as_str())
                } else {
                    (member, suffix)
                };
                if !member.is_empty() {
                    let ident = Ident {
                        name: member.to_string(),
                        span,
                    };
                    target.components.push(TargetComponent {
                        kind: TargetComponentKind::Member(ident),
                        span: arrow.to(span),
                    });
                }
                if !suffix.is_empty() {
                    let pretty = self.pretty(suffix, span)?;
                    target.components.push(pretty);
                }
            } else if self.at(Punct::LBracket) {
                let open = self.bump().span;
                let index = self.expr()?;
                self.expect_closing(Punct::RBracket, open, "to close this '['")?;
                target.components.push(TargetComponent {
                    kind: TargetComponentKind::Index(index),
                    span: self.span_from(open),
                });
            } else {
                break;
            }
        }
        if !already_pretty(target) && self.at_pretty_suffix() {
            let tok = self.bump();
            if let TokenKind::Ident(suffix) = tok.kind {
                let pretty = self.pretty(&suffix, tok.span)?;
                target.components.push(pretty);
            }
        }
        if already_pretty(target) && (self.at(Punct::Arrow) || self.at(Punct::LBracket)) {
            let span = self.span();
            return Err(self.misplaced(
                span,
                "nothing may follow a pretty-printing '$'",
                "after '$' or '$$'",
                Some("move the '$' to the end"),
            ));
        }
        Ok(())
    }

    /// `@cast(operand, "type"[, "module"])`
    fn cast(&mut self) -> PResult<TargetExpr> {
        let at = self.bump().span;
        let open = self.expect(Punct::LParen, "'(' after '@cast'")?;
        let operand = self.expr()?;
        self.expect(Punct::Comma, "',' and a type name")?;
        let type_name = self.nonempty_string("a type name such as \"struct task_struct\"")?;
        let module = if self.eat(Punct::Comma) {
            Some(self.nonempty_string("a module or header name")?)
        } else {
            None
        };
        self.expect_closing(Punct::RParen, open, "to close this '('")?;
        let _ = at;
        Ok(TargetExpr {
            base: TargetBase::Cast {
                operand,
                type_name,
                module,
            },
            components: Vec::new(),
            address_of: false,
        })
    }

    /// `@var("name[@file]"[, "module"])`
    fn at_var(&mut self) -> PResult<TargetExpr> {
        self.bump();
        let open = self.expect(Punct::LParen, "'(' after '@var'")?;
        // SystemTap's pass 1 takes `@var("")`; pass 2 finds no such variable.
        if !matches!(self.kind(), TokenKind::Str(_)) {
            return Err(self.expected("a variable name such as \"jiffies@kernel/time.c\"", None));
        }
        let name = self.string_lit();
        let module = if self.eat(Punct::Comma) {
            Some(self.nonempty_string("a module name")?)
        } else {
            None
        };
        self.expect_closing(Punct::RParen, open, "to close this '('")?;
        Ok(TargetExpr {
            base: TargetBase::AtVar { name, module },
            components: Vec::new(),
            address_of: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::split_pretty;

    #[test]
    fn pretty_suffixes() {
        assert_eq!(split_pretty("$var$$"), ("$var", "$$"));
        assert_eq!(split_pretty("$var$"), ("$var", "$"));
        assert_eq!(split_pretty("$$vars$"), ("$$vars", "$"));
        assert_eq!(split_pretty("$$vars"), ("$$vars", ""));
        assert_eq!(split_pretty("$$$"), ("$$$", ""));
        assert_eq!(split_pretty("member$"), ("member", "$"));
    }
}
