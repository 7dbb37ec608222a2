//! What the probes of one source probe share in C.
//!
//! Sema gives each point that offers target variables its own
//! [`Probe`] (`$file` may mean different things at different functions),
//! so a wildcard such as `kernel.function("*@mm/*.c")` becomes thousands
//! of probes with the same body. Codegen writes what they have in common
//! once: one locals frame per source probe (same place, same locals), one
//! lock table per distinct set of locks among them, one entry-data struct
//! per distinct list of saved types, and one handler per distinct handler
//! text. Each point keeps its own `struct stp_probe` (its `pp()` and
//! `probefunc()`), which names the shared handler; handlers whose target
//! variables resolve differently keep their own text, and so their own
//! function. The C thus grows with the script and the distinct contexts,
//! not with the number of points.

use std::collections::HashMap;

use super::writer::CWriter;
use crate::ir::*;

/// The name a handler's text is written with, replaced by its C name when
/// the text is first emitted (a text is compared before it has a name).
pub(super) const HANDLER_NAME: &str = "STP_HANDLER_NAME";

/// For each probe, the probe whose C it uses (itself when it is the first
/// of its kind).
#[derive(Debug)]
pub(super) struct Sharing {
    /// The probe whose locals frame (`stp_probe_N_locals`) it runs in.
    pub frame: Vec<usize>,
    /// The probe whose lock table (`stp_probe_N_locks`) it takes.
    pub locks: Vec<usize>,
    /// The probe whose entry-data struct (`stp_probe_N_entry`) it saves
    /// into (meaningful only where `saves`).
    pub entry: Vec<usize>,
    /// Whether it saves values at function entry.
    saves: Vec<bool>,
}

impl Sharing {
    /// What the probes of `program` share: frames among the probes of one
    /// source probe (same location, same locals), lock tables among those
    /// that also take the same locks, entry structs among those that also
    /// save the same types.
    pub fn of(program: &Program, locks: &[super::locks::Uses]) -> Sharing {
        let mut frames: HashMap<String, usize> = HashMap::new();
        let mut lock_tables: HashMap<(usize, String), usize> = HashMap::new();
        let mut entries: HashMap<(usize, Vec<Option<Type>>), usize> = HashMap::new();
        let mut sharing = Sharing {
            frame: Vec::new(),
            locks: Vec::new(),
            entry: Vec::new(),
            saves: Vec::new(),
        };
        for (i, p) in program.probes.iter().enumerate() {
            let frame = *frames
                .entry(format!("{:?}|{:?}", p.location, p.locals))
                .or_insert(i);
            sharing.frame.push(frame);
            let uses = format!("{:?}", locks[i]);
            sharing
                .locks
                .push(*lock_tables.entry((frame, uses)).or_insert(i));
            let saved: Vec<Option<Type>> = p.entry.iter().map(|e| e.ty).collect();
            sharing
                .entry
                .push(*entries.entry((frame, saved)).or_insert(i));
            sharing.saves.push(!p.entry.is_empty());
        }
        sharing
    }

    /// The entry-data struct probe `i` saves into, if it saves anything.
    pub fn entry_struct(&self, i: usize) -> Option<String> {
        self.saves[i].then(|| super::entry_struct(self.entry[i]))
    }
}

/// The handlers of one probe's points, by C name.
#[derive(Debug, Clone)]
pub(super) struct ProbeHandlers {
    /// The body's handler.
    pub body: String,
    /// The entry handler of a `.return` probe that saves values.
    pub entry: Option<String>,
    /// The entry-data struct, when there is an entry handler.
    pub entry_data: Option<String>,
}

/// The handlers written so far, by text within a frame.
#[derive(Debug, Default)]
pub(super) struct Handlers {
    written: HashMap<(usize, String), String>,
    /// Each probe's handlers, in probe order.
    pub names: Vec<ProbeHandlers>,
}

impl Handlers {
    /// The C name of the handler with `text` (written with
    /// [`HANDLER_NAME`]) in frame `frame`: the name of the same text
    /// written before, or `name` after writing it now.
    pub fn add(&mut self, out: &mut CWriter, name: &str, frame: usize, text: String) -> String {
        let key = (frame, text);
        if let Some(existing) = self.written.get(&key) {
            return existing.clone();
        }
        let named = format!("static void {name}(");
        out.raw(
            &key.1
                .replacen(&format!("static void {HANDLER_NAME}("), &named, 1),
        );
        self.written.insert(key, name.to_string());
        name.to_string()
    }
}
