//! Guru-only syntax in the user's script: without `-g`, SystemTap's
//! pass 1 refuses embedded C (`%{ %}` at top level, as a function body or
//! in a probe) and `@const`, so `stap -p1` fails as it does. Tapset files
//! may use them; only a file parsed with
//! [`PreprocessConfig::user_script`](super::PreprocessConfig) is checked.

use super::ast::{Expr, ExprKind, FunctionBody, Item, Script};
use super::error::SyntaxError;
use super::visit::{self, Visitor};

/// The guru-only constructs of `script`, one error each, in tree order.
pub(crate) fn guru_only_errors(script: &Script) -> Vec<SyntaxError> {
    let mut found = Found(Vec::new());
    visit::walk_script(&mut found, script);
    found.0
}

struct Found(Vec<SyntaxError>);

impl Visitor for Found {
    fn visit_item(&mut self, item: &Item) {
        match item {
            Item::Embedded(e) => self.0.push(SyntaxError::NeedsGuru {
                span: e.span,
                what: "embedded code",
            }),
            Item::Function(f) => {
                if let FunctionBody::Embedded(e) = &f.body {
                    self.0.push(SyntaxError::NeedsGuru {
                        span: e.span,
                        what: "embedded code",
                    });
                }
            }
            _ => {}
        }
        visit::walk_item(self, item);
    }

    fn visit_expr(&mut self, expr: &Expr) {
        match &expr.kind {
            ExprKind::Embedded(_) => self.0.push(SyntaxError::NeedsGuru {
                span: expr.span,
                what: "embedded expression code",
            }),
            ExprKind::Const(_) => self.0.push(SyntaxError::NeedsGuru {
                span: expr.span,
                what: "@const",
            }),
            _ => {}
        }
        visit::walk_expr(self, expr);
    }
}
