//! One libFuzzer binary for every coverage-guided target: the script front
//! end (preprocessor, lexer, parser, printer, semantic analysis, code
//! generation) and the readers of untrusted files that
//! `compiler/tests/fuzz_readers.rs` drives with proptest (BTF, ELF
//! modules, programs with SDT notes and DWARF, the cached DWARF index,
//! kernel images, package tar streams, RPM packages, text files).
//!
//! `STAPKIT_FUZZ_TARGET` names the target; `STAPKIT_FUZZ_SEEDS=DIR` writes
//! the target's seeds into DIR and exits instead of fuzzing (the start of a
//! corpus). A finding is a panic, a crash, a libFuzzer timeout or an input
//! that made the target hold more memory than libFuzzer's limits allow;
//! for the script target also a parse that stops making progress, a span
//! outside its file, or a clean parse whose printed form does not read
//! back to the same text. `cargo xtask fuzz` builds and runs it.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

mod targets;
use targets::TARGETS;

/// The front end's checks, shared with `fuzz_frontend`.
#[path = "../../compiler/tests/frontend_support/mod.rs"]
mod frontend_support;

/// The ELF files the reader seeds are built from.
#[path = "../../compiler/tests/elf_fixture/mod.rs"]
mod elf_fixture;

/// The readers and their seeds, shared with `fuzz_readers`.
#[path = "../../compiler/tests/readers/mod.rs"]
#[allow(dead_code)]
mod readers;

/// A reader under test (the shape `readers` fills).
pub struct Target {
    pub name: &'static str,
    pub seeds: Vec<Vec<u8>>,
    #[allow(dead_code)]
    pub per_byte: usize,
    pub read: fn(&[u8]),
}

fn reader(name: &str) -> Option<Target> {
    Some(match name {
        "btf" => readers::btf(),
        "elf_module" => readers::elf_module(),
        "program" => readers::program(),
        "dwarf_index" => readers::dwarf_index(),
        "kernel_image" => readers::kernel_image(),
        "deb_tar" => readers::deb_tar(),
        "rpm" => readers::rpm(),
        "text" => readers::text(),
        _ => return None,
    })
}

/// The script target's seeds: the parser fixtures and the QEMU suite.
fn script_seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seeds = Vec::new();
    for dir in [
        "compiler/tests/data/parse/ok",
        "compiler/tests/data/parse/err",
        "compiler/tests/data/scripts",
        "tests/scripts",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "stp"))
            .collect();
        files.sort();
        seeds.extend(files.iter().filter_map(|p| std::fs::read(p).ok()));
    }
    seeds
}

enum Selected {
    Script,
    Reader(fn(&[u8])),
}

fn selected() -> &'static Selected {
    static SELECTED: OnceLock<Selected> = OnceLock::new();
    SELECTED.get_or_init(|| {
        let name = std::env::var("STAPKIT_FUZZ_TARGET").unwrap_or_default();
        let (selected, seeds) = if name == "script" {
            // The tapset library, parsed here once rather than for each
            // input (it is the same for every one).
            let start = std::time::Instant::now();
            frontend_support::FrontEnd::shared();
            eprintln!(
                "stapkit-fuzz: tapset library parsed in {} ms",
                start.elapsed().as_millis()
            );
            (Selected::Script, script_seeds())
        } else if let Some(t) = reader(&name) {
            (Selected::Reader(t.read), t.seeds)
        } else {
            eprintln!(
                "stapkit-fuzz: STAPKIT_FUZZ_TARGET must be one of {} (it is '{name}')",
                TARGETS.join(", ")
            );
            std::process::exit(2);
        };
        if let Ok(dir) = std::env::var("STAPKIT_FUZZ_SEEDS") {
            std::fs::create_dir_all(&dir).expect("the seed directory");
            for (i, seed) in seeds.iter().enumerate() {
                std::fs::write(Path::new(&dir).join(format!("seed-{i:04}")), seed)
                    .expect("a seed file");
            }
            eprintln!("stapkit-fuzz: {} seeds of {name} in {dir}", seeds.len());
            std::process::exit(0);
        }
        selected
    })
}

/// The front end on one script, with the invariants `fuzz_frontend` holds
/// (the same check, on the tapset library parsed once per process): a
/// broken one is a finding.
fn script(bytes: &[u8]) {
    if let Err(e) = frontend_support::check_front_end(bytes, &[]) {
        panic!("{e}");
    }
}

fuzz_target!(init: { selected(); }, |data: &[u8]| {
    match selected() {
        Selected::Script => script(data),
        Selected::Reader(read) => read(data),
    }
});
