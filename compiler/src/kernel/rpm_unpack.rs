//! RPM packages: decompress payloads and metadata (gzip, zstd, xz,
//! bounded in ratio), check a package's headers before the `rpm` crate
//! reads them (`kernel::rpm_header`), and unpack the cpio payload's files
//! that a [`Keep`] filter keeps, never writing outside the target root.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::PrepError;

/// The first directory of `relative` (below `root`) that is a symbolic
/// link, which would carry a write outside `root`.
fn symlink_on_the_way(root: &Path, relative: &Path) -> Option<PathBuf> {
    let mut at = root.to_path_buf();
    let mut dirs = relative.components().collect::<Vec<_>>();
    dirs.pop();
    for c in dirs {
        at.push(c);
        if at
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return at.strip_prefix(root).ok().map(Path::to_path_buf);
        }
    }
    None
}

/// How many times its packed size a payload or metadata file may unpack
/// to: kernels and XML pack about 4 to 20 times; a crafted xz or zstd
/// stream reaches ratios of millions.
const MAX_RATIO: u64 = 2048;

/// Decompresses `data` by the compression `name` ends with, refusing
/// more than [`MAX_RATIO`] times its size.
pub(super) fn decompress(name: &str, data: Vec<u8>) -> Result<Vec<u8>, String> {
    let limit = (data.len() as u64).saturating_mul(MAX_RATIO);
    let mut out = Vec::new();
    let result = if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(&data[..])
            .take(limit + 1)
            .read_to_end(&mut out)
    } else if name.ends_with(".zst") {
        ruzstd::decoding::StreamingDecoder::new(&data[..])
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|d| d.take(limit + 1).read_to_end(&mut out))
    } else if name.ends_with(".xz") {
        lzma_rust2::XzReader::new(&data[..], false)
            .take(limit + 1)
            .read_to_end(&mut out)
    } else {
        return Ok(data);
    };
    result.map_err(|e| format!("cannot decompress: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!(
            "it unpacks to more than {MAX_RATIO} times its {} bytes: damaged or crafted",
            data.len()
        ));
    }
    Ok(out)
}

/// Which files of a package are unpacked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Keep {
    /// Every file (the devel package).
    All,
    /// The image, System.map and config of `lib/modules/REL` or `boot`.
    Image,
    /// The debug vmlinux.
    Debug,
}

fn keep(filter: Keep, path: &str) -> bool {
    match filter {
        Keep::All => true,
        Keep::Image => {
            path.starts_with("boot/")
                || path.contains("modules/")
                    && ["/vmlinuz", "/System.map", "/config", "/modules.builtin"]
                        .iter()
                        .any(|s| path.ends_with(s))
        }
        Keep::Debug => path.ends_with("/vmlinux"),
    }
}

/// Unpacks the payload files of the RPM at `path` that `filter` keeps
/// into `root` (directories, regular files with their mode, symlinks).
pub(super) fn unpack(path: &Path, root: &Path, filter: Keep) -> Result<(), PrepError> {
    let corrupt = |message: String| PrepError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let io = |error| PrepError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    super::rpm_header::check(&mut std::io::BufReader::new(&mut file), len)
        .map_err(|e| corrupt(e.0))?;
    let package = ::rpm::Package::open(path).map_err(|e| corrupt(e.to_string()))?;
    unpack_package(package, path, root, filter)
}

/// Reads a package from `bytes` after checking its headers (see
/// [`super::rpm_header`]: the `rpm` crate alone panics or allocates
/// gigabytes on damaged ones).
pub fn parse_package(bytes: &[u8]) -> Result<::rpm::Package, String> {
    super::rpm_header::check(&mut &bytes[..], bytes.len() as u64).map_err(|e| e.0)?;
    ::rpm::Package::parse(&mut &bytes[..]).map_err(|e| e.to_string())
}

/// Unpacks `package` (read from `path`, which errors name) as [`unpack`]
/// does. Members are kept inside `root`: a name with `..` or a leading
/// `/` is skipped, a member below a symlink that an earlier member made
/// is refused, and a member replaces (never writes through) a symlink of
/// its own name.
pub fn unpack_package(
    package: ::rpm::Package,
    path: &Path,
    root: &Path,
    filter: Keep,
) -> Result<(), PrepError> {
    let corrupt = |message: String| PrepError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let compressor = package
        .metadata
        .get_payload_compressor()
        .map_err(|e| corrupt(e.to_string()))?;
    let name = match compressor {
        ::rpm::CompressionType::Gzip => "x.gz",
        ::rpm::CompressionType::Zstd => "x.zst",
        ::rpm::CompressionType::Xz => "x.xz",
        ::rpm::CompressionType::None => "x",
        other => {
            return Err(corrupt(format!(
                "payload compression {other} is not supported"
            )))
        }
    };
    let payload = decompress(name, package.content).map_err(corrupt)?;
    let io = |p: &Path, error| PrepError::Io {
        path: p.to_path_buf(),
        error,
    };
    let mut rest: &[u8] = &payload;
    loop {
        let mut reader = cpio::NewcReader::new(rest).map_err(|e| corrupt(format!("cpio: {e}")))?;
        if reader.entry().is_trailer() {
            break;
        }
        let entry_name = reader.entry().name().trim_start_matches("./").to_string();
        let mode = reader.entry().mode();
        let mut data = Vec::new();
        reader
            .read_to_end(&mut data)
            .map_err(|e| corrupt(format!("cpio: {e}")))?;
        rest = reader.finish().map_err(|e| corrupt(format!("cpio: {e}")))?;
        let relative = Path::new(&entry_name);
        if relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
            || !keep(filter, &entry_name)
        {
            continue;
        }
        if let Some(link) = symlink_on_the_way(root, relative) {
            return Err(corrupt(format!(
                "cpio: member '{entry_name}' lies below '{}', a symbolic link an earlier member made: \
                 unpacking it would write outside {}",
                link.display(),
                root.display()
            )));
        }
        let target = root.join(relative);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        match mode & 0o170000 {
            0o040000 => {}
            0o120000 => {
                let link = String::from_utf8_lossy(&data).into_owned();
                let _ = std::fs::remove_file(&target);
                std::os::unix::fs::symlink(link, &target).map_err(|e| io(&target, e))?;
            }
            0o100000 => {
                let _ = std::fs::remove_file(&target);
                std::fs::write(&target, &data).map_err(|e| io(&target, e))?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode & 0o7777))
                    .map_err(|e| io(&target, e))?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_that_unpacks_beyond_the_ratio_is_refused() {
        let zeros = vec![0u8; 8 << 20];
        let packed = ruzstd::encoding::compress_to_vec(
            &zeros[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let e = decompress("x.zst", packed).unwrap_err();
        assert!(e.contains("more than 2048 times"), "{e}");
        let text = b"<metadata packages=\"1\"/>".repeat(100);
        let packed = ruzstd::encoding::compress_to_vec(
            &text[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(decompress("primary.xml.zst", packed).unwrap(), text);
    }
}
