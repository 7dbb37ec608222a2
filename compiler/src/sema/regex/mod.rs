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
//! [`crate::ir::RegexDfa`], is a plain transition table that codegen emits as
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
//!
//! `parse` reads the pattern into a tree, `nfa` builds the Thompson
//! NFA, `dfa` the two automata; `capture_program` keeps the NFA for
//! the runtime's submatch pass.

mod dfa;
mod nfa;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::ir::{RegexDfa, RegexProgram};

use dfa::{determinize, Mode};
use nfa::{NState, Nfa};
use parse::{ByteSet, Parser};

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
