//! Decoding what the guest streams on its results port, and what each
//! case's result means.
//!
//! The stream is a sequence of `@@stapkit NAME SIZE\n` headers each followed
//! by SIZE raw bytes, ended by `@@stapkit-end\n` (see `vm-images/init.sh`).

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

/// Decodes a results stream; a truncated stream yields what arrived.
pub fn decode(mut bytes: &[u8]) -> ResultStream {
    let mut out = ResultStream::default();
    while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(&bytes[..nl]).into_owned();
        bytes = &bytes[nl + 1..];
        if line == "@@stapkit-end" {
            out.complete = true;
            break;
        }
        let mut fields = line.split(' ');
        let (Some("@@stapkit"), Some(name), Some(size)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue; // noise before the first header
        };
        let crc: Option<u32> = fields.next().and_then(|c| c.trim().parse().ok());
        let Ok(size) = size.trim().parse::<usize>() else {
            break;
        };
        let data = &bytes[..size.min(bytes.len())];
        let truncated = data.len() < size;
        let Some((case, part)) = name.rsplit_once('.') else {
            break;
        };
        let r = out.cases.entry(case.to_string()).or_default();
        bytes = &bytes[data.len()..];
        // A frame cut short (the guest died) keeps what arrived, marked
        // damaged; a complete frame with the wrong CRC is not used at all.
        if truncated || crc.is_some_and(|crc| crc != posix_cksum(data)) {
            r.damaged.push(part.to_string());
            if !truncated {
                continue;
            }
        }
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

/// The POSIX `cksum` CRC of `data` (CRC-32/CKSUM over the bytes, then
/// over the length's significant bytes, complemented).
pub fn posix_cksum(data: &[u8]) -> u32 {
    fn feed(mut crc: u32, byte: u8) -> u32 {
        crc ^= (byte as u32) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
        crc
    }
    let mut crc = data.iter().fold(0u32, |c, &b| feed(c, b));
    let mut len = data.len() as u64;
    while len > 0 {
        crc = feed(crc, (len & 0xff) as u8);
        len >>= 8;
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = format!("@@stapkit {name} {} {}\n", data.len(), posix_cksum(data)).into_bytes();
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
    fn cksum_matches_posix_and_damage_is_detected() {
        // `printf 'hello\n' | cksum` prints 3015617425 6.
        assert_eq!(posix_cksum(b"hello\n"), 3015617425);
        assert_eq!(posix_cksum(b""), 4294967295);
        let mut s = frame("a.rc", b"1\n");
        let at = s.len() - 2;
        s[at] = b'7';
        s.extend(frame("a.stdout", b"ok\n"));
        let r = decode(&s);
        assert_eq!(r.cases["a"].exit_code, None);
        assert_eq!(r.cases["a"].damaged, ["rc"]);
        assert_eq!(r.cases["a"].stdout, b"ok\n");
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
