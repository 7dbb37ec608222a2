//! `stapkit-workload emit`: the guest's `/init` frames one case's results
//! with it, in one process instead of three busybox programs per file
//! (`wc`, `crc32`, `cat`) and a `dmesg`, which under TCG cost about half a
//! second per case.
//!
//! ```text
//! stapkit-workload emit CASE DIR PART... [--kernel-log PART]
//! ```
//!
//! writes, on standard output, for each PART the file DIR/PART as one
//! frame: a line `@@stapkit CASE.PART SIZE CRC` (CRC the CRC-32 of the
//! data in eight lower-case hex digits, as busybox `crc32` prints it) and SIZE raw
//! bytes, the format `stapkit::vm::results` decodes. `--kernel-log PART`
//! frames the kernel's log as `dmesg -c` prints it (read and cleared, each
//! line's `<LEVEL>` prefix dropped) under that part's name. A file that
//! cannot be read gets no frame (the host then reports the part missing)
//! and an error on standard error.

use std::io::Write;

/// Runs `emit` with its operands (after the word `emit`), writing the
/// frames to `out`.
pub fn run(args: &[String], out: &mut impl Write) -> Result<(), String> {
    let (case, dir, parts) = match args {
        [case, dir, parts @ ..] if !parts.is_empty() => (case, dir, parts),
        _ => return Err("'emit' needs a case, a directory and at least one part".to_string()),
    };
    let mut out = std::io::BufWriter::new(out);
    let mut failed = Vec::new();
    let mut rest = parts;
    while let Some((part, after)) = rest.split_first() {
        let (name, data) = if part == "--kernel-log" {
            let name = after
                .first()
                .ok_or_else(|| "'--kernel-log' needs a part name".to_string())?;
            rest = &after[1..];
            (name, kernel_log_read_and_clear())
        } else {
            rest = after;
            let path = format!("{dir}/{part}");
            (
                part,
                std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}")),
            )
        };
        match data {
            Ok(data) => out
                .write_all(&frame(&format!("{case}.{name}"), &data))
                .map_err(|e| format!("cannot write the frame of {case}.{name}: {e}"))?,
            Err(e) => failed.push(e),
        }
    }
    out.flush()
        .map_err(|e| format!("cannot write frames: {e}"))?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

/// One frame: header line and data.
pub fn frame(name: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("@@stapkit {name} {} {:08x}\n", data.len(), crc32(data)).into_bytes();
    v.extend_from_slice(data);
    v
}

/// The CRC-32 of zlib, Ethernet and busybox `crc32` (reflected, polynomial
/// 0xEDB88320, initial and final complement).
pub fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *slot = c;
    }
    let mut crc = !0u32;
    for &b in data {
        crc = table[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// The kernel log as `dmesg -c` prints it: read and cleared at once
/// (syslog(2)'s `SYSLOG_ACTION_READ_CLEAR`), then [`drop_levels`].
fn kernel_log_read_and_clear() -> Result<Vec<u8>, String> {
    const SYSLOG_ACTION_READ_CLEAR: libc::c_int = 4;
    const SYSLOG_ACTION_SIZE_BUFFER: libc::c_int = 10;
    // SAFETY: SIZE_BUFFER takes no buffer.
    let size = unsafe { libc::klogctl(SYSLOG_ACTION_SIZE_BUFFER, std::ptr::null_mut(), 0) };
    let size = if size > 0 { size as usize } else { 1 << 17 };
    let mut buf = vec![0u8; size];
    // SAFETY: the kernel writes at most `size` bytes into `buf`.
    let n = unsafe {
        libc::klogctl(
            SYSLOG_ACTION_READ_CLEAR,
            buf.as_mut_ptr().cast(),
            size as libc::c_int,
        )
    };
    if n < 0 {
        return Err(format!(
            "cannot read the kernel log: {}",
            std::io::Error::last_os_error()
        ));
    }
    buf.truncate(n as usize);
    Ok(drop_levels(&buf))
}

/// The log as `dmesg` shows it: the `<LEVEL>` at the start of each line
/// dropped, and a last line without a newline given one.
pub fn drop_levels(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let body = match line.strip_prefix(b"<") {
            Some(rest) => match rest.iter().position(|&b| b == b'>') {
                Some(end) => &rest[end + 1..],
                None => &[][..],
            },
            None => line,
        };
        out.extend_from_slice(body);
    }
    if out.last().is_some_and(|&b| b != b'\n') {
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_busyboxs() {
        // `printf 'hello\n' | busybox crc32` prints 363a3020.
        assert_eq!(crc32(b"hello\n"), 0x363a_3020);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn frames_are_what_the_host_decodes() {
        assert_eq!(
            frame("hello.rc", b"0\n"),
            b"@@stapkit hello.rc 2 7e4acd12\n0\n"
        );
        assert_eq!(
            frame("hello.stderr", b""),
            b"@@stapkit hello.stderr 0 00000000\n"
        );
    }

    #[test]
    fn levels_are_dropped_at_line_starts_only() {
        assert_eq!(
            drop_levels(b"<6>[    1.000000] a <b> c\n<4>[    2.000000] d"),
            b"[    1.000000] a <b> c\n[    2.000000] d\n"
        );
        assert_eq!(drop_levels(b""), b"");
    }

    #[test]
    fn files_are_framed_in_order_and_a_missing_one_is_an_error() {
        let dir = std::env::temp_dir().join(format!("stapkit-emit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rc"), b"0\n").unwrap();
        let args: Vec<String> = ["c1", dir.to_str().unwrap(), "rc", "nope"]
            .map(String::from)
            .to_vec();
        let mut out = Vec::new();
        let e = run(&args, &mut out).unwrap_err();
        assert!(e.starts_with("cannot read ") && e.contains("/nope"), "{e}");
        assert_eq!(out, b"@@stapkit c1.rc 2 7e4acd12\n0\n");
        std::fs::write(dir.join("nope"), b"x").unwrap();
        out.clear();
        run(&args, &mut out).unwrap();
        assert_eq!(
            out,
            b"@@stapkit c1.rc 2 7e4acd12\n0\n@@stapkit c1.nope 1 8cdc1683\nx"
        );
        assert!(run(&args[..2], &mut out).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
