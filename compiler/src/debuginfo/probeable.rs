//! The probe-able function list of a kernel, built once per tree and cached
//! beside it, so that wildcard listings (`stap -l 'kernel.function("*")'`)
//! only match names.
//!
//! A name is in the list when [`KernelInfo::functions_matching`] offers it
//! and [`KernelInfo::probeable`] accepts it: the same answer a wildcard
//! point gets one function at a time, without reading one prototype per
//! function. The file (`CACHE/debuginfo/RELEASE/probeable.v1.list`) names
//! the source that answered and a SHA-256 key over the identity (path,
//! size, mtime) of every file the answer comes from: the debug vmlinux,
//! the image (BTF), `System.map` and `Module.symvers`. Fetching the `-dbg`
//! package later, or a new tree under the same name, changes the key and
//! the list is built again. A kernel without a cache directory (the test
//! fixture) keeps the list in memory only.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::files::KernelFiles;
use super::image::cache::{image_key, write_atomic};
use super::info::KernelInfo;
use super::source::{Source, Sourced};
use crate::text::glob::Glob;

/// The list's file name in the kernel's cache directory (named after its
/// format version).
pub const LIST_FILE: &str = "probeable.v1.list";

/// The first line of the file.
const MAGIC: &str = "stapkit probe-able functions v1";

/// The probe-able function names, sorted, and the source they came from.
pub type ProbeableList = Sourced<Vec<String>>;

impl KernelInfo {
    /// Every function a kprobe can be placed on (see the module doc), from
    /// the cached list when it is current.
    pub fn probeable_functions(&self) -> &ProbeableList {
        self.probeable.get_or_init(|| {
            let key = list_key(self.files());
            let path = (!self.files().cache_dir.as_os_str().is_empty())
                .then(|| self.files().cache_dir.join(LIST_FILE));
            if let (Some(path), Some(key)) = (&path, &key) {
                if let Some(list) = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|text| from_text(&text, key))
                {
                    return list;
                }
            }
            let list = self.build_probeable();
            if let (Some(path), Some(key)) = (&path, &key) {
                // A cache that cannot be written costs time, not answers.
                let _ = std::fs::create_dir_all(&self.files().cache_dir)
                    .ok()
                    .map(|()| write_atomic(path, to_text(&list, key).as_bytes()));
            }
            list
        })
    }

    /// The probe-able functions matching a wildcard pattern (`vfs_*`),
    /// sorted: what a wildcard `kernel.function` point resolves to.
    pub fn probeable_matching(&self, pattern: &str) -> Sourced<Vec<String>> {
        let all = self.probeable_functions();
        let glob = Glob::new(pattern);
        Sourced {
            value: all
                .value
                .iter()
                .filter(|n| glob.matches(n))
                .cloned()
                .collect(),
            source: all.source,
        }
    }

    fn build_probeable(&self) -> ProbeableList {
        let all = self.functions_matching("*");
        Sourced {
            value: all
                .value
                .into_iter()
                .filter(|n| self.probeable(n).is_ok())
                .collect(),
            source: all.source,
        }
    }
}

/// The key over the identity of every file the list comes from; `None`
/// when one of them cannot be read (nothing is cached then).
fn list_key(files: &KernelFiles) -> Option<String> {
    let mut h = Sha256::new();
    let mut part = |label: &str, path: Option<&Path>| -> Option<()> {
        let id = match path {
            Some(p) => image_key(p).ok()?,
            None => "none".to_string(),
        };
        for field in [label, &id] {
            h.update((field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
        Some(())
    };
    part(MAGIC, None)?;
    part("debug vmlinux", files.debug_vmlinux.as_deref())?;
    part("image", files.image.as_deref())?;
    part("System.map", files.system_map.as_deref())?;
    part("Module.symvers", files.module_symvers.as_deref())?;
    h.update(files.release.as_bytes());
    h.update(format!("{:?}", files.arch).as_bytes());
    Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Dwarf => "dwarf",
        Source::Btf => "btf",
        Source::CallingConvention => "callconv",
        Source::Headers => "headers",
        Source::SystemMap => "system.map",
        Source::Symvers => "symvers",
    }
}

/// The file's text: the magic line, the key, the source, one name a line,
/// and `end COUNT` last (a truncated file is not a shorter list).
pub fn to_text(list: &ProbeableList, key: &str) -> String {
    let mut text = format!("{MAGIC}\nkey {key}\nsource {}\n", source_name(list.source));
    for name in &list.value {
        text.push_str(name);
        text.push('\n');
    }
    text.push_str(&format!("end {}\n", list.value.len()));
    text
}

/// Reads the file back; `None` when it is of another format or key, or
/// damaged (the caller builds the list again). Linear in the text.
pub fn from_text(text: &str, key: &str) -> Option<ProbeableList> {
    let mut lines = text.split_terminator('\n');
    if lines.next()? != MAGIC || lines.next()?.strip_prefix("key ")? != key {
        return None;
    }
    let named = lines.next()?.strip_prefix("source ")?;
    let source = [
        Source::Dwarf,
        Source::Btf,
        Source::CallingConvention,
        Source::Headers,
        Source::SystemMap,
        Source::Symvers,
    ]
    .into_iter()
    .find(|s| source_name(*s) == named)?;
    let mut value: Vec<String> = Vec::new();
    for name in lines {
        if let Some(count) = name.strip_prefix("end ") {
            return (count.parse() == Ok(value.len())).then_some(Sourced { value, source });
        }
        let sorted = value.last().is_none_or(|last| last.as_str() < name);
        if name.is_empty() || name.contains(char::is_whitespace) || !sorted {
            return None;
        }
        value.push(name.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> ProbeableList {
        Sourced {
            value: vec!["do_sys_open".into(), "vfs_read".into(), "vfs_write".into()],
            source: Source::Btf,
        }
    }

    #[test]
    fn the_list_reads_back_only_under_its_key() {
        let text = to_text(&list(), "abc");
        assert_eq!(from_text(&text, "abc"), Some(list()));
        assert_eq!(from_text(&text, "abd"), None);
    }

    #[test]
    fn a_damaged_list_is_rebuilt() {
        let text = to_text(&list(), "k");
        // Truncated inside the header, names out of order, blank names,
        // an unknown source: each reads as "build it again".
        assert_eq!(from_text(&text[..10], "k"), None);
        assert_eq!(
            from_text(
                &text.replace("vfs_read\nvfs_write", "vfs_write\nvfs_read"),
                "k"
            ),
            None
        );
        assert_eq!(from_text(&text.replace("vfs_read\n", "\n"), "k"), None);
        assert_eq!(
            from_text(&text.replace("source btf", "source x"), "k"),
            None
        );
        // Whole lines lost at the end, or a wrong count.
        assert_eq!(from_text(text.trim_end_matches("end 3\n"), "k"), None);
        assert_eq!(from_text(&text.replace("vfs_write\n", ""), "k"), None);
    }

    #[test]
    fn the_key_follows_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let map = dir.path().join("System.map");
        std::fs::write(&map, "ffffffff81000000 T _stext\n").unwrap();
        let mut files = KernelFiles {
            release: "6.1.0-test-amd64".into(),
            arch: crate::debuginfo::Arch::X86_64,
            config: Default::default(),
            source_dirs: Vec::new(),
            image: None,
            system_map: None,
            debug_vmlinux: None,
            module_symvers: None,
            cache_dir: dir.path().to_path_buf(),
            debug_hint: String::new(),
            modules: None,
        };
        files.system_map = Some(map.clone());
        let k = list_key(&files).unwrap();
        assert_eq!(list_key(&files).as_deref(), Some(k.as_str()));
        std::fs::write(&map, "ffffffff81000000 T _stext\nffffffff81000010 T f\n").unwrap();
        assert_ne!(list_key(&files).unwrap(), k);
        files.system_map = None;
        assert_ne!(list_key(&files).unwrap(), k);
        files.system_map = Some(dir.path().join("gone"));
        assert_eq!(list_key(&files), None);
    }
}
