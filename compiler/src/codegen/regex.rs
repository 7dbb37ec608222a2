//! The compiled patterns of `=~` / `!~` as C data.
//!
//! Every [`RegexDfa`] of the program becomes `static const` tables and two
//! `struct stp_regex` (`runtime-c/lib/regex.h`): `stp_regex_N_search` for
//! the match test and `stp_regex_N_anchored` for the extent of a match,
//! and, when the program calls `matched()` & co., `stp_regex_N_prog` (the
//! NFA the runtime's submatch pass runs).
//! The tables are marked unused-tolerant: a pattern may sit only in a
//! function that was not kept.

use std::fmt::Write as _;

use super::writer::c_comment;
use crate::ir::{RegexAutomaton, RegexDfa, RegexId, RegexProgram};

/// The C name of the search automaton of pattern `id`.
pub fn search_name(id: RegexId) -> String {
    format!("stp_regex_{}_search", id.0)
}

/// The C name of the anchored automaton of pattern `id`.
pub fn anchored_name(id: RegexId) -> String {
    format!("stp_regex_{}_anchored", id.0)
}

/// The C name of the capture program of pattern `id` (when it has one).
pub fn program_name(id: RegexId) -> String {
    format!("stp_regex_{}_prog", id.0)
}

/// The C definitions of pattern `id`'s tables and automata, and with
/// `with_program` its capture program (for programs calling `matched()`).
pub fn regex_tables(id: RegexId, dfa: &RegexDfa, with_program: bool) -> String {
    let mut out = String::new();
    let base = format!("stp_regex_{}", id.0);
    let _ = writeln!(
        out,
        "/* regex {}: \"{}\" */",
        id.0,
        c_comment(&dfa.pattern.escape_ascii().to_string()).replace("/*", "/ *")
    );
    // Both automata come from one NFA: same byte classes.
    debug_assert_eq!(dfa.search.classes, dfa.anchored.classes);
    array(
        &mut out,
        "uint8_t",
        &format!("{base}_classes"),
        &dfa.search.classes,
    );
    for (kind, a) in [("search", &dfa.search), ("anchored", &dfa.anchored)] {
        automaton(&mut out, &base, kind, a);
    }
    if let (Some(p), true) = (&dfa.program, with_program) {
        program(&mut out, &base, dfa.groups, p);
    }
    out
}

fn program(out: &mut String, base: &str, groups: u32, p: &RegexProgram) {
    array(out, "uint8_t", &format!("{base}_prog_ops"), &p.ops);
    array(out, "uint16_t", &format!("{base}_prog_a"), &p.a);
    array(out, "uint16_t", &format!("{base}_prog_b"), &p.b);
    let sets = if p.sets.is_empty() {
        "NULL".to_string()
    } else {
        let _ = writeln!(
            out,
            "static const uint8_t {base}_prog_sets[{}][32] __attribute__((unused)) = {{",
            p.sets.len()
        );
        for set in &p.sets {
            let bytes: Vec<String> = set.iter().map(|b| format!("0x{b:02x}")).collect();
            let _ = writeln!(out, "\t{{ {} }},", bytes.join(", "));
        }
        out.push_str("};\n");
        format!("{base}_prog_sets")
    };
    let _ = writeln!(
        out,
        "static const struct stp_regex_prog {base}_prog __attribute__((unused)) = {{\n\
         \t.ops = {base}_prog_ops,\n\
         \t.a = {base}_prog_a,\n\
         \t.b = {base}_prog_b,\n\
         \t.sets = {sets},\n\
         \t.ninsns = {},\n\
         \t.nsets = {},\n\
         \t.start = {},\n\
         \t.ngroups = {},\n\
         }};",
        p.ops.len(),
        p.sets.len(),
        p.start,
        groups + 1
    );
}

fn automaton(out: &mut String, base: &str, kind: &str, a: &RegexAutomaton) {
    array(out, "uint16_t", &format!("{base}_{kind}_next"), &a.next);
    array(out, "uint8_t", &format!("{base}_{kind}_flags"), &a.flags);
    let _ = writeln!(
        out,
        "static const struct stp_regex {base}_{kind} __attribute__((unused)) = {{\n\
         \t.classes = {base}_classes,\n\
         \t.next = {base}_{kind}_next,\n\
         \t.flags = {base}_{kind}_flags,\n\
         \t.nclasses = {},\n\
         \t.nstates = {},\n\
         \t.restart = {},\n\
         }};",
        a.nclasses,
        a.states(),
        a.restart
    );
}

fn array<T: std::fmt::Display>(out: &mut String, ty: &str, name: &str, values: &[T]) {
    let _ = writeln!(
        out,
        "static const {ty} {name}[{}] __attribute__((unused)) = {{",
        values.len()
    );
    for chunk in values.chunks(16) {
        let line: Vec<String> = chunk.iter().map(|v| v.to_string()).collect();
        let _ = writeln!(out, "\t{},", line.join(", "));
    }
    out.push_str("};\n");
}
