//! Compiles the C sources of the guests (`c/*.c`) for the target with the
//! `cc` crate, which knows each target's C compiler
//! (`aarch64-linux-gnu-gcc` for arm64): the workload's SDT markers
//! (`<sys/sdt.h>` from Debian's systemtap-sdt-dev) and the programs of
//! this package whose `main` is C (`c/ustack.c`).
//!
//! The SDT header is architecture-independent but Debian installs it in
//! the host's multiarch directory, so it is copied into an include
//! directory of its own that a cross compiler can be given.

use std::path::{Path, PathBuf};

fn main() {
    gnu_ld();
    sdt_markers();
    ustack();
}

/// Links the package's programs with GNU ld, as the guests' C test
/// programs are (`tests/programs/`), instead of the LLVM linker that rustc
/// uses by default for x86-64 Linux. lld lays a static PIE out with its
/// text at a virtual address one page past its file offset, and
/// SystemTap 5.1 then reads the running program's build-id from the wrong
/// address (`WARNING: Build-id mismatch [man warning::buildid]`) and
/// places none of its uprobes; it also drops the `.stapsdt.base` section
/// the SDT markers' notes refer to. GNU ld keeps each segment's address
/// equal to its offset (docs/oracle/FINDINGS.md, "Build-id of the
/// workload's uprobes").
fn gnu_ld() {
    println!("cargo:rustc-link-arg-bins=-fuse-ld=bfd");
}

/// `c/sdt_markers.c` and `c/sdt_guarded.c`, linked into `stapkit-workload`.
fn sdt_markers() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let include = out.join("include");
    let sys = include.join("sys");
    std::fs::create_dir_all(&sys).expect("creating OUT_DIR/include/sys");
    let header = find_sdt_header().unwrap_or_else(|| {
        panic!("<sys/sdt.h> is missing: apt-get install systemtap-sdt-dev (cargo xtask setup installs it)")
    });
    let dir = header.parent().expect("a directory");
    for name in ["sdt.h", "sdt-config.h"] {
        let from = dir.join(name);
        if from.exists() {
            std::fs::copy(&from, sys.join(name))
                .unwrap_or_else(|e| panic!("copying {}: {e}", from.display()));
        }
        println!("cargo:rerun-if-changed={}", from.display());
    }
    println!("cargo:rerun-if-changed=c/sdt_markers.c");
    println!("cargo:rerun-if-changed=c/sdt_guarded.c");
    cc::Build::new()
        .file("c/sdt_markers.c")
        .file("c/sdt_guarded.c")
        .include(&include)
        .opt_level(0)
        .debug(false)
        .warnings(true)
        .compile("stapkit_sdt");
}

/// `c/ustack.c`, the `main` of `stapkit-ustack`.
fn ustack() {
    println!("cargo:rerun-if-changed=c/ustack.c");
    // Call-frame information only: the user-stack tests must unwind
    // without frame pointers.
    cc::Build::new()
        .file("c/ustack.c")
        .opt_level(2)
        .debug(false)
        .flag("-fomit-frame-pointer")
        .flag("-fasynchronous-unwind-tables")
        .compile("stapkit_ustack");
}

/// `sys/sdt.h` in `/usr/include` or one of its multiarch directories.
fn find_sdt_header() -> Option<PathBuf> {
    let plain = Path::new("/usr/include/sys/sdt.h");
    if plain.exists() {
        return Some(plain.to_path_buf());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/include")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("sys/sdt.h"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.into_iter().next()
}
