//! Kernel images: find the kernel inside whatever the distribution ships
//! (an x86 bzImage with an xz/gzip/zstd payload, an EFI zboot image, a
//! gzip/xz/zstd file, an arm64 flat `Image`, a plain ELF vmlinux) and pull
//! its `.BTF` section out, caching the result per kernel ([`cache`]) so the
//! 60+ MB decompression happens once.
//!
//! An x86 bzImage's payload is the stripped ELF vmlinux, which still has
//! `.BTF` as a section. Flat images (arm64 `Image`) have no section
//! headers: there the BTF header is found by its magic and validated.

pub mod cache;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io::Read;
use std::path::Path;

use object::{Object, ObjectSection};

use super::error::DebugInfoError;

/// How a kernel image file is packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// An ELF vmlinux, as is.
    Elf,
    /// An x86 bzImage; the payload (an ELF vmlinux) is compressed.
    BzImage(Compression),
    /// An EFI zboot image (arm64, riscv); the payload is a flat image.
    EfiZboot(Compression),
    /// A whole file compressed (`Image.gz`, `vmlinux.xz`).
    Compressed(Compression),
    /// An arm64 flat `Image` (no ELF headers).
    Arm64Image,
}

/// A compression format found in kernel images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip (deflate).
    Gzip,
    /// xz (LZMA2, with the x86 BCJ filter for x86 kernels).
    Xz,
    /// zstd.
    Zstd,
    /// legacy `.lzma` (not supported).
    Lzma,
    /// bzip2 (not supported).
    Bzip2,
    /// lz4 legacy frames (not supported).
    Lz4,
    /// lzo (not supported).
    Lzo,
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageFormat::Elf => write!(f, "ELF"),
            ImageFormat::BzImage(c) => write!(f, "bzImage ({c})"),
            ImageFormat::EfiZboot(c) => write!(f, "EFI zboot ({c})"),
            ImageFormat::Compressed(c) => write!(f, "{c} file"),
            ImageFormat::Arm64Image => write!(f, "arm64 Image"),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Lzma => "lzma",
            Compression::Bzip2 => "bzip2",
            Compression::Lz4 => "lz4",
            Compression::Lzo => "lzo",
        })
    }
}

/// Where an image's kernel bytes are and how they are packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The format.
    pub format: ImageFormat,
    /// Byte range of the (possibly compressed) kernel within the file.
    pub payload: std::ops::Range<usize>,
}

/// The compression whose magic starts `data`, if any.
pub fn compression_of(data: &[u8]) -> Option<Compression> {
    const MAGICS: &[(&[u8], Compression)] = &[
        (&[0x1f, 0x8b], Compression::Gzip),
        (&[0x1f, 0x9e], Compression::Gzip),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0], Compression::Xz),
        (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
        (&[0x5d, 0, 0], Compression::Lzma),
        (b"BZh", Compression::Bzip2),
        (&[0x02, 0x21, 0x4c, 0x18], Compression::Lz4),
        (&[0x89, b'L', b'Z', b'O'], Compression::Lzo),
    ];
    MAGICS
        .iter()
        .find(|(m, _)| data.starts_with(m))
        .map(|&(_, c)| c)
}

fn le32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// Works out how `data` (a whole image file) is packaged.
pub fn detect(data: &[u8]) -> Result<Detected, String> {
    let whole = 0..data.len();
    if data.starts_with(b"\x7fELF") {
        return Ok(Detected {
            format: ImageFormat::Elf,
            payload: whole,
        });
    }
    // x86 boot protocol: "HdrS" at 0x202; payload fields since 2.08.
    if data.get(0x202..0x206) == Some(b"HdrS") {
        let version = match data.get(0x206..0x208) {
            Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
            _ => {
                return Err(
                    "the bzImage header is cut short before its boot protocol version".into(),
                )
            }
        };
        if version < 0x208 {
            return Err(format!(
                "bzImage boot protocol {version:#x} is older than 2.08"
            ));
        }
        let setup_sects = match data[0x1f1] {
            0 => 4,
            n => n as usize,
        };
        let start = (setup_sects + 1) * 512 + le32(data, 0x248).unwrap_or(0) as usize;
        let len = le32(data, 0x24c).unwrap_or(0) as usize;
        let payload = start..start + len;
        let bytes = data
            .get(payload.clone())
            .ok_or("the bzImage payload lies outside the file")?;
        let c = compression_of(bytes).ok_or("unknown bzImage payload compression")?;
        return Ok(Detected {
            format: ImageFormat::BzImage(c),
            payload,
        });
    }
    // EFI zboot: "MZ", then "zimg", payload offset and size, compression name.
    if data.starts_with(b"MZ") && data.get(4..8) == Some(b"zimg") {
        let start = le32(data, 8).ok_or("truncated zboot header")? as usize;
        let len = le32(data, 12).ok_or("truncated zboot header")? as usize;
        let payload = start..start + len;
        let bytes = data
            .get(payload.clone())
            .ok_or("the zboot payload lies outside the file")?;
        let c = compression_of(bytes).ok_or("unknown zboot payload compression")?;
        return Ok(Detected {
            format: ImageFormat::EfiZboot(c),
            payload,
        });
    }
    if data.get(0x38..0x3c) == Some(b"ARM\x64") {
        return Ok(Detected {
            format: ImageFormat::Arm64Image,
            payload: whole,
        });
    }
    match compression_of(data) {
        Some(c) => Ok(Detected {
            format: ImageFormat::Compressed(c),
            payload: whole,
        }),
        None => Err("not an ELF, bzImage, EFI zboot, arm64 Image or compressed kernel".into()),
    }
}

/// The most an unpacked kernel may take: a vmlinux with everything built
/// in is well under 200 MiB, and a crafted stream (xz and zstd reach
/// ratios of thousands) must not exhaust memory.
pub const MAX_UNPACKED: u64 = 1 << 30;

/// Decompresses one stream of `c` (trailing bytes, such as the size the
/// kernel build appends, are ignored), refusing more than
/// [`MAX_UNPACKED`] bytes or more than 2,048 times the packed size
/// (gzip's deflate cannot exceed 1,032; a kernel compresses about 4:1).
pub fn decompress(c: Compression, data: &[u8]) -> Result<Vec<u8>, String> {
    let limit = MAX_UNPACKED.min((data.len() as u64).saturating_mul(2048));
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(limit as usize));
    // One byte past the limit tells a stream that fits from one that does not.
    let take = limit + 1;
    let result = match c {
        Compression::Gzip => flate2::read::GzDecoder::new(data)
            .take(take)
            .read_to_end(&mut out),
        Compression::Xz => lzma_rust2::XzReader::new(data, false)
            .take(take)
            .read_to_end(&mut out),
        Compression::Zstd => ruzstd::decoding::StreamingDecoder::new(data)
            .map_err(|e| e.to_string())?
            .take(take)
            .read_to_end(&mut out),
        other => {
            return Err(format!(
                "the kernel is compressed with {other}, which stapkit cannot unpack \
                 (gzip, xz and zstd are supported)"
            ))
        }
    };
    result.map_err(|e| format!("{c} decompression failed: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!(
            "the {c} stream unpacks to more than {limit} bytes ({} packed): not a kernel",
            data.len()
        ));
    }
    Ok(out)
}

/// The kernel inside an image: an ELF vmlinux or a flat binary.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// How the image was packaged.
    pub format: ImageFormat,
    /// The unpacked kernel.
    pub bytes: Vec<u8>,
}

/// Unpacks the kernel from the image file at `path`.
pub fn extract_kernel(path: &Path) -> Result<Kernel, DebugInfoError> {
    let data = std::fs::read(path).map_err(|e| DebugInfoError::io(path, e))?;
    extract_kernel_from(&data).map_err(|message| DebugInfoError::Image {
        path: path.to_path_buf(),
        message,
    })
}

/// Unpacks the kernel from image bytes.
pub fn extract_kernel_from(data: &[u8]) -> Result<Kernel, String> {
    let d = detect(data)?;
    let bytes = match d.format {
        ImageFormat::Elf | ImageFormat::Arm64Image => data.to_vec(),
        ImageFormat::BzImage(c) | ImageFormat::EfiZboot(c) | ImageFormat::Compressed(c) => {
            decompress(c, &data[d.payload])?
        }
    };
    Ok(Kernel {
        format: d.format,
        bytes,
    })
}

/// The `.BTF` bytes of an unpacked kernel: the ELF section when it is an
/// ELF, else a BTF header found by its magic (flat images).
pub fn btf_of(kernel: &[u8]) -> Option<&[u8]> {
    if kernel.starts_with(b"\x7fELF") {
        let file = object::File::parse(kernel).ok()?;
        let section = file.section_by_name(".BTF")?;
        return section.data().ok();
    }
    find_btf(kernel)
}

/// Scans a flat binary for a little-endian BTF v1 header with a 24-byte
/// header, type section first and strings right after, that fits.
pub fn find_btf(data: &[u8]) -> Option<&[u8]> {
    const PREFIX: [u8; 12] = [0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0];
    let mut from = 0;
    while let Some(pos) = data[from..].windows(PREFIX.len()).position(|w| w == PREFIX) {
        let at = from + pos;
        let fits = (|| {
            let type_len = le32(data, at + 12)? as usize;
            let str_off = le32(data, at + 16)? as usize;
            let str_len = le32(data, at + 20)? as usize;
            let total = 24 + str_off + str_len;
            (str_off == type_len && type_len > 0 && str_len > 0 && at + total <= data.len())
                .then_some(total)
        })();
        if let Some(total) = fits {
            return Some(&data[at..at + total]);
        }
        from = at + 1;
    }
    None
}
