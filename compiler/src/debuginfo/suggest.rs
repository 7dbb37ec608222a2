//! "Try these instead" for a function that cannot be probed (`do_fsync` is
//! inlined on current kernels): the out-of-line functions DWARF says it
//! was inlined into, the syscall entry when the name is about a syscall
//! (`__x64_sys_fsync`), the VFS/ksys layer functions of the same
//! operation (`vfs_fsync`), similarly named functions, and `syscall.X`.

use super::info::KernelInfo;
use crate::text::similar;

/// Prefixes stripped to find what a function is about (`do_fsync` → `fsync`).
const LAYER_PREFIXES: &[&str] = &["__", "do_", "sys_"];

/// How many function names to suggest.
const MAX_FUNCTIONS: usize = 3;

/// Alternatives to `name`, best first (function names, then at most one
/// `syscall.X` probe point).
pub fn alternatives(k: &KernelInfo, name: &str) -> Vec<String> {
    let mut funcs: Vec<String> = Vec::new();
    let add = |f: String, funcs: &mut Vec<String>| {
        if f != name && !funcs.contains(&f) {
            funcs.push(f);
        }
    };
    // 1. Callers of an inlined `name` (DWARF), most similar first; the
    //    native syscall entries before the compat ones.
    if let Some(d) = k.dwarf() {
        let mut callers: Vec<String> = d
            .functions(name)
            .into_iter()
            .flat_map(|f| f.inline_sites)
            .map(|s| s.split('@').next().unwrap_or(&s).to_string())
            .filter(|c| !c.starts_with("__ia32_") && !c.starts_with("__se_") && c != "?")
            .collect();
        callers.sort_by_key(|c| (similar::distance(name, c), c.clone()));
        callers.dedup();
        for c in callers {
            if k.has_function(&c) != Some(false) {
                add(c, &mut funcs);
            }
        }
    }
    // 2. The syscall the name is about, by its significant words.
    let syscall = k.syscall_table().ok().and_then(|table| {
        similar::words(name)
            .into_iter()
            .find_map(|w| table.get(w).map(|s| (s.name.clone(), s.entry.clone())))
    });
    if let Some((_, entry)) = &syscall {
        let f = super::syscalls::entry_function(k.arch(), entry);
        if k.has_function(&f) != Some(false) {
            add(f, &mut funcs);
        }
    }
    // 3. The layers the kernel conventionally wraps an operation in
    //    (`do_fsync` → `vfs_fsync`, `ksys_fsync`).
    let stem = LAYER_PREFIXES
        .iter()
        .fold(name, |n, p| n.strip_prefix(p).unwrap_or(n));
    for layer in ["vfs_", "ksys_", "generic_", "kernel_"] {
        let f = format!("{layer}{stem}");
        if k.has_function(&f) == Some(true) {
            add(f, &mut funcs);
        }
    }
    // 4. Similar names among the probe-able functions.
    //    Exported functions first: they are the kernel's interfaces.
    let names = &k.function_names().value;
    let exports = k.exports();
    let exported = |n: &str| exports.get(n).is_some();
    for f in similar::nearest_preferring(
        name,
        names.iter().map(String::as_str),
        MAX_FUNCTIONS * 2,
        &exported,
    ) {
        add(f, &mut funcs);
    }
    let keep = if syscall.is_some() {
        MAX_FUNCTIONS - 1
    } else {
        MAX_FUNCTIONS
    };
    funcs.truncate(keep);
    if let Some((sys, _)) = syscall {
        funcs.push(format!("syscall.{sys}"));
    }
    funcs
}
