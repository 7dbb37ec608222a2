//! The channel protocol between a stapkit module and `staprun`.
//!
//! The module exposes one debugfs file, `/sys/kernel/debug/stapkit/NAME/channel`.
//! Reading it yields a byte stream of records, each a little-endian
//! `u32 type`, `u32 length` and `length` payload bytes. Writing `start` runs
//! the begin probes and arms the others; writing `stop` disarms them, runs
//! the end (or error) probes and finishes the session. The definitions here
//! mirror `runtime-c/core/transport.h`.

/// The newest channel protocol this staprun speaks (`STP_PROTOCOL` in
/// `transport.h`; modules record theirs in `.modinfo` as
/// `stapkit_protocol`). 1: records, `start` and `stop`. 2: one reader at
/// a time (detach and attach), whole records per read, `flight`.
/// 3: [`RECORD_SYSTEM`] (only modules that call `system()` say 3).
pub const PROTOCOL: u32 = 3;

/// Bytes of script output for standard output.
pub const RECORD_STDOUT: u32 = 1;
/// Bytes for standard error (warnings and errors, already formatted).
pub const RECORD_STDERR: u32 = 2;
/// The script asked to stop (`exit()`, or too many errors).
pub const RECORD_EXIT: u32 = 3;
/// The session is over; payload is a [`Summary`]. Nothing follows.
pub const RECORD_DONE: u32 = 4;
/// `system(cmd)`: payload is the command for `/bin/sh -c` (protocol 3:
/// a staprun that predates it refuses the module).
pub const RECORD_SYSTEM: u32 = 5;

/// Size of a record header.
pub const HEADER_LEN: usize = 8;

/// How a session ended, from the `DONE` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Script errors reported.
    pub errors: u32,
    /// Probe hits skipped (reentrancy, lock contention, overload).
    pub skipped: u32,
    /// Output records dropped because the transport buffer was full.
    pub dropped: u64,
    /// Non-zero when the session ended because of errors.
    pub error_exit: u32,
    /// The transport buffer's size in MiB.
    pub buffer_mb: u32,
    /// Bytes of the dropped records.
    pub dropped_bytes: u64,
    /// The `-c` command failed (staprun's, not the module's, finding).
    pub child_failed: bool,
}

impl Summary {
    /// Decodes a `DONE` payload; short payloads read as zeros.
    pub fn decode(payload: &[u8]) -> Summary {
        let u32_at = |at: usize| {
            payload
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                .unwrap_or(0)
        };
        let u64_at = |at: usize| {
            payload
                .get(at..at + 8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
                .unwrap_or(0)
        };
        Summary {
            errors: u32_at(0),
            skipped: u32_at(4),
            dropped: u64_at(8),
            error_exit: u32_at(16),
            buffer_mb: u32_at(20),
            dropped_bytes: u64_at(24),
            child_failed: false,
        }
    }
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Output for stdout.
    Stdout(Vec<u8>),
    /// Output for stderr.
    Stderr(Vec<u8>),
    /// The module asks to be stopped.
    Exit,
    /// The session is over.
    Done(Summary),
    /// A command to run in user space (`system(cmd)`).
    System(Vec<u8>),
    /// A record type this staprun does not know (newer module); skipped.
    Unknown(u32),
}

/// Reassembles records from the chunks `read()` returns.
#[derive(Debug, Default)]
pub struct Decoder {
    pending: Vec<u8>,
}

impl Decoder {
    /// Appends bytes read from the channel.
    pub fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// The next complete record, if one has fully arrived.
    pub fn next_record(&mut self) -> Option<Record> {
        if self.pending.len() < HEADER_LEN {
            return None;
        }
        let kind = u32::from_le_bytes(self.pending[0..4].try_into().unwrap());
        let len = u32::from_le_bytes(self.pending[4..8].try_into().unwrap()) as usize;
        if self.pending.len() < HEADER_LEN + len {
            return None;
        }
        let payload: Vec<u8> = self
            .pending
            .drain(..HEADER_LEN + len)
            .skip(HEADER_LEN)
            .collect();
        crate::markers::receive_control_message(kind, &payload);
        Some(match kind {
            RECORD_STDOUT => Record::Stdout(payload),
            RECORD_STDERR => Record::Stderr(payload),
            RECORD_EXIT => Record::Exit,
            RECORD_DONE => Record::Done(Summary::decode(&payload)),
            RECORD_SYSTEM => Record::System(payload),
            other => Record::Unknown(other),
        })
    }

    /// Bytes of an incomplete record still waiting for the rest.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = kind.to_le_bytes().to_vec();
        v.extend((payload.len() as u32).to_le_bytes());
        v.extend(payload);
        v
    }

    #[test]
    fn reassembles_records_split_anywhere() {
        let mut stream = record(RECORD_STDOUT, b"hello\n");
        stream.extend(record(RECORD_STDERR, b"WARNING: x\n"));
        stream.extend(record(RECORD_EXIT, b""));
        let mut summary = Vec::new();
        summary.extend(2u32.to_le_bytes());
        summary.extend(1u32.to_le_bytes());
        summary.extend(7u64.to_le_bytes());
        summary.extend(1u32.to_le_bytes());
        summary.extend(16u32.to_le_bytes());
        summary.extend(4106u64.to_le_bytes());
        stream.extend(record(RECORD_SYSTEM, b"echo hi"));
        stream.extend(record(RECORD_DONE, &summary));
        stream.extend(record(99, b"future"));
        for split in 0..stream.len() {
            let mut d = Decoder::default();
            let mut got = Vec::new();
            for chunk in [&stream[..split], &stream[split..]] {
                d.push(chunk);
                while let Some(r) = d.next_record() {
                    got.push(r);
                }
            }
            assert_eq!(
                got,
                vec![
                    Record::Stdout(b"hello\n".to_vec()),
                    Record::Stderr(b"WARNING: x\n".to_vec()),
                    Record::Exit,
                    Record::System(b"echo hi".to_vec()),
                    Record::Done(Summary {
                        errors: 2,
                        skipped: 1,
                        dropped: 7,
                        error_exit: 1,
                        buffer_mb: 16,
                        dropped_bytes: 4106,
                        child_failed: false,
                    }),
                    Record::Unknown(99),
                ],
                "split at {split}"
            );
            assert_eq!(d.pending(), 0);
        }
    }
}
