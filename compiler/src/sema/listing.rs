//! `stap -p2`: the elaborated program, as SystemTap lists it: globals with
//! their types, the functions kept, and each probe with its resolved points
//! and locals.

use std::fmt::Write as _;

use crate::ir::{FunctionBody, GlobalKind, Program};

/// The listing of an analyzed program.
pub fn listing(program: &Program) -> String {
    let mut out = String::new();
    // SystemTap leaves out the globals nothing uses (and says nothing).
    let used = || program.globals.iter().filter(|g| g.used);
    if used().next().is_some() {
        out.push_str("# global variables\n");
        for g in used() {
            match &g.kind {
                GlobalKind::Scalar(t) => {
                    let _ = writeln!(out, "{}:{t}", g.name);
                }
                GlobalKind::Array(a) => {
                    let keys: Vec<String> = a.keys.iter().map(|k| k.to_string()).collect();
                    let _ = writeln!(out, "{}:{} [{}]", g.name, a.value, keys.join(", "));
                }
            }
        }
    }
    if !program.functions.is_empty() {
        out.push_str("# functions\n");
        for f in &program.functions {
            let params: Vec<String> = f.locals[..f.params]
                .iter()
                .map(|l| format!("{}:{}", l.name, l.ty))
                .collect();
            let ret = f
                .ret
                .map(|t| t.to_string())
                .unwrap_or_else(|| "unknown".to_string());
            let kind = match f.body {
                FunctionBody::Embedded(_) => " %{ ... %}",
                FunctionBody::Script(_) => "",
            };
            let _ = writeln!(out, "{}:{ret} ({}){kind}", f.name, params.join(", "));
            let locals: Vec<String> = f.locals[f.params..]
                .iter()
                .map(|l| format!("{}:{}", l.name, l.ty))
                .collect();
            if !locals.is_empty() {
                let _ = writeln!(out, "  # locals\n  {}", locals.join("\n  "));
            }
        }
    }
    out.push_str("# probes\n");
    for p in &program.probes {
        for point in &p.points {
            let _ = writeln!(
                out,
                "{} /* <- {}:{} */",
                point.name, p.location.file, p.location.line
            );
        }
        if !p.locals.is_empty() {
            let locals: Vec<String> = p
                .locals
                .iter()
                .map(|l| format!("{}:{}", l.name, l.ty))
                .collect();
            let _ = writeln!(out, "  # locals\n  {}", locals.join("\n  "));
        }
    }
    out
}
