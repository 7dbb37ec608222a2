//! `stap -p1` against real SystemTap's: every published example (Debian's
//! `systemtap-doc`, read where it is installed) and every parse fixture,
//! parsed for the Debian 6.1 tree, must print the text SystemTap 5.1
//! printed (the hash recorded in `tests/systemtap-frontend/cases.tsv`,
//! or the whole text for our fixtures) and fail or succeed as it did —
//! unless `tests/systemtap-frontend/differences.tsv` lists the case with
//! its reason (a `docs/oracle/FINDINGS.md` entry). An example that
//! expands a `@prometheus_*` or `@json_*` library macro is held to
//! SystemTap's text with stapkit's macro bodies (`own-macros.tsv`). A
//! listed case that now matches fails too, so the list stays true.
//! `stap -p2` must accept or refuse each case as SystemTap did with the
//! 6.1 -dbg files (the `-p2` column), unless `p2-differences.tsv` lists
//! it. Only comparison runs here;
//! `cargo xtask oracle --frontend` records (see
//! `stapkit::matrix::frontend`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Parser as _;
use stapkit::debuginfo::KernelInfo;
use stapkit::driver::{Pipeline, StapOptions};
use stapkit::matrix::frontend::{parse_cases, text_hash, FrontendCase, EXAMPLES_DIR};
use stapkit::matrix::render::diff;

/// The kernel the cases were recorded for.
const KERNEL: &str = "debian-6.1-amd64";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("systemtap-frontend")
}

fn script_path(case: &FrontendCase) -> PathBuf {
    let (dir, file) = case.dir_and_file();
    if case.is_example() {
        Path::new(EXAMPLES_DIR).join(dir).join(file)
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../compiler/tests/data/parse")
            .join(dir)
            .join(file)
    }
}

/// stapkit's `stap -p1`: exit status and standard output.
fn stapkit_p1(case: &FrontendCase) -> (i32, String) {
    let path = script_path(case);
    let mut argv = vec!["stap".to_string(), "-p1".into(), "-r".into(), KERNEL.into()];
    argv.extend(case.options.iter().cloned());
    argv.push("--".into());
    argv.push(path.display().to_string());
    argv.extend(case.args.iter().cloned());
    let options = match StapOptions::try_parse_from(&argv).map(|o| o.options()) {
        Ok(Ok(o)) => o,
        _ => return (1, String::new()),
    };
    let mut pipeline = match Pipeline::new(options) {
        Ok(p) => p,
        Err(_) => return (1, String::new()),
    };
    // Named as given from its directory, as the recording ran it.
    pipeline.script.name = case.dir_and_file().1.to_string();
    match pipeline.parse() {
        Ok(ast) if !ast.items.is_empty() => (
            0,
            stapkit::syntax::dump_p1(&ast, &pipeline.sources, &pipeline.script.name),
        ),
        _ => (1, String::new()),
    }
}

/// `own-macros.tsv`: per example that expands a `@prometheus_*` or
/// `@json_*` library macro, the length and hash of SystemTap's `-p1` of
/// the script with stapkit's macro files put before it (where SystemTap
/// parsed that text).
fn own_macros() -> BTreeMap<String, (usize, String)> {
    let text = std::fs::read_to_string(data_dir().join("own-macros.tsv")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() == 4, "own-macros.tsv: bad line '{l}'");
            let len = f[2].parse().expect("own-macros.tsv: a length");
            (f[1] == "0").then(|| (f[0].to_string(), (len, f[3].to_string())))
        })
        .collect()
}

/// `ID<TAB>FINDINGS.md#anchor reason` lines of `file`; every anchor
/// must be a heading of `docs/oracle/FINDINGS.md`.
fn differences(file: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(data_dir().join(file)).unwrap_or_default();
    let findings = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/oracle/FINDINGS.md"),
    )
    .expect("docs/oracle/FINDINGS.md");
    let anchors: Vec<String> = findings
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| anchor(h.trim_start_matches('#').trim()))
        .collect();
    let mut out = BTreeMap::new();
    for l in text.lines() {
        if l.starts_with('#') || l.trim().is_empty() {
            continue;
        }
        let (id, why) = l.split_once('\t').unwrap_or((l, ""));
        let target = why
            .strip_prefix("FINDINGS.md#")
            .and_then(|w| w.split_once(' '))
            .filter(|(_, reason)| reason.len() > 10);
        let Some((target, _)) = target else {
            panic!("{file}: '{id}' needs 'FINDINGS.md#anchor reason'");
        };
        assert!(
            anchors.iter().any(|a| a == target),
            "{file}: '{id}' points at FINDINGS.md#{target}, which is no heading there"
        );
        assert!(
            out.insert(id.to_string(), why.to_string()).is_none(),
            "{file}: '{id}' is listed twice"
        );
    }
    out
}

/// A heading's anchor as GitHub makes it: lower case, spaces to '-',
/// punctuation other than '-' and '_' dropped.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[test]
fn stap_p1_prints_what_systemtap_prints() {
    assert!(
        Path::new(EXAMPLES_DIR).is_dir(),
        "{EXAMPLES_DIR} is missing: install Debian's systemtap-doc (cargo xtask setup does)"
    );
    let recorded = std::fs::read_to_string(data_dir().join("cases.tsv")).expect("cases.tsv");
    let cases = parse_cases(&recorded).expect("cases.tsv parses");
    let known = differences("differences.tsv");
    // Every installed example with a .meta is a case.
    let mut missing = Vec::new();
    for meta in walk(Path::new(EXAMPLES_DIR)) {
        if meta.extension().is_some_and(|e| e == "meta") {
            let text = std::fs::read_to_string(&meta).unwrap_or_default();
            if let Some(name) = text.lines().find_map(|l| l.strip_prefix("name:")) {
                let dir = meta.parent().unwrap();
                let rel = dir
                    .strip_prefix(EXAMPLES_DIR)
                    .unwrap()
                    .display()
                    .to_string();
                let id = format!("ex/{rel}/{}", name.trim());
                if dir.join(name.trim()).is_file() && !cases.iter().any(|c| c.id == id) {
                    missing.push(id);
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "examples without a SystemTap record (run cargo xtask oracle --frontend): {missing:?}"
    );
    let own = own_macros();
    let (mut same, mut justified, mut with_own, mut failures) = (0, 0, 0, Vec::new());
    for case in &cases {
        let (exit, text) = stapkit_p1(case);
        // SystemTap's text with stapkit's own library macros, where the
        // script expands one (see own-macros.tsv).
        let (p1_len, p1_hash) = match own.get(&case.id) {
            Some((len, hash)) => (*len, hash.as_str()),
            None => (case.p1_len, case.p1_hash.as_str()),
        };
        let matches_exit = (exit == 0) == (case.p1_exit == 0);
        let mut detail = String::new();
        let matches_text = if case.p1_exit != 0 || exit != 0 {
            true
        } else if case.is_example() {
            text.len() == p1_len && text_hash(text.as_bytes()) == p1_hash
        } else {
            let (dir, file) = case.dir_and_file();
            let expected = std::fs::read_to_string(
                data_dir()
                    .join("fixtures")
                    .join(dir)
                    .join(file.replace(".stp", ".p1")),
            )
            .unwrap_or_default();
            if expected != text {
                detail = diff(&expected, &text);
            }
            expected == text
        };
        let matches = matches_exit && matches_text;
        match (matches, known.get(&case.id)) {
            (true, None) if own.contains_key(&case.id) => with_own += 1,
            (true, None) => same += 1,
            (false, Some(_)) => justified += 1,
            (true, Some(_)) => failures.push(format!(
                "{}: listed in differences.tsv but now matches SystemTap; remove the line",
                case.id
            )),
            (false, None) => failures.push(format!(
                "{}: SystemTap exit {}, stapkit exit {exit}{}{}",
                case.id,
                case.p1_exit,
                if matches_exit { "; text differs" } else { "" },
                if detail.is_empty() {
                    String::new()
                } else {
                    format!(" (- SystemTap, + stapkit):\n{detail}")
                }
            )),
        }
    }
    eprintln!(
        "stap -p1: {same} of {} cases print what SystemTap 5.1 prints, {with_own} more when it \
         expands stapkit's library macros (own-macros.tsv); {justified} differ with a reason \
         (tests/systemtap-frontend/differences.tsv)",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// stapkit's `stap -p2` of `case` reading the kernel's facts through
/// `kernel` (one view shared by every case): `Ok` when passes 1 and 2
/// accept it, else the first line of what stap would print.
fn stapkit_p2(case: &FrontendCase, kernel: Option<&Arc<KernelInfo>>) -> Result<(), String> {
    let mut argv = vec!["stap".to_string(), "-p2".into(), "-r".into(), KERNEL.into()];
    argv.extend(case.options.iter().cloned());
    argv.push("--".into());
    argv.push(script_path(case).display().to_string());
    argv.extend(case.args.iter().cloned());
    let first_line =
        |f: stapkit::driver::Failure| f.message.lines().next().unwrap_or_default().to_string();
    let options = StapOptions::try_parse_from(&argv)
        .map_err(|e| e.to_string())?
        .options()
        .map_err(first_line)?;
    let mut pipeline = Pipeline::new(options).map_err(first_line)?;
    // Pass 2 may learn module facts first; what it says then is no outcome.
    pipeline.progress = Arc::new(|_| {});
    if let Some(kernel) = kernel {
        pipeline.share_kernel_info(kernel.clone());
    }
    pipeline.script.name = case.dir_and_file().1.to_string();
    let ast = pipeline.parse().map_err(first_line)?;
    if ast.items.is_empty() {
        return Err(format!("Input file '{}' is empty.", pipeline.script.name));
    }
    pipeline.elaborate(&ast).map(|_| ()).map_err(first_line)
}

/// `stap -p2` against real SystemTap's: every case of `cases.tsv` with a
/// recorded `-p2` outcome is accepted or refused by stapkit's passes 1
/// and 2 as SystemTap 5.1 did on the Debian 6.1 kernel installed as on a
/// user's machine (image, headers, -dbg files), unless
/// `p2-differences.tsv` lists it with its reason. The cases share one
/// view of the kernel's facts (DWARF, BTF, symbols are read once) and run
/// on every CPU.
#[test]
fn stap_p2_accepts_and_refuses_what_systemtap_does() {
    assert!(
        Path::new(EXAMPLES_DIR).is_dir(),
        "{EXAMPLES_DIR} is missing: install Debian's systemtap-doc (cargo xtask setup does)"
    );
    let started = Instant::now();
    let recorded = std::fs::read_to_string(data_dir().join("cases.tsv")).expect("cases.tsv");
    let cases: Vec<FrontendCase> = parse_cases(&recorded)
        .expect("cases.tsv parses")
        .into_iter()
        .filter(|c| c.p2_exit.is_some())
        .collect();
    let known = differences("p2-differences.tsv");
    for id in known.keys() {
        assert!(
            cases.iter().any(|c| &c.id == id),
            "p2-differences.tsv: '{id}' is no case with a -p2 record"
        );
    }
    // The kernel's facts, read once for every case.
    let kernel = {
        let argv = ["stap", "-p2", "-r", KERNEL, "-e", "probe begin {}"];
        let options = StapOptions::try_parse_from(argv)
            .expect("options")
            .options()
            .expect("options");
        let mut pipeline =
            Pipeline::new(options).unwrap_or_else(|f| panic!("the {KERNEL} tree: {}", f.message));
        pipeline.kernel_info()
    };
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<(usize, Result<(), String>)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let outcome = stapkit_p2(case, kernel.as_ref());
                outcomes.lock().unwrap().push((i, outcome));
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap();
    outcomes.sort_by_key(|(i, _)| *i);
    let (mut same, mut justified, mut failures) = (0, 0, Vec::new());
    for (i, outcome) in outcomes {
        let case = &cases[i];
        let systemtap_accepts = case.p2_exit == Some(0);
        let agrees = systemtap_accepts == outcome.is_ok();
        match (agrees, known.get(&case.id)) {
            (true, None) => same += 1,
            (false, Some(_)) => justified += 1,
            (true, Some(_)) => {
                failures.push(format!(
                "{}: listed in p2-differences.tsv but now {} as SystemTap does; remove the line",
                case.id,
                if systemtap_accepts { "accepted" } else { "refused" }
            ))
            }
            (false, None) => failures.push(match outcome {
                Ok(()) => format!("{}: SystemTap refuses it at -p2, stapkit accepts", case.id),
                Err(why) => format!(
                    "{}: SystemTap accepts it at -p2, stapkit refuses: {why}",
                    case.id
                ),
            }),
        }
    }
    eprintln!(
        "stap -p2: {same} of {} cases accepted or refused as SystemTap 5.1 does; {justified} \
         differ with a reason (tests/systemtap-frontend/p2-differences.tsv); {:.1} s on {workers} \
         threads",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
