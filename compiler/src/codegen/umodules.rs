//! The user-space programs' symbol and unwind tables
//! ([`Program::user_modules`]) as the C arrays `runtime-c/core/ustack.c`
//! reads: `stp_umodules[]` and, per module, its functions (file offset,
//! size, name), their names, its unwind rows and, when the script names
//! source lines, its line table.

use std::fmt::Write as _;

use super::writer::c_string;
use crate::ir::{Program, UnwindCfa, UnwindSaved, UserModule};

/// The tables, written after the runtime is included.
pub(super) fn tables(program: &Program) -> String {
    let mut out = String::new();
    for (i, m) in program.user_modules.iter().enumerate() {
        module_tables(&mut out, i, m);
    }
    // Global: the runtime object, compiled apart from the script, reads them.
    let _ = writeln!(
        out,
        "const unsigned int stp_n_umodules = {};",
        program.user_modules.len()
    );
    out.push_str("struct stp_umodule stp_umodules[] = {\n");
    for (i, m) in program.user_modules.iter().enumerate() {
        let _ = writeln!(
            out,
            "\t{{ .path = {}, .syms = {}, .nsyms = {}, .names = {}, .rows = {}, .nrows = {}{} }},",
            c_string(&m.path),
            if syms(m).next().is_some() {
                format!("stp_umod_{i}_syms")
            } else {
                "NULL".into()
            },
            syms(m).count(),
            if syms(m).next().is_some() {
                format!("stp_umod_{i}_names")
            } else {
                "\"\"".into()
            },
            if rows(m).next().is_some() {
                format!("stp_umod_{i}_rows")
            } else {
                "NULL".into()
            },
            rows(m).count(),
            if lines(m).next().is_some() {
                format!(
                    ", .lines = stp_umod_{i}_lines, .nlines = {}, .files = stp_umod_{i}_files",
                    lines(m).count()
                )
            } else {
                String::new()
            },
        );
    }
    out.push_str("\t{ 0 }\n};\n\n");
    out
}

/// The functions the runtime's 32-bit offsets can hold.
fn syms(m: &UserModule) -> impl Iterator<Item = &crate::ir::UserSymbol> {
    m.symbols.iter().filter(|s| s.offset <= u64::from(u32::MAX))
}

fn rows(m: &UserModule) -> impl Iterator<Item = &crate::ir::UnwindRow> {
    m.unwind.iter().filter(|r| r.start <= u64::from(u32::MAX))
}

fn lines(m: &UserModule) -> impl Iterator<Item = &crate::ir::UserLine> {
    m.lines.iter().filter(|l| l.offset <= u64::from(u32::MAX))
}

/// The line table: rows (offset, line, file index; `STP_ULINE_NONE`
/// where the code has no line) and the file names.
fn line_tables(out: &mut String, i: usize, m: &UserModule) {
    if lines(m).next().is_none() {
        return;
    }
    let _ = writeln!(out, "static const char *const stp_umod_{i}_files[] = {{");
    for f in &m.line_files {
        let _ = writeln!(out, "\t{},", c_string(f));
    }
    out.push_str("\tNULL\n};\n");
    let _ = writeln!(
        out,
        "static const struct stp_uline stp_umod_{i}_lines[] = {{"
    );
    for l in lines(m) {
        let _ = match l.place {
            Some((file, line)) => writeln!(out, "\t{{ {:#x}, {line}, {file} }},", l.offset),
            None => writeln!(out, "\t{{ {:#x}, 0, STP_ULINE_NONE }},", l.offset),
        };
    }
    out.push_str("};\n");
}

fn module_tables(out: &mut String, i: usize, m: &UserModule) {
    let _ = writeln!(out, "/* {} */", m.path.replace("*/", "*\\/"));
    if syms(m).next().is_some() {
        let mut names = String::new();
        let _ = writeln!(out, "static const struct stp_usym stp_umod_{i}_syms[] = {{");
        for s in syms(m) {
            let size = s.size.min(u64::from(u32::MAX));
            let _ = writeln!(
                out,
                "\t{{ {:#x}, {:#x}, {} }},",
                s.offset,
                size,
                names.len()
            );
            names.push_str(&s.name.replace('\0', ""));
            names.push('\0');
        }
        out.push_str("};\n");
        let _ = writeln!(out, "static const char stp_umod_{i}_names[] =");
        // One literal per name keeps lines short; the NULs are the separators.
        for name in names.split_terminator('\0') {
            let _ = writeln!(out, "\t{} \"\\0\"", c_string(name));
        }
        out.push_str("\t;\n");
    }
    if rows(m).next().is_some() {
        let _ = writeln!(out, "static const struct stp_urow stp_umod_{i}_rows[] = {{");
        for r in rows(m) {
            let (cfa, cfa_off) = match r.cfa {
                UnwindCfa::Sp(off) => ("STP_UCFA_SP", off),
                UnwindCfa::Fp(off) => ("STP_UCFA_FP", off),
                UnwindCfa::Unknown => ("STP_UCFA_UNKNOWN", 0),
            };
            let (ra, ra_off) = saved(r.ra);
            let (fp, fp_off) = saved(r.fp);
            let _ = writeln!(
                out,
                "\t{{ {:#x}, {cfa_off}, {ra_off}, {fp_off}, {cfa}, {ra}, {fp} }},",
                r.start
            );
        }
        out.push_str("};\n");
    }
    line_tables(out, i, m);
}

fn saved(rule: UnwindSaved) -> (&'static str, i32) {
    match rule {
        UnwindSaved::AtCfa(off) => ("STP_USAVED_AT_CFA", off),
        UnwindSaved::Same => ("STP_USAVED_SAME", 0),
        UnwindSaved::Undefined => ("STP_USAVED_UNDEFINED", 0),
        UnwindSaved::Unknown => ("STP_USAVED_UNKNOWN", 0),
    }
}
