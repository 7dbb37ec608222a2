//! Image format detection, decompression and the BTF cache, on small
//! synthetic images (the fixtures in `testdata/` are `payload.bin`
//! compressed by the `xz` (with the kernel's `--x86` filter), `zstd`,
//! `gzip` and `lz4` tools).

use super::cache::ImageCache;
use super::*;
use crate::debuginfo::btf::write::BtfBuilder;

const PAYLOAD: &[u8] = include_bytes!("testdata/payload.bin");
const XZ: &[u8] = include_bytes!("testdata/payload.xz");
const ZSTD: &[u8] = include_bytes!("testdata/payload.zst");
const GZIP: &[u8] = include_bytes!("testdata/payload.gz");
const LZ4: &[u8] = include_bytes!("testdata/payload.lz4");

/// A bzImage-shaped file: 4 setup sectors, boot protocol 2.15, `payload`
/// 100 bytes into the protected-mode part, then the 4-byte size trailer
/// the kernel build appends.
fn bzimage(payload: &[u8]) -> Vec<u8> {
    let mut img = vec![0u8; 5 * 512 + 100];
    img[0x1f1] = 4;
    img[0x1fe] = 0x55;
    img[0x1ff] = 0xaa;
    img[0x202..0x206].copy_from_slice(b"HdrS");
    img[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
    img[0x248..0x24c].copy_from_slice(&100u32.to_le_bytes());
    img[0x24c..0x250].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    img.extend_from_slice(payload);
    img.extend_from_slice(&(PAYLOAD.len() as u32).to_le_bytes());
    img.extend_from_slice(&[0xcc; 64]);
    img
}

/// An arm64 flat `Image` with a BTF blob somewhere inside.
fn arm64_image(btf: &[u8]) -> Vec<u8> {
    let mut img = vec![0u8; 0x40];
    img[0x38..0x3c].copy_from_slice(b"ARM\x64");
    img.extend_from_slice(&[0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0]); // a decoy
    img.extend_from_slice(&[0x11; 300]);
    img.extend_from_slice(btf);
    img.extend_from_slice(&[0x22; 300]);
    img
}

/// A minimal ELF64 with a `.shstrtab` and a `.BTF` section.
fn elf_with_btf(btf: &[u8]) -> Vec<u8> {
    let shstrtab = b"\0.shstrtab\0.BTF\0";
    let mut elf = vec![0u8; 64];
    elf[0..4].copy_from_slice(b"\x7fELF");
    elf[4] = 2; // 64-bit
    elf[5] = 1; // little-endian
    elf[6] = 1;
    elf[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
    elf[20..24].copy_from_slice(&1u32.to_le_bytes());
    let strtab_off = elf.len();
    elf.extend_from_slice(shstrtab);
    let btf_off = elf.len();
    elf.extend_from_slice(btf);
    while !elf.len().is_multiple_of(8) {
        elf.push(0);
    }
    let shoff = elf.len();
    elf[40..48].copy_from_slice(&(shoff as u64).to_le_bytes());
    elf[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    elf[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    elf[60..62].copy_from_slice(&3u16.to_le_bytes()); // e_shnum
    elf[62..64].copy_from_slice(&1u16.to_le_bytes()); // e_shstrndx
    let section = |name: u32, kind: u32, off: usize, size: usize| {
        let mut sh = vec![0u8; 64];
        sh[0..4].copy_from_slice(&name.to_le_bytes());
        sh[4..8].copy_from_slice(&kind.to_le_bytes());
        sh[24..32].copy_from_slice(&(off as u64).to_le_bytes());
        sh[32..40].copy_from_slice(&(size as u64).to_le_bytes());
        sh[48..56].copy_from_slice(&1u64.to_le_bytes());
        sh
    };
    elf.extend_from_slice(&[0u8; 64]);
    elf.extend_from_slice(&section(1, 3, strtab_off, shstrtab.len()));
    elf.extend_from_slice(&section(11, 1, btf_off, btf.len()));
    elf
}

fn small_btf() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let p = b.func_proto(int, &[("sig", int)]);
    b.func("kill_me", p);
    b.build()
}

#[test]
fn detects_and_unpacks_bzimage_payloads() {
    for (data, c) in [
        (XZ, Compression::Xz),
        (ZSTD, Compression::Zstd),
        (GZIP, Compression::Gzip),
    ] {
        let img = bzimage(data);
        let d = detect(&img).unwrap();
        assert_eq!(d.format, ImageFormat::BzImage(c));
        assert_eq!(d.payload, 5 * 512 + 100..5 * 512 + 100 + data.len());
        let k = extract_kernel_from(&img).unwrap();
        assert_eq!(k.bytes, PAYLOAD, "{c}");
    }
}

#[test]
fn detects_whole_file_compression_elf_and_arm64() {
    assert_eq!(
        detect(XZ).unwrap().format,
        ImageFormat::Compressed(Compression::Xz)
    );
    assert_eq!(extract_kernel_from(ZSTD).unwrap().bytes, PAYLOAD);
    assert_eq!(extract_kernel_from(GZIP).unwrap().bytes, PAYLOAD);
    let elf = elf_with_btf(&small_btf());
    assert_eq!(detect(&elf).unwrap().format, ImageFormat::Elf);
    let arm = arm64_image(&small_btf());
    assert_eq!(detect(&arm).unwrap().format, ImageFormat::Arm64Image);
}

#[test]
fn detects_efi_zboot() {
    let mut img = vec![0u8; 64];
    img[0..2].copy_from_slice(b"MZ");
    img[4..8].copy_from_slice(b"zimg");
    img[8..12].copy_from_slice(&64u32.to_le_bytes());
    img[12..16].copy_from_slice(&(GZIP.len() as u32).to_le_bytes());
    img[24..28].copy_from_slice(b"gzip");
    img.extend_from_slice(GZIP);
    img.extend_from_slice(&[0; 16]);
    assert_eq!(
        detect(&img).unwrap().format,
        ImageFormat::EfiZboot(Compression::Gzip)
    );
    assert_eq!(extract_kernel_from(&img).unwrap().bytes, PAYLOAD);
}

#[test]
fn unsupported_and_unknown_formats_say_so() {
    let e = extract_kernel_from(&bzimage(LZ4)).unwrap_err();
    assert_eq!(
        e,
        "the kernel is compressed with lz4, which stapkit cannot unpack (gzip, xz and zstd are supported)"
    );
    let e = extract_kernel_from(b"just some text, not a kernel").unwrap_err();
    assert!(e.starts_with("not an ELF, bzImage"), "{e}");
    let mut bad = bzimage(XZ);
    bad[0x24c..0x250].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(detect(&bad).unwrap_err().contains("outside the file"));
}

#[test]
fn finds_btf_in_elf_and_flat_images() {
    let btf = small_btf();
    assert_eq!(btf_of(&elf_with_btf(&btf)), Some(&btf[..]));
    assert_eq!(btf_of(&arm64_image(&btf)), Some(&btf[..]));
    assert_eq!(btf_of(&arm64_image(b"")), None);
    assert_eq!(btf_of(&elf_with_btf(b"")).map(<[u8]>::len), Some(0));
}

#[test]
fn cache_extracts_once_and_notices_a_new_image() {
    let tmp = tempfile::tempdir().unwrap();
    let image = tmp.path().join("Image.gz");
    let gz = |data: &[u8]| {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    std::fs::write(&image, gz(&arm64_image(&small_btf()))).unwrap();
    let cache = ImageCache::new(tmp.path().join("cache"));
    let first = cache.btf(&image).unwrap();
    assert!(!first.cached);
    assert_eq!(first.format, "gzip file");
    assert_eq!(first.bytes, small_btf());
    let second = cache.btf(&image).unwrap();
    assert!(second.cached);
    assert_eq!(second.bytes, first.bytes);

    // A different image (another size) at the same path is extracted again.
    let mut other = BtfBuilder::new();
    other.int("long int", 8, true);
    std::fs::write(&image, gz(&arm64_image(&other.build()))).unwrap();
    let third = cache.btf(&image).unwrap();
    assert!(!third.cached);
    assert_eq!(third.bytes, other.build());

    let no_btf = tmp.path().join("vmlinux");
    std::fs::write(&no_btf, arm64_image(b"")).unwrap();
    let e = cache.btf(&no_btf).unwrap_err().to_string();
    assert!(e.contains("has no .BTF section"), "{e}");
}

#[test]
fn a_short_bzimage_header_and_a_decompression_bomb_are_errors() {
    // "HdrS" with the file ending inside the version field: indexed past
    // the end before.
    let mut img = vec![0u8; 0x207];
    img[0x202..0x206].copy_from_slice(b"HdrS");
    let e = detect(&img).unwrap_err();
    assert!(e.contains("cut short"), "{e}");
    // 8 MiB of zeros packs into a few hundred bytes: refused beyond
    // 2,048 times the packed size rather than unpacked without limit.
    let zeros = vec![0u8; 8 << 20];
    let packed =
        ruzstd::encoding::compress_to_vec(&zeros[..], ruzstd::encoding::CompressionLevel::Fastest);
    assert!(packed.len() * 2048 < zeros.len(), "{}", packed.len());
    let e = decompress(Compression::Zstd, &packed).unwrap_err();
    assert!(e.contains("not a kernel"), "{e}");
}
