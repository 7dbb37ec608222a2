//! Cross-translation for the Debian 6.1 arm64 kernel on this (x86-64)
//! machine: function arguments and return values in the generated C are
//! read from AArch64's `struct pt_regs` (`regs[0]`…`regs[7]`), never from
//! x86-64's (`di`, `si`, `ax`…), and the script's `%( arch %)` sees arm64.
//!
//! The kernel comes from the stapkit cache (`cargo xtask test` fetches it
//! with the others of `ci/matrix.yaml`); a missing kernel is a failure,
//! not a skip.

use std::sync::Arc;

use stapkit::codegen;
use stapkit::debuginfo::{KernelFiles, KernelInfo};
use stapkit::diag::{render_all, SourceMap};
use stapkit::kernel::{Cache, Catalog, HeaderTree};
use stapkit::sema;
use stapkit::syntax::PreprocessConfig;

const KERNEL: &str = "debian-6.1-arm64";

/// The C generated for `script` against the fetched arm64 kernel, as `stap
/// -a arm64 -r debian-6.1-arm64 -p3` writes it (BTF only, no `-dbg`).
fn translate(script: &str) -> String {
    let catalog = Catalog::load().expect("kernel manifests");
    let tree = HeaderTree::resolve(Some(KERNEL), &Cache::locate(None), &catalog)
        .unwrap_or_else(|e| panic!("{e}\nfetch it first: stap-prep fetch {KERNEL}"));
    assert_eq!(tree.arch, stapkit::arch::Arch::Arm64);
    let files = KernelFiles::from_tree(&tree);
    let kernel = Arc::new(KernelInfo::new(files.without_debug()));
    let mut map = SourceMap::new();
    let file = map.add("args.stp".to_string(), script.to_string());
    let preprocess = PreprocessConfig::for_kernel(&tree.release, tree.arch.name());
    let parsed = stapkit::syntax::parse(&map, file, &preprocess);
    assert!(
        !parsed.has_errors(),
        "{}",
        render_all(&map, &parsed.diagnostics)
    );
    let config = sema::Config {
        preprocess,
        kernel: Some(kernel),
        ..Default::default()
    };
    let analysis = sema::analyze(&mut map, &parsed.script, &config);
    let program = analysis
        .program
        .unwrap_or_else(|| panic!("{}", render_all(&map, &analysis.diagnostics)));
    codegen::generate(
        &program,
        &codegen::Config {
            module_name: "args".to_string(),
            script_name: "args.stp".to_string(),
        },
    )
}

/// The `c->regs->MEMBER` reads of `c`, in order of appearance.
fn register_reads(c: &str) -> Vec<&str> {
    c.match_indices("c->regs->")
        .map(|(at, m)| {
            let rest = &c[at + m.len()..];
            let end = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || "_[]".contains(ch)))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn function_arguments_and_return_values_come_from_aarch64_registers() {
    // vfs_read(struct file *file, char *buf, size_t count, loff_t *pos):
    // file is x0, count x2, pos x3. At vfs_write's entry $count (x2) is
    // saved for its .return probe, where the return value is x0.
    let c = translate(
        r#"
probe kernel.function("vfs_read") {
    printf("%d %d %d\n", $count, $file->f_flags, $pos != 0)
}
probe kernel.function("vfs_write").return {
    printf("%d %d\n", $return, $count)
}
probe begin {
    printf("%s\n", %( arch == "arm64" %? "arm64" %: "other" %))
}
"#,
    );
    let reads = register_reads(&c);
    assert_eq!(
        reads,
        ["regs[2]", "regs[0]", "regs[3]", "regs[2]", "regs[0]"],
        "register reads in the generated C:\n{c}"
    );
    assert!(c.contains("\"arm64\""), "{c}");
    for x86 in ["regs->di", "regs->si", "regs->dx", "regs->cx", "regs->ax"] {
        assert!(!c.contains(x86), "x86-64 register {x86} in arm64 C");
    }
}
