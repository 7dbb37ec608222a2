//! A gzip-compressed `newc` cpio archive: the initramfs format Linux unpacks.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

/// An initramfs being assembled in memory.
#[derive(Debug, Default)]
pub struct Initramfs {
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    path: String,
    mode: u32,
    data: Vec<u8>,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

impl Initramfs {
    /// Adds a directory (parents must be added first).
    pub fn dir(&mut self, path: &str) -> &mut Self {
        self.push(path, S_IFDIR | 0o755, Vec::new())
    }

    /// Adds a regular file with permission bits `perm` (e.g. `0o755`).
    pub fn file(&mut self, path: &str, perm: u32, data: impl Into<Vec<u8>>) -> &mut Self {
        self.push(path, S_IFREG | (perm & 0o7777), data.into())
    }

    /// Adds a symbolic link at `path` pointing to `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.push(path, S_IFLNK | 0o777, target.as_bytes().to_vec())
    }

    fn push(&mut self, path: &str, mode: u32, data: Vec<u8>) -> &mut Self {
        self.entries.push(Entry {
            path: path.trim_start_matches('/').to_string(),
            mode,
            data,
        });
        self
    }

    /// The uncompressed archive.
    pub fn to_cpio(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (ino, e) in self.entries.iter().enumerate() {
            write_entry(&mut out, ino as u32 + 1, &e.path, e.mode, &e.data);
        }
        write_entry(&mut out, 0, "TRAILER!!!", 0, &[]);
        out
    }

    /// The archive, gzip-compressed (fast level: it is unpacked once).
    pub fn to_gzip(&self) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(&self.to_cpio()).expect("writing to memory");
        enc.finish().expect("writing to memory")
    }
}

fn write_entry(out: &mut Vec<u8>, ino: u32, path: &str, mode: u32, data: &[u8]) {
    let nlink = if mode & S_IFDIR == S_IFDIR { 2 } else { 1 };
    let namesize = path.len() + 1;
    let header = format!(
        "070701{ino:08x}{mode:08x}{uid:08x}{gid:08x}{nlink:08x}{mtime:08x}{size:08x}\
         {devmajor:08x}{devminor:08x}{rdevmajor:08x}{rdevminor:08x}{namesize:08x}{check:08x}",
        uid = 0,
        gid = 0,
        mtime = 0,
        size = data.len(),
        devmajor = 0,
        devminor = 0,
        rdevmajor = 0,
        rdevminor = 0,
        check = 0,
    );
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(path.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_layout_is_aligned_and_terminated() {
        let mut fs = Initramfs::default();
        fs.dir("bin")
            .file("/bin/hello", 0o755, b"hi\n".to_vec())
            .symlink("bin/sh", "busybox");
        let cpio = fs.to_cpio();
        assert!(cpio.starts_with(b"070701"));
        assert_eq!(cpio.len() % 4, 0);
        let text = String::from_utf8_lossy(&cpio);
        assert!(text.contains("bin/hello\0"));
        assert!(text.ends_with("TRAILER!!!\0\0\0\0") || text.contains("TRAILER!!!\0"));
        // The first header: inode 1, directory mode, namesize 4 ("bin\0").
        assert_eq!(&cpio[6..14], b"00000001");
        assert_eq!(&cpio[14..22], b"000041ed");
        assert_eq!(&cpio[94..102], b"00000004");
    }

    #[test]
    fn gzip_round_trips() {
        let mut fs = Initramfs::default();
        fs.file("init", 0o755, b"#!/bin/sh\n".to_vec());
        let gz = fs.to_gzip();
        let mut dec = flate2::read::GzDecoder::new(&gz[..]);
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut dec, &mut plain).unwrap();
        assert_eq!(plain, fs.to_cpio());
    }
}
