//! The lexer: source text to [`Token`]s.
//!
//! It knows SystemTap's lexical rules and nothing else: identifiers may start
//! with `$` or `@` (`$var`, `$$vars`, `@cast`) and continue with `$`
//! (`$var$$`); numbers are decimal, octal (leading `0`) or hex (`0x`) and must
//! fit in 64 unsigned bits; strings are decoded (`\n \t \" \\ \ooo \xhh`...);
//! comments are `#`, `//` and `/* */`; `%{ ... %}` is one embedded-C token.
//! `$N`, `@N`, `$#` and `@#` are left as argument tokens for the
//! preprocessor. Errors are collected; the lexer always runs to the end.

use crate::diag::{FileId, Span};

use super::error::SyntaxError;
use super::token::{Keyword, Punct, Token, TokenKind};

/// Splits `text` (the contents of `file`) into tokens, without an end token.
pub(crate) fn tokenize(file: FileId, text: &str) -> (Vec<Token>, Vec<SyntaxError>) {
    let mut lexer = Lexer {
        file,
        src: text.as_bytes(),
        text,
        pos: 0,
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lexer.run();
    (lexer.tokens, lexer.errors)
}

struct Lexer<'a> {
    file: FileId,
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    errors: Vec<SyntaxError>,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b == b'@'
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

impl<'a> Lexer<'a> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.pos + ahead).copied()
    }

    fn span(&self, start: usize) -> Span {
        Span::new(self.file, start, self.pos)
    }

    fn push(&mut self, kind: TokenKind, start: usize, spaced: bool, line_start: bool) {
        let span = self.span(start);
        self.tokens.push(Token {
            kind,
            span,
            spaced,
            line_start,
            origin: None,
        });
    }

    fn run(&mut self) {
        let mut spaced = true;
        let mut line_start = true;
        while let Some(b) = self.peek(0) {
            let start = self.pos;
            if b.is_ascii_whitespace() {
                self.pos += 1;
                spaced = true;
                line_start |= b == b'\n';
                continue;
            }
            if b == b'#' || (b == b'/' && self.peek(1) == Some(b'/')) {
                self.skip_line();
                spaced = true;
                continue;
            }
            if b == b'/' && self.peek(1) == Some(b'*') {
                self.skip_block_comment();
                spaced = true;
                line_start |= self.src[start..self.pos].contains(&b'\n');
                continue;
            }
            let kind = match b {
                b'$' | b'@' if self.peek(1) == Some(b'#') => {
                    self.pos += 2;
                    TokenKind::ArgCount { quoted: b == b'@' }
                }
                b'$' | b'@' if self.peek(1).is_some_and(|c| c.is_ascii_digit()) => {
                    self.pos += 1;
                    let mut index: u32 = 0;
                    while let Some(d) = self.peek(0).filter(u8::is_ascii_digit) {
                        index = index.saturating_mul(10).saturating_add(u32::from(d - b'0'));
                        self.pos += 1;
                    }
                    TokenKind::Arg {
                        quoted: b == b'@',
                        index,
                    }
                }
                _ if is_ident_start(b) => self.ident(),
                b'0'..=b'9' => self.number(),
                b'"' => self.string(),
                b'\'' => self.single_quoted(),
                b'%' if self.peek(1) == Some(b'{') => self.embedded(),
                _ => match self.punct() {
                    Some(p) => TokenKind::Punct(p),
                    None => {
                        let ch = self
                            .text
                            .get(start..)
                            .and_then(|s| s.chars().next())
                            .unwrap_or('\u{fffd}');
                        self.pos += ch.len_utf8().max(1);
                        self.errors.push(SyntaxError::UnexpectedChar {
                            span: self.span(start),
                            ch,
                        });
                        TokenKind::Invalid
                    }
                },
            };
            self.push(kind, start, spaced, line_start);
            spaced = false;
            line_start = false;
        }
    }

    fn skip_line(&mut self) {
        while let Some(b) = self.peek(0) {
            if b == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    fn skip_block_comment(&mut self) {
        let start = self.pos;
        self.pos += 2;
        loop {
            match self.peek(0) {
                None => {
                    self.errors.push(SyntaxError::UnterminatedComment {
                        span: Span::new(self.file, start, start + 2),
                    });
                    return;
                }
                Some(b'*') if self.peek(1) == Some(b'/') => {
                    self.pos += 2;
                    return;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn ident(&mut self) -> TokenKind {
        let start = self.pos;
        self.pos += 1;
        while self.peek(0).is_some_and(is_ident_continue) {
            self.pos += 1;
        }
        let text = self.text.get(start..self.pos).unwrap_or("");
        if let Some(name) = text.strip_prefix('@') {
            TokenKind::AtWord(name.to_string())
        } else if let Some(k) = Keyword::lookup(text) {
            TokenKind::Keyword(k)
        } else {
            TokenKind::Ident(text.to_string())
        }
    }

    fn number(&mut self) -> TokenKind {
        let start = self.pos;
        while self.peek(0).is_some_and(|b| b.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let text = self.text.get(start..self.pos).unwrap_or("");
        match parse_number(text) {
            Ok(v) => TokenKind::Number(v),
            Err(problem) => {
                self.errors.push(SyntaxError::BadNumber {
                    span: self.span(start),
                    text: text.to_string(),
                    problem,
                });
                TokenKind::Number(0)
            }
        }
    }

    fn string(&mut self) -> TokenKind {
        let start = self.pos;
        self.pos += 1;
        let mut value = Vec::new();
        loop {
            let Some(b) = self.peek(0) else {
                self.errors.push(SyntaxError::UnterminatedString {
                    span: self.span(start),
                });
                break;
            };
            if b == b'\n' {
                self.errors.push(SyntaxError::UnterminatedString {
                    span: self.span(start),
                });
                break;
            }
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => self.escape(&mut value),
                _ => value.push(b),
            }
        }
        TokenKind::Str(value)
    }

    /// `'text'`: not SystemTap syntax, but a common slip. Reported once, and
    /// read as the string it was meant to be so parsing can go on.
    fn single_quoted(&mut self) -> TokenKind {
        let start = self.pos;
        self.pos += 1;
        let body_start = self.pos;
        while let Some(b) = self.peek(0) {
            if b == b'\n' {
                break;
            }
            self.pos += 1;
            if b == b'\'' {
                let body = self.src[body_start..self.pos - 1].to_vec();
                self.errors.push(SyntaxError::SingleQuotedString {
                    span: self.span(start),
                });
                return TokenKind::Str(body);
            }
        }
        self.pos = body_start;
        self.errors.push(SyntaxError::UnexpectedChar {
            span: self.span(start),
            ch: '\'',
        });
        TokenKind::Invalid
    }

    /// Decodes one escape; the backslash has been consumed.
    fn escape(&mut self, value: &mut Vec<u8>) {
        let start = self.pos - 1;
        let Some(c) = self.peek(0) else {
            return;
        };
        if c == b'\n' {
            // A backslash cannot continue a string onto the next line; the
            // caller reports the unterminated string.
            value.push(b'\\');
            return;
        }
        self.pos += 1;
        let simple = match c {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b't' => Some(b'\t'),
            b'n' => Some(b'\n'),
            b'v' => Some(0x0b),
            b'f' => Some(0x0c),
            b'r' => Some(b'\r'),
            b'\\' => Some(b'\\'),
            b'"' => Some(b'"'),
            b'\'' => Some(b'\''),
            b'?' => Some(b'?'),
            _ => None,
        };
        if let Some(v) = simple {
            value.push(v);
            return;
        }
        match c {
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 {
                    match self.peek(0) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            self.pos += 1;
                            n += 1;
                        }
                        _ => break,
                    }
                }
                match u8::try_from(v) {
                    Ok(byte) => value.push(byte),
                    Err(_) => self.errors.push(SyntaxError::OctalEscapeTooLarge {
                        span: self.span(start),
                    }),
                }
            }
            b'x' => {
                let mut v: u8 = 0;
                let mut n = 0;
                while n < 2 {
                    match self.peek(0).and_then(|d| (d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d as u8;
                            self.pos += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    self.errors.push(SyntaxError::EmptyHexEscape {
                        span: self.span(start),
                    });
                } else {
                    value.push(v);
                }
            }
            _ => {
                // Unknown escapes stand for the character itself, as in
                // SystemTap, but are probably mistakes.
                let ch = self
                    .text
                    .get(self.pos - 1..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('?');
                let len = ch.len_utf8();
                value.extend_from_slice(
                    &self.src[self.pos - 1..(self.pos - 1 + len).min(self.src.len())],
                );
                self.pos = (self.pos - 1 + len).min(self.src.len());
                self.errors.push(SyntaxError::UnknownEscape {
                    span: self.span(start),
                    ch,
                });
            }
        }
    }

    fn embedded(&mut self) -> TokenKind {
        let start = self.pos;
        self.pos += 2;
        let body_start = self.pos;
        loop {
            match self.peek(0) {
                None => {
                    self.errors.push(SyntaxError::UnterminatedEmbedded {
                        span: Span::new(self.file, start, start + 2),
                    });
                    let body = self.text.get(body_start..).unwrap_or("").to_string();
                    return TokenKind::Embedded(body);
                }
                Some(b'%') if self.peek(1) == Some(b'}') => {
                    let body = self
                        .text
                        .get(body_start..self.pos)
                        .unwrap_or("")
                        .to_string();
                    self.pos += 2;
                    return TokenKind::Embedded(body);
                }
                Some(b'}') if self.peek(1) == Some(b'%') => {
                    self.errors.push(SyntaxError::SuspiciousEmbeddedClose {
                        span: Span::new(self.file, self.pos, self.pos + 2),
                    });
                    self.pos += 1;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn punct(&mut self) -> Option<Punct> {
        let rest = self.src.get(self.pos..)?;
        let p = Punct::ALL
            .iter()
            .copied()
            .find(|p| rest.starts_with(p.as_str().as_bytes()))?;
        self.pos += p.as_str().len();
        Some(p)
    }
}

/// What is wrong with a number literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumberProblem {
    /// Does not fit in 64 unsigned bits.
    TooLarge,
    /// `0x` with no digits.
    NoHexDigits,
    /// `8` or `9` after a leading `0`.
    BadOctalDigit,
    /// Letters that are not part of the number (`10L`, `12ab`).
    Junk,
}

/// Parses a number token's text (a digit followed by letters and digits)
/// like C's `strtoull(text, 0)`, but strictly.
pub(crate) fn parse_number(text: &str) -> Result<u64, NumberProblem> {
    let (digits, radix) =
        if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            if hex.is_empty() {
                return Err(NumberProblem::NoHexDigits);
            }
            (hex, 16)
        } else if text.len() > 1 && text.starts_with('0') {
            (&text[1..], 8)
        } else {
            (text, 10)
        };
    let mut value: u64 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else {
            return Err(if radix == 8 && c.is_ascii_digit() {
                NumberProblem::BadOctalDigit
            } else {
                NumberProblem::Junk
            });
        };
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(NumberProblem::TooLarge)?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceMap;

    fn kinds(text: &str) -> Vec<TokenKind> {
        let mut map = SourceMap::new();
        let f = map.add("t", text);
        let (tokens, errors) = tokenize(f, text);
        assert!(errors.is_empty(), "{errors:?}");
        tokens.into_iter().map(|t| t.kind).collect()
    }

    fn errors(text: &str) -> Vec<SyntaxError> {
        let mut map = SourceMap::new();
        let f = map.add("t", text);
        tokenize(f, text).1
    }

    fn id(s: &str) -> TokenKind {
        TokenKind::Ident(s.to_string())
    }

    #[test]
    fn target_variables_and_at_words() {
        assert_eq!(
            kinds("$var $$vars $var$$ $$parms$ @cast @ $"),
            vec![
                id("$var"),
                id("$$vars"),
                id("$var$$"),
                id("$$parms$"),
                TokenKind::AtWord("cast".into()),
                TokenKind::AtWord(String::new()),
                id("$"),
            ]
        );
    }

    #[test]
    fn argument_references() {
        assert_eq!(
            kinds("$1 @22 $# @#"),
            vec![
                TokenKind::Arg {
                    quoted: false,
                    index: 1
                },
                TokenKind::Arg {
                    quoted: true,
                    index: 22
                },
                TokenKind::ArgCount { quoted: false },
                TokenKind::ArgCount { quoted: true },
            ]
        );
        assert_eq!(
            kinds("$99999999999999"),
            vec![TokenKind::Arg {
                quoted: false,
                index: u32::MAX
            }]
        );
    }

    #[test]
    fn numbers_in_every_base_and_at_the_limits() {
        assert_eq!(parse_number("0"), Ok(0));
        assert_eq!(parse_number("42"), Ok(42));
        assert_eq!(parse_number("0x1F"), Ok(31));
        assert_eq!(parse_number("0X1f"), Ok(31));
        assert_eq!(parse_number("017"), Ok(15));
        assert_eq!(parse_number("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_number("0xffffffffffffffff"), Ok(u64::MAX));
        assert_eq!(
            parse_number("18446744073709551616"),
            Err(NumberProblem::TooLarge)
        );
        assert_eq!(
            parse_number("0x10000000000000000"),
            Err(NumberProblem::TooLarge)
        );
        assert_eq!(parse_number("09"), Err(NumberProblem::BadOctalDigit));
        assert_eq!(parse_number("0x"), Err(NumberProblem::NoHexDigits));
        assert_eq!(parse_number("10L"), Err(NumberProblem::Junk));
        assert_eq!(parse_number("0xfg"), Err(NumberProblem::Junk));
    }

    #[test]
    fn bad_numbers_are_reported_once_and_lex_as_zero() {
        assert_eq!(errors("x = 99999999999999999999").len(), 1);
        let mut map = SourceMap::new();
        let f = map.add("t", "12ab");
        assert_eq!(tokenize(f, "12ab").0[0].kind, TokenKind::Number(0));
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            kinds(r#""a\n\t\"\\\101\x41\0z""#)[0],
            TokenKind::Str(b"a\n\t\"\\AA\0z".to_vec())
        );
        assert_eq!(kinds(r#""\x4""#), vec![TokenKind::Str(vec![4])]);
        assert_eq!(kinds(r#""\1234""#), vec![TokenKind::Str(vec![0o123, b'4'])]);
        assert_eq!(
            kinds("\"ü\""),
            vec![TokenKind::Str("ü".as_bytes().to_vec())]
        );
        let errs = errors(r#""\q" "\777" "\x""#);
        assert!(matches!(
            errs[0],
            SyntaxError::UnknownEscape { ch: 'q', .. }
        ));
        assert!(matches!(errs[1], SyntaxError::OctalEscapeTooLarge { .. }));
        assert!(matches!(errs[2], SyntaxError::EmptyHexEscape { .. }));
    }

    #[test]
    fn unterminated_things() {
        assert!(matches!(
            errors("\"abc\nx")[0],
            SyntaxError::UnterminatedString { .. }
        ));
        assert!(matches!(
            errors("\"abc")[0],
            SyntaxError::UnterminatedString { .. }
        ));
        assert!(matches!(
            errors("/* abc")[0],
            SyntaxError::UnterminatedComment { .. }
        ));
        assert!(matches!(
            errors("%{ abc")[0],
            SyntaxError::UnterminatedEmbedded { .. }
        ));
        assert!(matches!(
            errors("%{ a }% b %}")[0],
            SyntaxError::SuspiciousEmbeddedClose { .. }
        ));
        assert!(matches!(
            errors("\"abc\\")[0],
            SyntaxError::UnterminatedString { .. }
        ));
    }

    #[test]
    fn comments_and_spacing() {
        let text = "#! /usr/bin/stap\na/*x*/b // c\n#d\nc*d";
        let mut map = SourceMap::new();
        let f = map.add("t", text);
        let (tokens, errs) = tokenize(f, text);
        assert!(errs.is_empty());
        let spaced: Vec<bool> = tokens.iter().map(|t| t.spaced).collect();
        assert_eq!(spaced, vec![true, true, true, false, false]);
        let line_start: Vec<bool> = tokens.iter().map(|t| t.line_start).collect();
        assert_eq!(line_start, vec![true, false, true, false, false]);
        assert_eq!(map.span_text(tokens[3].span), "*");
        let (tokens, _) = tokenize(f, "a /*\n*/ b\n  c");
        let line_start: Vec<bool> = tokens.iter().map(|t| t.line_start).collect();
        assert_eq!(line_start, vec![true, true, true]);
    }

    #[test]
    fn longest_operator_wins() {
        use Punct::*;
        let p = |v: &[Punct]| v.iter().map(|p| TokenKind::Punct(*p)).collect::<Vec<_>>();
        assert_eq!(kinds("<<<>>>=<<="), p(&[Accumulate, UShr, Eq, ShlAssign]));
        assert_eq!(
            kinds("%(%?%:%)%=%"),
            p(&[PpOpen, PpThen, PpElse, PpClose, PercentAssign, Percent])
        );
        assert_eq!(
            kinds("a->b"),
            vec![id("a"), TokenKind::Punct(Arrow), id("b")]
        );
        assert_eq!(kinds(".=!~=~"), p(&[DotAssign, NotMatch, Match]));
    }

    #[test]
    fn embedded_code_keeps_its_text() {
        assert_eq!(
            kinds("%{ int x = a % b; %}"),
            vec![TokenKind::Embedded(" int x = a % b; ".into())]
        );
    }

    #[test]
    fn stray_characters_are_reported_and_become_invalid_tokens() {
        let errs = errors("a ' b ` ü");
        assert_eq!(errs.len(), 3);
        assert!(matches!(
            errs[2],
            SyntaxError::UnexpectedChar { ch: 'ü', .. }
        ));
        let mut map = SourceMap::new();
        let f = map.add("t", "` x");
        assert_eq!(tokenize(f, "` x").0[0].kind, TokenKind::Invalid);
    }

    #[test]
    fn single_quoted_strings_are_one_error_and_a_string() {
        let mut map = SourceMap::new();
        let f = map.add("t", "x = 'it' y");
        let (tokens, errs) = tokenize(f, "x = 'it' y");
        assert_eq!(errs.len(), 1);
        assert_eq!(tokens[2].kind, TokenKind::Str(b"it".to_vec()));
        assert_eq!(tokens[3].kind, TokenKind::Ident("y".into()));
    }

    #[test]
    fn keywords() {
        assert_eq!(
            kinds("probe next x"),
            vec![
                TokenKind::Keyword(Keyword::Probe),
                TokenKind::Keyword(Keyword::Next),
                id("x")
            ]
        );
    }
}
