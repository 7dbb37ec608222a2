//! Checking the print family: formats and their arguments, histograms.

use crate::diag::{Diagnostic, Span};
use crate::ir::{self, Type};
use crate::syntax::ast;

use super::Checker;
use crate::sema::format;

impl Checker<'_, '_> {
    pub(super) fn print(&mut self, p: &ast::PrintCall, span: Span) -> Option<Type> {
        let ty = p.kind.returns_string().then_some(Type::String);
        if let Some(h) = &p.hist {
            self.hist_operand(h)?;
            if !matches!(p.kind, ast::PrintKind::Print | ast::PrintKind::Println) {
                self.error(
                    Diagnostic::semantic_error(format!(
                        "{} cannot draw a histogram; use print",
                        p.kind.name()
                    ))
                    .with_primary(span, "here"),
                );
            }
            return ty;
        }
        // A format decides its arguments' types: parse it first, then walk
        // each argument once with the type it must have.
        let format = if p.kind.has_format() {
            let fmt = p
                .format
                .as_ref()
                .map(|f| f.to_str_lossy().into_owned())
                .unwrap_or_default();
            match format::parse(&fmt) {
                Ok(format) => Some(format),
                Err(e) => {
                    let at = p.format.as_ref().map(|f| f.span).unwrap_or(span);
                    self.error(
                        Diagnostic::semantic_error(format!("bad format string: {}", e.message))
                            .with_primary(at, "this format"),
                    );
                    None
                }
            }
        } else {
            None
        };
        let want: Vec<Type> = format
            .as_ref()
            .map(format::argument_types)
            .unwrap_or_default();
        for (i, a) in p.args.iter().enumerate() {
            let t = self.expr(a, want.get(i).copied());
            if t.is_none() {
                if let ast::ExprKind::Call { name, .. } = &a.kind {
                    if self.cx.function_named(&name.name).is_some() {
                        self.error(
                            Diagnostic::semantic_error(format!(
                                "'{}' returns no value to print",
                                name.name
                            ))
                            .with_primary(a.span, "this call has no value"),
                        );
                    }
                }
            }
            if let (Some(t), Some(w)) = (t, want.get(i)) {
                if t != *w {
                    // SystemTap's words, and twice: SystemTap 5.1 reports
                    // each such argument two times (`-v` shows both; without
                    // it, `Number of similar error messages suppressed: 1.`;
                    // tests/oracle/translator.stp printf-arg-type).
                    let mismatch = Diagnostic::semantic_error(format!(
                        "type mismatch: expected {w} but found {t}"
                    ))
                    .with_primary(a.span, format!("argument {} is a {t}", i + 1));
                    self.error(mismatch.clone());
                    self.error(mismatch);
                }
            }
        }
        if format.is_some() && want.len() != p.args.len() {
            // SystemTap's words, at the operator's name.
            self.error(
                Diagnostic::semantic_error("Wrong number of args to formatted print operator")
                    .with_primary(
                        span,
                        format!(
                            "the format expects {} argument(s) but {} were given",
                            want.len(),
                            p.args.len()
                        ),
                    ),
            );
        }
        ty
    }
}

impl Checker<'_, '_> {
    /// The statistics global `@hist_log(s)`/`@hist_linear(s, ...)` reads
    /// (printed, indexed by bucket or iterated over), which then carries
    /// that histogram: one shape per variable.
    pub(super) fn hist_operand(&mut self, h: &ast::HistOp) -> Option<usize> {
        let g = self.stats_operand(&h.stat, false)?;
        let histogram = histogram(h);
        if let ast::HistKind::Linear { low, high, step } = h.kind {
            if step <= 0 || high <= low {
                self.error(
                    Diagnostic::semantic_error("@hist_linear needs low < high and a positive step")
                        .with_primary(h.span, "bad bounds"),
                );
            }
        }
        match self.cx.globals[g].histogram {
            None => self.cx.globals[g].histogram = Some((histogram, h.span)),
            Some((existing, at)) if existing != histogram => {
                let name = self.cx.globals[g].name.clone();
                self.error(
                    Diagnostic::semantic_error(format!(
                        "'{name}' is used as two different histograms"
                    ))
                    .with_primary(h.span, "this histogram")
                    .with_secondary(at, "differs from this one")
                    .with_help(
                        "a statistics variable carries one histogram type; use a second variable",
                    ),
                );
            }
            Some(_) => {}
        }
        Some(g)
    }
}

/// The histogram `@hist_log`/`@hist_linear` draws.
pub(in crate::sema) fn histogram(h: &ast::HistOp) -> ir::Histogram {
    match h.kind {
        ast::HistKind::Log => ir::Histogram::Log,
        ast::HistKind::Linear { low, high, step } => ir::Histogram::Linear { low, high, step },
    }
}
