//! `kernel.function("f").label("L")`: a kprobe at each source label with
//! code (`DW_TAG_label`) matching `L` in the out-of-line copies of the
//! functions matching `f`, from the kernel's DWARF (its -dbg package),
//! named as SystemTap names label points (the function at the label's
//! line, as `process(...).label` points are: `process_dwarf`), with the
//! variables DWARF locates at the label (`kernel_dwarf`). A function
//! with only an abstract instance has its labels in its concrete copies.
//! `module("m").function("f").label("L")` needs the module's DWARF, which
//! stapkit does not read: refused with the reason.

use super::process_dwarf::{label_point_name, no_label};
use super::{parts_text, Parts, PointError, ProbeContext, Target};
use crate::ir::{ProbeKind, ProbePoint};

/// The label points of `function` (a pattern) matching `pattern`.
pub(super) fn resolve(
    parts: &Parts<'_>,
    function: &str,
    pattern: &str,
    module: Option<&str>,
    target: Target<'_>,
) -> Result<Vec<(ProbePoint, ProbeContext)>, PointError> {
    let name = parts_text(parts);
    let needs = |what: String| PointError {
        message: format!("'{name}': {what}"),
        help: Some(
            "fetch the kernel with its -dbg package (stap-prep) and pass its tree with -r".into(),
        ),
    };
    if let Some(m) = module {
        return Err(PointError {
            message: format!("'{name}': labels of module '{m}' need the module's DWARF, which stapkit does not read"),
            help: Some(format!("probe module(\"{m}\").function(\"{function}\") or a kernel.trace point near the label")),
        });
    }
    let dwarf = target
        .kernel
        .and_then(|k| k.dwarf())
        .ok_or_else(|| needs("labels need the kernel's DWARF".into()))?;
    let map = target
        .kernel
        .and_then(|k| k.system_map())
        .ok_or_else(|| needs("a kprobe inside a function needs the real System.map".into()))?;
    // `f@file.c`: functions matching `f` declared in a file matching.
    let (function_pattern, file) = match function.split_once('@') {
        Some((f, file)) => (f, Some(file)),
        None => (function, None),
    };
    let functions = crate::text::glob::Glob::new(function_pattern);
    let labels_glob = crate::text::glob::Glob::new(pattern);
    let index = dwarf.index();
    let blacklist = map.blacklist();
    let mut labels = Vec::new();
    let mut out = Vec::new();
    let arch = target
        .kernel
        .map_or(crate::arch::Arch::X86_64, |k| k.arch());
    let scopes = index
        .functions
        .iter()
        .filter(|f| f.code && functions.matches(&f.name))
        .filter(|f| {
            file.is_none_or(|want| {
                index
                    .file(f.file)
                    .is_some_and(|p| crate::debuginfo::dwarf::file_matches(want, p))
            })
        })
        .flat_map(|f| dwarf.code_scopes(f.die).into_iter().map(move |s| (f, s)));
    for (f, scope) in scopes {
        let decl_file = index.file(f.file).unwrap_or("??");
        labels.extend(scope.labels.iter().map(|l| l.name.clone()));
        for label in scope.labels.iter().filter(|l| labels_glob.matches(&l.name)) {
            let Some(containing) = map.text_symbol_at(label.pc) else {
                continue;
            };
            if blacklist.reason_at(label.pc, &containing.name).is_some() {
                continue;
            }
            let Some(anchor) = map.unique_text_symbol_before(label.pc) else {
                continue;
            };
            let point = ProbePoint {
                name: label_point_name(parts, &scope, label, decl_file),
                kind: ProbeKind::KprobeInline {
                    function: scope.name.clone(),
                    symbol: anchor.name.clone(),
                    offset: label.pc - anchor.addr,
                    containing: containing.name.clone(),
                },
                optional: false,
            };
            let at = format!("{}@{decl_file}:{}", scope.name, label.line);
            let located = dwarf.located(&scope, label.pc);
            out.push((point, super::kernel_dwarf::kernel_vars(located, at, arch)));
        }
    }
    if out.is_empty() {
        return Err(no_label(parts, pattern, function, "the kernel", labels));
    }
    out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    out.dedup_by(|a, b| a.0.name == b.0.name);
    Ok(out)
}
