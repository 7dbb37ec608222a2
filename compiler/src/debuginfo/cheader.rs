//! Just enough C-preprocessor reading to pull declarations out of kernel
//! headers without compiling them: comment stripping, `#if` blocks decided
//! from the tree's `.config`, macro invocations with balanced parentheses,
//! and splitting argument lists at top-level commas.

use std::collections::BTreeMap;

/// `text` with `/* */` and `//` comments replaced by spaces (string and
/// character literals are respected) and backslash-newlines joined.
pub fn strip_comments(text: &str) -> String {
    let text = text.replace("\\\n", " ");
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                // Keep line structure for line-based scans.
                out.extend(text[i..end].chars().filter(|&c| c == '\n'));
                out.push(' ');
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(b.len(), |e| i + e);
            }
            q @ (b'"' | b'\'') => {
                let mut j = i + 1;
                while j < b.len() && b[j] != q {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = (j + 1).min(b.len());
                out.push_str(&text[i..end]);
                i = end;
            }
            _ => {
                let next = text[i..]
                    .find(['/', '"', '\''])
                    .map_or(b.len(), |e| i + e.max(1));
                out.push_str(&text[i..next]);
                i = next;
            }
        }
    }
    out
}

/// Drops the lines of `#if` branches that `config` rules out. Conditions
/// it cannot decide count as true (and their `#else` as false).
pub fn select_config_branches(text: &str, config: &BTreeMap<String, String>) -> String {
    // Each open `#if`: (this branch taken, some branch already taken, parent active).
    let mut stack: Vec<(bool, bool, bool)> = Vec::new();
    let active = |stack: &[(bool, bool, bool)]| stack.last().is_none_or(|&(t, _, p)| t && p);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim_start();
        let directive = t.strip_prefix('#').map(str::trim_start);
        match directive.map(|d| {
            d.split_at(
                d.find(|c: char| !c.is_ascii_alphabetic())
                    .unwrap_or(d.len()),
            )
        }) {
            Some(("if" | "ifdef" | "ifndef", rest)) => {
                let word = directive.unwrap().split_whitespace().next().unwrap_or("");
                let cond = match word {
                    "ifdef" => Some(defined(rest.trim(), config)),
                    "ifndef" => Some(!defined(rest.trim(), config)),
                    _ => eval(rest, config),
                }
                .unwrap_or(true);
                let parent = active(&stack);
                stack.push((cond, cond, parent));
            }
            Some(("elif", rest)) => {
                if let Some(top) = stack.last_mut() {
                    let cond = !top.1 && eval(rest, config).unwrap_or(true);
                    top.0 = cond;
                    top.1 |= cond;
                }
            }
            Some(("else", _)) => {
                if let Some(top) = stack.last_mut() {
                    top.0 = !top.1;
                    top.1 = true;
                }
            }
            Some(("endif", _)) => {
                stack.pop();
            }
            _ => {
                if active(&stack) {
                    out.push_str(line);
                }
            }
        }
        out.push('\n');
    }
    out
}

fn defined(name: &str, config: &BTreeMap<String, String>) -> bool {
    matches!(config.get(name).map(String::as_str), Some(v) if v != "n")
}

/// Evaluates a `#if` expression over `CONFIG_` symbols: `defined(X)`,
/// `IS_ENABLED(X)`, `IS_BUILTIN(X)`, bare `X`, `!`, `&&`, `||`, parens.
/// `None` when it mentions anything else.
fn eval(expr: &str, config: &BTreeMap<String, String>) -> Option<bool> {
    let tokens = tokenize(expr);
    let mut pos = 0;
    let value = eval_or(&tokens, &mut pos, config)?;
    (pos == tokens.len()).then_some(value)
}

fn tokenize(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut w = String::new();
            while let Some(&c) = chars
                .peek()
                .filter(|c| c.is_ascii_alphanumeric() || **c == '_')
            {
                w.push(c);
                chars.next();
            }
            out.push(w);
        } else {
            chars.next();
            if (c == '&' || c == '|') && chars.peek() == Some(&c) {
                chars.next();
                out.push(format!("{c}{c}"));
            } else {
                out.push(c.to_string());
            }
        }
    }
    out
}

fn eval_or(t: &[String], pos: &mut usize, cfg: &BTreeMap<String, String>) -> Option<bool> {
    let mut v = eval_and(t, pos, cfg)?;
    while t.get(*pos).map(String::as_str) == Some("||") {
        *pos += 1;
        v |= eval_and(t, pos, cfg)?;
    }
    Some(v)
}

fn eval_and(t: &[String], pos: &mut usize, cfg: &BTreeMap<String, String>) -> Option<bool> {
    let mut v = eval_unary(t, pos, cfg)?;
    while t.get(*pos).map(String::as_str) == Some("&&") {
        *pos += 1;
        v &= eval_unary(t, pos, cfg)?;
    }
    Some(v)
}

fn eval_unary(t: &[String], pos: &mut usize, cfg: &BTreeMap<String, String>) -> Option<bool> {
    let tok = t.get(*pos)?.as_str();
    *pos += 1;
    match tok {
        "!" => Some(!eval_unary(t, pos, cfg)?),
        "(" => {
            let v = eval_or(t, pos, cfg)?;
            (t.get(*pos).map(String::as_str) == Some(")")).then(|| *pos += 1)?;
            Some(v)
        }
        "defined" | "IS_ENABLED" | "IS_BUILTIN" | "IS_MODULE" => {
            let paren = t.get(*pos).map(String::as_str) == Some("(");
            if paren {
                *pos += 1;
            }
            let name = t.get(*pos)?.clone();
            *pos += 1;
            if paren {
                (t.get(*pos).map(String::as_str) == Some(")")).then(|| *pos += 1)?;
            }
            if !name.starts_with("CONFIG_") {
                return None;
            }
            let value = cfg.get(&name).map(String::as_str);
            Some(match tok {
                "IS_BUILTIN" => value == Some("y"),
                "IS_MODULE" => value == Some("m"),
                _ => defined(&name, cfg),
            })
        }
        name if name.starts_with("CONFIG_") => Some(defined(name, cfg)),
        _ => None,
    }
}

/// One macro invocation found by [`invocations`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The macro's name.
    pub name: String,
    /// Its arguments, trimmed, split at top-level commas.
    pub args: Vec<String>,
    /// Byte offset of the invocation.
    pub at: usize,
}

/// Invocations of the macros in `names` that start a line (so `#define`s
/// of those macros are skipped), with their balanced argument lists.
pub fn invocations(text: &str, names: &[&str]) -> Vec<Invocation> {
    let mut out = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let ident_len = trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(trimmed.len());
        let ident = &trimmed[..ident_len];
        if names.contains(&ident) {
            let at = line_start + (line.len() - trimmed.len());
            let rest = &text[at + ident_len..];
            if let Some(open) = rest
                .find(|c: char| !c.is_whitespace())
                .filter(|&i| rest[i..].starts_with('('))
            {
                if let Some(inner) = balanced(&rest[open..]) {
                    out.push(Invocation {
                        name: ident.to_string(),
                        args: split_top_level(inner),
                        at,
                    });
                }
            }
        }
        line_start += line.len();
    }
    out
}

/// The text inside the parenthesised group `s` starts with.
pub fn balanced(s: &str) -> Option<&str> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&s[1..i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// `s` split at commas outside parentheses, brackets and braces, trimmed;
/// empty for blank input.
pub fn split_top_level(s: &str) -> Vec<String> {
    if s.trim().is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim().to_string());
    out
}

/// `PREFIX(inner)` → `inner` (for `TP_PROTO(...)`, `PARAMS(...)`).
pub fn unwrap_call<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = s.trim().strip_prefix(prefix)?.trim_start();
    rest.starts_with('(').then(|| balanced(rest))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_go_strings_stay() {
        let s = strip_comments("a /* x\n y */ b // c\n\"/* not */\" d\\\ne");
        assert_eq!(s, "a \n  b \n\"/* not */\" d e");
    }

    #[test]
    fn config_branches() {
        let cfg: BTreeMap<String, String> = [
            ("CONFIG_A".to_string(), "y".to_string()),
            ("CONFIG_M".into(), "m".into()),
        ]
        .into();
        let text = "\
#ifdef CONFIG_A
a
#else
not_a
#endif
#if defined(CONFIG_B) || IS_ENABLED(CONFIG_M)
b_or_m
#elif CONFIG_A
elif
#endif
#ifndef CONFIG_A
#ifdef CONFIG_M
nested
#endif
#else
outer_else
#endif
#if __BITS_PER_LONG == 32
unknown_counts_as_true
#endif
";
        let kept: Vec<String> = select_config_branches(text, &cfg)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        assert_eq!(
            kept,
            ["a", "b_or_m", "outer_else", "unknown_counts_as_true"]
        );
    }

    #[test]
    fn finds_invocations_not_definitions() {
        let text = "#define TRACE_EVENT(name, proto) x\nTRACE_EVENT(foo,\n\tTP_PROTO(int a, void (*f)(int, int)),\n\tTP_ARGS(a, f));\n  DEFINE_EVENT(cls, bar, TP_PROTO(void), TP_ARGS());\n";
        let inv = invocations(text, &["TRACE_EVENT", "DEFINE_EVENT"]);
        assert_eq!(inv.len(), 2);
        assert_eq!(
            inv[0].args,
            [
                "foo",
                "TP_PROTO(int a, void (*f)(int, int))",
                "TP_ARGS(a, f)"
            ]
        );
        assert_eq!(
            unwrap_call(&inv[0].args[1], "TP_PROTO"),
            Some("int a, void (*f)(int, int)")
        );
        assert_eq!(inv[1].name, "DEFINE_EVENT");
        assert_eq!(split_top_level(" "), Vec::<String>::new());
    }
}
