//! The static HTML report `stap-matrix report --html DIR` writes:
//! `DIR/index.html`, a kernel x script grid coloured by each cell's
//! standing, every cell linking a page of its output, of the expected
//! text, of the diff, and of the console log of the boot that ran it
//! (`DIR/cells/`, `DIR/consoles/`). No scripts and no external assets:
//! the pages work from `file://` and as a CI artifact.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::merge::{status, Merged};
use super::results::CellResult;

/// Writing the report failed: where, and why.
#[derive(Debug)]
pub struct HtmlError {
    /// The file or directory.
    pub path: PathBuf,
    /// What went wrong.
    pub error: std::io::Error,
}

impl std::fmt::Display for HtmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for HtmlError {}

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:1.5em;color:#1b1f24}
h1{font-size:1.4em;margin:0 0 .3em}
table.grid{border-collapse:collapse;margin:1em 0}
.grid th,.grid td{border:1px solid #c8ccd1;padding:.35em .6em;vertical-align:top}
.grid th{background:#f0f2f4;text-align:left;font-weight:600}
.grid th.script{font-family:ui-monospace,monospace;font-weight:500}
td.pass{background:#dcf5e3}td.fail{background:#fbd9d6}
td.na{background:#eceef0;color:#59636e}td.missing{background:#fff;color:#8b949e}
.word{font-weight:700}.cols{font-size:.8em;color:#3d444d}
.links{font-size:.8em;margin-top:.2em}.links a{margin-right:.5em}
.legend span{display:inline-block;padding:0 .5em;margin-right:.4em;border:1px solid #c8ccd1}
pre{background:#f6f8fa;padding:.8em;overflow:auto;font-size:.85em}
.add{background:#dcf5e3}.del{background:#fbd9d6}
ul.sources{font-size:.85em;color:#59636e}
";

/// Writes the report for `merged` into `dir` (made if missing) and
/// returns the path of its `index.html`.
pub fn write_report(merged: &Merged, dir: &Path) -> Result<PathBuf, HtmlError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| HtmlError { path, error }
    };
    for sub in ["cells", "consoles"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(io(&dir.join(sub)))?;
    }
    let write = |rel: &str, text: String| {
        let path = dir.join(rel);
        std::fs::write(&path, text).map_err(io(&path))
    };
    for console in &merged.consoles {
        let rel = console_page(&console.name);
        let title = format!("console log: {}", console.name);
        let intro = format!("Written on the runner as {}.", console.path.display());
        write(&rel, page(&title, &intro, &pre(&console.text), "../"))?;
    }
    for c in &merged.cells {
        for (kind, text) in cell_texts(c) {
            let title = format!("{} on {}: {kind}", c.script, c.kernel);
            let intro = match kind {
                "expected" => c.reference.clone().unwrap_or_default(),
                "diff" => format!(
                    "Expected ({}) <span class=del>- removed</span>, actual <span class=add>+ added</span>.",
                    escape(c.reference.as_deref().unwrap_or("expected file"))
                ),
                _ => c.note.clone().map(|n| escape(&n)).unwrap_or_default(),
            };
            let body = if kind == "diff" {
                diff_pre(text)
            } else {
                pre(text)
            };
            let rel = cell_page(c, kind);
            let kernel_dir = dir.join("cells").join(file_part(&c.kernel));
            std::fs::create_dir_all(&kernel_dir).map_err(io(&kernel_dir))?;
            write(&rel, page(&title, &intro, &body, "../../"))?;
        }
    }
    let index = dir.join("index.html");
    std::fs::write(&index, index_page(merged)).map_err(io(&index))?;
    Ok(index)
}

/// The texts a cell has a page for: its outcome, expected text and diff.
fn cell_texts(c: &CellResult) -> Vec<(&'static str, &str)> {
    let mut v = vec![("output", c.outcome.as_str())];
    if let Some(e) = &c.expected {
        v.push(("expected", e));
    }
    if let Some(d) = &c.diff {
        v.push(("diff", d));
    }
    v
}

fn index_page(merged: &Merged) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "<p>{}.</p>", escape(&merged.summary()));
    body.push_str("<p class=legend><span class=pass-key style=\"background:#dcf5e3\">passed</span><span style=\"background:#fbd9d6\">fails the run</span><span style=\"background:#eceef0\">does not apply</span><span>no shard ran it</span></p>\n");
    body.push_str("<table class=grid>\n<thead><tr><th>script</th>");
    for k in &merged.kernels {
        let _ = write!(body, "<th>{}</th>", escape(k));
    }
    body.push_str("</tr></thead>\n<tbody>\n");
    for s in &merged.scripts {
        let _ = write!(body, "<tr><th class=script>{}</th>", escape(s));
        for k in &merged.kernels {
            body.push_str(&grid_cell(merged, k, s));
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</tbody>\n</table>\n");
    if !merged.boots.is_empty() {
        body.push_str("<h2>Boot problems</h2>\n");
        for (kernel, note) in &merged.boots {
            let _ = writeln!(body, "<h3>{}</h3>\n{}", escape(kernel), pre(note));
        }
    }
    body.push_str("<h2>Merged results</h2>\n<ul class=sources>\n");
    for s in &merged.sources {
        let _ = writeln!(body, "<li>{}</li>", escape(s));
    }
    body.push_str("</ul>\n");
    page("stap-matrix report", "", &body, "")
}

fn grid_cell(merged: &Merged, kernel: &str, script: &str) -> String {
    let cell = merged.cell(kernel, script);
    let (standing, word) = status(cell);
    let Some(c) = cell else {
        return format!("<td class={}>{word}</td>", standing.class());
    };
    let mut out = format!(
        "<td class={}><div class=word>{}</div><div class=cols>build {} · load {} · output {}</div><div class=links>",
        standing.class(),
        escape(word),
        escape(&c.build),
        escape(&c.load),
        escape(&c.output)
    );
    for (kind, _) in cell_texts(c) {
        let _ = write!(out, "<a href=\"{}\">{kind}</a>", attr(&cell_page(c, kind)));
    }
    if let Some(console) = merged.console(c) {
        let _ = write!(
            out,
            "<a href=\"{}\">console</a>",
            attr(&console_page(&console.name))
        );
    }
    out.push_str("</div></td>");
    out
}

/// `cells/KERNEL/SCRIPT.KIND.html`, relative to the report.
fn cell_page(c: &CellResult, kind: &str) -> String {
    format!(
        "cells/{}/{}.{kind}.html",
        file_part(&c.kernel),
        file_part(&c.script)
    )
}

/// `consoles/NAME.html`, relative to the report.
fn console_page(name: &str) -> String {
    format!("consoles/{}.html", file_part(name))
}

/// `s` as one file name: letters, digits, `_`, `-`, `+` and inner `.`
/// kept, anything else `_`.
fn file_part(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

fn page(title: &str, intro: &str, body: &str, root: &str) -> String {
    let back = if root.is_empty() {
        String::new()
    } else {
        format!("<p><a href=\"{root}index.html\">&larr; the grid</a></p>\n")
    };
    let intro = if intro.is_empty() {
        String::new()
    } else {
        format!("<p>{intro}</p>\n")
    };
    format!(
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n<title>{t}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n{back}<h1>{t}</h1>\n{intro}{body}</body>\n</html>\n",
        t = escape(title)
    )
}

fn pre(text: &str) -> String {
    format!("<pre>{}</pre>\n", escape(text))
}

/// The diff with added and removed lines marked.
fn diff_pre(diff: &str) -> String {
    let mut out = String::from("<pre>");
    for line in diff.lines() {
        let class = if line.starts_with("+ ") {
            Some("add")
        } else if line.starts_with("- ") {
            Some("del")
        } else {
            None
        };
        match class {
            Some(c) => {
                let _ = writeln!(out, "<span class={c}>{}</span>", escape(line));
            }
            None => {
                let _ = writeln!(out, "{}", escape(line));
            }
        }
    }
    out.push_str("</pre>\n");
    out
}

/// Text for HTML element content and double-quoted attributes.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A relative URL in a double-quoted attribute (file parts need no
/// percent-encoding: see [`file_part`]).
fn attr(s: &str) -> String {
    escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::merge::merge;
    use crate::matrix::merge::tests::{cell, shard};

    #[test]
    fn the_grid_links_each_cells_pages_and_they_exist() {
        let one = shard(1, vec![cell("k1", "a", ["ok", "ok", "ok"], false)]);
        let mut b = cell("k1", "b", ["ok", "ok", "DIFF"], true);
        b.outcome = "exit: 0\nstdout:\n|<script>alert(1)</script>\n".into();
        let two = shard(2, vec![b]);
        let merged = merge(&[("1.json".into(), one), ("2.json".into(), two)]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let index = write_report(&merged, dir.path()).unwrap();
        let html = std::fs::read_to_string(&index).unwrap();
        assert!(html.contains("<td class=fail><div class=word>DIFF</div><div class=cols>build ok · load ok · output DIFF</div><div class=links><a href=\"cells/k1/b.output.html\">output</a><a href=\"cells/k1/b.expected.html\">expected</a><a href=\"cells/k1/b.diff.html\">diff</a><a href=\"consoles/shard2-k1.html\">console</a></div></td>"), "{html}");
        assert!(html.contains("<td class=missing>not run</td>"), "{html}");
        assert!(!html.contains("http"), "no external assets: {html}");
        // Every link resolves to a written file.
        let mut rest = html.as_str();
        let mut links = 0;
        while let Some(i) = rest.find("href=\"") {
            rest = &rest[i + 6..];
            let end = rest.find('"').unwrap();
            assert!(dir.path().join(&rest[..end]).is_file(), "{}", &rest[..end]);
            links += 1;
        }
        assert_eq!(links, 7);
        let output = std::fs::read_to_string(dir.path().join("cells/k1/b.output.html")).unwrap();
        assert!(
            output.contains("|&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{output}"
        );
        assert!(output.contains("<a href=\"../../index.html\">"), "{output}");
        let diff = std::fs::read_to_string(dir.path().join("cells/k1/b.diff.html")).unwrap();
        assert!(
            diff.contains("<span class=add>+ |hi</span>\n<span class=del>- |hello</span>"),
            "{diff}"
        );
        let console = std::fs::read_to_string(dir.path().join("consoles/shard2-k1.html")).unwrap();
        assert!(
            console.contains("<pre>console of shard 2\n</pre>"),
            "{console}"
        );
    }

    #[test]
    fn names_cannot_leave_the_report() {
        assert_eq!(file_part("../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_part("debian-6.1-amd64"), "debian-6.1-amd64");
        assert_eq!(file_part(""), "_");
    }
}
