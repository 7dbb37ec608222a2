//! Turns a [`Diagnostic`] into deterministic, colourless text.
//!
//! The layout follows rustc's, with SystemTap's header words:
//!
//! ```text
//! parse error: expected ')', found '{'
//!  --> probe.stp:3:13
//!   |
//! 3 |   if (x > 1 {
//!   |             ^ expected ')'
//!   |     - to close this '('
//!   |
//!   = help: ...
//! ```
//!
//! Labels are grouped by file, then by line; every label gets its own
//! underline row (`^` for the primary label, `-` for secondary ones). Tabs
//! are shown as four spaces so that underlines line up.

use std::fmt::Write;

use super::diagnostic::{Diagnostic, Label};
use super::source::{FileId, SourceFile, SourceMap};

const TAB_WIDTH: usize = 4;

/// Renders one diagnostic; the result ends with a newline.
pub fn render(map: &SourceMap, diag: &Diagnostic) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", diag.kind.header(), diag.message);

    // (label, is_primary), primary first, then secondaries in given order.
    let mut labels: Vec<(&Label, bool)> = Vec::new();
    if let Some(p) = &diag.primary {
        labels.push((p, true));
    }
    labels.extend(diag.secondary.iter().map(|l| (l, false)));

    // Files in order of first appearance; the primary's file comes first.
    let mut files: Vec<FileId> = Vec::new();
    for (l, _) in &labels {
        if !files.contains(&l.span.file) {
            files.push(l.span.file);
        }
    }

    let gutter = labels
        .iter()
        .map(|(l, _)| digits(map.line_col(l.span).line))
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(gutter);

    for (fi, &file) in files.iter().enumerate() {
        let Some(source) = map.get(file) else {
            continue;
        };
        let in_file: Vec<(&Label, bool)> = labels
            .iter()
            .copied()
            .filter(|(l, _)| l.span.file == file)
            .collect();
        let first = in_file[0].0.span;
        let arrow = if fi == 0 { "-->" } else { ":::" };
        let _ = writeln!(out, "{pad}{arrow} {}", map.location(first));
        let _ = writeln!(out, "{pad} |");

        let mut lines: Vec<usize> = in_file
            .iter()
            .map(|(l, _)| source.line_col(l.span.start).line)
            .collect();
        lines.sort_unstable();
        lines.dedup();
        let mut previous: Option<usize> = None;
        for line in lines {
            if previous.is_some_and(|p| line > p + 1) {
                let _ = writeln!(out, "{pad}...");
            }
            previous = Some(line);
            let text = source.line_text(line);
            let shown = expand_tabs(text);
            let _ = writeln!(out, "{line:>gutter$} | {}", shown.trim_end());
            let mut on_line: Vec<(&Label, bool)> = in_file
                .iter()
                .copied()
                .filter(|(l, _)| source.line_col(l.span.start).line == line)
                .collect();
            on_line.sort_by_key(|(l, primary)| (!primary, l.span.start));
            for (label, primary) in on_line {
                let (col, width) = underline(source, line, label);
                let mark = if primary { "^" } else { "-" };
                let mut row = format!("{pad} | {}{}", " ".repeat(col), mark.repeat(width));
                if !label.message.is_empty() {
                    row.push(' ');
                    row.push_str(&label.message);
                }
                let _ = writeln!(out, "{}", row.trim_end());
            }
        }
    }

    if !diag.notes.is_empty() || !diag.help.is_empty() {
        if !labels.is_empty() {
            let _ = writeln!(out, "{pad} |");
        }
        let lead = if labels.is_empty() {
            String::new()
        } else {
            format!("{pad} = ")
        };
        for note in &diag.notes {
            let _ = writeln!(out, "{lead}note: {note}");
        }
        for help in &diag.help {
            let _ = writeln!(out, "{lead}help: {help}");
        }
    }
    out
}

/// Renders several diagnostics, separated by blank lines.
pub fn render_all(map: &SourceMap, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in diags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&render(map, d));
    }
    out
}

fn digits(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

fn expand_tabs(text: &str) -> String {
    text.replace('\t', &" ".repeat(TAB_WIDTH))
}

/// Display column (0-based) and width of the underline for `label` on `line`.
/// A span running past the end of the line is cut at the line end; an empty
/// span gets a single mark.
fn underline(source: &SourceFile, line: usize, label: &Label) -> (usize, usize) {
    let start_of_line = source.line_start(line).unwrap_or(0);
    let text = source.line_text(line);
    let line_end = start_of_line + text.len();
    let from = label.span.start.clamp(start_of_line, line_end);
    let to = label.span.end.clamp(from, line_end);
    let width_of = |a: usize, b: usize| -> usize {
        text.get(a - start_of_line..b - start_of_line)
            .map_or(0, |s| {
                s.chars()
                    .map(|c| if c == '\t' { TAB_WIDTH } else { 1 })
                    .sum()
            })
    };
    let col = width_of(start_of_line, from);
    let width = width_of(from, to).max(1);
    (col, width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Diagnostic, Span};

    #[test]
    fn renders_header_frame_labels_and_help() {
        let mut map = SourceMap::new();
        let f = map.add("t.stp", "probe begin {\n\tif (x > 1 {\n}\n");
        let d = Diagnostic::parse_error("expected ')', found '{'")
            .with_primary(Span::new(f, 24, 25), "expected ')'")
            .with_secondary(Span::new(f, 18, 19), "to close this '('")
            .with_help("add ')' before '{'");
        let text = render(&map, &d);
        assert_eq!(
            text,
            "parse error: expected ')', found '{'\n \
             --> t.stp:2:11\n  \
             |\n\
             2 |     if (x > 1 {\n  \
             |              ^ expected ')'\n  \
             |        - to close this '('\n  \
             |\n  \
             = help: add ')' before '{'\n"
        );
    }

    #[test]
    fn renders_without_span_and_across_files() {
        let mut map = SourceMap::new();
        let a = map.add("a.stp", "global x\n");
        let b = map.add("b.stp", "\n\nglobal x\n");
        let d = Diagnostic::semantic_error("duplicate global 'x'")
            .with_primary(Span::new(b, 9, 10), "")
            .with_secondary(Span::new(a, 7, 8), "first declared here");
        let text = render(&map, &d);
        assert!(text.contains(" --> b.stp:3:8\n"), "{text}");
        assert!(text.contains(" ::: a.stp:1:8\n"), "{text}");
        let bare = render(&map, &Diagnostic::warning("nothing to do").with_note("n"));
        assert_eq!(bare, "WARNING: nothing to do\nnote: n\n");
    }

    #[test]
    fn empty_span_at_end_of_file_gets_one_caret() {
        let mut map = SourceMap::new();
        let f = map.add("e", "probe begin {");
        let d = Diagnostic::parse_error("x").with_primary(Span::new(f, 13, 13), "here");
        assert!(render(&map, &d).contains("1 | probe begin {\n  |              ^ here\n"));
    }
}
