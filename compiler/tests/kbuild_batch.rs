//! One kbuild run for many modules (`kernel::kbuild_batch`, what
//! stap-matrix builds a kernel's cases with) against the fetched Debian
//! 6.1 amd64 tree: every module that compiles is built, loads on the tree
//! as `stap -p4`'s would, and a module whose C fails fails alone with the
//! compiler message its single build gives.
//!
//! The kernel comes from the stapkit cache (`cargo xtask test` fetches it
//! with the others of `ci/matrix.yaml`); a missing kernel is a failure,
//! not a skip.

use clap::Parser;
use stapkit::driver::{BuildJob, Pipeline, StapOptions};
use stapkit::kernel::kbuild;
use stapkit::kernel::kbuild_batch::{build_batch, BatchRequest};

const KERNEL: &str = "debian-6.1-amd64";

/// Pass 4's job for `script`, as `stap -p4 -r KERNEL -e SCRIPT` makes it.
fn job(script: &str) -> (Pipeline, BuildJob) {
    let options = StapOptions::try_parse_from(["stap", "-p4", "-r", KERNEL, "-e", script])
        .expect("stap's flags")
        .options()
        .unwrap_or_else(|f| panic!("{}", f.message));
    let mut p = Pipeline::new(options).unwrap_or_else(|f| panic!("{}", f.message));
    let ast = p.parse().unwrap_or_else(|f| panic!("{}", f.message));
    let program = p
        .elaborate(&ast)
        .unwrap_or_else(|f| panic!("{}", f.message));
    let c = p
        .translate(&program)
        .unwrap_or_else(|f| panic!("{}", f.message));
    let job = p
        .build_job(&c)
        .unwrap_or_else(|f| panic!("{}\nfetch it first: stap-prep fetch {KERNEL}", f.message));
    (p, job)
}

#[test]
fn a_batch_builds_each_module_as_alone_and_a_broken_one_fails_alone() {
    let (mut p1, one) = job("probe begin { println(\"one\") exit() }");
    let (mut p2, two) = job("global n probe begin { n++ printf(\"%d\\n\", n) exit() }");
    let (_p3, mut broken) = job("probe begin { println(\"three\") exit() }");
    // With the runtime object linked in, the script's C is NAME_src.c.
    let main = format!("{}_src.c", broken.module.module);
    let c = broken
        .module
        .files
        .iter_mut()
        .find(|(f, _)| f.to_string_lossy() == main)
        .expect("the module's C");
    c.1.push_str("\nint stapkit_batch_test = not_declared_anywhere;\n");
    let work = tempfile::tempdir().expect("a temporary directory");
    let request = BatchRequest {
        tree: &one.tree,
        toolchain: &one.toolchain,
        dir: work.path().join("kbuild"),
        modules: vec![
            one.module.clone(),
            broken.module.clone(),
            two.module.clone(),
        ],
        make_vars: one.make_vars.clone(),
        jobs: 2,
        try_run_cache: one.try_run_cache.clone(),
        verbose: false,
    };
    let outcome = build_batch(&request);
    let mut results = outcome.results.into_iter();
    let (r1, r3, r2) = (
        results.next().unwrap(),
        results.next().unwrap(),
        results.next().unwrap(),
    );
    for (p, job, r) in [(&mut p1, &one, r1), (&mut p2, &two, r2)] {
        let built = r.unwrap_or_else(|e| panic!("{} did not build: {e}", job.module.module));
        let name = &job.module.module;
        assert!(
            built.ko.ends_with(format!("{name}/{name}.ko")),
            "{}",
            built.ko.display()
        );
        // Built from the files and with the flags of its single build.
        let dir = built.dir.path().to_path_buf();
        assert_eq!(
            std::fs::read_to_string(dir.join("Kbuild")).unwrap(),
            kbuild::kbuild_file(
                name,
                &job.module.cflags,
                &job.module
                    .objects
                    .iter()
                    .map(|o| o.file_name().unwrap().to_string_lossy().into_owned())
                    .collect::<Vec<_>>(),
                job.module.pch.as_deref()
            )
        );
        for (rel, text) in &job.module.files {
            assert_eq!(
                &std::fs::read_to_string(dir.join(rel)).unwrap(),
                text,
                "{}",
                rel.display()
            );
        }
        p.check_built(built)
            .unwrap_or_else(|f| panic!("{name} would not load: {}", f.message));
    }
    let error = match r3 {
        Ok(_) => panic!("the broken module built"),
        Err(e) => e.to_string(),
    };
    let name = &broken.module.module;
    assert!(
        error.contains(&format!("\n{name}_src.c:"))
            && error.contains("not_declared_anywhere")
            && error.contains("undeclared")
            && !error.contains(&format!("{name}/{name}_src.c")),
        "not the single build's message:\n{error}"
    );
    // The batch, a second run linking the two, and the broken one alone.
    assert_eq!(outcome.make_runs, 3);
}

/// Kbuild's compiler tests answered from the tree's cache
/// (`kernel::kbuild_tryrun`) change nothing: on every CI kernel, a bare
/// module built in the same directory plainly, while recording the
/// answers, and from them is the same file byte for byte; and the
/// answers in the file are the ones a build uses: a macro nothing reads,
/// added to every `-f` answer in the file, shows in the compile command.
/// (Every answer, not the first: on 5.10 the first `-f` answer recorded
/// is `CFLAGS_GCOV`'s `-fno-tree-loop-im`, which only coverage builds use.)
#[test]
fn compiler_tests_from_the_cache_leave_the_module_byte_identical() {
    use stapkit::kernel::cache::Cache;
    use stapkit::kernel::kbuild_tryrun::TryRun;
    use stapkit::kernel::{toolchain, Catalog, HeaderTree};

    const BARE: &str = "#include <linux/module.h>\n\
        static int __init bare_init(void) { pr_info(\"bare\\n\"); return 0; }\n\
        static void __exit bare_exit(void) {}\n\
        module_init(bare_init);\nmodule_exit(bare_exit);\n\
        MODULE_LICENSE(\"GPL\");\nMODULE_DESCRIPTION(\"try-run cache check\");\n";
    let cache = Cache::locate(None);
    let catalog = Catalog::load().expect("the kernel catalog");
    for kernel in [
        "debian-5.10-amd64",
        "debian-6.1-amd64",
        "debian-6.12-amd64",
        "debian-7.2-amd64",
        "debian-6.1-arm64",
        "debian-6.12-arm64",
    ] {
        let tree = HeaderTree::resolve(Some(kernel), &cache, &catalog)
            .unwrap_or_else(|e| panic!("{kernel}: {e}\nfetch it first: stap-prep fetch {kernel}"));
        let tc = toolchain::select(&tree, &cache, &catalog).unwrap_or_else(|e| panic!("{e}"));
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("build");
        let answers = work.path().join("try-run.mk");
        // One build in a fresh `dir`: the module, and make's log.
        let build = |try_run: bool| -> (Vec<u8>, String) {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("bare.c"), BARE).unwrap();
            std::fs::write(dir.join("Kbuild"), "obj-m := bare.o\n").unwrap();
            let mut make = kbuild::modules_command(&tree, &tc, &dir, &[], &[], false);
            let t = try_run.then(|| TryRun::prepare(&answers, &dir, &mut make).unwrap());
            let out = make.output().expect("runs make");
            let log = kbuild::make_log(&out);
            assert!(out.status.success(), "{kernel}:\n{log}");
            t.into_iter().for_each(TryRun::finish);
            (std::fs::read(dir.join("bare.ko")).unwrap(), log)
        };
        let (plain, _) = build(false);
        let (recorded, _) = build(true);
        let written = std::fs::read_to_string(&answers).expect("the answers were recorded");
        let (replayed, _) = build(true);
        assert!(plain == recorded, "{kernel}: recording changed the module");
        assert!(
            plain == replayed,
            "{kernel}: the cached answers changed the module"
        );
        assert!(written.lines().count() >= 10, "{kernel}: {written}");
        let marked = written.replace(
            " := $(stp-empty)-f",
            " := $(stp-empty)-DSTP_TRY_RUN_CACHED -f",
        );
        assert_ne!(marked, written, "{kernel}: no -f answer in {written}");
        std::fs::write(&answers, marked).unwrap();
        let (_, log) = build(true);
        let cmd = std::fs::read_to_string(dir.join(".bare.o.cmd")).unwrap();
        assert!(
            cmd.contains("-DSTP_TRY_RUN_CACHED"),
            "{kernel}: no changed answer reached the compile command:\n{cmd}\n{log}"
        );
    }
}
