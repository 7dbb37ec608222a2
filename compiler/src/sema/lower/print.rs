//! Lowering the print family: `print`/`println`/`sprint*` of their
//! arguments, `printd` with its delimiter spliced in, `printf`/`sprintf`
//! with the parsed format, histograms.

use crate::ir::{self, Type};
use crate::syntax::ast;

use super::Lowerer;
use crate::sema::check::histogram;
use crate::sema::format;

impl Lowerer<'_, '_> {
    pub(super) fn print(&mut self, p: &ast::PrintCall, location: ir::Location) -> ir::Expr {
        let string = p.kind.returns_string();
        let ty = string.then_some(Type::String);
        if let Some(h) = &p.hist {
            let kind = match self.stats_operand(&h.stat, None) {
                Some(stats)
                    if matches!(p.kind, ast::PrintKind::Print | ast::PrintKind::Println) =>
                {
                    let inner = ir::Expr {
                        kind: ir::ExprKind::Histogram {
                            stats,
                            histogram: histogram(h),
                        },
                        ty: Some(Type::String),
                        location: location.clone(),
                    };
                    ir::ExprKind::Print {
                        kind: print_kind(p.kind),
                        args: vec![inner],
                    }
                }
                _ => ir::ExprKind::Long(0),
            };
            return ir::Expr { kind, ty, location };
        }
        let args: Vec<ir::Expr> = p.args.iter().map(|a| self.expr(a)).collect();
        let kind = if p.kind.has_format() {
            let text = p
                .format
                .as_ref()
                .map(|f| f.to_str_lossy().into_owned())
                .unwrap_or_default();
            match format::parse(&text) {
                Ok(format) => ir::ExprKind::Printf {
                    kind: if string {
                        ir::PrintfKind::Sprintf
                    } else {
                        ir::PrintfKind::Printf
                    },
                    format,
                    args,
                },
                Err(_) => ir::ExprKind::Long(0),
            }
        } else if p.kind.has_delimiter() {
            // printd(delim, a, b) == print(a, delim, b)
            let delim = p
                .format
                .as_ref()
                .map(|f| f.to_str_lossy().into_owned())
                .unwrap_or_default();
            let mut spliced = Vec::new();
            for (i, a) in args.into_iter().enumerate() {
                if i > 0 {
                    spliced.push(ir::Expr {
                        kind: ir::ExprKind::Str(delim.clone()),
                        ty: Some(Type::String),
                        location: location.clone(),
                    });
                }
                spliced.push(a);
            }
            ir::ExprKind::Print {
                kind: print_kind(p.kind),
                args: spliced,
            }
        } else {
            ir::ExprKind::Print {
                kind: print_kind(p.kind),
                args,
            }
        };
        ir::Expr { kind, ty, location }
    }
}

fn print_kind(k: ast::PrintKind) -> ir::PrintKind {
    match k {
        ast::PrintKind::Print | ast::PrintKind::Printd => ir::PrintKind::Print,
        ast::PrintKind::Println | ast::PrintKind::Printdln => ir::PrintKind::Println,
        ast::PrintKind::Sprint | ast::PrintKind::Sprintd => ir::PrintKind::Sprint,
        _ => ir::PrintKind::Sprintln,
    }
}
