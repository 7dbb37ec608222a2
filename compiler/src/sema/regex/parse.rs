//! Parsing a POSIX extended regular expression into a [`Node`] tree.

use super::{RegexError, DUP_MAX, MAX_NESTING};

/// A set of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(super) struct ByteSet(pub(super) [u64; 4]);

impl ByteSet {
    pub(super) fn insert(&mut self, b: u8) {
        self.0[(b >> 6) as usize] |= 1 << (b & 63);
    }

    pub(super) fn insert_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.insert(b);
        }
    }

    pub(super) fn contains(&self, b: u8) -> bool {
        self.0[(b >> 6) as usize] & (1 << (b & 63)) != 0
    }

    pub(super) fn complement(&self) -> ByteSet {
        ByteSet(self.0.map(|w| !w))
    }

    pub(super) fn all() -> ByteSet {
        ByteSet([u64::MAX; 4])
    }

    pub(super) fn single(b: u8) -> ByteSet {
        let mut s = ByteSet::default();
        s.insert(b);
        s
    }
}

/// The parsed pattern.
#[derive(Debug)]
pub(super) enum Node {
    /// Matches the empty string (`()`, an empty alternative).
    Empty,
    /// One byte from the set.
    Bytes(ByteSet),
    /// `^`.
    Start,
    /// `$`.
    End,
    Concat(Vec<Node>),
    Alternation(Vec<Node>),
    /// A parenthesised subexpression, numbered from 1 by its `(`.
    Group(u32, Box<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

pub(super) struct Parser<'p> {
    pub(super) pattern: &'p [u8],
    /// Where parsing is.
    pub(super) pos: usize,
    /// Parenthesised groups so far.
    pub(super) groups: u32,
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> Option<u8> {
        self.pattern.get(self.pos).copied()
    }

    pub(super) fn parse_alternation(&mut self, depth: usize) -> Result<Node, RegexError> {
        let mut branches = vec![self.parse_concat(depth)?];
        while self.peek() == Some(b'|') {
            self.pos += 1;
            branches.push(self.parse_concat(depth)?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().expect("one branch")
        } else {
            Node::Alternation(branches)
        })
    }

    pub(super) fn parse_concat(&mut self, depth: usize) -> Result<Node, RegexError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'|' || c == b')' {
                break;
            }
            items.push(self.parse_repeat(depth)?);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().expect("one item"),
            _ => Node::Concat(items),
        })
    }

    pub(super) fn parse_repeat(&mut self, depth: usize) -> Result<Node, RegexError> {
        let mut node = self.parse_atom(depth)?;
        let mut nesting = depth;
        while let Some(c) = self.peek() {
            let at = self.pos;
            let (min, max) = match c {
                b'*' => (0, None),
                b'+' => (1, None),
                b'?' => (0, Some(1)),
                b'{' => self.parse_bound()?,
                _ => break,
            };
            if c != b'{' {
                self.pos += 1;
            }
            nesting += 1;
            if nesting > MAX_NESTING {
                return Err(RegexError::new(
                    at,
                    "repetition operators nested too deeply",
                ));
            }
            node = Node::Repeat {
                node: Box::new(node),
                min,
                max,
            };
        }
        Ok(node)
    }

    /// `{m}`, `{m,}`, `{m,n}`, `{,n}` at `self.pos`.
    pub(super) fn parse_bound(&mut self) -> Result<(u32, Option<u32>), RegexError> {
        let open = self.pos;
        self.pos += 1;
        let min = self.parse_number(open)?;
        let max = if self.peek() == Some(b',') {
            self.pos += 1;
            self.parse_number(open)?
        } else {
            Some(min.unwrap_or(0))
        };
        if self.peek() != Some(b'}') {
            return Err(RegexError::new(
                open,
                "invalid repetition bound: expected '{m}', '{m,}' or '{m,n}'",
            ));
        }
        self.pos += 1;
        let min = match (min, max) {
            (None, None) => {
                return Err(RegexError::new(
                    open,
                    "repetition bound '{,}' has no number",
                ))
            }
            (min, _) => min.unwrap_or(0),
        };
        if let Some(max) = max {
            if max < min {
                return Err(RegexError::new(
                    open,
                    format!("invalid repetition bound: {min} is larger than {max}"),
                ));
            }
        }
        Ok((min, max))
    }

    pub(super) fn parse_number(&mut self, open: usize) -> Result<Option<u32>, RegexError> {
        let start = self.pos;
        let mut value: u32 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            value = value.saturating_mul(10).saturating_add(u32::from(c - b'0'));
            self.pos += 1;
        }
        if self.pos == start {
            return Ok(None);
        }
        if value > DUP_MAX {
            return Err(RegexError::new(
                open,
                format!("repetition bound {value} is larger than {DUP_MAX}"),
            ));
        }
        Ok(Some(value))
    }

    pub(super) fn parse_atom(&mut self, depth: usize) -> Result<Node, RegexError> {
        let at = self.pos;
        let c = self.peek().expect("parse_concat checked for input");
        self.pos += 1;
        Ok(match c {
            b'(' => {
                if depth + 1 > MAX_NESTING {
                    return Err(RegexError::new(at, "groups nested too deeply"));
                }
                self.groups += 1;
                let index = self.groups;
                let inner = self.parse_alternation(depth + 1)?;
                if self.peek() != Some(b')') {
                    return Err(RegexError::new(at, "unmatched '('"));
                }
                self.pos += 1;
                Node::Group(index, Box::new(inner))
            }
            b'*' | b'+' | b'?' | b'{' => {
                return Err(RegexError::new(
                    at,
                    format!("'{}' has nothing to repeat", c as char),
                ))
            }
            b'.' => Node::Bytes(ByteSet::all()),
            b'^' => Node::Start,
            b'$' => Node::End,
            b'[' => Node::Bytes(self.parse_bracket(at)?),
            b'\\' => match self.peek() {
                None => return Err(RegexError::new(at, "trailing '\\'")),
                Some(e) if e.is_ascii_alphanumeric() => {
                    return Err(RegexError::new(
                        at,
                        format!(
                            "unsupported escape '\\{}': only punctuation can be quoted with '\\'",
                            e as char
                        ),
                    ))
                }
                Some(e) => {
                    self.pos += 1;
                    Node::Bytes(ByteSet::single(e))
                }
            },
            c => Node::Bytes(ByteSet::single(c)),
        })
    }

    /// A bracket expression whose `[` is at `open`; `self.pos` is after it.
    pub(super) fn parse_bracket(&mut self, open: usize) -> Result<ByteSet, RegexError> {
        let unterminated = || RegexError::new(open, "unterminated bracket expression '['");
        let mut set = ByteSet::default();
        let negated = self.peek() == Some(b'^');
        if negated {
            self.pos += 1;
        }
        let mut first = true;
        loop {
            let at = self.pos;
            let c = self.peek().ok_or_else(unterminated)?;
            if c == b']' && !first {
                self.pos += 1;
                break;
            }
            first = false;
            if c == b'[' && self.pattern.get(self.pos + 1) == Some(&b':') {
                let class = self.parse_class(at)?;
                set = ByteSet([0, 1, 2, 3].map(|i| set.0[i] | class.0[i]));
                // `[[:alpha:]-z]` is undefined in POSIX: reject it.
                if self.peek() == Some(b'-') && self.pattern.get(self.pos + 1) != Some(&b']') {
                    return Err(RegexError::new(
                        at,
                        "a character class cannot start a range",
                    ));
                }
                continue;
            }
            let lo = self.bracket_char()?;
            if self.peek() == Some(b'-')
                && !matches!(self.pattern.get(self.pos + 1), Some(b']') | None)
            {
                self.pos += 1;
                let hi = self.bracket_char()?;
                if hi < lo {
                    return Err(RegexError::new(
                        at,
                        format!(
                            "invalid range '{}-{}' in bracket expression: its end is before its start",
                            lo.escape_ascii(),
                            hi.escape_ascii()
                        ),
                    ));
                }
                set.insert_range(lo, hi);
            } else {
                set.insert(lo);
            }
        }
        Ok(if negated { set.complement() } else { set })
    }

    /// One character of a bracket expression: a byte, `[.c.]` or `[=c=]`
    /// (single characters only; there are no multi-character collating
    /// elements in the C locale).
    pub(super) fn bracket_char(&mut self) -> Result<u8, RegexError> {
        let at = self.pos;
        let rest = &self.pattern[self.pos..];
        if rest.len() >= 2 && rest[0] == b'[' && (rest[1] == b'.' || rest[1] == b'=') {
            let delim = rest[1];
            if rest.len() >= 5 && rest[3] == delim && rest[4] == b']' {
                self.pos += 5;
                return Ok(rest[2]);
            }
            return Err(RegexError::new(
                at,
                format!(
                    "invalid '[{0}' element: expected one character then '{0}]'",
                    delim as char
                ),
            ));
        }
        let c = *rest
            .first()
            .ok_or_else(|| RegexError::new(at, "unterminated bracket expression '['"))?;
        self.pos += 1;
        Ok(c)
    }

    /// `[:name:]` at `at`.
    pub(super) fn parse_class(&mut self, at: usize) -> Result<ByteSet, RegexError> {
        let name_start = at + 2;
        let rest = &self.pattern[name_start..];
        let Some(len) = rest.windows(2).position(|w| w == b":]") else {
            return Err(RegexError::new(at, "unterminated character class '[:'"));
        };
        let name = &rest[..len];
        let mut set = ByteSet::default();
        let test: fn(u8) -> bool = match name {
            b"alpha" => |b| b.is_ascii_alphabetic(),
            b"digit" => |b| b.is_ascii_digit(),
            b"alnum" => |b| b.is_ascii_alphanumeric(),
            b"upper" => |b| b.is_ascii_uppercase(),
            b"lower" => |b| b.is_ascii_lowercase(),
            b"space" => |b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c),
            b"blank" => |b| b == b' ' || b == b'\t',
            b"punct" => |b| b.is_ascii_punctuation(),
            b"print" => |b| (0x20..0x7f).contains(&b),
            b"graph" => |b| b.is_ascii_graphic(),
            b"cntrl" => |b| b < 0x20 || b == 0x7f,
            b"xdigit" => |b| b.is_ascii_hexdigit(),
            _ => {
                return Err(RegexError::new(
                    at,
                    format!(
                        "unknown character class '[:{}:]'",
                        String::from_utf8_lossy(name)
                    ),
                ))
            }
        };
        for b in 0..=255u8 {
            if test(b) {
                set.insert(b);
            }
        }
        self.pos = name_start + len + 2;
        Ok(set)
    }
}
