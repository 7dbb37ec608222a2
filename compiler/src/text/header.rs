//! Script header lines: the `# KEY: value` comments at the top of a test
//! script (`# matrix: -g -c "cmd arg"`, `# oracle: ...`, `# requires:
//! debuginfo`) and the fixtures' `//@ key: value`, found by [`values`] and
//! split into words by [`split_words`]. One tokenizer for `stap-matrix`,
//! the oracle (xtask) and the fixture tests, so a header means the same to
//! all of them.

/// How [`split_words`] groups and escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoting {
    /// The quote character that keeps spaces inside a word (`"` or `'`);
    /// the quotes themselves are removed.
    pub quote: char,
    /// Whether `\c` stands for `c` (so `\"` is a quote inside a word).
    pub backslash: bool,
}

impl Quoting {
    /// Double quotes group, backslashes are plain (`# matrix:` lines).
    pub const DOUBLE: Quoting = Quoting {
        quote: '"',
        backslash: false,
    };
    /// Double quotes group, `\` escapes the next character (`# oracle:`).
    pub const DOUBLE_ESCAPED: Quoting = Quoting {
        quote: '"',
        backslash: true,
    };
    /// Single quotes group; double quotes stay in the word (`//@ args:`,
    /// where an argument may be a string token).
    pub const SINGLE: Quoting = Quoting {
        quote: '\'',
        backslash: false,
    };
}

/// A header line's words could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnterminatedQuote;

impl std::fmt::Display for UnterminatedQuote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unterminated quote")
    }
}

impl std::error::Error for UnterminatedQuote {}

/// Splits `text` at white space outside quotes, as a shell would for
/// plain words. `""` is an empty word.
pub fn split_words(text: &str, quoting: Quoting) -> Result<Vec<String>, UnterminatedQuote> {
    let mut words = Vec::new();
    let (mut cur, mut in_word, mut quoted) = (String::new(), false, false);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoting.backslash => {
                cur.extend(chars.next());
                in_word = true;
            }
            c if c == quoting.quote => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err(UnterminatedQuote);
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// The values of the header lines `PREFIX KEY: value` in `text`, with
/// their 1-based line numbers, trimmed (`values(t, "#", "matrix")`).
pub fn values<'t>(
    text: &'t str,
    prefix: &'t str,
    key: &'t str,
) -> impl Iterator<Item = (usize, &'t str)> + 't {
    text.lines().enumerate().filter_map(move |(i, line)| {
        let rest = line.strip_prefix(prefix)?.trim_start();
        let value = rest.strip_prefix(key)?.strip_prefix(':')?;
        Some((i + 1, value.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_by_quoting() {
        let w = |t, q| split_words(t, q).unwrap();
        assert_eq!(
            w("-g  -c \"cat /etc/passwd\" x", Quoting::DOUBLE),
            ["-g", "-c", "cat /etc/passwd", "x"]
        );
        assert_eq!(w("a \"\" b", Quoting::DOUBLE), ["a", "", "b"]);
        assert_eq!(w("a\\b", Quoting::DOUBLE), ["a\\b"]);
        assert_eq!(
            w("-e 'process(\\\"/bin/sh\\\").*'", Quoting::DOUBLE_ESCAPED),
            ["-e", "'process(\"/bin/sh\").*'"]
        );
        assert_eq!(
            w("1 'two words' \"str\"", Quoting::SINGLE),
            ["1", "two words", "\"str\""]
        );
        assert_eq!(
            split_words("\"open", Quoting::DOUBLE),
            Err(UnterminatedQuote)
        );
        assert_eq!(UnterminatedQuote.to_string(), "unterminated quote");
    }

    #[test]
    fn header_values_with_line_numbers() {
        let text = "# matrix: -g\nprobe begin {}\n#matrix:  -u \n# matrixx: no\n//@ args: 1\n";
        let found: Vec<_> = values(text, "#", "matrix").collect();
        assert_eq!(found, [(1, "-g"), (3, "-u")]);
        assert_eq!(values(text, "//@", "args").collect::<Vec<_>>(), [(5, "1")]);
    }
}
