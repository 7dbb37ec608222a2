//! `stap`'s translator messages against real SystemTap's: each `-p1`..`-p3`
//! case of the oracle questions below (`warnings`, `elide_warnings`,
//! `translator`, `printf_formats`, `verbose`) is run through stapkit's `stap`, and
//! its stderr and exit status are compared with what SystemTap 5.1 printed
//! for it (`docs/oracle/outputs/trixie-debian-6.1-amd64/`, recorded by
//! `cargo xtask oracle`). Lines only Debian's build prints are left out of
//! SystemTap's side: the symbol-table warning of its header packages and
//! Debian's `Tip:` line. `-v`'s `Pass N:` lines are compared after
//! [`normalise_pass_line`] makes placeholders of what cannot match (the
//! number of library scripts, memory and times, the temporary directory
//! and the module's name); their words, order and presence must match.
//! A `-p4` case (`verbose`) is run with `-p3`, as pass 4 needs a kernel
//! tree, and held to SystemTap's stderr up to its `Pass 3:` line.
//!
//! Every case either matches byte for byte or is listed in `DIFFERENT`
//! with its reason (a heading of `docs/oracle/FINDINGS.md`); a listed case
//! that starts to match fails too, so the list stays true.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Cases whose text still differs from SystemTap's, and why.
const DIFFERENT: &[(&str, &str)] = &[
    // Pass 2's warnings.
    ("warnings/never-local", "unresolved type: stapkit reports `unresolved type for 'totl'` once, with a help line; SystemTap reports `unresolved type ` (no name) at every untyped node of its walk, the call's argument twice, then `println`, then the local where it is declared (4: `Number of similar error messages suppressed: 3.`; FINDINGS, Translator messages)"),
    ("warnings/then-error", "similar names: SystemTap suggests five functions of its own tapset library (`ctime, pn, tid, htonl, htons`), which stapkit's library does not hold"),
    // The translator's errors.
    ("translator/unresolved-type", "unresolved type: stapkit reports `unresolved type for global 'g'` once, at the declaration; SystemTap reports `unresolved type ` at every untyped node of its walk: `g` in `println(g)` twice, `println`, then the global at its declaration (3 suppressed)"),
    ("translator/unknown-function", "similar names: SystemTap suggests five functions of its own tapset library (`ctime, pn, tid, htonl, htons`)"),
    ("translator/unknown-probe", "unknown probe point: SystemTap reports `while resolving probe point` and then `probe point mismatch (similar: begin, end, init, perf, vm)`, names from its own families and tapset aliases; stapkit one error, `probe point 'bgein' matches no probe point or alias`, with a help line"),
    ("translator/kprobe-without-symbols", "symbols: SystemTap's recording root had no kernel symbol table (Debian's header packages ship a placeholder System.map), so `no match`; stapkit places kprobe.function(\"vfs_read\") from this host's symbols and accepts the script"),
    ("translator/two-errors", "similar names: SystemTap suggests five functions of its own tapset library (`ctime, pn, tid, htonl, htons`)"),
    ("verbose/p2-point-error", "unknown probe point, as translator/unknown-probe; the -v lines around the error are equal"),
];

struct Case {
    id: String,
    options: Vec<String>,
    args: Vec<String>,
    exit: i32,
    stderr: String,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `-p1`..`-p3` cases of one oracle output file.
fn cases(question: &str) -> Vec<Case> {
    let path = repo().join(format!(
        "docs/oracle/outputs/trixie-debian-6.1-amd64/{question}.out"
    ));
    let text = std::fs::read_to_string(&path).expect("oracle output");
    let mut out = Vec::new();
    for block in text.split("\n## case ").skip(1) {
        let mut lines = block.lines();
        let name = lines.next().unwrap().trim();
        let command = lines.next().unwrap();
        let words: Vec<&str> = command.split_whitespace().collect();
        let script = format!("{question}.stp");
        let at = words.iter().position(|w| *w == script).unwrap();
        let mut options: Vec<String> = Vec::new();
        let mut i = 2;
        while i < at {
            match words[i] {
                "-r" | "-m" => i += 1,
                "--" => {}
                w => options.push(w.to_string()),
            }
            i += 1;
        }
        let built = options.iter().any(|o| o == "-p4");
        if built {
            for o in options.iter_mut().filter(|o| *o == "-p4") {
                *o = "-p3".to_string();
            }
        }
        if !options
            .iter()
            .any(|o| matches!(o.as_str(), "-p1" | "-p2" | "-p3"))
        {
            continue;
        }
        let args = words[at + 1..].iter().map(|w| w.to_string()).collect();
        let mut exit = 0;
        let mut stderr = String::new();
        let mut in_stderr = false;
        for line in lines {
            if let Some(code) = line.strip_prefix("stap exit: ") {
                exit = code.parse().unwrap();
            } else if line == "stap stderr:" {
                in_stderr = true;
            } else if in_stderr {
                let Some(l) = line.strip_prefix('|') else {
                    break;
                };
                if l.starts_with("WARNING: Kernel function symbol table missing")
                    || l.starts_with("Tip: /usr/share/doc/systemtap/README.Debian")
                {
                    continue;
                }
                if built && l.starts_with("Pass 4: ") {
                    break;
                }
                stderr.push_str(&normalise_pass_line(&l.replace("\\\\", "\\")));
                stderr.push('\n');
            }
        }
        out.push(Case {
            id: format!("{question}/{name}"),
            options,
            args,
            exit,
            stderr,
        });
    }
    out
}

/// `-v`'s `Pass N: parsed|analyzed ...` line (not a `failed` one).
fn is_pass_line(line: &str) -> bool {
    line.starts_with("Pass ") && !line.contains(" failed.  [man error::pass")
}

/// A `-v` pass line with placeholders for what differs between any two
/// runs or between SystemTap's library and stapkit's: `and N library
/// scripts`, every number after ` using ` (memory in kB, then user,
/// system and real milliseconds) or after pass 4's ` in ` (times), the
/// temporary directory of pass 3's C file (`"TMP/MODULE_src.c"`) and the
/// module's name (`"MODULE.ko"`). The words, the pass numbers and pass
/// 2's counts stay.
fn normalise_pass_line(line: &str) -> String {
    if !is_pass_line(line) {
        return line.to_string();
    }
    let split = line
        .find(" using ")
        .or_else(|| line.rfind(" in ").filter(|_| line.starts_with("Pass 4: ")));
    let (head, tail) = split.map_or((line, ""), |at| line.split_at(at));
    let mut head = head.to_string();
    if let Some(rest) = head.strip_prefix("Pass 1: parsed user script and ") {
        if let Some(at) = rest.find(" library scripts") {
            head = format!("Pass 1: parsed user script and N{}", &rest[at..]);
        }
    }
    if let (Some(open), Some(close)) = (head.find('"'), head.rfind('"')) {
        if open < close {
            let quoted = &head[open + 1..close];
            let file = if quoted.ends_with("_src.c") {
                "TMP/MODULE_src.c"
            } else if quoted.ends_with(".ko") {
                "MODULE.ko"
            } else {
                quoted
            };
            head = format!("{}\"{file}\"{}", &head[..open], &head[close + 1..]);
        }
    }
    let mut out = head;
    let mut digits = false;
    for c in tail.chars() {
        if c.is_ascii_digit() {
            if !digits {
                out.push('N');
            }
            digits = true;
        } else {
            out.push(c);
            digits = false;
        }
    }
    out
}

#[test]
fn pass_lines_are_normalised() {
    assert_eq!(
        normalise_pass_line("Pass 1: parsed user script and 484 library scripts using 132064virt/108392res/11968shr/95404data kb, in 90usr/50sys/1340real ms."),
        "Pass 1: parsed user script and N library scripts using Nvirt/Nres/Nshr/Ndata kb, in Nusr/Nsys/Nreal ms."
    );
    assert_eq!(
        normalise_pass_line("Pass 2: analyzed script: 2 probes, 1 function, 0 embeds, 2 globals using 1virt/2res/3shr/4data kb, in 0usr/0sys/96real ms."),
        "Pass 2: analyzed script: 2 probes, 1 function, 0 embeds, 2 globals using Nvirt/Nres/Nshr/Ndata kb, in Nusr/Nsys/Nreal ms."
    );
    assert_eq!(
        normalise_pass_line("Pass 3: translated to C into \"/tmp/stapxK06pU/o_verbose_p4_src.c\" using 1virt/2res/3shr/4data kb, in 0usr/0sys/0real ms."),
        "Pass 3: translated to C into \"TMP/MODULE_src.c\" using Nvirt/Nres/Nshr/Ndata kb, in Nusr/Nsys/Nreal ms."
    );
    assert_eq!(
        normalise_pass_line(
            "Pass 4: compiled C into \"o_verbose_p4.ko\" in 17020usr/4140sys/72019real ms."
        ),
        "Pass 4: compiled C into \"MODULE.ko\" in Nusr/Nsys/Nreal ms."
    );
    let failed = "Pass 2: analysis failed.  [man error::pass2]";
    assert_eq!(normalise_pass_line(failed), failed);
}

/// stapkit's stderr and exit status for `case`, run as SystemTap was: the
/// script under its own name in the working directory.
fn run(question: &str, case: &Case, dir: &Path) -> (i32, String) {
    let script = format!("{question}.stp");
    std::fs::copy(repo().join("tests/oracle").join(&script), dir.join(&script)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stap"))
        .current_dir(dir)
        .args(&case.options)
        .arg(&script)
        .args(&case.args)
        .output()
        .expect("run stap");
    let stderr: String = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| format!("{}\n", normalise_pass_line(l)))
        .collect();
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn translator_messages_are_systemtaps() {
    let dir = tempfile::tempdir().unwrap();
    let mut same = Vec::new();
    let mut wrong = Vec::new();
    for question in [
        "warnings",
        "elide_warnings",
        "translator",
        "printf_formats",
        "verbose",
    ] {
        for case in cases(question) {
            let (exit, stderr) = run(question, &case, dir.path());
            let matches = exit == case.exit && stderr == case.stderr;
            let listed = DIFFERENT.iter().find(|(id, _)| *id == case.id);
            match (matches, listed) {
                (true, None) => same.push(case.id),
                (false, Some(_)) => {}
                (true, Some((_, why))) => wrong.push(format!(
                    "{}: matches SystemTap now; remove it from DIFFERENT ({why})",
                    case.id
                )),
                (false, None) => wrong.push(format!(
                    "{}: differs from SystemTap 5.1\n--- SystemTap (exit {})\n{}--- stapkit (exit {exit})\n{stderr}",
                    case.id, case.exit, case.stderr
                )),
            }
        }
    }
    eprintln!("{} cases byte for byte: {}", same.len(), same.join(", "));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(same.len() >= 10, "{same:?}");
}

/// stapkit's stderr for `script` run as `stap -p2 OPTIONS t.stp ARGS`.
fn stap_p2(script: &str, options: &[&str], args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.stp"), script).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stap"))
        .current_dir(dir.path())
        .arg("-p2")
        .args(options)
        .arg("t.stp")
        .args(args)
        .output()
        .expect("run stap");
    format!(
        "exit {}\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The warnings of pass 2 in SystemTap's layout: never-assigned locals,
/// then globals, then the optimizer's, then unused arguments, then the
/// count of repeats.
#[test]
fn pass2_warning_texts() {
    let script = "global g, gone, hits\n\
                  function twice(v) {\n\tw = v\n\treturn v * 2 + k\n}\n\
                  probe begin {\n\tx = 1\n\tx = 2\n\t\"text\"\n\thits++\n\tprintln(twice(g) + y)\n}\n\
                  probe end {\n    z = 3\n}\n";
    insta::assert_snapshot!("pass2_warnings", stap_p2(script, &[], &["extra"]));
    insta::assert_snapshot!("pass2_warnings_verbose", {
        let text = stap_p2(script, &["-v"], &["extra"]);
        text.lines()
            .filter(|l| !is_pass_line(l))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    });
    assert_eq!(stap_p2(script, &["-w"], &["extra"]), "exit 0\n");
}

/// Errors in SystemTap's layout: the token, the place (the file named
/// once), the source line and caret, an empty line; parse errors' `saw:`
/// and count.
#[test]
fn error_texts() {
    let semantic = "function add(a, b) {\n\treturn a + b\n}\nprobe begin {\n\tprintln(add(1))\n}\n";
    insta::assert_snapshot!("arity_error", stap_p2(semantic, &[], &[]));
    let parse = "probe begin {\n\tx = \n}\nfunction f:long() %{ 1 %}\n";
    insta::assert_snapshot!("parse_errors", stap_p2(parse, &[], &[]));
}
