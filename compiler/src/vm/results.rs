//! Decoding what the guest streams on its results port, and what each
//! case's result means.
//!
//! The stream is a sequence of `@@stapkit NAME SIZE CRC\n` headers (CRC is
//! the CRC-32 of the data in hex, as busybox `crc32` prints it; optional)
//! each followed by SIZE raw bytes, ended by `@@stapkit-end\n` (see
//! `vm-images/init.sh`). The serial line can lose bytes under TCG, so the
//! decoder checks every frame and says which parts are damaged or missing.

use std::collections::BTreeMap;

/// What one module's run in the guest produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseResult {
    /// staprun's standard output, byte for byte.
    pub stdout: Vec<u8>,
    /// staprun's standard error.
    pub stderr: Vec<u8>,
    /// staprun's exit status, if it was reported.
    pub exit_code: Option<i32>,
    /// The module was still loaded after staprun ended.
    pub still_loaded: bool,
    /// Kernel messages logged while the case ran.
    pub kernel_log: String,
    /// Parts that arrived damaged (their CRC did not match).
    pub damaged: Vec<String>,
    /// Parts whose frame arrived (see [`PARTS`]).
    pub received: Vec<String>,
}

/// Lines in a kernel log that mean the kernel was hurt: any of these fails
/// a case whatever its output.
pub const KERNEL_PROBLEM_MARKERS: &[&str] = &[
    "BUG:",
    "Oops",
    "WARNING: CPU:",
    "WARNING: at ",
    "general protection fault",
    "kernel BUG at",
    "Call Trace:",
    "UBSAN:",
    "KASAN:",
    "stack-protector:",
    "list_add corruption",
    "list_del corruption",
    "refcount_t:",
    "rcu: INFO:",
    "INFO: task ",
    "soft lockup",
    "hard LOCKUP",
    "Kernel panic",
];

impl CaseResult {
    /// Kernel log lines that match [`KERNEL_PROBLEM_MARKERS`].
    pub fn kernel_problems(&self) -> Vec<&str> {
        problem_lines(&self.kernel_log)
    }
}

/// Lines of `log` that match [`KERNEL_PROBLEM_MARKERS`].
pub fn problem_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| KERNEL_PROBLEM_MARKERS.iter().any(|m| l.contains(m)))
        .collect()
}

/// The decoded results stream.
#[derive(Debug, Default, PartialEq)]
pub struct ResultStream {
    /// Per case id, its result (cases whose files never arrived are absent).
    pub cases: BTreeMap<String, CaseResult>,
    /// The guest reached the end marker: every case was reported.
    pub complete: bool,
}

/// The files the guest reports for every case, in order.
pub const PARTS: [&str; 5] = ["stdout", "stderr", "rc", "module", "dmesg"];

impl CaseResult {
    /// Parts of [`PARTS`] that never arrived (their frame was lost).
    pub fn missing(&self) -> Vec<&'static str> {
        PARTS
            .into_iter()
            .filter(|p| !self.received.iter().any(|r| r == p))
            .collect()
    }

    /// Every part arrived, and none damaged: the result can be trusted.
    pub fn intact(&self) -> bool {
        self.damaged.is_empty() && self.missing().is_empty()
    }
}

/// Decodes a results stream; a truncated stream yields what arrived.
///
/// A frame whose CRC does not match lost or gained bytes on the way, so its
/// SIZE cannot be trusted either: it is marked damaged and decoding resumes
/// at the line after its header, which finds the frames behind it.
pub fn decode(mut bytes: &[u8]) -> ResultStream {
    let mut out = ResultStream::default();
    while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(&bytes[..nl]).into_owned();
        bytes = &bytes[nl + 1..];
        // UEFI firmware writes its console to every serial port, so noise
        // without a newline may precede the first header on its line.
        let Some(at) = line.find("@@stapkit") else {
            continue;
        };
        let line = &line[at..];
        if line == "@@stapkit-end" {
            out.complete = true;
            break;
        }
        let mut fields = line.split(' ');
        let (Some("@@stapkit"), Some(name), Some(size)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue; // noise before the first header, or after damage
        };
        let crc = fields
            .next()
            .map(|c| u32::from_str_radix(c.trim(), 16).ok());
        let (Ok(size), Some((case, part))) = (size.trim().parse::<usize>(), name.rsplit_once('.'))
        else {
            continue;
        };
        let data = &bytes[..size.min(bytes.len())];
        let truncated = data.len() < size;
        let r = out.cases.entry(case.to_string()).or_default();
        // A frame cut short (the guest died) keeps what arrived, marked
        // damaged; a complete frame with the wrong CRC is not used at all.
        if truncated || crc.is_some_and(|crc| crc != Some(crc32fast::hash(data))) {
            r.damaged.push(part.to_string());
            if !truncated {
                continue;
            }
        }
        bytes = &bytes[data.len()..];
        r.received.push(part.to_string());
        match part {
            "stdout" => r.stdout = data.to_vec(),
            "stderr" => r.stderr = data.to_vec(),
            "rc" => r.exit_code = String::from_utf8_lossy(data).trim().parse().ok(),
            "module" => r.still_loaded = data.starts_with(b"loaded"),
            "dmesg" => r.kernel_log = String::from_utf8_lossy(data).into_owned(),
            _ => {}
        }
        if truncated {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = format!(
            "@@stapkit {name} {} {:x}\n",
            data.len(),
            crc32fast::hash(data)
        )
        .into_bytes();
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn decodes_cases_with_binary_and_missing_newlines() {
        let mut s = b"garbage line\n".to_vec();
        s.extend(frame("hello.stdout", b"hello\n@@stapkit fake 3\n"));
        s.extend(frame("hello.stderr", b""));
        s.extend(frame("hello.rc", b"0\n"));
        s.extend(frame("hello.module", b"unloaded\n"));
        s.extend(frame(
            "hello.dmesg",
            b"[ 1.0] hello: loading out-of-tree module taints kernel.\n",
        ));
        s.extend(frame("bad.stdout", b"\x00\xff no newline"));
        s.extend(frame("bad.rc", b"1\n"));
        s.extend(frame("bad.module", b"loaded\n"));
        s.extend(frame(
            "bad.dmesg",
            b"[ 2.0] BUG: kernel NULL pointer dereference, address: 0\n",
        ));
        s.extend(b"@@stapkit-end\n");
        let r = decode(&s);
        assert!(r.complete);
        let hello = &r.cases["hello"];
        assert_eq!(hello.stdout, b"hello\n@@stapkit fake 3\n");
        assert_eq!(hello.exit_code, Some(0));
        assert!(!hello.still_loaded);
        assert!(hello.kernel_problems().is_empty());
        let bad = &r.cases["bad"];
        assert_eq!(bad.stdout, b"\x00\xff no newline");
        assert!(bad.still_loaded);
        assert_eq!(
            bad.kernel_problems(),
            ["[ 2.0] BUG: kernel NULL pointer dereference, address: 0"]
        );
    }

    #[test]
    fn decodes_what_the_workloads_emit_writes() {
        // `stapkit-workload emit` (workload/src/emit.rs, whose tests pin
        // these bytes): CRCs in eight hex digits, as busybox prints them.
        let mut s = b"@@stapkit c1.rc 2 7e4acd12\n0\n".to_vec();
        s.extend(b"@@stapkit c1.stderr 0 00000000\n");
        s.extend(b"@@stapkit c1.nope 1 8cdc1683\nx");
        s.extend(b"@@stapkit-end\n");
        let r = decode(&s);
        assert!(r.complete);
        let c1 = &r.cases["c1"];
        assert_eq!(c1.exit_code, Some(0));
        assert!(c1.damaged.is_empty(), "{c1:?}");
        assert_eq!(c1.received, ["rc", "stderr", "nope"]);
    }

    #[test]
    fn firmware_noise_before_the_first_header_is_skipped() {
        let mut s = b"\x1b[2J\x1b[01;01H\r\n\x1b[=3h".to_vec();
        s.extend(frame("a.stdout", b"ok\n"));
        s.extend(b"@@stapkit-end\n");
        let r = decode(&s);
        assert!(r.complete);
        assert_eq!(r.cases["a"].stdout, b"ok\n");
        assert_eq!(r.cases["a"].received, ["stdout"]);
    }

    #[test]
    fn crc_matches_busybox_and_damage_is_detected() {
        // `printf 'hello\n' | busybox crc32` prints 363a3020.
        assert_eq!(crc32fast::hash(b"hello\n"), 0x363a_3020);
        let mut s = frame("a.rc", b"1\n");
        let at = s.len() - 2;
        s[at] = b'7';
        s.extend(frame("a.stdout", b"ok\n"));
        let r = decode(&s);
        assert_eq!(r.cases["a"].exit_code, None);
        assert_eq!(r.cases["a"].damaged, ["rc"]);
        assert_eq!(r.cases["a"].stdout, b"ok\n");
        assert!(!r.cases["a"].intact());
    }

    #[test]
    fn frames_behind_a_frame_that_lost_bytes_are_recovered() {
        // The first frame lost two bytes on the wire: its SIZE now reaches
        // into the next header, which must still be found.
        let mut s = frame("a.dmesg", b"kernel says hi\n");
        s.drain(s.len() - 4..s.len() - 2);
        for part in PARTS {
            s.extend(frame(&format!("b.{part}"), b"0\n"));
        }
        let r = decode(&s);
        assert_eq!(r.cases["a"].damaged, ["dmesg"]);
        assert_eq!(
            r.cases["a"].missing(),
            ["stdout", "stderr", "rc", "module", "dmesg"]
        );
        assert!(r.cases["b"].intact(), "{:?}", r.cases["b"]);
        assert_eq!(r.cases["b"].exit_code, Some(0));
    }

    #[test]
    fn truncated_stream_keeps_what_arrived() {
        let mut s = frame("a.stdout", b"complete");
        s.extend(b"@@stapkit a.stderr 100\npartial");
        let r = decode(&s);
        assert!(!r.complete);
        assert_eq!(r.cases["a"].stdout, b"complete");
        assert_eq!(r.cases["a"].stderr, b"partial");
    }
}
