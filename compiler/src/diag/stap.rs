//! Renders [`Diagnostic`]s as SystemTap 5.1's `stap` prints them on
//! stderr, so that users who diff its messages see the same bytes
//! (observed with `cargo xtask oracle`, `docs/oracle/FINDINGS.md`,
//! "Translator messages" and "Pass 2's warnings"):
//!
//! ```text
//! WARNING: Eliding assignment to 'x': operator '=' at t.stp:3:4
//!  source: \tx = 1
//!          \t  ^
//! semantic error: unresolved type : identifier 'g' at :5:10
//!         source: \tprintln(g)
//!                 \t        ^
//!
//! parse error: expected literal string or number
//!         saw: operator '}' at t.stp:7:1
//!      source: }
//!              ^
//!
//! ```
//!
//! The place is the token at the primary span, described as SystemTap
//! describes tokens (`identifier 'x'`, `operator '='`, `number '1'`,
//! `string 'text'`, a bare `keyword`, `embedded-code`); the file name is
//! left out (`at :5:10`) when it is the file of the place printed last
//! (a parse error's `saw:` always names it), which is why a
//! [`StapRenderer`] lives as long as one `stap` run. The source line is
//! printed as written (tabs kept) and the caret line keeps its tabs too,
//! so the caret sits under the token in any terminal.
//! Secondary labels follow as `TOKEN at PLACE` with their own source
//! lines. Notes and `help:` lines are stapkit's own (SystemTap puts what
//! to do in the message, `need stap -g`): they come last, as `note: ...`
//! and `help: ...` under `source:`.

use std::fmt::Write;

use super::diagnostic::{Diagnostic, DiagnosticKind, Label};
use super::source::{FileId, SourceMap, Span};

/// Words SystemTap's lexer reports as a bare `keyword`.
const KEYWORDS: &[&str] = &[
    "probe", "global", "private", "function", "if", "else", "for", "foreach", "in", "limit",
    "return", "delete", "while", "break", "continue", "next", "try", "catch",
];

/// Operators of more than one character, longest first.
const OPERATORS: &[&str] = &[
    "<<<", ">>=", "<<=", "!~", "=~", "->", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=",
    "^=", ".=", "==", "!=", "<=", ">=", "&&", "||", "<<", ">>", "%(", "%?", "%:", "%)",
];

/// SystemTap's rendering, with the file of the place printed last.
#[derive(Debug, Default)]
pub struct StapRenderer {
    last_file: Option<FileId>,
}

impl StapRenderer {
    /// A renderer that has printed no place yet.
    pub fn new() -> StapRenderer {
        StapRenderer::default()
    }

    /// Renders one diagnostic; the result ends with a newline (errors
    /// with an empty line, as SystemTap separates them).
    pub fn render(&mut self, map: &SourceMap, diag: &Diagnostic) -> String {
        let mut out = String::new();
        let header = diag.kind.header();
        match diag.kind {
            DiagnosticKind::ParseError => {
                let _ = writeln!(out, "{header}: {}", diag.message);
                if let Some(p) = &diag.primary {
                    // Each parse error names its file.
                    self.last_file = None;
                    let at = self.place(map, p.span);
                    let _ = writeln!(out, "        saw: {at}");
                    source_lines(&mut out, map, p.span, "     source: ");
                }
                notes(&mut out, diag, "     ");
                out.push('\n');
            }
            DiagnosticKind::Warning => {
                self.headed(&mut out, map, header, diag, " source: ");
                notes(&mut out, diag, " ");
            }
            _ => {
                self.headed(&mut out, map, header, diag, "        source: ");
                notes(&mut out, diag, "        ");
                out.push('\n');
            }
        }
        out
    }

    /// Renders several diagnostics in order.
    pub fn render_all(&mut self, map: &SourceMap, diags: &[Diagnostic]) -> String {
        diags.iter().map(|d| self.render(map, d)).collect()
    }

    fn headed(
        &mut self,
        out: &mut String,
        map: &SourceMap,
        header: &str,
        diag: &Diagnostic,
        lead: &str,
    ) {
        match &diag.primary {
            Some(p) => {
                let at = self.place(map, p.span);
                let _ = writeln!(out, "{header}: {}: {at}", diag.message);
                source_lines(out, map, p.span, lead);
            }
            None => {
                let _ = writeln!(out, "{header}: {}", diag.message);
            }
        }
        for Label { span, .. } in &diag.secondary {
            let at = self.place(map, *span);
            let _ = writeln!(out, "{at}");
            source_lines(out, map, *span, lead);
        }
    }

    /// `TOKEN at FILE:LINE:COL`, the file left out when it is the last
    /// one printed.
    fn place(&mut self, map: &SourceMap, span: Span) -> String {
        let lc = map.line_col(span);
        let file = if self.last_file == Some(span.file) {
            ""
        } else {
            map.name(span.file)
        };
        self.last_file = Some(span.file);
        format!(
            "{} at {file}:{}:{}",
            token(map.text(span.file), span.start),
            lc.line,
            lc.col
        )
    }
}

/// stapkit's notes and `help:` lines, indented as `source:` is.
fn notes(out: &mut String, diag: &Diagnostic, indent: &str) {
    for note in &diag.notes {
        let _ = writeln!(out, "{indent}note: {note}");
    }
    for help in &diag.help {
        let _ = writeln!(out, "{indent}help: {help}");
    }
}

/// The `source:` line and the caret line under it.
fn source_lines(out: &mut String, map: &SourceMap, span: Span, lead: &str) {
    let Some(source) = map.get(span.file) else {
        return;
    };
    let line = source.line_col(span.start).line;
    let text = source.line_text(line);
    let start = source.line_start(line).unwrap_or(0);
    let prefix: String = text
        .get(..span.start.saturating_sub(start).min(text.len()))
        .unwrap_or("")
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let _ = writeln!(out, "{lead}{}", text.trim_end_matches(['\r', '\n']));
    let _ = writeln!(out, "{}{prefix}^", " ".repeat(lead.len()));
}

/// SystemTap's description of the token that starts at `at` in `text`.
pub fn token(text: &str, at: usize) -> String {
    let rest = text.get(at..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return "end of file".to_string();
    };
    if rest.starts_with("%{") {
        return "embedded-code".to_string();
    }
    if first == '"' {
        let body = &rest[1..];
        let mut end = body.len();
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' | '\n' => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        return format!("string '{}'", &body[..end]);
    }
    let word_len = rest
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphanumeric() || c == '_' || ((c == '$' || c == '@') && i == 0))
        })
        .map_or(rest.len(), |(i, _)| i);
    if first.is_ascii_digit() {
        return format!("number '{}'", &rest[..word_len]);
    }
    if word_len > 0 {
        let word = &rest[..word_len];
        return if first == '@' {
            format!("operator '{word}'")
        } else if KEYWORDS.contains(&word) {
            "keyword".to_string()
        } else {
            format!("identifier '{word}'")
        };
    }
    let op = OPERATORS
        .iter()
        .find(|op| rest.starts_with(**op))
        .map_or(&rest[..first.len_utf8()], |op| op);
    format!("operator '{op}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_described_as_systemtap_does() {
        let text = "probe begin { x = \"te\\\"xt\" 12 $v @var <<< %{ }";
        let at = |s: &str| token(text, text.find(s).unwrap());
        assert_eq!(at("probe"), "keyword");
        assert_eq!(at("begin"), "identifier 'begin'");
        assert_eq!(at("{ x"), "operator '{'");
        assert_eq!(at("x ="), "identifier 'x'");
        assert_eq!(at("= "), "operator '='");
        assert_eq!(at("\"te"), "string 'te\\\"xt'");
        assert_eq!(at("12"), "number '12'");
        assert_eq!(at("$v"), "identifier '$v'");
        assert_eq!(at("@var"), "operator '@var'");
        assert_eq!(at("<<<"), "operator '<<<'");
        assert_eq!(at("%{"), "embedded-code");
    }

    #[test]
    fn file_names_are_left_out_after_the_first_place_in_that_file() {
        let mut map = SourceMap::new();
        let f = map.add("t.stp", "probe begin {\n\tx = 1\n}\n");
        let g = map.add("u.stp", "global y\n");
        let mut r = StapRenderer::new();
        let w =
            Diagnostic::warning("Eliding assignment to 'x'").with_primary(Span::new(f, 17, 18), "");
        let e = Diagnostic::semantic_error("unresolved type ").with_primary(Span::new(g, 7, 8), "");
        let p = Diagnostic::parse_error("expected literal string or number")
            .with_primary(Span::new(f, 21, 22), "");
        let text = r.render_all(&map, &[w.clone(), w, e, p]);
        assert_eq!(
            text,
            "WARNING: Eliding assignment to 'x': operator '=' at t.stp:2:4\n \
             source: \tx = 1\n         \t  ^\n\
             WARNING: Eliding assignment to 'x': operator '=' at :2:4\n \
             source: \tx = 1\n         \t  ^\n\
             semantic error: unresolved type : identifier 'y' at u.stp:1:8\n        \
             source: global y\n                       ^\n\n\
             parse error: expected literal string or number\n        \
             saw: operator '}' at t.stp:3:1\n     source: }\n             ^\n\n"
        );
    }

    /// SystemTap 5.1 names the file in every parse error's `saw:`, one
    /// after another (`tests/oracle/printf_formats.stp`, `-v` cases).
    #[test]
    fn parse_errors_always_name_their_file() {
        let mut map = SourceMap::new();
        let f = map.add("t.stp", "probe begin { printf(\"%q\", 1) }\n");
        let p = Diagnostic::parse_error("invalid or missing conversion specifier")
            .with_primary(Span::new(f, 25, 26), "");
        let text = StapRenderer::new().render_all(&map, &[p.clone(), p]);
        let saw = "        saw: operator ',' at t.stp:1:26\n     \
                   source: probe begin { printf(\"%q\", 1) }\n                                      ^\n\n";
        assert_eq!(
            text,
            format!("parse error: invalid or missing conversion specifier\n{saw}").repeat(2)
        );
    }

    #[test]
    fn notes_and_help_follow_the_source_lines() {
        let mut map = SourceMap::new();
        let f = map.add("t.stp", "probe end, end {}\n");
        let d = Diagnostic::semantic_error("too many probe points")
            .with_primary(Span::new(f, 11, 14), "")
            .with_note("n")
            .with_help("raise -D MAXPROBES=4");
        assert_eq!(
            StapRenderer::new().render(&map, &d),
            "semantic error: too many probe points: identifier 'end' at t.stp:1:12\n        \
             source: probe end, end {}\n                           ^\n        \
             note: n\n        help: raise -D MAXPROBES=4\n\n"
        );
        let w = Diagnostic::warning("unused command line option $1/@1");
        assert_eq!(
            StapRenderer::new().render(&map, &w),
            "WARNING: unused command line option $1/@1\n"
        );
    }
}
