//! Two views of one runtime C file, for compiling the runtime apart from
//! the script: the *object* view (the file with every top-level `static`
//! dropped, so the script's object can call and read what it defines) and
//! the *declarations* view (what the script's translation unit sees: types,
//! macros and `static inline` helpers as written, every other function as a
//! prototype and every variable as an `extern`).
//!
//! The split works on top-level chunks: a preprocessor line (with its
//! continuations), or text up to a `;` or to the `}` that ends a function
//! body, outside comments, strings and brackets. What a chunk is decides
//! what each view makes of it:
//!
//! | chunk | object view | declarations view |
//! |---|---|---|
//! | preprocessor line, comment | as is | as is |
//! | function with `inline` | as is | as is |
//! | other function | `static` dropped | its head as a prototype |
//! | `static NAME(...);` (a macro defining a variable: `DEFINE_MUTEX`) | `static` dropped | left out |
//! | other `static` declaration | `static` dropped | `extern`, no initializer |
//! | `struct`/`enum`/`union`/`typedef`/`extern` declaration | as is | as is |
//! | `NAME(...);` (a macro: `module_param_named`, `STP_FAMILY`) | as is | left out, but [`DECLARING_MACROS`] kept |
//! | other declaration (a global) | as is | `extern`, no initializer |

/// Top-level macros whose invocation the declarations view keeps: under
/// `STP_RUNTIME_DECLS` they expand to declarations.
pub const DECLARING_MACROS: &[&str] = &["STP_FAMILY"];

/// The two views of a runtime C file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Views {
    /// Compiled once into the runtime object.
    pub object: String,
    /// Included by every script's C instead of the file.
    pub decls: String,
}

/// One top-level piece of a file.
#[derive(Debug, PartialEq, Eq)]
enum Chunk<'a> {
    /// A preprocessor line, whitespace or a comment between declarations.
    Verbatim(&'a str),
    /// A function definition; `head` is the text before its body.
    Function { text: &'a str, head: &'a str },
    /// A declaration ending in `;`.
    Declaration(&'a str),
}

/// Splits `text` into its views. A file whose braces or comments do not
/// close is an error naming where the last chunk began.
pub fn views(text: &str) -> Result<Views, String> {
    let mut object = String::with_capacity(text.len());
    let mut decls = String::with_capacity(text.len() / 2);
    for chunk in chunks(text)? {
        match chunk {
            Chunk::Verbatim(t) => {
                object.push_str(t);
                decls.push_str(t);
            }
            Chunk::Function { text, head } => {
                if has_word(head, "inline") || has_word(head, "__always_inline") {
                    object.push_str(text);
                    decls.push_str(text);
                } else {
                    object.push_str(&drop_static(text));
                    decls.push_str(drop_static(head).trim_end());
                    decls.push_str(";\n");
                }
            }
            Chunk::Declaration(t) => {
                let words = leading_words(t);
                let first = words.first().map(String::as_str).unwrap_or("");
                let macro_call = |at: usize| {
                    words.len() == at + 1 && t[t.find(&words[at]).unwrap_or(0)..].contains('(')
                };
                if first == "static" {
                    object.push_str(&drop_static(t));
                    let macro_defined =
                        words.len() == 2 && is_macro_name(&words[1]) && macro_call(1);
                    if !macro_defined {
                        decls.push_str(&as_extern(t));
                    }
                } else if matches!(first, "struct" | "enum" | "union" | "typedef" | "extern")
                    && !has_initializer(t)
                {
                    object.push_str(t);
                    decls.push_str(t);
                } else if words.len() == 1 && macro_call(0) {
                    object.push_str(t);
                    if DECLARING_MACROS.contains(&first) {
                        decls.push_str(t);
                    }
                } else {
                    object.push_str(t);
                    decls.push_str(&as_extern(t));
                }
            }
        }
    }
    Ok(Views { object, decls })
}

/// The identifiers a chunk starts with, up to its first other token.
fn leading_words(t: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = skip_space_and_comments(t);
    loop {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) {
            break;
        }
        rest = skip_space_and_comments(&rest[word.len()..]);
        words.push(word);
    }
    words
}

fn skip_space_and_comments(mut s: &str) -> &str {
    loop {
        let t = s.trim_start();
        if let Some(r) = t.strip_prefix("/*") {
            s = r.find("*/").map_or("", |e| &r[e + 2..]);
        } else if let Some(r) = t.strip_prefix("//") {
            s = r.find('\n').map_or("", |e| &r[e..]);
        } else {
            return t;
        }
    }
}

fn is_macro_name(w: &str) -> bool {
    w.chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == word)
}

/// The chunk with its first `static` keyword removed (the storage class
/// comes before the declarator, so the first is the chunk's own).
fn drop_static(t: &str) -> String {
    // Only before the declarator: a body's own `static` locals stay.
    let limit = t.find(['(', '{', '=', ';', '[']).unwrap_or(t.len());
    let mut at = 0;
    while let Some(i) = t[at..limit].find("static") {
        let start = at + i;
        let end = start + "static".len();
        let before_ok = t[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let after_ok = t[end..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        if before_ok && after_ok {
            let rest = t[end..].strip_prefix(' ').unwrap_or(&t[end..]);
            return format!("{}{}", &t[..start], rest);
        }
        at = end;
    }
    t.to_string()
}

/// Byte offset of the first `=` outside brackets, comments and strings.
fn initializer_at(t: &str) -> Option<usize> {
    let mut scan = Scanner::new(t);
    while let Some((i, c)) = scan.next_code() {
        if c == '=' && scan.depth == 0 && scan.parens == 0 {
            return Some(i);
        }
    }
    None
}

fn has_initializer(t: &str) -> bool {
    initializer_at(t).is_some()
}

/// A declaration as an `extern` one: `static` dropped, the initializer cut.
fn as_extern(t: &str) -> String {
    let body = match initializer_at(t) {
        Some(i) => {
            let newline = if t.ends_with('\n') { "\n" } else { "" };
            format!("{};{newline}", t[..i].trim_end())
        }
        None => t.to_string(),
    };
    let body = drop_static(&body);
    let lead = body.len() - body.trim_start().len();
    format!("{}extern {}", &body[..lead], &body[lead..])
}

/// Walks C text, telling code characters from comments and literals.
struct Scanner<'a> {
    text: &'a str,
    at: usize,
    /// `{` depth.
    depth: usize,
    /// `(` and `[` depth.
    parens: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            at: 0,
            depth: 0,
            parens: 0,
        }
    }

    /// The next character of code (outside comments and literals) and its
    /// offset; brackets update the depths before it is returned.
    fn next_code(&mut self) -> Option<(usize, char)> {
        let bytes = self.text.as_bytes();
        while self.at < bytes.len() {
            let i = self.at;
            let c = bytes[i];
            match c {
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    self.at = self.text[i + 2..]
                        .find("*/")
                        .map_or(bytes.len(), |e| i + 2 + e + 2);
                }
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    self.at = self.text[i..].find('\n').map_or(bytes.len(), |e| i + e);
                }
                b'"' | b'\'' => {
                    let mut j = i + 1;
                    while j < bytes.len() && bytes[j] != c {
                        j += if bytes[j] == b'\\' { 2 } else { 1 };
                    }
                    self.at = j + 1;
                }
                _ => {
                    self.at = i + 1;
                    match c {
                        b'{' => self.depth += 1,
                        b'}' => self.depth = self.depth.saturating_sub(1),
                        b'(' | b'[' => self.parens += 1,
                        b')' | b']' => self.parens = self.parens.saturating_sub(1),
                        _ => {}
                    }
                    // Only ASCII matters to the split; other bytes are
                    // inside literals or comments in the runtime.
                    return Some((i, c as char));
                }
            }
        }
        None
    }
}

/// Splits a file into top-level chunks.
fn chunks(text: &str) -> Result<Vec<Chunk<'_>>, String> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    while start < text.len() {
        // Whitespace, comments and preprocessor lines between chunks.
        let rest = &text[start..];
        let trimmed = skip_space_and_comments(rest);
        if trimmed.starts_with('#') {
            let line_start = start + (rest.len() - trimmed.len());
            let mut end = line_start;
            loop {
                let nl = text[end..].find('\n').map_or(text.len(), |e| end + e);
                if nl > 0 && bytes[nl - 1] == b'\\' && nl < text.len() {
                    end = nl + 1;
                    continue;
                }
                end = (nl + 1).min(text.len());
                break;
            }
            out.push(Chunk::Verbatim(&text[start..end]));
            start = end;
            continue;
        }
        if trimmed.is_empty() {
            out.push(Chunk::Verbatim(rest));
            break;
        }
        let lead = rest.len() - trimmed.len();
        if lead > 0 {
            out.push(Chunk::Verbatim(&rest[..lead]));
            start += lead;
        }
        let chunk = &text[start..];
        let mut scan = Scanner::new(chunk);
        let mut body_at = None;
        let mut last_code = ' ';
        let mut end = None;
        while let Some((i, c)) = scan.next_code() {
            if c == '{' && scan.depth == 1 && scan.parens == 0 && body_at.is_none() {
                let is_function = last_code == ')' && initializer_at(&chunk[..i]).is_none();
                body_at = Some((i, is_function));
            }
            if c == '}' && scan.depth == 0 && scan.parens == 0 {
                if let Some((at, true)) = body_at {
                    let mut e = i + 1;
                    if chunk[e..].starts_with('\n') {
                        e += 1;
                    }
                    out.push(Chunk::Function {
                        text: &chunk[..e],
                        head: &chunk[..at],
                    });
                    end = Some(e);
                    break;
                }
            }
            if c == ';' && scan.depth == 0 && scan.parens == 0 {
                let mut e = i + 1;
                if chunk[e..].starts_with('\n') {
                    e += 1;
                }
                out.push(Chunk::Declaration(&chunk[..e]));
                end = Some(e);
                break;
            }
            if !c.is_ascii_whitespace() {
                last_code = c;
            }
        }
        let Some(end) = end else {
            let line = text[..start].lines().count() + 1;
            return Err(format!(
                "line {line}: a declaration that does not end (unbalanced braces or a missing ';')"
            ));
        };
        start += end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> (String, String) {
        let v = views(text).unwrap();
        (v.object, v.decls)
    }

    #[test]
    fn functions_become_global_and_prototypes() {
        let (obj, decls) = split(
            "/* a helper */\nstatic __maybe_unused int stp_add(int a,\n\t\tint b)\n{\n\treturn a + b; /* } */\n}\n",
        );
        assert_eq!(
            obj,
            "/* a helper */\n__maybe_unused int stp_add(int a,\n\t\tint b)\n{\n\treturn a + b; /* } */\n}\n"
        );
        assert_eq!(
            decls,
            "/* a helper */\n__maybe_unused int stp_add(int a,\n\t\tint b);\n"
        );
    }

    #[test]
    fn inline_functions_stay_in_both() {
        let text = "static inline int one(void) { return 1; }\n";
        assert_eq!(split(text), (text.to_string(), text.to_string()));
    }

    #[test]
    fn variables_become_externs_without_initializers() {
        let (obj, decls) = split(
            "static atomic_t stp_n = ATOMIC_INIT(0);\nstatic char stp_name[16] = \"a;b\";\n\
             static const struct ops stp_ops = {\n\t.f = g,\n};\nstatic int (*stp_fn)(int);\n",
        );
        assert_eq!(
            obj,
            "atomic_t stp_n = ATOMIC_INIT(0);\nchar stp_name[16] = \"a;b\";\n\
             const struct ops stp_ops = {\n\t.f = g,\n};\nint (*stp_fn)(int);\n"
        );
        assert_eq!(
            decls,
            "extern atomic_t stp_n;\nextern char stp_name[16];\n\
             extern const struct ops stp_ops;\nextern int (*stp_fn)(int);\n"
        );
    }

    #[test]
    fn types_preprocessor_lines_and_prototypes() {
        let text = "#define A(x) \\\n\t((x) + 1)\n#ifdef B\nstruct s {\n\tint a;\n};\n#endif\n\
                    typedef int (*fn_t)(int);\nenum { X, Y };\nstruct t;\n";
        assert_eq!(split(text), (text.to_string(), text.to_string()));
        let (obj, decls) = split("static void stp_f(void);\nSTP_API int stp_g(int a);\n");
        assert_eq!(obj, "void stp_f(void);\nSTP_API int stp_g(int a);\n");
        assert_eq!(
            decls,
            "extern void stp_f(void);\nextern STP_API int stp_g(int a);\n"
        );
    }

    #[test]
    fn macros_at_top_level() {
        let (obj, decls) = split(
            "static DEFINE_MUTEX(stp_lock);\nmodule_param_named(_t, stp_t, long, 0444);\n\
             STP_FAMILY(kprobe, struct stp_kprobe, reg, unreg);\n\
             static STP_HANDLER(stp_hit, self, regs)\n{\n\treturn 0;\n}\n",
        );
        assert_eq!(
            obj,
            "DEFINE_MUTEX(stp_lock);\nmodule_param_named(_t, stp_t, long, 0444);\n\
             STP_FAMILY(kprobe, struct stp_kprobe, reg, unreg);\n\
             STP_HANDLER(stp_hit, self, regs)\n{\n\treturn 0;\n}\n"
        );
        assert_eq!(
            decls,
            "STP_FAMILY(kprobe, struct stp_kprobe, reg, unreg);\nSTP_HANDLER(stp_hit, self, regs);\n"
        );
    }

    #[test]
    fn an_unclosed_body_is_an_error_with_its_line() {
        let e = views("int a;\nstatic void f(void)\n{\n").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
    }
}
