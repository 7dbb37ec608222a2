//! Regular expressions of `=~` / `!~`, compiled at translation time.
//!
//! A pattern is a POSIX extended regular expression (ERE): alternation
//! `|`, groups `( )`, repetition `* + ? {m} {m,} {m,n}` (bounds up to 255,
//! `{,n}` meaning `{0,n}` as glibc reads it), `.`, anchors `^ $` (start and
//! end of the whole string; the subject is one string, there is no
//! multi-line mode), bracket expressions with ranges, `[:class:]`,
//! `[=c=]` and `[.c.]`, and `\` quoting a punctuation character.  Matching
//! is on bytes, case-sensitive, unanchored unless `^`/`$` say otherwise.
//!
//! [`compile`] parses the pattern, builds a Thompson NFA and turns it into a
//! DFA by subset construction over byte equivalence classes.  The result,
//! [`ir::RegexDfa`], is a plain transition table that codegen emits as
//! `static const` data and `runtime-c/lib/regex.c` walks without
//! allocation or recursion.  Two automata are built per pattern:
//! an unanchored *search* automaton (does the pattern occur anywhere?) whose
//! accepting states are absorbing, and an *anchored* one (does a match
//! start here, and where can it end?) for the extent of the match
//! (`matched(0)`, leftmost-longest).
//!
//! Everything here is deterministic: state numbers follow a breadth-first
//! walk from the start state, classes number bytes in ascending order.
//!
//! Not supported, with an error rather than a silent difference: back
//! references (`\1`; not part of ERE) and the GNU escapes `\w \s \b \< ...`
//! (every `\` followed by a letter or digit is rejected).

use std::collections::{BTreeMap, HashMap};

use crate::ir::{RegexAutomaton, RegexDfa, RegexProgram};

/// The regex tapset's functions (`runtime-c/tapset/regex.stp`): a program
/// calling any of them records what each `=~` matched.
pub const MATCH_FUNCTIONS: &[&str] = &["matched", "matched_str", "ngroups"];

/// Most DFA states one automaton may have.
pub const MAX_STATES: usize = 2048;
/// Most transition-table entries (states × byte classes) one automaton may
/// have: 64 KiB of `u16` per automaton.
pub const MAX_TABLE_ENTRIES: usize = 32 * 1024;
/// Most NFA states (after expanding counted repetition).
const MAX_NFA_STATES: usize = 8192;
/// Deepest nesting of groups and repetition operators.
const MAX_NESTING: usize = 64;
/// POSIX `RE_DUP_MAX`: the largest repetition bound.
const DUP_MAX: u32 = 255;

/// Why a pattern cannot be compiled: a message and the byte offset in the
/// pattern it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexError {
    /// Offset of the offending character in the pattern; `None` when the
    /// whole pattern is at fault (too large).
    pub offset: Option<usize>,
    /// What is wrong, in SystemTap's style (lower case, no final period).
    pub message: String,
}

impl RegexError {
    fn new(offset: usize, message: impl Into<String>) -> RegexError {
        RegexError {
            offset: Some(offset),
            message: message.into(),
        }
    }

    fn whole(message: impl Into<String>) -> RegexError {
        RegexError {
            offset: None,
            message: message.into(),
        }
    }
}

/// Compiles `pattern` into its search and anchored automata.
pub fn compile(pattern: &[u8]) -> Result<RegexDfa, RegexError> {
    let mut parser = Parser {
        pattern,
        pos: 0,
        groups: 0,
    };
    let ast = parser.parse_alternation(0)?;
    if parser.pos < pattern.len() {
        // Only an unmatched ')' stops the top level early.
        return Err(RegexError::new(parser.pos, "unmatched ')'"));
    }
    let mut nfa = Nfa::default();
    let accept = nfa.push(NState::Match)?;
    let start = nfa.compile(&ast, accept)?;
    let search = determinize(&nfa, start, Mode::Search, pattern)?;
    let anchored = determinize(&nfa, start, Mode::Anchored, pattern)?;
    Ok(RegexDfa {
        pattern: pattern.to_vec(),
        groups: parser.groups,
        search,
        anchored,
        program: capture_program(&nfa, start, parser.groups),
    })
}

/// The NFA as the runtime's submatch pass runs it (`matched(n)`), or
/// `None` when it is larger than the runtime's fixed scratch space allows
/// ([`RegexProgram::MAX_INSNS`], [`RegexProgram::MAX_GROUPS`]).
fn capture_program(nfa: &Nfa, start: u32, groups: u32) -> Option<RegexProgram> {
    if nfa.states.len() > RegexProgram::MAX_INSNS || groups >= RegexProgram::MAX_GROUPS {
        return None;
    }
    let mut p = RegexProgram {
        ops: Vec::with_capacity(nfa.states.len()),
        a: Vec::with_capacity(nfa.states.len()),
        b: Vec::with_capacity(nfa.states.len()),
        sets: Vec::new(),
        start: start as u16,
    };
    let mut set_index: HashMap<ByteSet, u16> = HashMap::new();
    for state in &nfa.states {
        let (op, a, b) = match *state {
            NState::Bytes(set, next) => {
                let n = set_index.len() as u16;
                let i = *set_index.entry(set).or_insert_with(|| {
                    let mut bytes = [0u8; 32];
                    for (k, byte) in bytes.iter_mut().enumerate() {
                        *byte = (set.0[k / 8] >> ((k % 8) * 8)) as u8;
                    }
                    p.sets.push(bytes);
                    n
                });
                (RegexProgram::BYTES, i as u32, next)
            }
            NState::Split(x, y) => (RegexProgram::SPLIT, x, y),
            NState::AssertStart(next) => (RegexProgram::BOL, next, 0),
            NState::AssertEnd(next) => (RegexProgram::EOL, next, 0),
            NState::Save(slot, next) => (RegexProgram::SAVE, slot, next),
            NState::Match => (RegexProgram::MATCH, 0, 0),
        };
        p.ops.push(op);
        p.a.push(a as u16);
        p.b.push(b as u16);
    }
    Some(p)
}

/// A set of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, b: u8) {
        self.0[(b >> 6) as usize] |= 1 << (b & 63);
    }

    fn insert_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.insert(b);
        }
    }

    fn contains(&self, b: u8) -> bool {
        self.0[(b >> 6) as usize] & (1 << (b & 63)) != 0
    }

    fn complement(&self) -> ByteSet {
        ByteSet(self.0.map(|w| !w))
    }

    fn all() -> ByteSet {
        ByteSet([u64::MAX; 4])
    }

    fn single(b: u8) -> ByteSet {
        let mut s = ByteSet::default();
        s.insert(b);
        s
    }
}

/// The parsed pattern.
#[derive(Debug)]
enum Node {
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

struct Parser<'p> {
    pattern: &'p [u8],
    pos: usize,
    groups: u32,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.pattern.get(self.pos).copied()
    }

    fn parse_alternation(&mut self, depth: usize) -> Result<Node, RegexError> {
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

    fn parse_concat(&mut self, depth: usize) -> Result<Node, RegexError> {
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

    fn parse_repeat(&mut self, depth: usize) -> Result<Node, RegexError> {
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
    fn parse_bound(&mut self) -> Result<(u32, Option<u32>), RegexError> {
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

    fn parse_number(&mut self, open: usize) -> Result<Option<u32>, RegexError> {
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

    fn parse_atom(&mut self, depth: usize) -> Result<Node, RegexError> {
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
    fn parse_bracket(&mut self, open: usize) -> Result<ByteSet, RegexError> {
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
    fn bracket_char(&mut self) -> Result<u8, RegexError> {
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
    fn parse_class(&mut self, at: usize) -> Result<ByteSet, RegexError> {
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

/// One NFA state.
#[derive(Debug, Clone)]
enum NState {
    Bytes(ByteSet, u32),
    Split(u32, u32),
    AssertStart(u32),
    AssertEnd(u32),
    /// Records the position in capture slot `.0`, then goes on to `.1`
    /// (group N starts in slot 2N and ends in slot 2N+1).
    Save(u32, u32),
    Match,
}

#[derive(Debug, Default)]
struct Nfa {
    states: Vec<NState>,
}

impl Nfa {
    fn push(&mut self, s: NState) -> Result<u32, RegexError> {
        if self.states.len() >= MAX_NFA_STATES {
            return Err(RegexError::whole(format!(
                "the pattern is too large: it needs more than {MAX_NFA_STATES} automaton states \
                     (counted repetitions are expanded)"
            )));
        }
        self.states.push(s);
        Ok((self.states.len() - 1) as u32)
    }

    /// Builds `node` so that it continues to `next`; returns its entry.
    fn compile(&mut self, node: &Node, next: u32) -> Result<u32, RegexError> {
        Ok(match node {
            Node::Empty => next,
            Node::Bytes(set) => self.push(NState::Bytes(*set, next))?,
            Node::Start => self.push(NState::AssertStart(next))?,
            Node::End => self.push(NState::AssertEnd(next))?,
            Node::Group(index, inner) => {
                let close = self.push(NState::Save(2 * index + 1, next))?;
                let body = self.compile(inner, close)?;
                self.push(NState::Save(2 * index, body))?
            }
            Node::Concat(items) => {
                let mut next = next;
                for item in items.iter().rev() {
                    next = self.compile(item, next)?;
                }
                next
            }
            Node::Alternation(branches) => {
                let mut entries = Vec::with_capacity(branches.len());
                for b in branches {
                    entries.push(self.compile(b, next)?);
                }
                let mut entry = entries.pop().expect("two or more branches");
                while let Some(e) = entries.pop() {
                    entry = self.push(NState::Split(e, entry))?;
                }
                entry
            }
            Node::Repeat { node, min, max } => {
                let mut tail = match max {
                    None => {
                        let split = self.push(NState::Split(0, next))?;
                        let body = self.compile(node, split)?;
                        self.states[split as usize] = NState::Split(body, next);
                        split
                    }
                    Some(max) => {
                        let mut tail = next;
                        for _ in *min..*max {
                            let body = self.compile(node, tail)?;
                            tail = self.push(NState::Split(body, next))?;
                        }
                        tail
                    }
                };
                for _ in 0..*min {
                    tail = self.compile(node, tail)?;
                }
                tail
            }
        })
    }

    /// The states reachable from `seeds` without consuming a byte, keeping
    /// those that matter to a DFA state: byte tests, `Match`, and (unless
    /// `at_end`) the `$` tests still waiting for the end. `^` passes only
    /// when `at_start`.
    fn closure(&self, seeds: &[u32], at_start: bool, at_end: bool) -> Vec<u32> {
        let mut seen = vec![false; self.states.len()];
        let mut stack: Vec<u32> = seeds.iter().rev().copied().collect();
        let mut kept = Vec::new();
        while let Some(s) = stack.pop() {
            if std::mem::replace(&mut seen[s as usize], true) {
                continue;
            }
            match &self.states[s as usize] {
                NState::Bytes(..) | NState::Match => kept.push(s),
                NState::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                NState::AssertStart(n) => {
                    if at_start {
                        stack.push(*n);
                    }
                }
                NState::Save(_, n) => stack.push(*n),
                NState::AssertEnd(n) => {
                    if at_end {
                        stack.push(*n);
                    } else {
                        kept.push(s);
                    }
                }
            }
        }
        kept.sort_unstable();
        kept
    }

    fn has_match(&self, set: &[u32]) -> bool {
        set.iter()
            .any(|&s| matches!(self.states[s as usize], NState::Match))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Unanchored: a match may start anywhere; accepting states absorb.
    Search,
    /// A match must start at the first byte; runs to the longest match.
    Anchored,
}

/// The byte equivalence classes of `nfa`: bytes no byte test tells apart
/// share a class. Returns the class of every byte and the class count.
fn byte_classes(nfa: &Nfa) -> (Vec<u8>, usize) {
    let sets: Vec<ByteSet> = nfa
        .states
        .iter()
        .filter_map(|s| match s {
            NState::Bytes(set, _) => Some(*set),
            _ => None,
        })
        .collect();
    let mut ids: HashMap<Vec<bool>, u8> = HashMap::new();
    let mut classes = Vec::with_capacity(256);
    for b in 0..=255u8 {
        let signature: Vec<bool> = sets.iter().map(|s| s.contains(b)).collect();
        let next = ids.len() as u8;
        classes.push(*ids.entry(signature).or_insert(next));
    }
    (classes, ids.len())
}

/// Subset construction.  State 0 is the dead state (no match possible
/// any more), state 1 the start state.
fn determinize(
    nfa: &Nfa,
    start: u32,
    mode: Mode,
    pattern: &[u8],
) -> Result<RegexAutomaton, RegexError> {
    let (classes, nclasses) = byte_classes(nfa);
    // A representative byte per class.
    let mut representative = vec![0u8; nclasses];
    for b in (0..=255u8).rev() {
        representative[classes[b as usize] as usize] = b;
    }
    // Key: the kept NFA states and whether this is the start state (which
    // alone lets `^` pass when the end test runs). In search mode every
    // accepting set is one absorbing state, keyed by `None`.
    type Key = (Option<Vec<u32>>, bool);
    let mut index: BTreeMap<Key, u16> = BTreeMap::new();
    let mut sets: Vec<Key> = Vec::new();
    let dead: Key = (Some(Vec::new()), false);
    index.insert(dead.clone(), 0);
    sets.push(dead);
    let start_set = nfa.closure(&[start], true, false);
    let start_key = if mode == Mode::Search && nfa.has_match(&start_set) {
        (None, true)
    } else {
        (Some(start_set), true)
    };
    index.insert(start_key.clone(), 1);
    sets.push(start_key);
    // Anchored runs from a later byte start here: `^` cannot pass.
    let restart = match mode {
        Mode::Search => 1,
        Mode::Anchored => {
            let key = (Some(nfa.closure(&[start], false, false)), false);
            match index.get(&key) {
                Some(&id) => id,
                None => {
                    let id = sets.len() as u16;
                    index.insert(key.clone(), id);
                    sets.push(key);
                    id
                }
            }
        }
    };
    let too_complex = |states: usize| {
        RegexError::whole(format!(
            "regular expression \"{}\" is too complex: its automaton needs more than \
                 {states} states",
            pattern.escape_ascii()
        ))
    };

    let mut next = Vec::new();
    let mut flags = Vec::new();
    let mut i = 0;
    while i < sets.len() {
        let (set, is_start) = sets[i].clone();
        let Some(set) = set else {
            // The absorbing accept state of a search automaton.
            flags.push(RegexAutomaton::ACCEPT | RegexAutomaton::ACCEPT_AT_END);
            next.extend(std::iter::repeat_n(i as u16, nclasses));
            i += 1;
            continue;
        };
        let mut f = 0;
        if nfa.has_match(&set) {
            f |= RegexAutomaton::ACCEPT | RegexAutomaton::ACCEPT_AT_END;
        } else {
            let waiting: Vec<u32> = set
                .iter()
                .filter(|&&s| matches!(nfa.states[s as usize], NState::AssertEnd(_)))
                .copied()
                .collect();
            if nfa.has_match(&nfa.closure(&waiting, is_start, true)) {
                f |= RegexAutomaton::ACCEPT_AT_END;
            }
        }
        flags.push(f);
        if i == 0 {
            // Dead: stays dead (search mode has it only if the pattern
            // starts with `^`).
            next.extend(std::iter::repeat_n(0u16, nclasses));
            i += 1;
            continue;
        }
        for &b in &representative {
            let mut moved: Vec<u32> = set
                .iter()
                .filter_map(|&s| match &nfa.states[s as usize] {
                    NState::Bytes(bytes, n) if bytes.contains(b) => Some(*n),
                    _ => None,
                })
                .collect();
            if mode == Mode::Search {
                moved.push(start);
            }
            let target = nfa.closure(&moved, false, false);
            let key = if mode == Mode::Search && nfa.has_match(&target) {
                (None, false)
            } else {
                (Some(target), false)
            };
            let id = match index.get(&key) {
                Some(&id) => id,
                None => {
                    if sets.len() >= MAX_STATES {
                        return Err(too_complex(MAX_STATES));
                    }
                    let id = sets.len() as u16;
                    index.insert(key.clone(), id);
                    sets.push(key);
                    id
                }
            };
            next.push(id);
        }
        if sets.len() * nclasses > MAX_TABLE_ENTRIES {
            return Err(too_complex(MAX_TABLE_ENTRIES / nclasses));
        }
        i += 1;
    }
    Ok(RegexAutomaton {
        classes,
        nclasses: nclasses as u16,
        next,
        flags,
        restart,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs an automaton as `runtime-c/lib/regex.c` does.
    fn search(pattern: &str, subject: &str) -> bool {
        let dfa = compile(pattern.as_bytes()).unwrap_or_else(|e| panic!("{pattern}: {e:?}"));
        let a = &dfa.search;
        let mut state = 1usize;
        for &b in subject.as_bytes() {
            if a.flags[state] & RegexAutomaton::ACCEPT != 0 {
                return true;
            }
            if state == 0 {
                return false;
            }
            state = a.next[state * a.nclasses as usize + a.classes[b as usize] as usize] as usize;
        }
        a.flags[state] & RegexAutomaton::ACCEPT_AT_END != 0
    }

    /// Leftmost-longest extent with the anchored automaton.
    fn find(pattern: &str, subject: &str) -> Option<(usize, usize)> {
        let dfa = compile(pattern.as_bytes()).expect("valid pattern");
        let a = &dfa.anchored;
        let bytes = subject.as_bytes();
        for start in 0..=bytes.len() {
            let mut state = if start == 0 { 1 } else { a.restart as usize };
            let mut end = None;
            let mut i = start;
            loop {
                if state == 0 {
                    break;
                }
                let f = a.flags[state];
                if f & RegexAutomaton::ACCEPT != 0
                    || (i == bytes.len() && f & RegexAutomaton::ACCEPT_AT_END != 0)
                {
                    end = Some(i);
                }
                if i == bytes.len() {
                    break;
                }
                state = a.next[state * a.nclasses as usize + a.classes[bytes[i] as usize] as usize]
                    as usize;
                i += 1;
            }
            if let Some(end) = end {
                return Some((start, end));
            }
        }
        None
    }

    fn error(pattern: &str) -> RegexError {
        compile(pattern.as_bytes()).expect_err(pattern)
    }

    #[test]
    fn literals_search_anywhere() {
        assert!(search("abc", "xxabcxx"));
        assert!(!search("abc", "abxc"));
        assert!(search("", ""));
        assert!(search("", "anything"));
        assert!(search("a", "a"));
        assert!(!search("a", ""));
    }

    #[test]
    fn anchors() {
        assert!(search("^ab", "abc"));
        assert!(!search("^ab", "cab"));
        assert!(search("bc$", "abc"));
        assert!(!search("bc$", "abcd"));
        assert!(search("^$", ""));
        assert!(!search("^$", "x"));
        assert!(search("^abc$", "abc"));
        assert!(!search("^abc$", "abcabc"));
        assert!(search("x|^a", "ba x"));
        assert!(!search("c|^a", "ba"));
        assert!(search("(^|/)etc", "/etc"));
        assert!(search("(^|/)etc", "etc"));
        assert!(!search("(^|/)etc", "xetc"));
        assert!(search("a$|b", "xa"));
    }

    #[test]
    fn repetition() {
        assert!(search("^a*$", ""));
        assert!(search("^a*$", "aaaa"));
        assert!(!search("^a+$", ""));
        assert!(search("^ab?c$", "ac"));
        assert!(search("^ab?c$", "abc"));
        assert!(!search("^ab?c$", "abbc"));
        assert!(search("^a{2,3}$", "aa"));
        assert!(search("^a{2,3}$", "aaa"));
        assert!(!search("^a{2,3}$", "aaaa"));
        assert!(!search("^a{2,3}$", "a"));
        assert!(search("^a{2}$", "aa"));
        assert!(search("^a{2,}$", "aaaaaa"));
        assert!(!search("^a{2,}$", "a"));
        assert!(search("^a{,2}$", ""));
        assert!(search("^(ab){2}$", "abab"));
        assert!(search("^()*$", ""));
        assert!(search("^(a*)*$", "aaa"));
    }

    #[test]
    fn brackets_and_classes() {
        assert!(search("^[[:alpha:]]+$", "Hello"));
        assert!(!search("^[[:alpha:]]+$", "Hello1"));
        assert!(search("^[[:digit:][:space:]]+$", "1 2\t3"));
        assert!(search("^[^a-z]+$", "ABC"));
        assert!(!search("^[^a-z]+$", "AbC"));
        assert!(search("^[]a]+$", "]a]"));
        assert!(search("^[^]a]$", "b"));
        assert!(!search("^[^]a]$", "]"));
        assert!(search("^[a-]+$", "a-a"));
        assert!(search("^[\\]+$", "\\\\"));
        assert!(search("^[[.-.]x]+$", "-x"));
        assert!(search("^[[=e=]]$", "e"));
        assert!(search("^[[:xdigit:]]+$", "deadBEEF09"));
        assert!(search("^.$", "\u{7f}"));
    }

    #[test]
    fn alternation_and_escapes() {
        assert!(search("^(cat|dog)s?$", "dogs"));
        assert!(!search("^(cat|dog)s?$", "cow"));
        assert!(search("a|", "zzz"));
        assert!(search("^a\\.b$", "a.b"));
        assert!(!search("^a\\.b$", "axb"));
        assert!(search("\\*", "2*3"));
    }

    #[test]
    fn leftmost_longest_extent() {
        assert_eq!(find("b+", "abbbc"), Some((1, 4)));
        assert_eq!(find("a|ab", "xab"), Some((1, 3)));
        assert_eq!(find("x*", "abc"), Some((0, 0)));
        assert_eq!(find("c$", "cbc"), Some((2, 3)));
        assert_eq!(find("^$", ""), Some((0, 0)));
        assert_eq!(find("z", "abc"), None);
        // `^` holds at the subject's start only, not where a later run starts.
        assert_eq!(find("^ab|a", "xab"), Some((1, 2)));
        assert_eq!(find("^ab|a", "abx"), Some((0, 2)));
        assert_eq!(find("^a", "ba"), None);
    }

    #[test]
    fn capture_programs_save_group_bounds() {
        let p = compile(b"a(b)").unwrap().program.expect("small program");
        let saves: Vec<u16> = (0..p.ops.len())
            .filter(|&i| p.ops[i] == RegexProgram::SAVE)
            .map(|i| p.a[i])
            .collect();
        assert_eq!(saves.len(), 2);
        assert!(saves.contains(&2) && saves.contains(&3), "{saves:?}");
        assert_eq!(
            p.ops.iter().filter(|&&o| o == RegexProgram::MATCH).count(),
            1
        );
        // Too many states or groups for the runtime's scratch: no program.
        assert!(compile(b"a{200}").unwrap().program.is_none());
        assert!(compile(b"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)")
            .unwrap()
            .program
            .is_none());
        assert!(compile(b"(a)(b)(c)(d)(e)(f)(g)(h)(i)")
            .unwrap()
            .program
            .is_some());
    }

    #[test]
    fn groups_are_counted() {
        assert_eq!(compile(b"a(b)(c(d))|(e)").unwrap().groups, 4);
        assert_eq!(compile(b"abc").unwrap().groups, 0);
    }

    #[test]
    fn bad_patterns_are_errors_with_offsets() {
        assert_eq!(error("ab(c").offset, Some(2));
        assert_eq!(error("ab(c").message, "unmatched '('");
        assert_eq!(error("abc)").message, "unmatched ')'");
        assert_eq!(error("a[bc").message, "unterminated bracket expression '['");
        assert_eq!(error("*a").message, "'*' has nothing to repeat");
        assert_eq!(error("a|+").offset, Some(2));
        assert_eq!(error("a{3,2}").offset, Some(1));
        assert_eq!(
            error("a{256}").message,
            "repetition bound 256 is larger than 255"
        );
        assert_eq!(error("a{x}").offset, Some(1));
        assert!(error("[z-a]").message.starts_with("invalid range 'z-a'"));
        assert_eq!(
            error("[[:alfa:]]").message,
            "unknown character class '[:alfa:]'"
        );
        assert!(error("\\d").message.starts_with("unsupported escape '\\d'"));
        assert_eq!(error("ab\\").message, "trailing '\\'");
    }

    #[test]
    fn oversized_automata_are_errors() {
        // (a|b)*a(a|b){12}: the DFA must remember the last 13 bytes.
        let e = error("(a|b)*a(a|b){12}");
        assert!(e.message.contains("is too complex"), "{e:?}");
        let e = error("((a{255}){255}){255}");
        assert!(e.message.contains("too large"), "{e:?}");
        let deep = "(".repeat(100) + &")".repeat(100);
        assert_eq!(error(&deep).message, "groups nested too deeply");
    }

    #[test]
    fn output_is_deterministic_and_compact() {
        let a = compile(b"^(foo|bar)[0-9]+$").unwrap();
        let b = compile(b"^(foo|bar)[0-9]+$").unwrap();
        assert_eq!(a, b);
        assert!(a.search.nclasses < 16);
        assert_eq!(
            a.search.next.len(),
            a.search.flags.len() * a.search.nclasses as usize
        );
    }
}
