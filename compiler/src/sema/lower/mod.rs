//! Phase 2: the checked AST lowered to [`crate::ir`], once.
//!
//! Lowering runs only when checking reported no errors. It reads what
//! checking recorded about each node ([`super::facts::BodyFacts`]: the
//! variable a name denotes, the function a call reaches, each
//! expression's type, the branches `@defined` decides) and the final
//! locals, globals and functions, and reports nothing. Functions are
//! numbered as they are kept, so calls carry their final ids.
//!
//! Split like checking: [`stmt`], [`expr`], [`assign`], [`print`],
//! [`stats`]; locations (the tokens runtime errors quote) in [`location`].

mod assign;
mod expr;
mod location;
mod print;
mod stats;
mod stmt;

use crate::diag::Span;
use crate::ir::{self, Type};
use crate::syntax::ast;

use super::facts::BodyFacts;
use super::scope::{Locals, Shape};
use super::vars::{ProbeContext, TargetHost};
use super::{autoprint, Config, Context, DerivedProbe};

/// Lowers one body.
pub struct Lowerer<'l, 'a> {
    cx: &'l Context<'a>,
    locals: &'l Locals,
    facts: &'l BodyFacts,
    /// The function being lowered (its index), if any.
    function: Option<usize>,
    /// The target variables the probe offers here.
    context: ProbeContext,
    /// Lowering an `@entry(...)` operand.
    in_entry: bool,
    /// Values a `.return` probe saves at function entry (`@entry(e)`,
    /// parameters): slot k is `entry[k]`.
    entry: Vec<ir::Expr>,
    /// The program's id of each function of the context (`u32::MAX` for
    /// those not kept).
    function_ids: &'l [u32],
    /// What the optimizer left out of the body.
    elision: &'l super::elide::Elision,
}

impl Lowerer<'_, '_> {
    /// The type checking recorded for `e`.
    fn ty(&self, e: &ast::Expr) -> Option<Type> {
        self.facts.types.get(e.id).flatten()
    }
}

/// Whether function `f` is part of the program: reached from a probe by
/// the code the optimizer left.
fn kept(cx: &Context<'_>, f: usize) -> bool {
    cx.functions[f].used && cx.functions[f].reachable
}

/// The program: every derived probe, the functions kept, the globals.
pub(super) fn lower_all<'a>(cx: &Context<'a>, derived: &[DerivedProbe<'a>]) -> ir::Program {
    let mut function_ids = vec![u32::MAX; cx.functions.len()];
    let keep: Vec<usize> = (0..cx.functions.len()).filter(|&f| kept(cx, f)).collect();
    for (id, &f) in keep.iter().enumerate() {
        function_ids[f] = id as u32;
    }
    let mut probes = Vec::new();
    for d in derived {
        let mut l = Lowerer {
            cx,
            locals: &d.locals,
            facts: &d.facts,
            function: None,
            context: d.context.clone(),
            in_entry: false,
            entry: Vec::new(),
            function_ids: &function_ids,
            elision: &d.elision,
        };
        let condition = d.condition.map(|c| l.expr(c));
        let stmts = d.statements().filter_map(|s| l.stmt(s)).collect();
        probes.push(ir::Probe {
            points: d.points.clone(),
            written: d.listed.clone(),
            locals: lower_locals(&d.locals),
            condition,
            body: ir::Block { stmts },
            location: cx.location(d.span, "keyword 'probe'".into()),
            entry: l.entry,
        });
    }
    let mut functions = Vec::new();
    for &i in &keep {
        let f = &cx.functions[i];
        let body = match &f.def.body {
            ast::FunctionBody::Embedded(code) => ir::FunctionBody::Embedded(code.code.clone()),
            ast::FunctionBody::Block(b) => {
                let mut l = Lowerer {
                    cx,
                    locals: &f.locals,
                    facts: &f.facts,
                    function: Some(i),
                    context: ProbeContext::none(),
                    in_entry: false,
                    entry: Vec::new(),
                    function_ids: &function_ids,
                    elision: &f.elision,
                };
                ir::FunctionBody::Script(l.block(b))
            }
        };
        let ret = if f.returns_value { f.ret.ty } else { None };
        let name = &f.def.name.name;
        let overloaded = keep
            .iter()
            .filter(|&&j| cx.functions[j].def.name.name == *name)
            .count()
            > 1;
        let symbol = if overloaded {
            format!("{name}__{}", f.def.params.len())
        } else {
            name.clone()
        };
        functions.push(ir::Function {
            name: f.def.name.name.clone(),
            symbol,
            locals: lower_locals(&f.locals),
            params: f.def.params.len(),
            ret,
            body,
            location: cx.location(f.def.name.span, format!("identifier '{}'", f.def.name.name)),
        });
    }
    let mut program = ir::Program {
        globals: lower_globals(cx),
        functions,
        probes,
        embedded: cx.embedded.clone(),
        regexes: cx.regexes.clone(),
        records_matches: super::check::schedule::records_matches(cx),
        user_modules: Vec::new(),
    };
    program
        .probes
        .extend(autoprint::probe(&cx.globals, &program));
    program
}

fn lower_locals(locals: &Locals) -> Vec<ir::Local> {
    locals
        .vars
        .iter()
        .map(|v| ir::Local {
            name: v.name.clone(),
            ty: v.slot.ty.unwrap_or(Type::Long),
        })
        .collect()
}

fn lower_globals(cx: &Context<'_>) -> Vec<ir::Global> {
    cx.globals
        .iter()
        .map(|g| {
            let value = g.value.ty.unwrap_or(Type::Long);
            let kind = match g.shape {
                Shape::Array(_) => ir::GlobalKind::Array(ir::ArrayType {
                    keys: g.keys.iter().map(|k| k.ty.unwrap_or(Type::Long)).collect(),
                    value,
                    capacity: g
                        .decl
                        .size
                        .map(|s| s.value.clamp(1, u32::MAX as i64) as u32),
                    wrap: g.decl.wrap,
                }),
                _ => ir::GlobalKind::Scalar(value),
            };
            let init = g.decl.init.as_ref().map(|l| match l {
                ast::Literal::Number(n) => ir::Const::Long(n.value),
                ast::Literal::String(s) => ir::Const::String(s.to_str_lossy().into_owned()),
            });
            ir::Global {
                name: g.name.clone(),
                kind,
                init,
                histogram: g.histogram.map(|(h, _)| h),
                variance_shift: g.variance_shift.map_or(0, |(s, _)| s),
                private: g.private_to.is_some(),
                used: g.read || g.written,
                location: cx.location(g.decl.name.span, format!("identifier '{}'", g.name)),
            }
        })
        .collect()
}

/// Target expressions inside lowered code: their script operands are
/// lowered, and values read at a function's return saved at its entry.
impl TargetHost for Lowerer<'_, '_> {
    fn config(&self) -> &Config {
        self.cx.config
    }

    fn location(&self, span: Span, token: String) -> ir::Location {
        self.cx.location(span, token)
    }

    fn operand(&mut self, e: &ast::Expr, _: Option<Type>) -> (Option<Type>, ir::Expr) {
        (self.ty(e), self.expr(e))
    }

    fn save_at_entry(&mut self, value: ir::Expr, ty: Type, location: ir::Location) -> ir::Expr {
        self.entry.push(value);
        ir::Expr {
            kind: ir::ExprKind::EntrySlot(self.entry.len() as u32 - 1),
            ty: Some(ty),
            location,
        }
    }
    fn autocast(&self, e: &ast::Expr) -> Option<crate::sema::scope::TypedPointer> {
        crate::sema::check::autocast_of(self.locals, e)
    }
}

/// A long expression.
fn long_expr(kind: ir::ExprKind, location: ir::Location) -> ir::Expr {
    ir::Expr {
        kind,
        ty: Some(Type::Long),
        location,
    }
}

/// What stands for a node checking refused (never kept: lowering only
/// runs on programs without errors).
fn refused(location: ir::Location) -> ir::Expr {
    long_expr(ir::ExprKind::Long(0), location)
}
