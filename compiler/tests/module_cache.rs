//! The module cache (`stapkit::modcache`) end to end, with `stap` itself
//! against the fetched Debian 6.1 amd64 tree: the second `stap -p4` of a
//! script takes the module from the cache (`-v`: `Pass 4: using cached
//! ...`) and delivers a `NAME.ko` byte for byte the first one;
//! `--disable-cache` and `--poison-cache` rebuild; a cached module that
//! fails its check against the tree is dropped and rebuilt. Without
//! `-v`, the script key finds the module before pass 1.
//!
//! The kernel comes from the stapkit cache (`cargo xtask test` fetches it
//! with the others of `ci/matrix.yaml`); a missing kernel is a failure,
//! not a skip. The cache is the shared one (it holds the kernels): the
//! script carries a nonce so the first build is a miss, and the test
//! removes its entry at the end.

use std::path::{Path, PathBuf};
use std::process::Command;

const KERNEL: &str = "debian-6.1-amd64";

/// `stap -v -p4 -r KERNEL -m modcache_test -e SCRIPT EXTRA...` in `dir`:
/// its stderr, after checking it succeeded and printed `NAME.ko`.
fn stap_p4(dir: &Path, script: &str, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stap"))
        .args([
            "-v",
            "-p4",
            "-r",
            KERNEL,
            "-m",
            "modcache_test",
            "-e",
            script,
        ])
        .args(extra)
        .current_dir(dir)
        .output()
        .expect("runs stap");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "stap {extra:?} failed (fetch the kernel first: stap-prep fetch {KERNEL}):\n{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "modcache_test.ko\n");
    stderr
}

/// The cache entry a `-v` run says it used, if it used one.
fn cached(stderr: &str) -> Option<PathBuf> {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("Pass 4: using cached "))
        .map(PathBuf::from)
}

fn compiled(stderr: &str) -> bool {
    stderr
        .lines()
        .any(|l| l.starts_with("Pass 4: compiled C into \"modcache_test.ko\" in "))
}

/// A text no earlier run used (this process and the time), so a script
/// that prints it is built for the first time.
fn nonce() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[test]
fn a_repeated_build_is_a_checked_cache_hit_and_the_switches_rebuild() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let ko = work.path().join("modcache_test.ko");
    let nonce = nonce();
    let script = format!("probe begin {{ println(\"modcache {nonce}\") exit() }}");

    let first = stap_p4(work.path(), &script, &[]);
    assert!(compiled(&first) && cached(&first).is_none(), "{first}");
    let built = std::fs::read(&ko).expect("the first build's module");

    std::fs::remove_file(&ko).unwrap();
    let second = stap_p4(work.path(), &script, &[]);
    let entry = cached(&second).unwrap_or_else(|| panic!("not a cache hit:\n{second}"));
    assert!(!compiled(&second), "{second}");
    assert!(
        entry.parent().is_some_and(|d| d.ends_with("modules")) && entry.is_file(),
        "{}",
        entry.display()
    );
    assert_eq!(
        std::fs::read(&ko).expect("the cached module, delivered"),
        built,
        "the cached module differs from the built one"
    );

    for switch in ["--disable-cache", "--poison-cache"] {
        let again = stap_p4(work.path(), &script, &[switch]);
        assert!(
            compiled(&again) && cached(&again).is_none(),
            "{switch}:\n{again}"
        );
    }
    // --poison-cache stored its new module: a plain run hits again.
    assert!(cached(&stap_p4(work.path(), &script, &[])).is_some());

    // An entry that no longer passes the module check is not delivered:
    // it is rebuilt, and the rebuilt module is cached in its place.
    std::fs::write(&entry, b"not a module").unwrap();
    let checked = stap_p4(work.path(), &script, &[]);
    assert!(compiled(&checked), "{checked}");
    assert_ne!(std::fs::read(&ko).unwrap(), b"not a module");
    assert_ne!(std::fs::read(&entry).unwrap(), b"not a module");

    std::fs::remove_file(&entry).expect("removes the test's cache entry");
}

/// `stap ARGS` (no `-v`) in `dir`: stdout and stderr, after checking it
/// succeeded.
fn stap_quiet(dir: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stap"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs stap");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "stap {args:?} failed:\n{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// The script entries (`CACHE/modules/scripts/`) whose text has `needle`.
fn script_entries(needle: &str) -> Vec<PathBuf> {
    let dir = stapkit::kernel::Cache::locate(None)
        .modules_dir()
        .join("scripts");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains(needle)));
    out
}

/// The script key (`stapkit::modcache::script`): after a build, the same
/// script, options and tree find the module before pass 1, and the hit
/// prints the warnings the passes printed, as its entry recorded them (a
/// mark written into the entry shows the passes did not run); a change
/// to the script, an option, the module name or a `-I` tapset misses.
#[test]
fn the_script_key_finds_the_module_before_pass_1() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let tapsets = work.path().join("tapsets");
    std::fs::create_dir_all(&tapsets).unwrap();
    std::fs::write(tapsets.join("t.stp"), "function t() { return 1 }\n").unwrap();
    let script = work.path().join("script.stp");
    let nonce = nonce();
    // `x` is never assigned: pass 2 warns, with the line (and the nonce).
    let text = format!("probe begin {{ println(\"script key {nonce}\", x + 0) exit() }}\n");
    std::fs::write(&script, &text).unwrap();
    let tapset_dir = tapsets.display().to_string();
    let script_path = script.display().to_string();
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["-p4", "-r", KERNEL, "-m", "scriptkey_test", "-I"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.push(tapset_dir.clone());
        v.extend(extra.iter().map(|s| s.to_string()));
        v.push(script_path.clone());
        v
    };
    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let base = args(&[]);
    let ko = work.path().join("scriptkey_test.ko");

    let (stdout, first) = stap_quiet(work.path(), &refs(&base));
    assert_eq!(stdout, "scriptkey_test.ko\n");
    let warning = "WARNING: never-assigned local variable 'x'";
    assert!(first.contains(warning), "{first}");
    let built = std::fs::read(&ko).expect("the module");

    // The entry, marked: a run that prints the mark took the module from
    // it without running pass 2.
    let entries = script_entries(&nonce);
    assert_eq!(entries.len(), 1, "one script entry: {entries:?}");
    let marked = "WARNING: never-assigned local variable 'x' (from the script entry)";
    let entry_text = std::fs::read_to_string(&entries[0]).unwrap();
    assert!(
        entry_text.contains(&first),
        "the entry records the warnings"
    );
    std::fs::write(&entries[0], entry_text.replace(warning, marked)).unwrap();

    std::fs::remove_file(&ko).unwrap();
    let (stdout, again) = stap_quiet(work.path(), &refs(&base));
    assert_eq!(stdout, "scriptkey_test.ko\n");
    assert_eq!(
        again,
        first.replace(warning, marked),
        "a hit prints the recorded warnings"
    );
    assert_eq!(std::fs::read(&ko).unwrap(), built, "the same module");

    // -v reports the passes, so it runs them (and hits by the module key).
    let verbose = stap_quiet(work.path(), &refs(&args(&["-v"]))).1;
    assert!(
        verbose.contains(warning) && !verbose.contains(marked),
        "{verbose}"
    );
    assert!(cached(&verbose).is_some(), "{verbose}");

    // Each change misses: the passes run and print the real warning.
    let misses = |what: &str, args: &[String]| {
        let (_, stderr) = stap_quiet(work.path(), &refs(args));
        assert!(
            stderr.contains(warning) && !stderr.contains(marked),
            "{what} found the marked entry:\n{stderr}"
        );
    };
    for extra in [&["-DMAXACTION=77"][..], &["-g"], &["-s", "2"]] {
        misses(&format!("{extra:?}"), &args(extra));
    }
    let mut other = base.clone();
    other[4] = "scriptkey_other".into();
    misses("-m", &other);
    std::fs::write(&script, text.replace(" exit()", "  exit()")).unwrap();
    misses("the script's text", &base);
    std::fs::write(&script, &text).unwrap();
    std::fs::write(tapsets.join("t.stp"), "function t() { return 22 }\n").unwrap();
    misses("a -I tapset", &base);

    // Every entry and module the test made goes.
    for entry in script_entries(&nonce) {
        let text = std::fs::read_to_string(&entry).unwrap();
        if let Some(key) = text.lines().find_map(|l| l.strip_prefix("module ")) {
            let ko = entry
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .join(format!("{key}.ko"));
            let _ = std::fs::remove_file(ko);
        }
        std::fs::remove_file(&entry).unwrap();
    }
}

/// Embedded C that leaves a variable unused builds, as SystemTap 5.1
/// builds the published `plimit.stp` (its `static char cur_buf[24]` is
/// never used): the script's C is built without `-Werror=unused-variable`,
/// while any other warning there still fails the build.
#[test]
fn embedded_c_with_an_unused_variable_builds_as_with_systemtap() {
    let work = tempfile::tempdir().unwrap();
    let script = "function f:long () %{ /* pure */ static char unused_buf[24]; long unused_n; STAP_RETVALUE = 1; %} \
                  probe begin { println(f()) exit() }";
    let stderr = stap_p4(work.path(), script, &["-g", "--disable-cache"]);
    assert!(compiled(&stderr), "{stderr}");

    let warned = Command::new(env!("CARGO_BIN_EXE_stap"))
        .args(["-p4", "-r", KERNEL, "-m", "modcache_test", "-g", "--disable-cache", "-e"])
        .arg("function f:long () %{ /* pure */ long v = 1; v + 1; STAP_RETVALUE = v; %} probe begin { println(f()) exit() }")
        .current_dir(work.path())
        .output()
        .expect("runs stap");
    assert!(
        !warned.status.success(),
        "a warning other than an unused variable (here -Wunused-value) still fails the script's build"
    );
    assert!(
        String::from_utf8_lossy(&warned.stderr).contains("unused-value"),
        "{}",
        String::from_utf8_lossy(&warned.stderr)
    );
}
