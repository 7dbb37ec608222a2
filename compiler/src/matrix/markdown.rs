//! The Markdown summary `stap-matrix report --markdown FILE` writes, made
//! for GitHub's `$GITHUB_STEP_SUMMARY` (GitHub-flavoured: a table, and
//! `<details>` blocks): the kernel x script grid, boot problems, then each
//! failing cell's diff or outcome, kept under the 1 MiB a step summary may
//! hold by shortening long texts and, past a budget, listing only names.

use std::fmt::Write as _;

use super::merge::{status, Merged, Standing};

/// The most a summary may hold; GitHub refuses step summaries over 1 MiB.
pub const SUMMARY_LIMIT: usize = 1000 * 1024;

/// Lines of one failure's text shown before it is cut.
const TEXT_LINES: usize = 80;

/// Bytes of one failure's text shown before it is cut.
const TEXT_BYTES: usize = 16 * 1024;

/// The Markdown summary of `merged`; `html` names where the HTML report
/// is (e.g. the artifact), said under the grid when given.
pub fn markdown(merged: &Merged, html: Option<&str>) -> String {
    let mut out = String::new();
    let [pass, fail, _, missing] = merged.counts();
    let headline = if merged.failed() {
        let mut parts = vec![format!("{fail} failed")];
        if missing > 0 {
            parts.push(format!("{missing} not run"));
        }
        parts.push(format!("{pass} passed"));
        parts.join(", ")
    } else {
        format!("all {pass} passed")
    };
    let _ = writeln!(out, "## stap-matrix: {headline}\n");
    let _ = writeln!(out, "{}.\n", merged.summary());
    out.push_str("| script |");
    for k in &merged.kernels {
        let _ = write!(out, " {} |", cell_text(k));
    }
    out.push_str("\n|:--|");
    for _ in &merged.kernels {
        out.push_str(":--|");
    }
    out.push('\n');
    for s in &merged.scripts {
        let _ = write!(out, "| {} |", cell_text(s));
        for k in &merged.kernels {
            let (standing, word) = status(merged.cell(k, s));
            let _ = write!(out, " {} {word} |", mark(standing));
        }
        out.push('\n');
    }
    out.push_str(
        "\n✅ passed · ❌ fails the run · ➖ does not apply to the kernel · ⚪ no shard ran it. \
         `DIFF`: output differs from the expected; `NEW`: no expected file; \
         `KERNEL`: the kernel logged a problem.\n",
    );
    if let Some(html) = html {
        let _ = writeln!(
            out,
            "\nEach cell's output, diff and console log: the HTML report ({html}).\n"
        );
    }
    if !merged.boots.is_empty() {
        out.push_str("\n### Boot problems\n\n");
        for (kernel, note) in &merged.boots {
            let _ = writeln!(out, "**{}**\n", cell_text(kernel));
            fenced(&mut out, "text", note);
        }
    }
    let failures: Vec<_> = merged.cells.iter().filter(|c| c.failed).collect();
    if !failures.is_empty() {
        out.push_str("\n### Failures\n\n");
    }
    let mut left_out: Vec<String> = Vec::new();
    for c in failures {
        let (_, word) = status(Some(c));
        let mut block = String::new();
        let _ = writeln!(
            block,
            "<details><summary><code>{}</code> on <code>{}</code>: {word}</summary>\n",
            html_text(&c.script),
            html_text(&c.kernel)
        );
        if let Some(note) = &c.note {
            let _ = writeln!(block, "{}\n", html_text(note));
        }
        match &c.diff {
            Some(diff) => {
                let _ = writeln!(
                    block,
                    "Expected ({}) `-`, actual `+`:\n",
                    html_text(c.reference.as_deref().unwrap_or("expected file"))
                );
                fenced(&mut block, "diff", &shorten(diff));
            }
            None => fenced(&mut block, "text", &shorten(&c.outcome)),
        }
        block.push_str("</details>\n\n");
        if out.len() + block.len() > SUMMARY_LIMIT - 4096 {
            left_out.push(format!("{} on {}", c.script, c.kernel));
        } else {
            out.push_str(&block);
        }
    }
    if !left_out.is_empty() {
        let _ = writeln!(
            out,
            "{} more failure(s) left out to keep this summary under GitHub's limit; \
             the HTML report has them: {}",
            left_out.len(),
            html_text(&left_out.join(", "))
        );
    }
    if out.len() > SUMMARY_LIMIT {
        // Only the name list can still be too long.
        let mut cut = SUMMARY_LIMIT - 64;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n\n(summary cut at GitHub's size limit)\n");
    }
    out
}

fn mark(standing: Standing) -> &'static str {
    match standing {
        Standing::Pass => "✅",
        Standing::Fail => "❌",
        Standing::NotApplicable => "➖",
        Standing::Missing => "⚪",
    }
}

/// Text safe in a table cell: no pipe or markup.
fn cell_text(s: &str) -> String {
    html_text(s).replace('|', "\\|")
}

/// Text with HTML's special characters escaped (Markdown passes HTML
/// through).
fn html_text(s: &str) -> String {
    super::html::escape(s)
}

/// `text` in a code fence longer than any backtick run inside it.
fn fenced(out: &mut String, lang: &str, text: &str) {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "{fence}{lang}");
    out.push_str(text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "{fence}\n");
}

/// The first [`TEXT_LINES`] lines (and [`TEXT_BYTES`] bytes) of `text`.
fn shorten(text: &str) -> String {
    let mut out = String::new();
    for (n, line) in text.lines().enumerate() {
        if n == TEXT_LINES || out.len() + line.len() > TEXT_BYTES {
            let rest = text.lines().count() - n;
            let _ = writeln!(out, "... ({rest} more line(s) in the HTML report)");
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::merge::merge;
    use crate::matrix::merge::tests::{cell, shard};

    #[test]
    fn the_summary_has_the_grid_and_each_failure() {
        let one = shard(1, vec![cell("k1", "a", ["ok", "ok", "ok"], false)]);
        let mut b = cell("k1", "b", ["ok", "ok", "DIFF"], true);
        b.diff = Some("+ ```x\n- <y>\n".into());
        let two = shard(2, vec![b]);
        let merged = merge(&[("1.json".into(), one), ("2.json".into(), two)]).unwrap();
        let md = markdown(&merged, Some("artifact stap-matrix-report"));
        assert!(
            md.starts_with(
                "## stap-matrix: 1 failed, 2 not run, 1 passed\n\n2 kernel(s) x 2 script(s)"
            ),
            "{md}"
        );
        assert!(md.contains("| script | k1 | k2 |\n|:--|:--|:--|\n| a | ✅ ok | ⚪ not run |\n| b | ❌ DIFF | ⚪ not run |\n"), "{md}");
        assert!(
            md.contains("the HTML report (artifact stap-matrix-report)"),
            "{md}"
        );
        assert!(
            md.contains("<details><summary><code>b</code> on <code>k1</code>: DIFF</summary>"),
            "{md}"
        );
        // The fence outgrows the backticks inside.
        assert!(md.contains("````diff\n+ ```x\n- <y>\n````\n"), "{md}");
    }

    #[test]
    fn a_huge_failure_list_stays_under_the_limit() {
        let mut cells = Vec::new();
        for i in 0..400 {
            let mut c = cell("k1", &format!("s{i}"), ["ok", "ok", "DIFF"], true);
            c.diff = Some(format!("+ {}\n", "x".repeat(200)).repeat(5000));
            cells.push(c);
        }
        let merged = merge(&[("1.json".into(), shard(1, cells))]).unwrap();
        let md = markdown(&merged, None);
        assert!(md.len() <= SUMMARY_LIMIT, "{}", md.len());
        assert!(md.contains("... (4920 more line(s) in the HTML report)"));
        assert!(md.contains("more failure(s) left out to keep this summary under GitHub's limit"));
    }
}
