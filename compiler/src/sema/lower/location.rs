//! Where lowered code is, as SystemTap's runtime errors quote it: `near
//! operator '/' at FILE:LINE:COLUMN`, `keyword 'if'`, `identifier 'x'`.

use crate::diag::Span;
use crate::ir;
use crate::syntax::ast;

use super::Lowerer;

impl Lowerer<'_, '_> {
    pub(super) fn location(&self, span: Span, token: String) -> ir::Location {
        self.cx.location(span, token)
    }

    pub(super) fn ident_location(&self, ident: &ast::Ident) -> ir::Location {
        self.location(ident.span, format!("identifier '{}'", ident.name))
    }

    pub(super) fn keyword_location(&self, span: Span, keyword: &str) -> ir::Location {
        self.location(span, format!("keyword '{keyword}'"))
    }

    pub(super) fn stmt_location(&self, s: &ast::Stmt) -> ir::Location {
        let word = match &s.kind {
            ast::StmtKind::Break => "break",
            ast::StmtKind::Continue => "continue",
            ast::StmtKind::Next => "next",
            ast::StmtKind::Return(_) => "return",
            ast::StmtKind::Delete(_) => "delete",
            ast::StmtKind::Try { .. } => "try",
            ast::StmtKind::Foreach(_) => "foreach",
            ast::StmtKind::Block(_) | ast::StmtKind::Empty => {
                return self.location(s.span.end_point(), "operator '{'".to_string());
            }
            _ => "",
        };
        self.keyword_location(s.span, word)
    }

    pub(super) fn expr_location(&self, e: &ast::Expr) -> ir::Location {
        use ast::ExprKind as K;
        match &e.kind {
            K::Number(n) => self.location(e.span, format!("number '{n}'")),
            K::String(s) => {
                self.location(e.span, format!("string \"{}\"", String::from_utf8_lossy(s)))
            }
            K::Var(v) => self.ident_location(v),
            K::Index {
                base: ast::Indexable::Var(v),
                ..
            } => self.ident_location(v),
            K::Call { name, .. } => self.ident_location(name),
            K::Print(p) => self.location(e.span, format!("identifier '{}'", p.kind.name())),
            K::Binary { op, lhs, rhs } => self.location(
                self.cx.operator_span(lhs.span, rhs.span, op.as_str()),
                format!("operator '{}'", op.as_str()),
            ),
            K::Assign { op, lhs, rhs } => self.location(
                self.cx.operator_span(lhs.span, rhs.span, op.as_str()),
                format!("operator '{}'", op.as_str()),
            ),
            K::Crement { op, fix, operand } => {
                let span = match fix {
                    ast::Fix::Prefix => Span::new(e.span.file, e.span.start, e.span.start + 2),
                    ast::Fix::Postfix => Span::new(e.span.file, operand.span.end, e.span.end),
                };
                self.location(span, format!("operator '{}'", op.as_str()))
            }
            K::Unary { op, .. } => self.location(
                Span::new(e.span.file, e.span.start, e.span.start + 1),
                format!("operator '{}'", op.as_str()),
            ),
            K::Stat { op, .. } => self.location(e.span, format!("operator '@{}'", op.name())),
            K::Ternary { cond, then, .. } => self.location(
                self.cx.operator_span(cond.span, then.span, "?"),
                "operator '?'".into(),
            ),
            K::In { .. } => self.location(e.span, "operator 'in'".into()),
            K::Regex {
                negated,
                lhs,
                pattern,
            } => {
                let op = if *negated { "!~" } else { "=~" };
                self.location(
                    self.cx.operator_span(lhs.span, pattern.span, op),
                    format!("operator '{op}'"),
                )
            }
            _ => self.location(e.span, "operator".into()),
        }
    }
}

/// The sub-expression holding `e`'s first token (`x` of `x++`, `a` of
/// `a + b`, `f` of `f(x)[...]`).
pub(super) fn first_operand(e: &ast::Expr) -> &ast::Expr {
    match &e.kind {
        ast::ExprKind::Binary { lhs, .. }
        | ast::ExprKind::Assign { lhs, .. }
        | ast::ExprKind::Regex { lhs, .. } => first_operand(lhs),
        ast::ExprKind::Ternary { cond, .. } => first_operand(cond),
        ast::ExprKind::Crement {
            fix: ast::Fix::Postfix,
            operand,
            ..
        } => first_operand(operand),
        _ => e,
    }
}
