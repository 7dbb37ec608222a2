//! The kernel file a test guest boots. An x86 bzImage holds the kernel
//! compressed (xz for Debian's), and under TCG the guest's decompressor
//! took about 19 of a 28 s boot on a loaded 2-core host (6.1 amd64: the
//! kernel's first line came 21.3 s after QEMU started, against 2.3 s
//! from the ELF). So an x86-64 guest without firmware boots the ELF
//! vmlinux inside the image, through its PVH entry point (QEMU loads an
//! ELF `-kernel` that carries the `Xen` `PHYS32_ENTRY` note, which kernels
//! with `CONFIG_PVH` have), unpacked once per image into the kernel's
//! cache directory beside its BTF (`boot-vmlinux`, with `boot-vmlinux.key`
//! naming the image's size and modification time). An image without that
//! note, an arm64 guest and a guest with UEFI firmware boot the image as
//! shipped.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use object::read::elf::{ElfFile64, ProgramHeader};

use crate::debuginfo::image::extract_kernel;
use crate::vm::Arch;

/// The ELF note type of the PVH entry point (`XEN_ELFNOTE_PHYS32_ENTRY`).
const PHYS32_ENTRY: u32 = 18;

/// The file to boot for `image` (see the module docs); a failure to
/// unpack is reported and the image is booted as it is.
pub(super) fn guest_kernel(
    image: &Path,
    cache_dir: Option<&Path>,
    arch: Arch,
    firmware: bool,
    progress: &(dyn Fn(&str) + Sync),
) -> PathBuf {
    let Some(dir) = cache_dir.filter(|_| arch == Arch::X86_64 && !firmware) else {
        return image.to_path_buf();
    };
    match unpacked(image, dir) {
        Ok(Some(elf)) => elf,
        Ok(None) => image.to_path_buf(),
        Err(e) => {
            progress(&format!(
                "{}: cannot unpack the kernel to boot it without decompressing ({e}); booting the image",
                image.display()
            ));
            image.to_path_buf()
        }
    }
}

/// The image's size and modification time.
fn stamp(image: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(image).map_err(|e| format!("{}: {e}", image.display()))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(format!("{} {mtime}\n", meta.len()))
}

/// The ELF vmlinux of `image` in `dir`, unpacked now unless it was from
/// this very image; `None` when the image holds no ELF with a PVH entry.
fn unpacked(image: &Path, dir: &Path) -> Result<Option<PathBuf>, String> {
    let out = dir.join("boot-vmlinux");
    let key_file = dir.join("boot-vmlinux.key");
    let key = stamp(image)?;
    match std::fs::read_to_string(&key_file) {
        Ok(k) if k == key && out.is_file() => return Ok(Some(out)),
        Ok(k) if k == format!("none {key}") => return Ok(None),
        _ => {}
    }
    let kernel = extract_kernel(image).map_err(|e| e.to_string())?;
    let bootable = has_pvh_entry(&kernel.bytes);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |path: &Path, bytes: &[u8]| -> Result<(), String> {
        let tmp = tempfile::Builder::new()
            .prefix(".boot-vmlinux.")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::write(tmp.path(), bytes).map_err(|e| format!("{}: {e}", tmp.path().display()))?;
        // Readable by all, as the rest of the kernel's cache.
        let _ = std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        );
        tmp.persist(path)
            .map(drop)
            .map_err(|e| format!("{}: {}", path.display(), e.error))
    };
    if !bootable {
        write(&key_file, format!("none {key}").as_bytes())?;
        return Ok(None);
    }
    write(&out, &kernel.bytes)?;
    write(&key_file, key.as_bytes())?;
    Ok(Some(out))
}

/// Whether `kernel` is a 64-bit ELF with a PVH entry point note.
fn has_pvh_entry(kernel: &[u8]) -> bool {
    let Ok(elf) = ElfFile64::<object::Endianness>::parse(kernel) else {
        return false;
    };
    let endian = elf.endian();
    elf.elf_program_headers().iter().any(|ph| {
        let Ok(Some(mut notes)) = ph.notes(endian, kernel) else {
            return false;
        };
        while let Ok(Some(note)) = notes.next() {
            if note.name() == b"Xen" && note.n_type(endian) == PHYS32_ENTRY {
                return true;
            }
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64-bit ELF with one PT_NOTE segment holding `notes`.
    fn elf_with_notes(notes: &[(&[u8], u32, &[u8])]) -> Vec<u8> {
        let mut note_bytes = Vec::new();
        for (name, kind, desc) in notes {
            let mut n = name.to_vec();
            n.push(0);
            note_bytes.extend((n.len() as u32).to_le_bytes());
            note_bytes.extend((desc.len() as u32).to_le_bytes());
            note_bytes.extend(kind.to_le_bytes());
            note_bytes.extend(&n);
            note_bytes.resize(note_bytes.len().next_multiple_of(4), 0);
            note_bytes.extend(*desc);
            note_bytes.resize(note_bytes.len().next_multiple_of(4), 0);
        }
        let (ehsize, phsize) = (64u64, 56u64);
        let note_off = ehsize + phsize;
        let mut f = Vec::new();
        f.extend(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        f.extend(2u16.to_le_bytes()); // ET_EXEC
        f.extend(62u16.to_le_bytes()); // EM_X86_64
        f.extend(1u32.to_le_bytes());
        f.extend(0u64.to_le_bytes()); // entry
        f.extend(ehsize.to_le_bytes()); // phoff
        f.extend(0u64.to_le_bytes()); // shoff
        f.extend(0u32.to_le_bytes()); // flags
        f.extend((ehsize as u16).to_le_bytes());
        f.extend((phsize as u16).to_le_bytes());
        f.extend(1u16.to_le_bytes()); // phnum
        f.extend(64u16.to_le_bytes()); // shentsize
        f.extend(0u16.to_le_bytes()); // shnum
        f.extend(0u16.to_le_bytes()); // shstrndx
        f.extend(4u32.to_le_bytes()); // PT_NOTE
        f.extend(4u32.to_le_bytes()); // PF_R
        f.extend(note_off.to_le_bytes());
        f.extend(0u64.to_le_bytes());
        f.extend(0u64.to_le_bytes());
        f.extend((note_bytes.len() as u64).to_le_bytes());
        f.extend((note_bytes.len() as u64).to_le_bytes());
        f.extend(4u64.to_le_bytes());
        f.extend(note_bytes);
        f
    }

    #[test]
    fn the_pvh_note_is_found_and_others_are_not_taken_for_it() {
        let pvh = elf_with_notes(&[
            (b"Xen", 6, b"linux\0\0\0"),
            (b"Xen", PHYS32_ENTRY, &0x100_0000u32.to_le_bytes()),
        ]);
        assert!(has_pvh_entry(&pvh));
        assert!(!has_pvh_entry(&elf_with_notes(&[(
            b"Xen",
            6,
            b"linux\0\0\0"
        )])));
        assert!(!has_pvh_entry(&elf_with_notes(&[(
            b"GNU",
            PHYS32_ENTRY,
            b"abcd"
        )])));
        assert!(!has_pvh_entry(b"MZ not an ELF"));
    }

    #[test]
    fn an_image_is_unpacked_once_and_booted_as_shipped_without_the_note() {
        let tmp = tempfile::tempdir().unwrap();
        let quiet = |_: &str| {};
        let image = tmp.path().join("vmlinuz");
        let dir = tmp.path().join("debuginfo");
        std::fs::write(
            &image,
            elf_with_notes(&[(b"Xen", PHYS32_ENTRY, b"\0\0\0\x01")]),
        )
        .unwrap();
        let booted = guest_kernel(&image, Some(&dir), Arch::X86_64, false, &quiet);
        assert_eq!(booted, dir.join("boot-vmlinux"));
        assert_eq!(
            std::fs::read(&booted).unwrap(),
            std::fs::read(&image).unwrap()
        );
        // The same image again: the unpacked file as it is.
        std::fs::write(&booted, b"kept").unwrap();
        assert_eq!(
            guest_kernel(&image, Some(&dir), Arch::X86_64, false, &quiet),
            booted
        );
        assert_eq!(std::fs::read(&booted).unwrap(), b"kept");
        // arm64, firmware, no cache directory: the image itself.
        assert_eq!(
            guest_kernel(&image, Some(&dir), Arch::Arm64, false, &quiet),
            image
        );
        assert_eq!(
            guest_kernel(&image, Some(&dir), Arch::X86_64, true, &quiet),
            image
        );
        assert_eq!(
            guest_kernel(&image, None, Arch::X86_64, false, &quiet),
            image
        );
        // A new image without the note: booted as shipped, and remembered.
        std::fs::write(&image, elf_with_notes(&[(b"Xen", 6, b"linux\0\0\0")])).unwrap();
        assert_eq!(
            guest_kernel(&image, Some(&dir), Arch::X86_64, false, &quiet),
            image
        );
        assert!(std::fs::read_to_string(dir.join("boot-vmlinux.key"))
            .unwrap()
            .starts_with("none "));
        assert_eq!(
            guest_kernel(&image, Some(&dir), Arch::X86_64, false, &quiet),
            image
        );
    }
}
