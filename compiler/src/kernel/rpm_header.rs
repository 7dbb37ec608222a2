//! A structural check of an RPM's lead and two headers (signature, then
//! main) before the `rpm` crate reads them. The crate trusts the counts a
//! package declares: with damaged ones it allocates up to 4 GiB at once,
//! indexes out of range (a panic) or loops four billion times, so a
//! package is read only after its headers are found to fit in the file:
//! every index entry's data inside the header's store, string arrays with
//! as many NULs as strings, and all entries together no larger than twice
//! the store (rpm writes each entry's data once), which keeps the crate's work linear.
//!
//! Layout (rpm's `rpm-file-format`): a 96-byte lead; a header is the
//! magic `8e ad e8 01`, four reserved bytes, the entry count and store
//! size (big-endian u32), 16-byte entries (tag, type, offset, count) and
//! the store; the signature header is padded to 8 bytes.

use std::io::Read;

/// The lead's size and magic.
const LEAD: usize = 96;
const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
const HEADER_MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];

/// Why a package's headers cannot be read, with the byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError(pub String);

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(message: String) -> HeaderError {
    HeaderError(message)
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads exactly `len` bytes (`len` is known to fit in the file).
fn take(r: &mut impl Read, len: usize, at: u64, what: &str) -> Result<Vec<u8>, HeaderError> {
    let mut buf = vec![0; len];
    r.read_exact(&mut buf)
        .map_err(|e| err(format!("{what} at byte {at}: {e}")))?;
    Ok(buf)
}

/// Checks the lead and both headers of a package `file_len` bytes long,
/// read from `r`; returns where the payload starts.
pub fn check(r: &mut impl Read, file_len: u64) -> Result<u64, HeaderError> {
    if file_len < LEAD as u64 {
        return Err(err(format!(
            "the package is {file_len} bytes long, shorter than an RPM lead ({LEAD})"
        )));
    }
    let lead = take(r, LEAD, 0, "the lead")?;
    if lead[..4] != LEAD_MAGIC {
        return Err(err("not an RPM package (no lead magic at byte 0)".into()));
    }
    let mut at = LEAD as u64;
    for (what, pad) in [("signature header", true), ("main header", false)] {
        at = header(r, at, file_len, what)?;
        if pad && !at.is_multiple_of(8) {
            let padding = (8 - at % 8) as usize;
            if at + padding as u64 > file_len {
                return Err(err(format!(
                    "the {what}'s padding at byte {at} is cut short"
                )));
            }
            take(r, padding, at, "padding")?;
            at += padding as u64;
        }
    }
    Ok(at)
}

/// Checks the header at byte `at`; returns where it ends.
fn header(r: &mut impl Read, at: u64, file_len: u64, what: &str) -> Result<u64, HeaderError> {
    if at + 16 > file_len {
        return Err(err(format!("the {what} at byte {at} is cut short")));
    }
    let intro = take(r, 16, at, what)?;
    if intro[..4] != HEADER_MAGIC {
        return Err(err(format!("no {what} magic at byte {at}")));
    }
    let (count, store) = (be32(&intro, 8) as u64, be32(&intro, 12) as u64);
    let len = count * 16 + store;
    if at + 16 + len > file_len {
        return Err(err(format!(
            "the {what} at byte {at} declares {count} entries and {store} bytes of data, \
             more than the {file_len}-byte package holds"
        )));
    }
    let body = take(r, len as usize, at + 16, what)?;
    let (index, data) = body.split_at(count as usize * 16);
    // NULs in data[..i], to count the strings an entry can have.
    let mut nuls = Vec::with_capacity(data.len() + 1);
    nuls.push(0u32);
    for &b in data {
        nuls.push(nuls.last().copied().unwrap_or(0) + (b == 0) as u32);
    }
    let mut total = 0u64;
    for (i, e) in index.chunks_exact(16).enumerate() {
        let (ty, offset, n) = (be32(e, 4), be32(e, 8) as u64, be32(e, 12) as u64);
        let where_ = || {
            format!(
                "{what} entry {i} (tag {}, at byte {})",
                be32(e, 0),
                at + 16 + i as u64 * 16
            )
        };
        if offset > store {
            return Err(err(format!(
                "{}: its data at offset {offset} lies outside the {store}-byte store",
                where_()
            )));
        }
        let room = store - offset;
        let size = match ty {
            0 => 0,
            1 | 2 => n,
            3 => n * 2,
            4 => n * 4,
            5 => n * 8,
            6 => 1,
            7 => n,
            8 | 9 => {
                let strings = (nuls[store as usize] - nuls[offset as usize]) as u64;
                if n > strings {
                    return Err(err(format!(
                        "{}: {n} strings, but only {strings} end in the store",
                        where_()
                    )));
                }
                n
            }
            other => return Err(err(format!("{}: unknown data type {other}", where_()))),
        };
        if size > room {
            return Err(err(format!(
                "{}: {size} bytes of data at offset {offset} overrun the {store}-byte store",
                where_()
            )));
        }
        total += size;
    }
    if total > 2 * store + 64 {
        return Err(err(format!(
            "the {what} at byte {at}: its entries' data ({total} bytes) overlap beyond its {store}-byte store"
        )));
    }
    Ok(at + 16 + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_bytes(entries: &[(u32, u32, u32, u32)], store: &[u8]) -> Vec<u8> {
        let mut h = HEADER_MAGIC.to_vec();
        h.extend([0; 4]);
        h.extend((entries.len() as u32).to_be_bytes());
        h.extend((store.len() as u32).to_be_bytes());
        for &(tag, ty, off, n) in entries {
            for w in [tag, ty, off, n] {
                h.extend(w.to_be_bytes());
            }
        }
        h.extend(store);
        h
    }

    fn package(sig: &[u8], main: &[u8]) -> Vec<u8> {
        let mut p = LEAD_MAGIC.to_vec();
        p.resize(LEAD, 0);
        p.extend(sig);
        while !p.len().is_multiple_of(8) {
            p.push(0);
        }
        p.extend(main);
        p.extend(b"payload");
        p
    }

    fn check_bytes(p: &[u8]) -> Result<u64, HeaderError> {
        check(&mut &p[..], p.len() as u64)
    }

    #[test]
    fn a_well_formed_package_passes_and_its_payload_is_found() {
        let sig = header_bytes(&[(1000, 4, 0, 1)], &[0, 0, 0, 9]);
        let main = header_bytes(&[(1000, 6, 0, 1), (1118, 8, 4, 2)], b"abc\0x\0y\0");
        let p = package(&sig, &main);
        assert_eq!(check_bytes(&p).unwrap(), (p.len() - 7) as u64);
    }

    #[test]
    fn damaged_counts_are_refused_before_anything_is_allocated() {
        let sig = header_bytes(&[], &[]);
        // Four billion int32s: the rpm crate reserved 16 GiB for them.
        let main = header_bytes(&[(1000, 4, 0, u32::MAX)], &[0; 8]);
        let e = check_bytes(&package(&sig, &main)).unwrap_err();
        assert!(e.0.contains("overrun the 8-byte store"), "{e}");
        // Offsets past the store: the crate sliced out of range.
        let main = header_bytes(&[(1000, 7, 9, 1)], &[0; 8]);
        let e = check_bytes(&package(&sig, &main)).unwrap_err();
        assert!(e.0.contains("lies outside the 8-byte store"), "{e}");
        // A string array without its NULs: the crate sliced past the end.
        let main = header_bytes(&[(1000, 8, 0, 3)], b"a\0b");
        let e = check_bytes(&package(&sig, &main)).unwrap_err();
        assert!(e.0.contains("3 strings, but only 1 end"), "{e}");
        // Many entries sharing one store: the crate's work multiplied.
        let entries = vec![(1000, 9, 0, 8); 100];
        let main = header_bytes(&entries, &[0; 8]);
        let e = check_bytes(&package(&sig, &main)).unwrap_err();
        assert!(e.0.contains("overlap beyond"), "{e}");
        // A header larger than the file: the crate allocated its size.
        let mut main = header_bytes(&[], &[]);
        main[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
        let e = check_bytes(&package(&sig, &main)).unwrap_err();
        assert!(e.0.contains("more than the"), "{e}");
        assert!(check_bytes(b"\xed\xab")
            .unwrap_err()
            .0
            .contains("shorter than"));
    }
}
