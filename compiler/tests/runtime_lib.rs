//! The C data library of the runtime (`runtime-c/lib`), tested in user space.
//!
//! Each program in `runtime-c/test/` is compiled with the host gcc under
//! kernel-like strictness (`-Werror`, no mixed declarations, no VLAs, frame
//! size limit) plus AddressSanitizer and UndefinedBehaviorSanitizer, run, and
//! its stdout snapshotted.  A program exits non-zero when any of its checks
//! fails - most of them compare with SystemTap's recorded output - so a
//! regression fails here even before the snapshot comparison.
//!
//! A second test compiles every library file in the dialect of the oldest
//! kernel we target (5.10: gnu89, `-Wdeclaration-after-statement`) with the
//! 256-byte stack-frame budget.

use std::path::{Path, PathBuf};
use std::process::Command;

fn runtime_c() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime-c")
}

/// Every `.c` file of the library, in a stable order.
fn lib_sources() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(runtime_c().join("lib"))
        .expect("runtime-c/lib exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no C sources in runtime-c/lib");
    files
}

const TEST_CFLAGS: &[&str] = &[
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wdeclaration-after-statement",
    "-Wvla",
    "-Wframe-larger-than=1024",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-O0",
    "-g",
];

/// Compiles `runtime-c/test/<program>.c` with the library, runs it and
/// returns its stdout; panics with the program's output if anything fails.
fn build_and_run(program: &str) -> String {
    build_and_run_with(program, &[])
}

/// As [`build_and_run`], with extra headers (name, text) the program can
/// `#include`.
fn build_and_run_with(program: &str, headers: &[(&str, String)]) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (name, text) in headers {
        std::fs::write(dir.path().join(name), text).expect("write generated header");
    }
    let exe = dir.path().join(program);
    let test_dir = runtime_c().join("test");
    let compile = Command::new("gcc")
        .args(TEST_CFLAGS)
        .arg("-I")
        .arg(dir.path())
        .arg(test_dir.join(format!("{program}.c")))
        .args(lib_sources())
        .arg("-lm")
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("gcc runs (the host C compiler is required)");
    assert!(
        compile.status.success(),
        "gcc failed for {program}:\n{}",
        String::from_utf8_lossy(&compile.stderr)
    );
    let run = Command::new(&exe)
        .arg(test_dir.join("data"))
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .output()
        .expect("test program runs");
    let stdout = String::from_utf8(run.stdout).expect("test output is UTF-8");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success() && stderr.is_empty(),
        "{program} failed ({}):\n{stdout}\n{stderr}",
        run.status
    );
    stdout
}

#[test]
fn format() {
    insta::assert_snapshot!("format", build_and_run("test_format"));
}

#[test]
fn map() {
    insta::assert_snapshot!("map", build_and_run("test_map"));
}

#[test]
fn stat() {
    insta::assert_snapshot!("stat", build_and_run("test_stat"));
}

#[test]
fn softfp() {
    insta::assert_snapshot!("softfp", build_and_run("test_softfp"));
}

#[test]
fn str() {
    insta::assert_snapshot!("str", build_and_run("test_str"));
}

#[test]
fn quote() {
    insta::assert_snapshot!("quote", build_and_run("test_quote"));
}

/// The patterns `runtime-c/test/test_regex.c` uses.
const TEST_PATTERNS: &[&[u8]] = &[
    b"abc",
    b"",
    b"^ab",
    b"bc$",
    b"^$",
    b"(^|/)etc",
    b"^a{2,3}$",
    b"^(cat|dog)s?$",
    b"^[[:alpha:]_][[:alnum:]_]*$",
    b"^[^/]+$",
    b"^[]a-]+$",
    b"\\.so(\\.[0-9]+)*$",
    b"\xe9",
    b"[\x80-\xff]",
    b"b+",
    b"a|ab",
    b"x*",
    b"c$",
    b"z",
    b"[0-9]+",
    b"a$",
    b"^ab|a",
    b"str(ing)",
    b"a|(b)",
    b"(a*)(a)",
    b"(ab)+",
    b"^([a-z]+)=(.*)$",
    b"(q)?z",
    b"(a|ab)(c|bcd)(d*)",
    b"((a)|b)+",
    b"x(y)",
    b"a{200}",
];

/// `regex_tables.h` for test_regex.c: each pattern compiled by the
/// translator and written as codegen writes it into a module.
fn regex_tables_header() -> String {
    use stapkit::codegen::regex::{anchored_name, program_name, regex_tables, search_name};
    use stapkit::ir::RegexId;
    let mut out = String::new();
    let mut entries = String::new();
    for (i, pattern) in TEST_PATTERNS.iter().enumerate() {
        let dfa = stapkit::sema::regex::compile(pattern)
            .unwrap_or_else(|e| panic!("{}: {e:?}", pattern.escape_ascii()));
        let id = RegexId(i as u32);
        out.push_str(&regex_tables(id, &dfa, true));
        let literal: String = pattern.iter().map(|b| format!("\\{b:03o}")).collect();
        let program = match &dfa.program {
            Some(_) => format!("&{}", program_name(id)),
            None => "NULL".to_string(),
        };
        entries.push_str(&format!(
            "\t{{ \"{literal}\", &{}, &{}, {program} }},\n",
            search_name(id),
            anchored_name(id)
        ));
    }
    out.push_str(
        "struct test_regex {\n\tconst char *pattern;\n\tconst struct stp_regex *search;\n\
         \tconst struct stp_regex *anchored;\n\tconst struct stp_regex_prog *prog;\n};\n",
    );
    out.push_str("static const struct test_regex test_regexes[] = {\n");
    out.push_str(&entries);
    out.push_str("};\n");
    out
}

#[test]
fn regex() {
    insta::assert_snapshot!(
        "regex",
        build_and_run_with("test_regex", &[("regex_tables.h", regex_tables_header())])
    );
}

#[test]
fn lib_compiles_in_kernel_5_10_dialect() {
    for source in lib_sources() {
        let out = Command::new("gcc")
            .args([
                "-std=gnu89",
                "-O2",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-Wdeclaration-after-statement",
                "-Wvla",
                "-Wframe-larger-than=256",
                "-Wmissing-prototypes",
                "-Wstrict-prototypes",
                "-fno-strict-overflow",
                "-c",
                "-o",
                "/dev/null",
            ])
            .arg(&source)
            .output()
            .expect("gcc runs");
        assert!(
            out.status.success(),
            "{} does not compile as gnu89 kernel-style C:\n{}",
            source.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
