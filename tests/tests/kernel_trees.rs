//! The kernel side against the real Debian trees of `ci/matrix.yaml`
//! (fetched, with their toolchains, by `cargo xtask test`): feature probe
//! results per kernel, compat.h's shims against each tree, and a module
//! built for one tree refused for another. No module is loaded here.

use std::path::{Path, PathBuf};

use clap::Parser;
use stapkit::driver::{Pipeline, StapOptions};
use stapkit::kernel::{features, modcheck, toolchain, Cache, Catalog, HeaderTree};

/// The kernels CI covers, from `ci/matrix.yaml` (`kernels:` then `- NAME` lines).
fn ci_kernels() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/matrix.yaml");
    let text = std::fs::read_to_string(&path).expect("ci/matrix.yaml");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|k| k.trim().to_string())
        .collect()
}

fn tree(kernel: &str) -> HeaderTree {
    let cache = Cache::locate(None);
    let state = cache.state(kernel).unwrap().unwrap_or_else(|| {
        panic!("{kernel} is not fetched; run the suite with `cargo xtask test`")
    });
    HeaderTree::from_fetched(state).unwrap()
}

fn toolchain_for(tree: &HeaderTree) -> toolchain::Toolchain {
    toolchain::select(tree, &Cache::locate(None), &Catalog::load().unwrap())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn feature_probe_results_per_kernel() {
    let cache = Cache::locate(None);
    for kernel in ci_kernels() {
        let tree = tree(&kernel);
        let found = features::detect(&tree, &toolchain_for(&tree), &cache)
            .unwrap_or_else(|e| panic!("{e}"));
        let table: String = found
            .results
            .iter()
            .map(|(name, present)| format!("{} {name}\n", if *present { "yes" } else { "no " }))
            .collect();
        // Exactly one get_user_pages_remote shape on every kernel.
        let shapes = [
            "STP_HAVE_GUP_REMOTE_TASK",
            "STP_HAVE_GUP_REMOTE_VMAS",
            "STP_HAVE_GUP_REMOTE_NOVMAS",
        ];
        assert_eq!(
            shapes.iter().filter(|s| found.has(s)).count(),
            1,
            "{kernel}:\n{table}"
        );
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("features_{kernel}"), table);
        });
    }
}

#[test]
fn compat_shims_compile_against_every_kernel() {
    let cache = Cache::locate(None);
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../compiler/tests/data/kernel-fixtures");
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../runtime-c")
        .canonicalize()
        .unwrap();
    for kernel in ci_kernels() {
        let tree = tree(&kernel);
        let tc = toolchain_for(&tree);
        let found = features::detect(&tree, &tc, &cache).unwrap();
        let build = tempfile::tempdir().unwrap();
        std::fs::write(build.path().join("stp_features.h"), &found.header).unwrap();
        std::fs::copy(
            fixtures.join("compat_check.c"),
            build.path().join("compat_check.c"),
        )
        .unwrap();
        std::fs::write(
            build.path().join("Kbuild"),
            format!(
                "obj-m := compat_check.o\nccflags-y += -Werror -I$(src) -I{}\n",
                runtime.display()
            ),
        )
        .unwrap();
        let out = tc
            .command("make")
            .arg("-C")
            .arg(&tree.dir)
            .arg(format!("M={}", build.path().display()))
            .args(tree.make_vars())
            .arg("compat_check.o")
            .output()
            .unwrap();
        assert!(
            build.path().join("compat_check.o").is_file(),
            "compat_check.c does not compile against {kernel}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Builds a one-line script for `kernel` and returns the `.ko`, kept in `dir`.
fn build_hello(kernel: &str, dir: &Path) -> PathBuf {
    let options = StapOptions::try_parse_from([
        "stap",
        "-p4",
        "-m",
        "cross_check",
        "-r",
        kernel,
        "-e",
        "probe begin { println(\"hello\") exit() }",
    ])
    .unwrap();
    let options = options
        .options()
        .unwrap_or_else(|f| panic!("{}", f.message));
    let mut p = Pipeline::new(options).unwrap_or_else(|f| panic!("{}", f.message));
    let ast = p.parse().unwrap();
    let program = p.elaborate(&ast).unwrap();
    let c = p.translate(&program).unwrap();
    let built = p.build(&c).unwrap_or_else(|f| panic!("{}", f.message));
    stapkit::driver::deliver(&built, "cross_check", dir).unwrap()
}

#[test]
fn a_module_built_for_one_kernel_is_refused_by_the_others() {
    let kernels = ci_kernels();
    let dir = tempfile::tempdir().unwrap();
    let first = &kernels[0];
    let ko = build_hello(first, dir.path());
    assert!(
        modcheck::check(&ko, &tree(first)).is_ok(),
        "{first} refuses its own module"
    );
    for other in kernels.iter().filter(|k| *k != first) {
        let other_tree = tree(other);
        let failures = modcheck::check(&ko, &other_tree).expect_err(other);
        assert!(
            failures
                .iter()
                .any(|f| matches!(f, modcheck::CheckFailure::Vermagic { .. })),
            "{other}: {failures:?}"
        );
        if other_tree.arch != tree(first).arch {
            assert!(
                failures
                    .iter()
                    .any(|f| matches!(f, modcheck::CheckFailure::WrongArch { .. })),
                "{other} is {}, the module is not: {failures:?}",
                other_tree.arch
            );
        }
        if other_tree.enabled("CONFIG_MODVERSIONS") {
            assert!(
                failures
                    .iter()
                    .any(|f| matches!(f, modcheck::CheckFailure::Crc { .. })),
                "{other} has MODVERSIONS, so symbol CRCs differ too: {failures:?}"
            );
        }
        // stap --check-module says the same, naming the fix.
        let options = StapOptions::try_parse_from([
            "stap",
            "--check-module",
            ko.to_str().unwrap(),
            "-r",
            other,
        ])
        .unwrap();
        let options = options
            .check_module_options()
            .unwrap_or_else(|f| panic!("{}", f.message));
        let (text, ok) = stapkit::driver::check_module(&options, &ko);
        assert!(!ok);
        assert!(text.contains("'Invalid module format'"), "{text}");
        assert!(text.contains("rebuild it with -r"), "{text}");
    }
}
