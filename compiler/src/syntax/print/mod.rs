//! Trees back to script text, in two forms that share one printer.
//!
//! - [`print`] (`canonical`): stapkit's own canonical form, which re-parses
//!   to the same tree; only the parentheses precedence needs, strings with
//!   the escapes a script would use.
//! - [`dump_p1`] (`p1`): SystemTap's `stap -p1` parse tree dump, byte for
//!   byte; every operand parenthesized, strings as they were written.
//!
//! The two differ in how items are ordered and laid out, and each does
//! that in its own file; statements (`stmt`) and expressions (`expr`) are
//! printed once for both, asking the [`Form`] where the forms differ.

use std::fmt::Write;

use super::ast::*;
use super::parser::expr::binary_level;
use crate::diag::{SourceMap, Span};

mod canonical;
mod expr;
mod p1;
mod stmt;

pub use canonical::{print, print_point};
pub use p1::dump_p1;

/// Binding strengths for deciding where parentheses are needed.
mod prec {
    pub const ASSIGN: u8 = 1;
    pub const TERNARY: u8 = 2;
    /// Binary operators occupy 3 (`||`) to 13 (`*`): parser level + 2.
    pub const BINARY_OFFSET: u8 = 2;
    pub const IN: u8 = 8;
    pub const COMPARE: u8 = 9;
    pub const SHIFT: u8 = 10;
    pub const UNARY: u8 = 14;
    pub const TARGET: u8 = 15;
    pub const PRIMARY: u8 = 16;
}

/// Which text a [`Printer`] writes.
#[derive(Clone, Copy)]
enum Form<'a> {
    /// stapkit's re-parseable canonical form.
    Canonical,
    /// SystemTap's `-p1` dump; string literals are looked up in the
    /// sources to print them as written.
    SystemTap(&'a SourceMap),
}

struct Printer<'a> {
    out: String,
    /// Nesting depth of the canonical form's indentation.
    indent: usize,
    form: Form<'a>,
}

/// A string literal in source form, quotes included.
pub(crate) fn quote_string(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                '\t' => s.push_str("\\t"),
                '\r' => s.push_str("\\r"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(s, "\\{:03o}", c as u32);
                }
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(s, "\\{b:03o}");
        }
    }
    s.push('"');
    s
}

fn expr_prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Assign { .. } => prec::ASSIGN,
        ExprKind::Ternary { .. } => prec::TERNARY,
        ExprKind::Binary { op, .. } => binary_level(*op) + prec::BINARY_OFFSET,
        ExprKind::Regex { .. } => prec::COMPARE,
        ExprKind::In { .. } => prec::IN,
        ExprKind::Unary { .. } | ExprKind::Crement { .. } => prec::UNARY,
        ExprKind::Target(_) => prec::TARGET,
        _ => prec::PRIMARY,
    }
}

impl<'a> Printer<'a> {
    fn new(form: Form<'a>) -> Self {
        Printer {
            out: String::new(),
            indent: 0,
            form,
        }
    }

    fn is_p1(&self) -> bool {
        matches!(self.form, Form::SystemTap(_))
    }

    /// What `f` prints, taken out of the output.
    fn text(&mut self, f: impl FnOnce(&mut Self)) -> String {
        let saved = std::mem::take(&mut self.out);
        f(self);
        std::mem::replace(&mut self.out, saved)
    }

    /// A string literal whose value is `value`, found at `span`.
    fn string(&self, value: &[u8], span: Span) -> String {
        match self.form {
            Form::Canonical => quote_string(value),
            Form::SystemTap(map) => p1::string_as_written(map, value, span),
        }
    }

    fn literal(&mut self, lit: &Literal) {
        match lit {
            Literal::Number(n) => {
                let _ = write!(self.out, "{}", n.value);
            }
            Literal::String(s) => {
                let text = self.string(&s.value, s.span);
                self.out.push_str(&text);
            }
        }
    }

    /// A global's name, `%`, size and initial value.
    fn global_var(&mut self, v: &GlobalVar) {
        self.out.push_str(&v.name.name);
        if v.wrap {
            self.out.push('%');
        }
        if let Some(n) = &v.size {
            let _ = write!(self.out, "[{}]", n.value);
        }
        if let Some(init) = &v.init {
            self.out.push_str(" = ");
            self.literal(init);
        }
    }

    fn sort_sign(&mut self, sort: &Sort) {
        self.out.push(match sort.direction {
            SortDirection::Ascending => '+',
            SortDirection::Descending => '-',
        });
    }

    /// `foreach (` up to its closing parenthesis, which the form's
    /// statement layout writes with the body.
    fn foreach_header(&mut self, f: &Foreach) {
        self.out.push_str("foreach (");
        if let Some(v) = &f.value {
            let _ = write!(self.out, "{} = ", v.name);
        }
        // The canonical form leaves out the brackets around a single key.
        let bracket = self.is_p1() || f.keys.len() != 1;
        if bracket {
            self.out.push('[');
        }
        for (i, k) in f.keys.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&k.name);
            if let Some(sort) = f.sort.filter(|s| s.column == SortColumn::Key(i)) {
                self.sort_sign(&sort);
            }
        }
        if bracket {
            self.out.push(']');
        }
        self.out.push_str(" in ");
        self.indexable(&f.base);
        if let Some(slice) = &f.slice {
            self.index_items(slice);
        }
        if let Some(sort) = f.sort.filter(|s| s.column == SortColumn::Value) {
            // SystemTap names the aggregate, except @variance.
            let p1 = self.is_p1();
            if let Some(agg) = sort.aggregate.filter(|a| !p1 || a.name() != "variance") {
                let _ = write!(self.out, " @{}", agg.name());
            }
            self.sort_sign(&sort);
        }
        if let Some(l) = &f.limit {
            self.out.push_str(" limit ");
            self.expr(l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::quote_string;

    #[test]
    fn strings_are_escaped_exactly() {
        assert_eq!(quote_string(b"a\"b\\c\n\t\r"), r#""a\"b\\c\n\t\r""#);
        assert_eq!(quote_string(b"\x01\x7f"), r#""\001\177""#);
        assert_eq!(quote_string(b"\xff\xfe"), r#""\377\376""#);
        assert_eq!(quote_string("ü".as_bytes()), "\"ü\"");
        assert_eq!(quote_string(b"\x001"), r#""\0001""#);
    }
}
