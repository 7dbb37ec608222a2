//! The order checking walks bodies in, to a fixpoint.
//!
//! Every body is walked once, probes in order, then the functions they
//! reach in waves (each wave the functions reached but not yet walked,
//! in definition order). A walk notes which globals and functions it read
//! and which slots it decided; deciding a slot marks every body that read
//! it for another walk: later in the same round if its turn has not come,
//! else in the next. A body nothing changed for is skipped, which is the
//! only difference from walking everything every round, and changes
//! nothing: its walk would read what it read before. Types only go from
//! unknown to known, so this ends; no round cap.
//!
//! Then one last walk, in the same order, reports the diagnostics and
//! records what lowering needs about each node.

use std::collections::BTreeSet;

use crate::diag::Diagnostic;
use crate::ir::{self, Type};
use crate::syntax::ast;

use super::{Checker, Trace};
use crate::sema::scope::Shape;
use crate::sema::{Context, DerivedProbe};

/// A body: a derived probe or a function, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Body {
    Probe(usize),
    Function(usize),
}

/// Which bodies need a walk, and who reads what.
struct Schedule {
    dirty_probes: Vec<bool>,
    dirty_functions: Vec<bool>,
    global_readers: Vec<BTreeSet<Body>>,
    function_readers: Vec<BTreeSet<Body>>,
}

impl Schedule {
    fn new(probes: usize, functions: usize, globals: usize) -> Schedule {
        Schedule {
            dirty_probes: vec![true; probes],
            dirty_functions: vec![true; functions],
            global_readers: vec![BTreeSet::new(); globals],
            function_readers: vec![BTreeSet::new(); functions],
        }
    }

    fn dirty(&mut self, body: Body) -> &mut bool {
        match body {
            Body::Probe(p) => &mut self.dirty_probes[p],
            Body::Function(f) => &mut self.dirty_functions[f],
        }
    }

    /// Whether `body` needs a walk (it is then no longer marked).
    fn take(&mut self, body: Body) -> bool {
        std::mem::take(self.dirty(body))
    }

    /// Records what a walk of `body` read and marks the readers of what
    /// it decided.
    fn note(&mut self, body: Body, trace: Trace) {
        for g in trace.read_globals {
            self.global_readers[g].insert(body);
        }
        for f in trace.read_functions {
            self.function_readers[f].insert(body);
        }
        let mut marked = Vec::new();
        for g in trace.changed_globals {
            marked.extend(self.global_readers[g].iter().copied());
        }
        for f in trace.changed_functions {
            // The function reads its own parameters.
            marked.push(Body::Function(f));
            marked.extend(self.function_readers[f].iter().copied());
        }
        if trace.changed_own {
            marked.push(body);
        }
        for b in marked {
            *self.dirty(b) = true;
        }
    }
}

/// Visits the functions walked, in waves: those reached (or kept) not yet
/// visited, in definition order, then those the visits reached, and so on.
fn in_waves(cx: &mut Context<'_>, mut visit: impl FnMut(&mut Context<'_>, usize)) {
    let mut visited = vec![false; cx.functions.len()];
    loop {
        let wave: Vec<usize> = (0..cx.functions.len())
            .filter(|&f| wanted(cx, f) && !visited[f])
            .collect();
        if wave.is_empty() {
            return;
        }
        for f in wave {
            visited[f] = true;
            visit(cx, f);
        }
    }
}

/// Whether function `f` is walked: reached from a probe (before the
/// optimizer dropped code, see [`crate::sema::elide`]).
fn wanted(cx: &Context<'_>, f: usize) -> bool {
    cx.functions[f].used
}

/// Checks every probe and every function they reach: to a fixpoint, then
/// once more reporting.
pub(in crate::sema) fn check_all<'a>(cx: &mut Context<'a>, derived: &mut [DerivedProbe<'a>]) {
    let mut schedule = Schedule::new(derived.len(), cx.functions.len(), cx.globals.len());
    loop {
        let mut walked = false;
        for (p, d) in derived.iter_mut().enumerate() {
            if schedule.take(Body::Probe(p)) {
                let trace = walk_probe(cx, d, false);
                schedule.note(Body::Probe(p), trace);
                walked = true;
            }
        }
        in_waves(cx, |cx, f| {
            if schedule.take(Body::Function(f)) {
                if let Some(trace) = walk_function(cx, f, false) {
                    schedule.note(Body::Function(f), trace);
                }
                walked = true;
            }
        });
        if !walked {
            break;
        }
    }
    // The reporting walk.
    for d in derived.iter_mut() {
        walk_probe(cx, d, true);
    }
    in_waves(cx, |cx, f| {
        walk_function(cx, f, true);
    });
    check_signatures(cx);
    check_globals(cx);
    if records_matches(cx) {
        check_capture_programs(cx);
    }
}

/// One walk of a derived probe: its condition, alias prologues, handler
/// and epilogues (without the statements elided).
fn walk_probe<'a>(cx: &mut Context<'a>, d: &mut DerivedProbe<'a>, report: bool) -> Trace {
    let locals = std::mem::take(&mut d.locals);
    let mut c = Checker::new(cx, locals, None, report);
    c.context = d.context.clone();
    c.probe_body = Some(d.body);
    c.elision = d.elision.clone();
    if let Some(cond) = d.condition {
        c.expr(cond, Some(Type::Long));
    }
    for s in d.statements() {
        c.stmt(s);
    }
    if report {
        c.finish_locals();
        d.facts = std::mem::take(&mut c.facts);
    }
    d.locals = std::mem::take(&mut c.locals);
    c.trace
}

/// One walk of function `f`; `None` for embedded C, which is not walked.
fn walk_function(cx: &mut Context<'_>, f: usize, report: bool) -> Option<Trace> {
    let def = cx.functions[f].def;
    let ast::FunctionBody::Block(b) = &def.body else {
        return None;
    };
    let locals = std::mem::take(&mut cx.functions[f].locals);
    let mut c = Checker::new(cx, locals, Some(f), report);
    c.block(b);
    // A function only elided code called is checked, but what it leaves
    // undecided is no error: it is left out of the program.
    if report && c.cx.functions[f].reachable {
        c.finish_locals();
    }
    let facts = std::mem::take(&mut c.facts);
    let locals = std::mem::take(&mut c.locals);
    let trace = std::mem::take(&mut c.trace);
    cx.functions[f].locals = locals;
    if report {
        cx.functions[f].facts = facts;
    }
    Some(trace)
}

/// Whether the program calls the regex tapset's `matched()` & co.
pub(in crate::sema) fn records_matches(cx: &Context<'_>) -> bool {
    cx.functions.iter().enumerate().any(|(i, f)| {
        wanted(cx, i)
            && matches!(f.def.body, ast::FunctionBody::Embedded(_))
            && crate::sema::regex::MATCH_FUNCTIONS.contains(&f.def.name.name.as_str())
    })
}

/// Every pattern of a program that calls `matched()` & co. needs its
/// capture program; one too large for the runtime's scratch is an error.
fn check_capture_programs(cx: &mut Context<'_>) {
    for (dfa, span) in cx.regexes.iter().zip(&cx.regex_spans) {
        if dfa.program.is_some() {
            continue;
        }
        cx.diagnostics.push(
            Diagnostic::semantic_error(format!(
                "regular expression \"{}\" is too complex for matched() and ngroups()",
                dfa.pattern.escape_ascii()
            ))
            .with_primary(*span, "this pattern")
            .with_note(format!(
                "subexpressions are found with at most {} automaton states and {} groups \
                 (counted repetitions are expanded)",
                ir::RegexProgram::MAX_INSNS,
                ir::RegexProgram::MAX_GROUPS - 1
            ))
            .with_help("match with a simpler pattern, or split the test into several =~"),
        );
    }
}

fn check_signatures(cx: &mut Context<'_>) {
    for f in &cx.functions {
        if !(f.used && f.reachable) {
            continue;
        }
        for (i, p) in f.def.params.iter().enumerate() {
            if f.locals.vars[i].slot.ty.is_none() {
                cx.diagnostics.push(
                    Diagnostic::semantic_error(format!(
                        "unresolved type for parameter '{}' of '{}'",
                        p.name.name, f.def.name.name
                    ))
                    .with_primary(p.name.span, "nothing decides its type")
                    .with_help(format!(
                        "annotate it: {}:long or {}:string",
                        p.name.name, p.name.name
                    )),
                );
            }
        }
        if f.returns_value && f.ret.ty.is_none() {
            cx.diagnostics.push(
                Diagnostic::semantic_error(format!(
                    "unresolved return type of '{}'",
                    f.def.name.name
                ))
                .with_primary(f.def.name.span, "nothing decides what it returns")
                .with_help(format!(
                    "annotate it: function {}:long (...)",
                    f.def.name.name
                )),
            );
        }
    }
}

fn check_globals(cx: &mut Context<'_>) {
    for g in &cx.globals {
        if !(g.read || g.written) {
            // A global nothing uses goes silently, the script's as a
            // tapset's: SystemTap 5.1's `-p2` neither lists nor mentions
            // it, with or without `-v` (FINDINGS.md, "Pass 2's optimizer
            // warnings").
            continue;
        }
        if g.value.ty.is_none() {
            cx.diagnostics.push(
                Diagnostic::semantic_error(format!("unresolved type for global '{}'", g.name))
                    .with_primary(
                        g.decl.name.span,
                        "nothing decides whether this holds numbers or strings",
                    ),
            );
        }
        if let Shape::Array(_) = g.shape {
            for (k, key) in g.keys.iter().enumerate() {
                if key.ty.is_none() {
                    cx.diagnostics.push(
                        Diagnostic::semantic_error(format!(
                            "unresolved type for key {} of '{}'",
                            k + 1,
                            g.name
                        ))
                        .with_primary(g.decl.name.span, "declared here"),
                    );
                }
            }
        }
    }
}
