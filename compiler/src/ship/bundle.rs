//! The bundle file (`stap --bundle NAME.stpb`): one module per kernel in a
//! plain POSIX tar, `MANIFEST` first, so `tar -tf` lists it and
//! `tar -xOf NAME.stpb MANIFEST` shows what it holds; staprun reads it
//! (`staprun/src/bundle.rs` documents the manifest's fields and how a
//! module is chosen).
//!
//! Members are `MANIFEST` and `RELEASE/NAME.ko`, owned by root, mode 0644,
//! dated 0: the same inputs give the same bytes.

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The first line of every manifest; staprun refuses others.
pub const FORMAT_LINE: &str = "stapkit-bundle 1";

/// One module of a bundle and the kernel it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleModule {
    /// Kernel release.
    pub release: String,
    /// `x86_64` or `arm64`.
    pub arch: String,
    /// The kernel's vermagic, as its tree derives it.
    pub vermagic: String,
    /// The kernel's GNU build id (hex), when its image was at hand.
    pub build_id: Option<String>,
    /// The signature's hash, when signed.
    pub signed: Option<String>,
    /// The `.ko` bytes.
    pub image: Vec<u8>,
}

/// A bundle about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// Module name.
    pub name: String,
    /// SHA-256 of the script text.
    pub script_sha256: String,
    /// The modules' channel protocol (`STP_PROTOCOL`).
    pub protocol: u32,
    /// The modules, in the order given.
    pub modules: Vec<BundleModule>,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl BundleModule {
    /// Its path inside the tar.
    pub fn member(&self, name: &str) -> String {
        format!("{}/{name}.ko", self.release)
    }
}

impl Bundle {
    /// The `MANIFEST` text.
    pub fn manifest(&self) -> String {
        let mut m = format!(
            "{FORMAT_LINE}\nname\t{}\nstapkit\t{}\nprotocol\t{}\nscript-sha256\t{}\n",
            self.name,
            env!("CARGO_PKG_VERSION"),
            self.protocol,
            self.script_sha256
        );
        for module in &self.modules {
            let _ = writeln!(
                m,
                "kernel\trelease={}\tarch={}\tvermagic={}\tbuild-id={}\tsigned={}\tsha256={}\tfile={}",
                module.release,
                module.arch,
                module.vermagic.trim(),
                module.build_id.as_deref().unwrap_or("-"),
                module.signed.as_deref().unwrap_or("no"),
                sha256_hex(&module.image),
                module.member(&self.name)
            );
        }
        m
    }

    /// The tar bytes.
    pub fn to_tar(&self) -> std::io::Result<Vec<u8>> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut add = |path: &str, data: &[u8]| {
            let mut header = tar::Header::new_ustar();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_username("root")?;
            header.set_groupname("root")?;
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, path, data)
        };
        add("MANIFEST", self.manifest().as_bytes())?;
        for module in &self.modules {
            add(&module.member(&self.name), &module.image)?;
        }
        tar.into_inner()
    }

    /// Writes the bundle to `path` (through a temporary file and a rename,
    /// so a failed write leaves no half bundle).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let bytes = self.to_tar()?;
        // A name of this process's own: two runs writing the same bundle
        // (the harness's cache) must not write into one temporary file.
        let tmp = path.with_extension(format!("stpb.{}.tmp", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
}

/// A kernel's GNU build id from its unpacked image, which
/// `/sys/kernel/notes` shows on the running kernel: in an ELF vmlinux,
/// the `NT_GNU_BUILD_ID` note of its `.notes` section; in a flat Image
/// (arm64), the first such note that is not inside an embedded ELF file
/// — the vDSOs the kernel carries have build ids of their own, and their
/// ELF header is never more than a few KiB before their note.
pub fn build_id_in(kernel: &[u8]) -> Option<String> {
    const NOTE: [u8; 16] = [4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, b'G', b'N', b'U', 0];
    const EMBEDDED_ELF_REACH: usize = 64 * 1024;
    let hex = |id: &[u8]| id.iter().map(|b| format!("{b:02x}")).collect::<String>();
    if kernel.starts_with(b"\x7fELF") {
        use object::{Object, ObjectSection};
        let file = object::File::parse(kernel).ok()?;
        let notes = file.section_by_name(".notes")?.data().ok()?;
        let at = notes.windows(NOTE.len()).position(|w| w == NOTE)?;
        return notes.get(at + NOTE.len()..at + NOTE.len() + 20).map(hex);
    }
    // The last ELF magic that ends before the note, found by one forward
    // scan shared by every candidate note (a window search per note was
    // 64 KiB of work for each 16 bytes of a crafted image).
    let (mut scanned, mut last_elf) = (0, None);
    let mut from = 0;
    while let Some(found) = kernel[from..].windows(NOTE.len()).position(|w| w == NOTE) {
        let at = from + found;
        while scanned + 4 <= at {
            if &kernel[scanned..scanned + 4] == b"\x7fELF" {
                last_elf = Some(scanned);
            }
            scanned += 1;
        }
        if last_elf.is_none_or(|e| e + EMBEDDED_ELF_REACH < at) {
            return kernel.get(at + NOTE.len()..at + NOTE.len() + 20).map(hex);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample() -> Bundle {
        Bundle {
            name: "hello".into(),
            script_sha256: sha256_hex(b"probe begin { exit() }"),
            protocol: 2,
            modules: vec![
                BundleModule {
                    release: "6.1.0-27-amd64".into(),
                    arch: "x86_64".into(),
                    vermagic: "6.1.0-27-amd64 SMP preempt mod_unload modversions ".into(),
                    build_id: Some("ab".repeat(20)),
                    signed: Some("sha256".into()),
                    image: b"\x7fELF amd64".to_vec(),
                },
                BundleModule {
                    release: "6.12.38+deb13-arm64".into(),
                    arch: "arm64".into(),
                    vermagic: "6.12.38+deb13-arm64 SMP preempt mod_unload modversions aarch64"
                        .into(),
                    build_id: None,
                    signed: None,
                    image: vec![7; 1000],
                },
            ],
        }
    }

    #[test]
    fn the_manifest_is_tab_separated_text() {
        let text = sample().manifest();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "stapkit-bundle 1");
        assert_eq!(lines[1], "name\thello");
        assert_eq!(lines[2], format!("stapkit\t{}", env!("CARGO_PKG_VERSION")));
        assert_eq!(lines[3], "protocol\t2");
        assert!(lines[4].starts_with("script-sha256\t") && lines[4].len() == 14 + 64);
        assert_eq!(
            lines[5],
            format!(
                "kernel\trelease=6.1.0-27-amd64\tarch=x86_64\tvermagic=6.1.0-27-amd64 SMP preempt mod_unload modversions\t\
                 build-id={}\tsigned=sha256\tsha256={}\tfile=6.1.0-27-amd64/hello.ko",
                "ab".repeat(20),
                sha256_hex(b"\x7fELF amd64")
            )
        );
        assert!(
            lines[6].contains("\tbuild-id=-\tsigned=no\t"),
            "{}",
            lines[6]
        );
        assert!(lines[6].ends_with("\tfile=6.12.38+deb13-arm64/hello.ko"));
    }

    #[test]
    fn the_tar_reads_back_with_a_standard_reader_and_is_reproducible() {
        let bundle = sample();
        let bytes = bundle.to_tar().unwrap();
        assert_eq!(bytes, bundle.to_tar().unwrap());
        assert_eq!(&bytes[257..262], b"ustar");
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut members = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            assert_eq!(entry.header().mode().unwrap(), 0o644);
            members.push((path, data));
        }
        assert_eq!(members.len(), 3);
        assert_eq!(members[0].0, "MANIFEST");
        assert_eq!(members[0].1, bundle.manifest().into_bytes());
        assert_eq!(
            members[1],
            (
                "6.1.0-27-amd64/hello.ko".to_string(),
                b"\x7fELF amd64".to_vec()
            )
        );
        assert_eq!(members[2].1.len(), 1000);
    }

    #[test]
    fn build_ids_are_found_in_an_unpacked_kernel() {
        // A vDSO (an ELF image with its own note) comes first, then the
        // kernel's note.
        let mut kernel = b"flat Image: \x7fELF vdso".to_vec();
        kernel.extend([4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, b'G', b'N', b'U', 0]);
        kernel.extend([0xee; 20]);
        kernel.extend(vec![0u8; 70 * 1024]);
        kernel.extend([4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, b'G', b'N', b'U', 0]);
        kernel.extend(1..=20u8);
        kernel.extend([0; 10]);
        assert_eq!(
            build_id_in(&kernel).unwrap(),
            "0102030405060708090a0b0c0d0e0f1011121314"
        );
        assert_eq!(build_id_in(&kernel[..kernel.len() - 20]), None);
    }

    #[test]
    fn a_flat_image_of_notes_behind_elf_magic_is_searched_in_linear_time() {
        // 4 MiB of notes, each behind an ELF magic: every one is in an
        // embedded file. A 64 KiB look-back per note took minutes.
        let mut unit = b"\x7fELF".to_vec();
        unit.extend([4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, b'G', b'N', b'U', 0]);
        let kernel = unit.repeat((4 << 20) / unit.len());
        let start = std::time::Instant::now();
        assert_eq!(build_id_in(&kernel), None);
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }
}
