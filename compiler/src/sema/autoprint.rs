//! Globals a script writes but never reads are printed when it ends, as
//! SystemTap prints them (observed with the oracle, docs/oracle):
//!
//! ```text
//! l=42
//! str="hello world"
//! a2["m",-3]=3                       arrays: sorted by value, descending
//! st @count=3 @min=1 @max=10 @sum=13 @avg=4
//! sa["k1"] @count=2 @min=5 @max=7 @sum=12 @avg=6   by @count, descending
//! st @count=0x0                      a statistic with no samples
//! ```
//!
//! The printing is an extra `end` probe of priority 0 placed after every
//! probe of the script (so it runs after the script's own priority-0 end
//! probes), listing the globals in the order of their first assignment.

use crate::ir::*;

use super::format;
use super::scope::{GlobalVar, Shape};

/// The auto-print probe, if any global needs it.
pub fn probe(globals: &[GlobalVar<'_>], program: &Program) -> Option<Probe> {
    let mut unread: Vec<usize> = (0..globals.len())
        .filter(|&g| globals[g].written && !globals[g].read)
        .collect();
    unread.sort_by_key(|&g| globals[g].first_write.map(|s| (s.file.index(), s.start)));
    if unread.is_empty() {
        return None;
    }
    let mut b = Builder {
        locals: Vec::new(),
        stmts: Vec::new(),
    };
    for g in unread {
        let global = &program.globals[g];
        let id = GlobalId(g as u32);
        match (&global.kind, globals[g].shape) {
            (GlobalKind::Scalar(Type::Stats), _) => b.stats_scalar(&global.name, id),
            (GlobalKind::Scalar(t), _) => {
                let conv = if *t == Type::String { "\"%s\"" } else { "%d" };
                let value = expr(ExprKind::Global(id), *t);
                b.printf(&format!("{}={conv}\n", global.name), vec![value]);
            }
            (GlobalKind::Array(a), Shape::Array(_)) => b.array(&global.name, id, a),
            (GlobalKind::Array(_), _) => {}
        }
    }
    Some(Probe {
        points: vec![ProbePoint {
            name: "end".to_string(),
            kind: ProbeKind::End { priority: 0 },
            optional: false,
        }],
        written: vec!["end".to_string()],
        locals: b.locals,
        condition: None,
        body: Block { stmts: b.stmts },
        location: Location::default(),
        entry: Vec::new(),
    })
}

fn expr(kind: ExprKind, ty: Type) -> Expr {
    Expr {
        kind,
        ty: Some(ty),
        location: Location::default(),
    }
}

fn stmt(kind: StmtKind) -> Stmt {
    Stmt {
        kind,
        location: Location::default(),
    }
}

struct Builder {
    locals: Vec<Local>,
    stmts: Vec<Stmt>,
}

impl Builder {
    fn printf_stmt(text: &str, args: Vec<Expr>) -> Stmt {
        let format = format::parse(text).expect("auto-print formats are well-formed");
        stmt(StmtKind::Expr(Expr {
            kind: ExprKind::Printf {
                kind: PrintfKind::Printf,
                format,
                args,
            },
            ty: None,
            location: Location::default(),
        }))
    }

    fn printf(&mut self, text: &str, args: Vec<Expr>) {
        self.stmts.push(Builder::printf_stmt(text, args));
    }

    fn aggregates(stats: &LValue) -> Vec<Expr> {
        [
            Aggregate::Count,
            Aggregate::Min,
            Aggregate::Max,
            Aggregate::Sum,
            Aggregate::Avg,
        ]
        .into_iter()
        .map(|op| {
            expr(
                ExprKind::Aggregate {
                    op,
                    stats: stats.clone(),
                    wildcards: 0,
                },
                Type::Long,
            )
        })
        .collect()
    }

    fn stats_scalar(&mut self, name: &str, id: GlobalId) {
        let stats = LValue::Global(id);
        let count = expr(
            ExprKind::Aggregate {
                op: Aggregate::Count,
                stats: stats.clone(),
                wildcards: 0,
            },
            Type::Long,
        );
        let empty = expr(
            ExprKind::Compare {
                op: CompareOp::Eq,
                lhs: Box::new(count),
                rhs: Box::new(expr(ExprKind::Long(0), Type::Long)),
            },
            Type::Long,
        );
        let then = Block {
            stmts: vec![Builder::printf_stmt(
                &format!("{name} @count=0x0\n"),
                Vec::new(),
            )],
        };
        let full = format!("{name} @count=%d @min=%d @max=%d @sum=%d @avg=%d\n");
        let els = Block {
            stmts: vec![Builder::printf_stmt(&full, Builder::aggregates(&stats))],
        };
        self.stmts.push(stmt(StmtKind::If {
            cond: empty,
            then,
            els: Some(els),
        }));
    }

    fn array(&mut self, name: &str, id: GlobalId, a: &ArrayType) {
        let keys: Vec<LocalId> = a
            .keys
            .iter()
            .enumerate()
            .map(|(i, t)| {
                self.locals.push(Local {
                    name: format!("autoprint_{}_{i}", id.0),
                    ty: *t,
                });
                LocalId(self.locals.len() as u32 - 1)
            })
            .collect();
        let key_exprs: Vec<Expr> = keys
            .iter()
            .zip(&a.keys)
            .map(|(l, t)| expr(ExprKind::Local(*l), *t))
            .collect();
        let key_convs: Vec<&str> = a
            .keys
            .iter()
            .map(|t| if *t == Type::String { "\"%s\"" } else { "%d" })
            .collect();
        let prefix = format!("{name}[{}]", key_convs.join(","));
        let (body, sort) = if a.value == Type::Stats {
            let stats = LValue::Index {
                array: id,
                keys: key_exprs.clone(),
                location: Location::default(),
            };
            let mut args = key_exprs;
            args.extend(Builder::aggregates(&stats));
            let text = format!("{prefix} @count=%d @min=%d @max=%d @sum=%d @avg=%d\n");
            (
                Builder::printf_stmt(&text, args),
                SortKey::Aggregate(Aggregate::Count),
            )
        } else {
            let conv = if a.value == Type::String {
                "\"%s\""
            } else {
                "%d"
            };
            let value = expr(
                ExprKind::Index {
                    array: id,
                    keys: key_exprs.clone(),
                },
                a.value,
            );
            let mut args = key_exprs;
            args.push(value);
            (
                Builder::printf_stmt(&format!("{prefix}={conv}\n"), args),
                SortKey::Value,
            )
        };
        self.stmts.push(stmt(StmtKind::Foreach(Box::new(Foreach {
            array: id,
            keys,
            value: None,
            slice: Vec::new(),
            sort: Some(Sort {
                by: sort,
                descending: true,
            }),
            limit: None,
            body: Block { stmts: vec![body] },
        }))));
    }
}
