//! Subset construction: the NFA turned into a DFA over byte equivalence
//! classes, for searching and for the extent of a match.

use std::collections::{BTreeMap, HashMap};

use super::nfa::{NState, Nfa};
use super::parse::ByteSet;
use super::{RegexError, MAX_STATES, MAX_TABLE_ENTRIES};
use crate::ir::RegexAutomaton;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Unanchored: a match may start anywhere; accepting states absorb.
    Search,
    /// A match must start at the first byte; runs to the longest match.
    Anchored,
}

/// The byte equivalence classes of `nfa`: bytes no byte test tells apart
/// share a class. Returns the class of every byte and the class count.
pub(super) fn byte_classes(nfa: &Nfa) -> (Vec<u8>, usize) {
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
pub(super) fn determinize(
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
