//! The Thompson NFA of a parsed pattern, with a `SAVE` per group
//! boundary for the subexpressions of a match.

use super::parse::{ByteSet, Node};
use super::{RegexError, MAX_NFA_STATES};

/// One NFA state.
#[derive(Debug, Clone)]
pub(super) enum NState {
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
pub(super) struct Nfa {
    pub(super) states: Vec<NState>,
}

impl Nfa {
    pub(super) fn push(&mut self, s: NState) -> Result<u32, RegexError> {
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
    pub(super) fn compile(&mut self, node: &Node, next: u32) -> Result<u32, RegexError> {
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
    pub(super) fn closure(&self, seeds: &[u32], at_start: bool, at_end: bool) -> Vec<u32> {
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

    pub(super) fn has_match(&self, set: &[u32]) -> bool {
        set.iter()
            .any(|&s| matches!(self.states[s as usize], NState::Match))
    }
}
