//! The project's own CI definitions in `ci/` are what `stap-matrix ci`
//! writes (each file's header names the command), and the GitLab one has
//! the structure GitLab requires. (`ci_actionlint` lints the GitHub one.)

mod command_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use command_support::run;
use serde_yaml::{Mapping, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The regenerating command in a definition's header.
fn command(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let line = text
        .lines()
        .take(4)
        .find_map(|l| l.strip_prefix("#   stap-matrix "))
        .unwrap_or_else(|| panic!("{file}: no `#   stap-matrix ...` line in its header"));
    line.split_whitespace().map(str::to_string).collect()
}

/// Runs the header's command with --check: the file is byte for byte
/// what it writes.
fn regenerates(file: &str) {
    let args = command(file);
    assert!(
        args.windows(2).any(|w| w[0] == "--output" && w[1] == file),
        "{file}: its command writes elsewhere: {args:?}"
    );
    // A stale file fails the command, which names it.
    run(Command::new(env!("CARGO_BIN_EXE_stap-matrix"))
        .args(&args)
        .arg("--check")
        .current_dir(root())
        .env_remove("STAPKIT_KERNELS"));
    // And --check does fail on a changed file.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.yml");
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    std::fs::write(
        &copy,
        text.replace("fail-fast", "fail-fast ")
            .replace("stages:", "stages :"),
    )
    .unwrap();
    let mut args = args;
    let at = args.iter().position(|a| a == "--output").unwrap();
    args[at + 1] = copy.display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_stap-matrix"))
        .args(&args)
        .arg("--check")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not what `stap-matrix ci"), "{err}");
}

#[test]
fn github_workflow_is_what_stap_matrix_ci_writes() {
    regenerates("ci/github/workflow.yml");
}

#[test]
fn gitlab_ci_is_what_stap_matrix_ci_writes() {
    regenerates("ci/gitlab-ci.yml");
}

#[test]
fn the_ci_kernels_are_ci_matrix_yaml_s() {
    let matrix: Value =
        serde_yaml::from_str(&std::fs::read_to_string(root().join("ci/matrix.yaml")).unwrap())
            .unwrap();
    let names = |key: &str| -> Vec<String> {
        matrix[key]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    for file in ["ci/github/workflow.yml", "ci/gitlab-ci.yml"] {
        let args = command(file);
        let given = |flag: &str| -> Vec<String> {
            args.windows(2)
                .filter(|w| w[0] == flag)
                .map(|w| w[1].clone())
                .collect()
        };
        assert_eq!(given("--kernel"), names("kernels"), "{file}");
        assert_eq!(given("--debug-kernel"), names("debug_kernels"), "{file}");
    }
}

/// Keywords GitLab reads at the top level rather than as jobs.
const GLOBAL: &[&str] = &[
    "stages",
    "default",
    "variables",
    "workflow",
    "include",
    "image",
    "cache",
];

/// Keywords a GitLab job may have (those this file can use).
const JOB_KEYS: &[&str] = &[
    "stage",
    "extends",
    "script",
    "before_script",
    "after_script",
    "image",
    "variables",
    "parallel",
    "cache",
    "artifacts",
    "needs",
    "when",
    "timeout",
    "rules",
    "tags",
    "allow_failure",
    "dependencies",
    "services",
    "retry",
    "interruptible",
];

fn map<'a>(v: &'a Value, what: &str) -> &'a Mapping {
    v.as_mapping()
        .unwrap_or_else(|| panic!("{what} must be a mapping: {v:?}"))
}

fn strings(v: &Value, what: &str) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("{what} must be a list: {v:?}"))
        .iter()
        .map(|s| match s {
            Value::String(s) => s.clone(),
            other => panic!("{what}: {other:?} must be a string"),
        })
        .collect()
}

/// The job's keyword, its own or through `extends`.
fn get<'a>(top: &'a Mapping, job: &'a Mapping, key: &str) -> Option<&'a Value> {
    if let Some(v) = job.get(key) {
        return Some(v);
    }
    let parent = job.get("extends")?.as_str()?;
    get(top, map(&top[parent], parent), key)
}

#[test]
fn gitlab_ci_has_the_structure_gitlab_requires() {
    let text = std::fs::read_to_string(root().join("ci/gitlab-ci.yml")).unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    let top = map(&doc, "the file");
    let stages: BTreeSet<String> = strings(&doc["stages"], "stages").into_iter().collect();
    let mut jobs = BTreeSet::new();
    for (key, value) in top {
        let key = key.as_str().expect("top-level keys are strings");
        if GLOBAL.contains(&key) {
            continue;
        }
        let job = map(value, key);
        for k in job.keys() {
            let k = k.as_str().unwrap();
            assert!(JOB_KEYS.contains(&k), "{key}: unknown job keyword {k}");
        }
        if let Some(parent) = job.get("extends") {
            let parent = parent.as_str().unwrap();
            assert!(top.contains_key(parent), "{key} extends missing {parent}");
        }
        if key.starts_with('.') {
            continue;
        }
        jobs.insert(key.to_string());
        let script = get(top, job, "script").unwrap_or_else(|| panic!("{key}: no script"));
        assert!(!strings(script, "script").is_empty(), "{key}: empty script");
        let stage = get(top, job, "stage").and_then(Value::as_str).unwrap();
        assert!(
            stages.contains(stage),
            "{key}: stage {stage} is not in stages"
        );
        if let Some(when) = get(top, job, "when") {
            let when = when.as_str().unwrap();
            assert!(
                [
                    "on_success",
                    "on_failure",
                    "always",
                    "manual",
                    "delayed",
                    "never"
                ]
                .contains(&when),
                "{key}: when {when}"
            );
        }
        if let Some(parallel) = get(top, job, "parallel") {
            let matrix = parallel["matrix"]
                .as_sequence()
                .expect("parallel:matrix is a list");
            let mut combinations = 0;
            for entry in matrix {
                let mut n = 1;
                for (var, values) in map(entry, "a parallel:matrix entry") {
                    assert!(var.as_str().is_some_and(|v| !v.is_empty()));
                    n *= match values {
                        Value::String(_) => 1,
                        v => strings(v, "matrix values").len(),
                    };
                }
                combinations += n;
            }
            assert!(
                (1..=200).contains(&combinations),
                "{key}: {combinations} parallel jobs"
            );
        }
        if let Some(cache) = get(top, job, "cache") {
            let files = strings(&cache["key"]["files"], "cache:key:files");
            assert!(
                (1..=2).contains(&files.len()),
                "{key}: cache:key:files takes one or two files"
            );
            assert!(!strings(&cache["paths"], "cache:paths").is_empty());
            for p in strings(&cache["paths"], "cache:paths") {
                assert!(
                    !p.starts_with('/') && !p.starts_with(".."),
                    "{key}: cache paths stay in the project: {p}"
                );
            }
        }
        if let Some(artifacts) = get(top, job, "artifacts") {
            assert!(!strings(&artifacts["paths"], "artifacts:paths").is_empty());
            if let Some(junit) = artifacts.get("reports").and_then(|r| r.get("junit")) {
                assert!(junit.as_str().is_some(), "{key}: artifacts:reports:junit");
            }
        }
    }
    // needs name jobs that exist, in earlier stages.
    let order: Vec<String> = strings(&doc["stages"], "stages");
    for name in &jobs {
        let job = map(&top[name.as_str()], name);
        let Some(needs) = job.get("needs") else {
            continue;
        };
        let stage = get(top, job, "stage").and_then(Value::as_str).unwrap();
        for need in needs.as_sequence().unwrap() {
            let other = need["job"].as_str().or(need.as_str()).unwrap();
            assert!(jobs.contains(other), "{name} needs missing job {other}");
            let other_stage = get(top, map(&top[other], other), "stage")
                .and_then(Value::as_str)
                .unwrap();
            let at = |s: &str| order.iter().position(|x| x == s).unwrap();
            assert!(
                at(other_stage) < at(stage),
                "{name} needs {other} of a later stage"
            );
        }
    }
    // Each kernel x shard makes a job that keeps JUnit, and one job merges.
    let shard_jobs = jobs.iter().filter(|j| j.starts_with("shard ")).count();
    assert_eq!(shard_jobs, 6, "{jobs:?}");
    let report = map(&top["report"], "report");
    let script = strings(&report["script"], "script").join("\n");
    assert!(
        script.contains("stap-matrix report results/*.json --markdown report.md --html report"),
        "{script}"
    );
}

#[test]
fn shards_install_stapkit_and_fetch_at_the_lock_without_xtask() {
    for file in ["ci/github/workflow.yml", "ci/gitlab-ci.yml"] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(!text.contains("xtask"), "{file}: a user's CI has no xtask");
        assert!(
            text.contains("cargo install --locked --quiet --root .stapkit --path compiler"),
            "{file}"
        );
        assert!(
            text.contains(".stapkit/bin/stap-prep fetch --locked --lock kernels/kernels.lock"),
            "{file}"
        );
    }
}

/// `stap-matrix ci ENGINE ARGS...` in the repository; its stdout.
fn written(engine: &str, args: &[&str]) -> String {
    let out = run(Command::new(env!("CARGO_BIN_EXE_stap-matrix"))
        .args(["ci", engine])
        .args(args)
        .current_dir(root())
        .env_remove("STAPKIT_KERNELS"));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn host_install_runs_in_a_prepared_runners_own_shell() {
    let args = [
        "--install",
        "host:/opt/stapkit/",
        "--kernel",
        "debian-6.1-amd64",
        "--shards",
        "3",
    ];
    for engine in ["github", "gitlab"] {
        let text = written(engine, &args);
        // Nothing installed, no container: the runner's machine has it all.
        for absent in [
            "image:",
            "container:",
            "apt-get",
            "cargo install",
            "rustup",
            "pip install",
        ] {
            assert!(!text.contains(absent), "{engine}: {absent}\n{text}");
        }
        for present in [
            "/opt/stapkit/bin/stap-prep fetch --locked --lock kernels/kernels.lock --modules",
            "--staprun \\\"/opt/stapkit/guest-x86_64/bin/staprun\\\"",
            "STAPKIT_VIRT_FW_VARS=\\\"/opt/stapkit/virt-firmware/bin/virt-fw-vars\\\"",
            "/opt/stapkit/bin/stap-matrix report results/*.json",
        ] {
            let present = if engine == "github" {
                present.replace("\\\"", "\"")
            } else {
                present.to_string()
            };
            assert!(text.contains(&present), "{engine}: {present}\n{text}");
        }
    }
    let github = written("github", &args);
    assert_eq!(
        github.matches("runs-on: self-hosted").count(),
        2,
        "{github}"
    );
    // The GitLab definition keeps the structure GitLab requires.
    let gitlab: Value = serde_yaml::from_str(&written("gitlab", &args)).unwrap();
    let top = map(&gitlab, "the definition");
    assert!(!top.contains_key("default"));
    let shard = map(&top["shard debian-6.1-amd64"], "the shard job");
    assert_eq!(shard["extends"], Value::from(".shard"));
    // Only an absolute directory without `..`.
    for bad in [
        "host:opt/stapkit",
        "host:/opt/../stapkit",
        "host:/opt/sta pkit",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_stap-matrix"))
            .args([
                "ci",
                "gitlab",
                "--install",
                bad,
                "--kernel",
                "debian-6.1-amd64",
            ])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("host:/DIR"), "{bad}: {err}");
    }
}
