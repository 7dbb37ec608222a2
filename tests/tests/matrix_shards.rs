//! A matrix split into two shards, each run in its own Debian 6.1 amd64
//! guest and written as a result file, merges into one grid: the
//! Markdown summary, the HTML report (every link resolves) and JUnit
//! hold every cell, the failing one with its diff and console log.

use std::path::{Path, PathBuf};

use stapkit::kernel::Cache;
use stapkit::matrix::results::ShardResult;
use stapkit::matrix::{self, html, junit, markdown, merge};

const KERNEL: &str = "debian-6.1-amd64";

fn run_shard(scripts: &[PathBuf], index: usize, work: &Path) -> PathBuf {
    let options = matrix::Options {
        kernels: vec![KERNEL.to_string()],
        scripts: scripts.to_vec(),
        print: false,
        jobs: 2,
        shard: Some((index, 2)),
        staprun: stapkit_tests::staprun(),
        staprun_arm64: None,
        busybox: PathBuf::from("/bin/busybox"),
        kvm: false,
        cache: Cache::locate(None),
        work_dir: work.join(format!("work{index}")),
        build_only: false,
    };
    let report =
        matrix::run(&options, &|line| eprintln!("{line}")).unwrap_or_else(|e| panic!("{e}"));
    let result = ShardResult::from_report(&report, &options.kernels, scripts, options.shard);
    let file = work.join(format!("shard{index}.json"));
    result.write(&file).unwrap();
    file
}

#[test]
fn two_shards_merge_into_one_report() {
    let work = tempfile::Builder::new()
        .prefix("stapkit-shards")
        .tempdir()
        .unwrap();
    // A script of ours whose expected file is wrong on purpose: one DIFF.
    let wrong = work.path().join("wrong_expectation.stp");
    std::fs::write(
        &wrong,
        "probe begin { printf(\"sum=%d\\n\", 2 + 2); exit() }\n",
    )
    .unwrap();
    std::fs::write(
        wrong.with_extension("expected"),
        "exit: 0\nstdout:\n|sum=5\nstderr:\n",
    )
    .unwrap();
    let scripts = vec![
        stapkit_tests::scripts_dir().join("hello.stp"),
        stapkit_tests::scripts_dir().join("arithmetic.stp"),
        wrong,
    ];
    let files = [
        run_shard(&scripts, 1, work.path()),
        run_shard(&scripts, 2, work.path()),
    ];
    let results: Vec<(PathBuf, ShardResult)> = files
        .iter()
        .map(|f| (f.clone(), ShardResult::read(f).unwrap()))
        .collect();
    // Shard 1 holds hello and wrong_expectation, shard 2 arithmetic.
    assert_eq!(results[0].1.cells.len(), 2);
    assert_eq!(results[1].1.cells.len(), 1);
    let merged = merge::merge(&results).unwrap();
    assert_eq!(
        merged.summary(),
        "1 kernel(s) x 3 script(s): 2 passed, 1 failed, 0 not applicable (2 result file(s) merged)"
    );

    let md = markdown::markdown(&merged, Some("the artifact"));
    assert!(
        md.contains(
            "| script | debian-6.1-amd64 |\n|:--|:--|\n| hello | ✅ ok |\n| arithmetic | ✅ ok |\n| wrong_expectation | ❌ DIFF |\n"
        ),
        "{md}"
    );
    assert!(
        md.contains("```diff\n  exit: 0\n  stdout:\n+ |sum=4\n- |sum=5\n  stderr:\n```"),
        "{md}"
    );

    let dir = work.path().join("html");
    let index = html::write_report(&merged, &dir).unwrap();
    let page = std::fs::read_to_string(&index).unwrap();
    let mut rest = page.as_str();
    let mut links = Vec::new();
    while let Some(i) = rest.find("href=\"") {
        rest = &rest[i + 6..];
        let end = rest.find('"').unwrap();
        links.push(rest[..end].to_string());
    }
    // output + expected + console per cell, and the failing one's diff.
    assert_eq!(links.len(), 10, "{links:?}");
    for link in &links {
        assert!(dir.join(link).is_file(), "{link} is not written");
    }
    let console = links
        .iter()
        .find(|l| l.starts_with("consoles/shard2-"))
        .unwrap();
    let console = std::fs::read_to_string(dir.join(console)).unwrap();
    assert!(console.contains("init: booted 6.1.0-"), "{console}");
    assert!(console.contains("init: case arithmetic"), "{console}");

    let all: Vec<&ShardResult> = results.iter().map(|(_, r)| r).collect();
    let xml = junit::junit(&all);
    assert!(
        xml.contains("<testsuite name=\"debian-6.1-amd64\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"0\">"),
        "{xml}"
    );
    assert!(xml.contains("<failure type=\"output\""), "{xml}");
}
