//! The user-space programs and libraries a module that walks user stacks
//! carries (their symbols and unwind tables): the programs its
//! `process("PATH")` points probe, those named with `-d PATH`, and with
//! `--ldd` the shared libraries they need. Only a program that calls the
//! user-stack tapset (an embedded function with `/* need: USTACK */`)
//! carries any.

use std::collections::BTreeSet;

use super::Config;
use crate::arch::Arch;
use crate::diag::Diagnostic;
use crate::ir;

/// Whether `program` walks or names user stacks.
pub(super) fn needs_user_modules(program: &ir::Program) -> bool {
    program.functions.iter().any(|f| match &f.body {
        ir::FunctionBody::Embedded(code) => code.contains("/* need: USTACK */"),
        _ => false,
    })
}

/// Whether `program` names the source lines of user addresses
/// (`usymfileline()`, `print_ubacktrace_fileline()`): its modules then
/// carry their line tables.
fn needs_user_lines(program: &ir::Program) -> bool {
    program.functions.iter().any(|f| match &f.body {
        ir::FunctionBody::Embedded(code) => code.contains("/* need: ULINES */"),
        _ => false,
    })
}

/// Fills `program.user_modules` when it needs them; the diagnostics
/// include an error for a program or library that cannot be read.
pub(super) fn attach(program: &mut ir::Program, config: &Config) -> Vec<Diagnostic> {
    let Some(arch) = Arch::from_name(&config.preprocess.arch) else {
        return Vec::new();
    };
    if !needs_user_modules(program) {
        return Vec::new();
    }
    let mut paths: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut add = |path: &str, paths: &mut Vec<String>| {
        if seen.insert(path.to_string()) {
            paths.push(path.to_string());
        }
    };
    for probe in &program.probes {
        for point in &probe.points {
            match &point.kind {
                ir::ProbeKind::Uprobe { path, .. } => add(path, &mut paths),
                ir::ProbeKind::Process {
                    which: ir::ProcessSelector::Path(path),
                    ..
                } => add(path, &mut paths),
                _ => {}
            }
        }
    }
    for path in &config.unwind_paths {
        add(path, &mut paths);
    }
    let lines = needs_user_lines(program);
    let mut errors = Vec::new();
    let mut modules = Vec::new();
    let mut i = 0;
    while i < paths.len() {
        let path = paths[i].clone();
        i += 1;
        let host = config.programs.host_path(&path);
        match crate::debuginfo::umodule::read_user_module(&path, &host, arch) {
            Ok(mut m) => {
                // A stripped program's functions are named from its debug
                // file's symbol table; without debug information the
                // line functions give the address in hex, as SystemTap's do.
                let stripped = crate::debuginfo::umodule::is_stripped(&host);
                if lines || stripped {
                    if let Ok(debug) = config.programs.debug(&path) {
                        if stripped {
                            if let Err(e) = crate::debuginfo::umodule::attach_debug_symbols(
                                &mut m,
                                &host,
                                &debug.file.path,
                            ) {
                                errors.push(Diagnostic::warning(format!(
                                    "the functions of '{path}' are named from its dynamic symbols only: {e}"
                                )));
                            }
                        }
                        if lines {
                            crate::debuginfo::umodule::attach_lines(&mut m, &debug);
                        }
                    }
                }
                modules.push(m)
            }
            Err(e) => {
                errors.push(
                    Diagnostic::error(format!("cannot read the unwind data of '{path}': {e}"))
                        .with_note("`-d PATH` names a program or library to unwind; check it exists on the target (under --sysroot)"),
                );
                continue;
            }
        }
        if config.ldd {
            // The libraries it loads, as the target's dynamic loader
            // finds them (theirs too: each is walked in turn).
            match config.programs.needed_libraries(&path) {
                Ok(loaded) => {
                    for lib in &loaded.found {
                        add(&lib.path, &mut paths);
                    }
                    for name in loaded.missing {
                        errors.push(Diagnostic::warning(format!(
                            "--ldd: cannot find '{name}', needed by '{path}', in the target's library directories"
                        )));
                    }
                }
                Err(e) => errors.push(Diagnostic::error(format!("--ldd: {e}"))),
            }
        }
    }
    program.user_modules = modules;
    errors
}
