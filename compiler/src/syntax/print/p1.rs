//! SystemTap's `stap -p1` parse tree dump, byte for byte.
//!
//! The form, as real SystemTap 5.1 prints it (observed on stapkit's parse
//! fixtures; see `tests/systemtap-frontend/`):
//!
//! ```text
//! # parse tree dump
//! # file NAME
//! global g
//! probe begin,timer.s(1) if (enabled){
//! (x) = ((a) + (1));
//! if (x) printf("%d\\n", x)
//! ;
//! }
//! function f (a, b)
//! {
//! return (a) + (b);
//! }
//!
//! ```
//!
//! Embedded C first, then globals (one per line), aliases, probes, functions;
//! no indentation; every statement of a block ends with `;` on its own
//! terms (`if` ends its line first); every operand of an operator is
//! parenthesized, call arguments and index keys are not; `while` is
//! `for (; C; )`; brace groups in probe points are expanded, each point
//! carrying its `?`/`!` and condition; types and function priorities are
//! left out; numbers print as signed 64-bit decimals; strings print as
//! written (adjacent literals joined, unknown escapes such as `\e`
//! reduced to the character), `@const("X")` as the embedded expression
//! SystemTap turns it into, and a `printf`/`sprintf` format with its
//! backslashes doubled.
//!
//! Items and statements are laid out here; expressions come from the
//! printer the canonical form shares (`super::expr`), in its SystemTap
//! form.

use std::fmt::Write;

use super::{Form, Printer};
use crate::diag::{SourceMap, Span};
use crate::syntax::ast::*;

/// The `stap -p1` text of `script`, read from the file named `name`.
pub fn dump_p1(script: &Script, map: &SourceMap, name: &str) -> String {
    let mut p = Printer::new(Form::SystemTap(map));
    p.out.push_str("# parse tree dump\n");
    let _ = writeln!(p.out, "# file {name}");
    for item in &script.items {
        if let Item::Embedded(e) = item {
            // No line break after it: the next item follows on its line.
            let _ = write!(p.out, "%{{{}%}}", e.code);
        }
    }
    for item in &script.items {
        if let Item::Global(g) = item {
            p.global(g);
        }
    }
    for item in &script.items {
        if let Item::Alias(a) = item {
            p.out.push_str("probe ");
            let names: Vec<String> = a.names.iter().flat_map(|n| p.expand(n)).collect();
            let op = match a.kind {
                AliasKind::Prologue => " = ",
                AliasKind::Epilogue => " += ",
            };
            p.out.push_str(&names.join(op));
            p.out.push_str(op);
            let points: Vec<String> = a.points.iter().flat_map(|pt| p.expand(pt)).collect();
            p.out.push_str(&points.join(", "));
            p.block(&a.body);
            p.out.push('\n');
        }
    }
    for item in &script.items {
        if let Item::Probe(probe) = item {
            p.out.push_str("probe ");
            let points: Vec<String> = probe.points.iter().flat_map(|pt| p.expand(pt)).collect();
            p.out.push_str(&points.join(","));
            p.block(&probe.body);
            p.out.push('\n');
        }
    }
    for item in &script.items {
        if let Item::Function(f) = item {
            let params: Vec<&str> = f.params.iter().map(|x| x.name.name.as_str()).collect();
            let _ = writeln!(p.out, "function {} ({})", f.name.name, params.join(", "));
            match &f.body {
                FunctionBody::Block(b) => p.block(b),
                FunctionBody::Embedded(e) => {
                    let _ = write!(p.out, "%{{{}%}}", e.code);
                }
            }
            p.out.push('\n');
        }
    }
    p.out.push('\n');
    p.out
}

/// A string literal as SystemTap prints it: the literal(s) as written at
/// `span` when that is where `value` came from, else `value` with the
/// escapes a script would use.
pub(super) fn string_as_written(map: &SourceMap, value: &[u8], span: Span) -> String {
    let source = map.text(span.file);
    if let Some(text) = source.get(span.start..span.end) {
        if let Some(raw) = written_literals(text) {
            if decode(&raw) == value {
                return format!("\"{}\"", raw.replace('"', "\\\""));
            }
        }
    }
    super::quote_string(value)
}

impl Printer<'_> {
    fn global(&mut self, g: &GlobalDecl) {
        for v in &g.vars {
            self.out.push_str("global ");
            self.global_var(v);
            self.out.push('\n');
        }
    }

    /// A probe point with its brace groups expanded: one text per point,
    /// each with its `?`/`!` and condition.
    fn expand(&mut self, point: &ProbePoint) -> Vec<String> {
        let mut texts: Vec<(String, bool, bool, Option<String>)> =
            vec![(String::new(), false, false, None)];
        for (i, c) in point.components.iter().enumerate() {
            let sep = if i > 0 { "." } else { "" };
            match c {
                Component::Named(n) => {
                    let mut word = n.name.name.clone();
                    if let Some(arg) = &n.arg {
                        word.push('(');
                        word.push_str(&self.text(|p| p.literal(arg)));
                        word.push(')');
                    }
                    for t in &mut texts {
                        t.0.push_str(sep);
                        t.0.push_str(&word);
                    }
                }
                Component::Group(g) => {
                    let mut alternatives = Vec::new();
                    for alt in &g.alternatives {
                        let cond = alt.condition.as_ref().map(|c| self.text(|p| p.expr(c)));
                        for text in self.expand_bare(alt) {
                            alternatives.push((text, alt.optional, alt.sufficient, cond.clone()));
                        }
                    }
                    let mut next = Vec::new();
                    for t in &texts {
                        for a in &alternatives {
                            next.push((
                                format!("{}{sep}{}", t.0, a.0),
                                t.1 || a.1,
                                t.2 || a.2,
                                a.3.clone().or_else(|| t.3.clone()),
                            ));
                        }
                    }
                    texts = next;
                }
            }
        }
        let cond = point.condition.as_ref().map(|c| self.text(|p| p.expr(c)));
        texts
            .into_iter()
            .map(|(mut text, optional, sufficient, inner)| {
                if sufficient || point.sufficient {
                    text.push('!');
                } else if optional || point.optional {
                    text.push('?');
                }
                if let Some(c) = cond.as_ref().or(inner.as_ref()) {
                    let _ = write!(text, " if ({c})");
                }
                text
            })
            .collect()
    }

    /// A group alternative's expansions without its own markers.
    fn expand_bare(&mut self, point: &ProbePoint) -> Vec<String> {
        let bare = ProbePoint {
            optional: false,
            sufficient: false,
            condition: None,
            ..point.clone()
        };
        self.expand(&bare)
    }
}

/// The text of adjacent string literals `"a" "b"` joined, escapes kept as
/// written except those that only stand for their character (`\e` is
/// `e`); `None` when `text` is not only string literals.
fn written_literals(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    let mut any = false;
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return any.then_some(out),
            Some('"') => any = true,
            Some(_) => return None,
        }
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => {
                    let c = chars.next()?;
                    if "abfnrtv\\01234567x".contains(c) {
                        out.push('\\');
                    }
                    out.push(c);
                }
                c => out.push(c),
            }
        }
    }
}

/// The bytes a literal's inside (as [`written_literals`] gives it) stands
/// for.
fn decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 >= bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                    v = v * 8 + u32::from(bytes[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            b'x' => {
                let mut v = 0u32;
                while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                    v = v * 16 + (bytes[i] as char).to_digit(16).unwrap_or(0);
                    i += 1;
                }
                out.push(v as u8);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_keep_their_escapes() {
        assert_eq!(
            written_literals(r#""a\tb" "c\n""#).as_deref(),
            Some(r"a\tbc\n")
        );
        assert_eq!(written_literals(r#""\e[0m""#).as_deref(), Some("e[0m"));
        assert_eq!(written_literals(r#""q\' qm\?""#).as_deref(), Some("q' qm?"));
        assert_eq!(written_literals(r#""a\"b""#).as_deref(), Some("a\"b"));
        assert_eq!(written_literals("x"), None);
        assert_eq!(decode(r"\101\x41\n"), b"AA\n");
    }

    #[test]
    fn embedded_c_comes_before_globals() {
        let text = "global a\nfunction f() { return 1 }\n%{ int x; %}\n\
                    probe foo = begin { }\nprobe begin { f() }\nglobal b\n";
        let mut map = SourceMap::new();
        let file = map.add("o.stp".to_string(), text.to_string());
        let parsed = crate::syntax::parse(&map, file, &Default::default());
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        // As SystemTap 5.1 prints it (`stap -p1 -g`).
        assert_eq!(
            dump_p1(&parsed.script, &map, "o.stp"),
            "# parse tree dump\n# file o.stp\n%{ int x; %}global a\nglobal b\n\
             probe foo = begin{\n}\nprobe begin{\nf();\n}\nfunction f ()\n{\nreturn 1;\n}\n\n"
        );
    }
}
