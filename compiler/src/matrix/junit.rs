//! JUnit XML for `stap-matrix --junit FILE`, in the shape CI engines read
//! (GitLab's `artifacts:reports:junit`, Jenkins' junit step, the JUnit
//! actions of GitHub): one `<testsuite>` per kernel, one `<testcase>` per
//! script (`classname` the kernel, `name` the script, `file` its path), a
//! `<failure type="build|load|kernel|output|...">` for a failing cell
//! with the diff or error as its text, `<error>` for a case the guest
//! never reported, `<skipped>` for a script that does not apply to the
//! kernel, the rendered outcome as `<system-out>` and the console log's
//! path as `<system-err>`.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::results::{CellResult, ShardResult};

/// How a cell stands in JUnit's terms.
enum Status<'a> {
    Passed,
    Skipped(&'a str),
    /// `<failure>` (the cell's check failed) or `<error>` (it never ran).
    Failed {
        error: bool,
        kind: &'static str,
        message: String,
        text: &'a str,
    },
}

fn status(cell: &CellResult) -> Status<'_> {
    let note = cell.note.as_deref().unwrap_or_default();
    if cell.build == "n/a" {
        return Status::Skipped(note);
    }
    if !cell.failed {
        return Status::Passed;
    }
    let (error, kind, message, text) = if cell.build == "FAIL" {
        (
            false,
            "build",
            format!("the module did not build: {note}"),
            cell.outcome.as_str(),
        )
    } else if cell.load == "NOTRUN" {
        (
            true,
            "not-run",
            format!("not run: {note}"),
            cell.outcome.as_str(),
        )
    } else if cell.load == "FAIL" {
        (
            false,
            "load",
            "the module did not load".to_string(),
            cell.outcome.as_str(),
        )
    } else if cell.output == "KERNEL" {
        (
            false,
            "kernel",
            format!("the kernel reported a problem: {note}"),
            cell.outcome.as_str(),
        )
    } else if let Some(diff) = &cell.diff {
        (
            false,
            "output",
            "the output differs from the expected (- expected, + actual)".to_string(),
            diff.as_str(),
        )
    } else if cell.output == "NEW" {
        (
            false,
            "no-expected",
            "no expected file: review the output and save it as NAME.expected".to_string(),
            cell.outcome.as_str(),
        )
    } else {
        (false, "module", note.to_string(), cell.outcome.as_str())
    };
    Status::Failed {
        error,
        kind,
        message,
        text,
    }
}

/// The JUnit XML for `results` (one file's worth: every kernel of every
/// result, in order).
pub fn junit(results: &[&ShardResult]) -> String {
    let mut kernels: Vec<&str> = Vec::new();
    let boots = results.iter().flat_map(|r| r.boots.keys());
    for k in results
        .iter()
        .flat_map(|r| &r.cells)
        .map(|c| &c.kernel)
        .chain(boots)
    {
        if !kernels.contains(&k.as_str()) {
            kernels.push(k);
        }
    }
    // A kernel with no cells failed as a whole: one errored case says why.
    let cell_less = |k: &str| !results.iter().flat_map(|r| &r.cells).any(|c| c.kernel == k);
    let count = |k: Option<&str>, f: &dyn Fn(&Status) -> bool| {
        results
            .iter()
            .flat_map(|r| &r.cells)
            .filter(|c| k.is_none_or(|k| c.kernel == k) && f(&status(c)))
            .count()
    };
    let failure = |s: &Status| matches!(s, Status::Failed { error: false, .. });
    let error = |s: &Status| matches!(s, Status::Failed { error: true, .. });
    let skipped = |s: &Status| matches!(s, Status::Skipped(_));
    let any = |_: &Status| true;
    // (tests, failures, errors, skipped) of one kernel or all of them,
    // counting a cell-less kernel's run as one error.
    let counts = |k: Option<&str>| {
        let whole = kernels
            .iter()
            .filter(|&&x| k.is_none_or(|k| k == x) && cell_less(x))
            .count();
        [
            count(k, &any) + whole,
            count(k, &failure),
            count(k, &error) + whole,
            count(k, &skipped),
        ]
    };
    let with_counts = |mut e: BytesStart<'static>, n: [usize; 4]| {
        for (name, n) in ["tests", "failures", "errors", "skipped"]
            .into_iter()
            .zip(n)
        {
            e.push_attribute((name, n.to_string().as_str()));
        }
        e
    };

    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let mut put = |e: Event| w.write_event(e).expect("writing to memory");
    put(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", "stap-matrix"));
    put(Event::Start(with_counts(root, counts(None))));
    for &kernel in &kernels {
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", kernel));
        let suite = with_counts(suite, counts(Some(kernel)));
        put(Event::Start(suite));
        let note = results.iter().find_map(|r| r.boots.get(kernel));
        if let Some(note) = note {
            put(Event::Start(BytesStart::new("system-err")));
            put(text(note));
            put(Event::End(BytesEnd::new("system-err")));
        }
        if cell_less(kernel) {
            let mut case = BytesStart::new("testcase");
            case.push_attribute(("classname", kernel));
            case.push_attribute(("name", "(the run)"));
            put(Event::Start(case));
            let note = note.map_or("", String::as_str);
            let mut e = BytesStart::new("error");
            e.push_attribute(("type", "run"));
            let first = note.lines().next().unwrap_or_default();
            e.push_attribute(("message", xml_text(first).as_str()));
            put(Event::Start(e));
            put(text(note));
            put(Event::End(BytesEnd::new("error")));
            put(Event::End(BytesEnd::new("testcase")));
        }
        for cell in results
            .iter()
            .flat_map(|r| &r.cells)
            .filter(|c| c.kernel == kernel)
        {
            let mut case = BytesStart::new("testcase");
            case.push_attribute(("classname", kernel));
            case.push_attribute(("name", cell.script.as_str()));
            let file = cell.path.display().to_string();
            if !file.is_empty() {
                case.push_attribute(("file", xml_text(&file).as_str()));
            }
            put(Event::Start(case));
            match status(cell) {
                Status::Passed => {}
                Status::Skipped(why) => {
                    let mut s = BytesStart::new("skipped");
                    s.push_attribute(("message", xml_text(why).as_str()));
                    put(Event::Empty(s));
                }
                Status::Failed {
                    error,
                    kind,
                    message,
                    text,
                } => {
                    let tag = if error { "error" } else { "failure" };
                    let mut f = BytesStart::new(tag);
                    f.push_attribute(("type", kind));
                    f.push_attribute(("message", xml_text(&message).as_str()));
                    put(Event::Start(f));
                    put(self::text(text));
                    put(Event::End(BytesEnd::new(tag)));
                }
            }
            put(Event::Start(BytesStart::new("system-out")));
            put(text(&cell.outcome));
            put(Event::End(BytesEnd::new("system-out")));
            if let Some(console) = cell.console.as_ref().and_then(|name| {
                results
                    .iter()
                    .flat_map(|r| &r.consoles)
                    .find(|c| &c.name == name)
            }) {
                put(Event::Start(BytesStart::new("system-err")));
                put(text(&format!("console log: {}", console.path.display())));
                put(Event::End(BytesEnd::new("system-err")));
            }
            put(Event::End(BytesEnd::new("testcase")));
        }
        put(Event::End(BytesEnd::new("testsuite")));
    }
    put(Event::End(BytesEnd::new("testsuites")));
    let mut text = String::from_utf8(w.into_inner()).expect("the XML is UTF-8");
    text.push('\n');
    text
}

/// Element text: `<`, `>` and `&` escaped (quotes need not be, so
/// outputs stay readable), and [`xml_text`]'s replacements.
fn text(s: &str) -> Event<'static> {
    let escaped = quick_xml::escape::partial_escape(xml_text(s)).into_owned();
    Event::Text(BytesText::from_escaped(escaped))
}

/// `s` with the characters XML 1.0 cannot hold (control characters other
/// than tab and newline, lone surrogates cannot occur in a `str`) written
/// as `\xNN`, so a stray byte of a log never makes the file unreadable.
fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' => c.to_string(),
            '\r' => "\\r".to_string(),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                format!("\\x{:02x}", c as u32)
            }
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::results::{Console, FORMAT};
    use quick_xml::events::Event;
    use quick_xml::Reader;

    fn cell(script: &str, cols: [&str; 3], failed: bool) -> CellResult {
        CellResult {
            outcome: "exit: 0\nstdout:\n|a <b> & \x1b[0m\nstderr:\n".into(),
            diff: None,
            ..crate::matrix::merge::tests::cell("debian-6.1-amd64", script, cols, failed)
        }
    }

    fn sample() -> ShardResult {
        let mut diff = cell("hello", ["ok", "ok", "DIFF"], true);
        diff.diff = Some("- hello\n+ hi\n".into());
        let mut build = cell("broken", ["FAIL", "-", "DIFF"], true);
        build.note = Some("semantic error: unresolved".into());
        let mut na = cell("inline", ["n/a", "-", "n/a"], false);
        na.note = Some("needs DWARF".into());
        let mut notrun = cell("crash", ["ok", "NOTRUN", "-"], true);
        notrun.note = Some("the guest ended".into());
        ShardResult {
            format: FORMAT.into(),
            shard: None,
            kernels: vec!["debian-6.1-amd64".into()],
            scripts: vec![],
            boots: [("debian-6.1-amd64".to_string(), "guest Crashed".to_string())].into(),
            consoles: vec![Console {
                name: "debian-6.1-amd64".into(),
                path: "/w/debian-6.1-amd64/console.log".into(),
                text: String::new(),
            }],
            cells: vec![
                cell("ok", ["ok", "ok", "ok"], false),
                diff,
                build,
                na,
                notrun,
            ],
        }
    }

    /// Every element's name with its attributes, and text, in order.
    fn events(xml: &str) -> Vec<String> {
        let mut reader = Reader::from_str(xml);
        let mut out = Vec::new();
        let mut text = String::new();
        loop {
            let event = reader.read_event().expect("well-formed XML");
            match &event {
                Event::Text(t) => {
                    text.push_str(&t.decode().unwrap());
                    continue;
                }
                Event::GeneralRef(r) => {
                    let name = r.decode().unwrap();
                    text.push_str(match name.as_ref() {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unexpected entity {other}"),
                    });
                    continue;
                }
                _ => {}
            }
            if !text.trim().is_empty() {
                out.push(format!("text {text:?}"));
            }
            text.clear();
            match event {
                Event::Eof => break,
                Event::Start(e) | Event::Empty(e) => {
                    let mut s = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                    for a in e.attributes() {
                        let a = a.unwrap();
                        s.push_str(&format!(
                            " {}={:?}",
                            String::from_utf8_lossy(a.key.as_ref()),
                            a.unescape_value().unwrap()
                        ));
                    }
                    out.push(s);
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn cells_become_testcases_with_failures_errors_and_skips() {
        let r = sample();
        let xml = junit(&[&r]);
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"),
            "{xml}"
        );
        let ev = events(&xml);
        let has = |s: &str| assert!(ev.iter().any(|e| e == s), "{s} not in {ev:#?}");
        has(r#"testsuites name="stap-matrix" tests="5" failures="2" errors="1" skipped="1""#);
        has(r#"testsuite name="debian-6.1-amd64" tests="5" failures="2" errors="1" skipped="1""#);
        has(r#"testcase classname="debian-6.1-amd64" name="hello" file="tests/scripts/hello.stp""#);
        has(
            r#"failure type="output" message="the output differs from the expected (- expected, + actual)""#,
        );
        has(r#"text "- hello\n+ hi\n""#);
        has(
            r#"failure type="build" message="the module did not build: semantic error: unresolved""#,
        );
        has(r#"skipped message="needs DWARF""#);
        has(r#"error type="not-run" message="not run: the guest ended""#);
        has(r#"text "exit: 0\nstdout:\n|a <b> & \\x1b[0m\nstderr:\n""#);
        has(r#"text "console log: /w/debian-6.1-amd64/console.log""#);
        has(r#"text "guest Crashed""#);
        // The passing case has no failure element after it.
        let ok = ev.iter().position(|e| e.contains(r#"name="ok""#)).unwrap();
        assert!(ev[ok + 1].starts_with("system-out"), "{ev:#?}");
    }

    #[test]
    fn a_run_that_failed_as_a_whole_is_one_error() {
        let r = ShardResult::failed_run("stap-matrix failed: no kernel", &["k9".into()], &[], None);
        let ev = events(&junit(&[&r]));
        let has = |s: &str| assert!(ev.iter().any(|e| e == s), "{s} not in {ev:#?}");
        has(r#"testsuite name="k9" tests="1" failures="0" errors="1" skipped="0""#);
        has(r#"testcase classname="k9" name="(the run)""#);
        has(r#"error type="run" message="stap-matrix failed: no kernel""#);
    }

    #[test]
    fn control_characters_never_reach_the_xml() {
        assert_eq!(xml_text("a\u{7}b\tc\r\n"), "a\\x07b\tc\\r\n");
    }
}
