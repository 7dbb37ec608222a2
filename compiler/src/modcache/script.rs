//! The script key: finds a cached module before passes 1 to 3, so a
//! repeated `stap -p4` neither reads the kernel's facts (symbols, BTF,
//! DWARF), the tapsets or the runtime, nor runs kbuild or any program.
//!
//! The key ([`script_key`]) is a SHA-256 over what passes 1 to 4 are
//! given rather than what they make of it: stapkit's identity (which
//! covers the embedded tapsets and runtime), the options that change the
//! module (as the driver spells them), the script's name and text, the
//! files of `-I` directories (names and stamps), and a stamp of the kernel
//! tree: its release, architecture, compiler, the packages it was fetched
//! from, and the size and modification time of the files that define it
//! and of those passes 2 and 4 read its facts from (image, `System.map`,
//! debug `vmlinux`), never their paths. A stamp is a `stat`, so the key
//! costs no file reads but the script's.
//!
//! An entry ([`ScriptEntry`], `CACHE/modules/scripts/KEY`) names the
//! module key ([`super::key`]) of the module those inputs made, the
//! toolchain that built it (checked on lookup by its identity, which is a
//! `stat` of the host compiler or a root's recorded state) and the
//! warnings passes 1 to 3 printed, which a hit prints again as SystemTap
//! prints them on its cache hits. The module itself is the module cache's
//! entry, so eviction and `--clean-cache` treat both alike; an entry whose
//! module went is a miss and is pruned.
//!
//! The driver writes an entry only for a translation that read no
//! user-space program (their files are not in the key); those still find
//! their module by the module key after pass 3.

use std::io;
use std::path::{Path, PathBuf};

use crate::kernel::toolchain::{RootState, Toolchain, ToolchainRoot};
use crate::kernel::{Cache, HeaderTree};

use super::key::{stapkit_identity, toolchain_identity, KeyHasher};

/// The tree's files whose stamps are part of the key (a missing one is
/// part of it too): those the module key hashes and the `Makefile` that
/// includes the common headers.
const TREE_FILES: &[&str] = &[
    ".config",
    "Module.symvers",
    "Makefile",
    "include/config/kernel.release",
    "include/generated/utsrelease.h",
    "include/generated/autoconf.h",
];

/// The first line of an entry file.
const ENTRY_FORMAT: &str = "stapkit script entry 1";

/// What a translation is given (see the module docs), borrowed from the
/// driver.
#[derive(Debug, Clone, Copy)]
pub struct ScriptInputs<'a> {
    /// The options that change the module, spelled by the driver (one
    /// text, so an option added later is part of the key unless the
    /// driver leaves it out).
    pub options: &'a str,
    /// The script's name (`<input>` for `-e`).
    pub script_name: &'a str,
    /// The script's text.
    pub script_text: &'a str,
    /// The target tree.
    pub tree: &'a HeaderTree,
    /// The files the kernel's facts are read from, by role (`None`: the
    /// kernel has none).
    pub fact_files: &'a [(&'a str, Option<PathBuf>)],
    /// `-I` directories.
    pub include_dirs: &'a [PathBuf],
}

/// The script key of `inputs`, 64 hex digits.
pub fn script_key(inputs: &ScriptInputs<'_>) -> String {
    script_key_for(inputs, &stapkit_identity())
}

/// [`script_key`] with the given stapkit identity (tests vary it).
pub(super) fn script_key_for(inputs: &ScriptInputs<'_>, stapkit: &str) -> String {
    let mut h = KeyHasher::default();
    h.part("format", b"stapkit script cache 1");
    h.part("stapkit", stapkit.as_bytes());
    h.part("options", inputs.options.as_bytes());
    h.part("script name", inputs.script_name.as_bytes());
    h.part("script", inputs.script_text.as_bytes());
    let tree = inputs.tree;
    h.part("release", tree.release.as_bytes());
    h.part("arch", tree.arch.name().as_bytes());
    h.part("compiler", tree.compiler.as_bytes());
    if let Some(state) = &tree.fetched {
        h.part("manifest", state.manifest.as_bytes());
        h.part("version", state.version.as_bytes());
        for p in &state.packages {
            h.part("package", format!("{} {}", p.name, p.version).as_bytes());
        }
    }
    for file in TREE_FILES {
        h.part(file, stamp(&tree.dir.join(file)).as_bytes());
    }
    for (role, path) in inputs.fact_files {
        let stamp = path.as_deref().map_or_else(|| "none".to_string(), stamp);
        h.part(role, stamp.as_bytes());
    }
    for dir in inputs.include_dirs {
        h.part("include dir", dir.as_os_str().as_encoded_bytes());
        for (name, stamp) in dir_stamps(dir) {
            h.part("include file", name.as_bytes());
            h.part("include stamp", stamp.as_bytes());
        }
    }
    h.hex()
}

/// A file's size and modification time (nanoseconds), or `absent`.
fn stamp(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{} {mtime}", m.len())
        }
        Err(_) => "absent".to_string(),
    }
}

/// Every file below `dir` (names relative to it, sorted) with its stamp.
fn dir_stamps(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        for item in read.flatten() {
            let path = item.path();
            if item.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap_or(&path);
                out.push((name.to_string_lossy().into_owned(), stamp(&path)));
            }
        }
    }
    out.sort();
    out
}

/// The toolchain that built a module, as an entry records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolchainRef {
    /// The host's compiler command.
    Host(String),
    /// A root in the cache, by name.
    Root(String),
}

impl ToolchainRef {
    /// How `toolchain` is recorded.
    pub fn of(toolchain: &Toolchain) -> ToolchainRef {
        match toolchain {
            Toolchain::Host { compiler } => ToolchainRef::Host(compiler.clone()),
            Toolchain::Root(root) => ToolchainRef::Root(root.name.clone()),
        }
    }

    /// The toolchain as it is now, without running anything; `None` when
    /// a root is gone or unreadable.
    fn current(&self, cache: &Cache) -> Option<Toolchain> {
        match self {
            ToolchainRef::Host(compiler) => Some(Toolchain::Host {
                compiler: compiler.clone(),
            }),
            ToolchainRef::Root(name) => {
                let base = cache.toolchains_dir().join(name);
                let text = std::fs::read_to_string(base.join("state.yaml")).ok()?;
                let state: RootState = serde_yaml::from_str(&text).ok()?;
                Some(Toolchain::Root(ToolchainRoot {
                    name: name.clone(),
                    dir: base.join("root"),
                    state,
                }))
            }
        }
    }

    fn line(&self) -> String {
        match self {
            ToolchainRef::Host(c) => format!("host {c}"),
            ToolchainRef::Root(n) => format!("root {n}"),
        }
    }

    fn parse(line: &str) -> Option<ToolchainRef> {
        match line.split_once(' ')? {
            ("host", c) if !c.is_empty() => Some(ToolchainRef::Host(c.to_string())),
            ("root", n) if !n.is_empty() => Some(ToolchainRef::Root(n.to_string())),
            _ => None,
        }
    }
}

/// The SHA-256 of a toolchain's identity (what the module key hashes).
fn toolchain_digest(toolchain: &Toolchain) -> String {
    let mut h = KeyHasher::default();
    h.part("toolchain", toolchain_identity(toolchain).as_bytes());
    h.hex()
}

/// One script key's entry (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptEntry {
    /// The module cache key of the module.
    pub module_key: String,
    /// The toolchain that built it.
    pub toolchain: ToolchainRef,
    /// [`toolchain_digest`] of that toolchain then.
    pub toolchain_digest: String,
    /// The warnings passes 1 to 3 printed.
    pub warnings: String,
}

impl ScriptEntry {
    /// The entry for a module built with `toolchain`.
    pub fn new(module_key: &str, toolchain: &Toolchain, warnings: &str) -> ScriptEntry {
        ScriptEntry {
            module_key: module_key.to_string(),
            toolchain: ToolchainRef::of(toolchain),
            toolchain_digest: toolchain_digest(toolchain),
            warnings: warnings.to_string(),
        }
    }

    /// Whether the toolchain is still the one that built the module.
    pub fn toolchain_unchanged(&self, cache: &Cache) -> bool {
        self.toolchain
            .current(cache)
            .is_some_and(|t| toolchain_digest(&t) == self.toolchain_digest)
    }

    fn text(&self) -> String {
        format!(
            "{ENTRY_FORMAT}\nmodule {}\ntoolchain {}\ntoolchain-digest {}\nwarnings\n{}",
            self.module_key,
            self.toolchain.line(),
            self.toolchain_digest,
            self.warnings
        )
    }

    /// Reads an entry's text; `None` for anything but a whole entry.
    fn parse(text: &str) -> Option<ScriptEntry> {
        let rest = text.strip_prefix(ENTRY_FORMAT)?.strip_prefix('\n')?;
        let (module, rest) = rest.strip_prefix("module ")?.split_once('\n')?;
        let (toolchain, rest) = rest.strip_prefix("toolchain ")?.split_once('\n')?;
        let (digest, rest) = rest.strip_prefix("toolchain-digest ")?.split_once('\n')?;
        let warnings = rest.strip_prefix("warnings\n")?;
        let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex64(module) || !hex64(digest) {
            return None;
        }
        Some(ScriptEntry {
            module_key: module.to_string(),
            toolchain: ToolchainRef::parse(toolchain)?,
            toolchain_digest: digest.to_string(),
            warnings: warnings.to_string(),
        })
    }
}

/// The entries' directory inside the module cache's.
pub fn entries_dir(modules_dir: &Path) -> PathBuf {
    modules_dir.join("scripts")
}

/// The entry of `key` in `modules_dir`, if there is a readable one.
pub fn read_entry(modules_dir: &Path, key: &str) -> Option<ScriptEntry> {
    let text = std::fs::read_to_string(entries_dir(modules_dir).join(key)).ok()?;
    ScriptEntry::parse(&text)
}

/// Writes the entry of `key` (atomically).
pub fn write_entry(modules_dir: &Path, key: &str, entry: &ScriptEntry) -> io::Result<()> {
    let dir = entries_dir(modules_dir);
    std::fs::create_dir_all(&dir)?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{key}."))
        .suffix(".tmp")
        .tempfile_in(&dir)?;
    std::fs::write(tmp.path(), entry.text())?;
    tmp.persist(dir.join(key)).map_err(|e| e.error)?;
    Ok(())
}

/// Removes the entry of `key`.
pub fn remove_entry(modules_dir: &Path, key: &str) {
    let _ = std::fs::remove_file(entries_dir(modules_dir).join(key));
}

/// Removes the entries whose module is no longer in the cache (and
/// unreadable ones); returns how many went.
pub fn prune(modules_dir: &Path) -> io::Result<usize> {
    let dir = entries_dir(modules_dir);
    let read = match std::fs::read_dir(&dir) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for item in read.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let live = std::fs::read_to_string(item.path())
            .ok()
            .and_then(|t| ScriptEntry::parse(&t))
            .is_some_and(|e| modules_dir.join(format!("{}.ko", e.module_key)).is_file());
        if !live && std::fs::remove_file(item.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copies `from`'s files to `to` with their modification times.
    fn copy_tree(from: &Path, to: &Path) {
        for file in [".config", "Module.symvers", "include/config/kernel.release"] {
            let dest = to.join(file);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(from.join(file), &dest).unwrap();
            let mtime = std::fs::metadata(from.join(file))
                .unwrap()
                .modified()
                .unwrap();
            std::fs::File::options()
                .write(true)
                .open(&dest)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        }
    }

    struct Case {
        options: String,
        name: String,
        text: String,
        tree: HeaderTree,
        facts: Vec<(&'static str, Option<PathBuf>)>,
        includes: Vec<PathBuf>,
        stapkit: String,
    }

    impl Case {
        fn key(&self) -> String {
            script_key_for(
                &ScriptInputs {
                    options: &self.options,
                    script_name: &self.name,
                    script_text: &self.text,
                    tree: &self.tree,
                    fact_files: &self.facts,
                    include_dirs: &self.includes,
                },
                &self.stapkit,
            )
        }
    }

    #[test]
    fn each_input_changes_the_key_and_the_same_inputs_give_the_same_key() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = crate::modcache::key::test_tree(&tmp.path().join("tree"));
        let image = tmp.path().join("vmlinuz");
        std::fs::write(&image, b"image").unwrap();
        let tapsets = tmp.path().join("tapsets");
        std::fs::create_dir_all(tapsets.join("sub")).unwrap();
        std::fs::write(tapsets.join("sub/a.stp"), "function a() { return 1 }").unwrap();
        let base_case = || Case {
            options: "guru=false defines=[]".into(),
            name: "hello.stp".into(),
            text: "probe begin { exit() }".into(),
            tree: tree.clone(),
            facts: vec![("image", Some(image.clone())), ("debug vmlinux", None)],
            includes: vec![tapsets.clone()],
            stapkit: "0.1.0 1 2".into(),
        };
        let base = base_case().key();
        assert_eq!(base.len(), 64);
        assert_eq!(base, base_case().key(), "the same inputs hit");

        // The same tree copied elsewhere with its files' times: a hit.
        let moved = tmp.path().join("elsewhere/tree");
        copy_tree(&tree.dir, &moved);
        let mut c = base_case();
        c.tree = crate::modcache::key::test_tree(&moved);
        copy_tree(&tree.dir, &moved);
        assert_eq!(base, c.key(), "the tree's path is not part of the key");

        let mut changed: Vec<(&str, String)> = Vec::new();
        let mut c = base_case();
        c.options = "guru=true defines=[]".into();
        changed.push(("options", c.key()));
        let mut c = base_case();
        c.name = "other.stp".into();
        changed.push(("script name", c.key()));
        let mut c = base_case();
        c.text.push(' ');
        changed.push(("script text", c.key()));
        let mut c = base_case();
        c.stapkit = "0.1.1 1 2".into();
        changed.push(("stapkit", c.key()));
        let mut c = base_case();
        c.tree.release = "6.1.0-57-amd64".into();
        changed.push(("release", c.key()));
        let mut c = base_case();
        c.tree.arch = crate::arch::Arch::Arm64;
        changed.push(("arch", c.key()));
        let mut c = base_case();
        c.tree.compiler = "gcc-13".into();
        changed.push(("compiler", c.key()));
        let mut c = base_case();
        c.tree.fetched.as_mut().unwrap().packages[0].version = "6.1.192-3".into();
        changed.push(("package", c.key()));
        let mut c = base_case();
        c.facts[1].1 = Some(image.clone());
        changed.push(("a fact file appearing", c.key()));
        let mut c = base_case();
        c.includes.clear();
        changed.push(("-I", c.key()));
        // A fact file, a tree file and a tapset rewritten in place.
        std::fs::write(&image, b"image, rebuilt").unwrap();
        changed.push(("the image", base_case().key()));
        std::fs::write(
            tree.dir.join("Module.symvers"),
            "0x22\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n",
        )
        .unwrap();
        changed.push(("Module.symvers", base_case().key()));
        std::fs::write(tapsets.join("sub/b.stp"), "").unwrap();
        changed.push(("a new tapset file", base_case().key()));
        std::fs::write(tapsets.join("sub/a.stp"), "function a() { return 22 }").unwrap();
        changed.push(("a tapset's text", base_case().key()));

        let mut seen = std::collections::BTreeSet::from([base]);
        for (what, k) in &changed {
            assert!(
                seen.insert(k.clone()),
                "changing the {what} did not change the key"
            );
        }
    }

    #[test]
    fn entries_round_trip_and_prune_with_their_module() {
        let tmp = tempfile::tempdir().unwrap();
        let modules = tmp.path().join("modules");
        let host = Toolchain::Host {
            compiler: "gcc-12".into(),
        };
        let key = "a".repeat(64);
        let entry = ScriptEntry::new(&"b".repeat(64), &host, "WARNING: x\n");
        assert!(read_entry(&modules, &key).is_none());
        write_entry(&modules, &key, &entry).unwrap();
        assert_eq!(read_entry(&modules, &key), Some(entry.clone()));
        let cache = Cache::locate(Some(tmp.path()));
        assert!(entry.toolchain_unchanged(&cache));
        let mut other = entry.clone();
        other.toolchain = ToolchainRef::Host("gcc-no-such-13".into());
        assert!(!other.toolchain_unchanged(&cache), "another compiler");
        other.toolchain = ToolchainRef::Root("trixie-gcc-14".into());
        assert!(
            !other.toolchain_unchanged(&cache),
            "a root that is not there"
        );

        // A half entry is no entry.
        let text = entry.text();
        assert!(ScriptEntry::parse(&text[..text.len() - 20]).is_none());
        assert!(ScriptEntry::parse(&text.replace("host gcc-12", "tool")).is_none());

        // Its module is not cached: pruned.
        std::fs::write(modules.join(format!("{}.ko", "c".repeat(64))), b"m").unwrap();
        write_entry(
            &modules,
            &"d".repeat(64),
            &ScriptEntry::new(&"c".repeat(64), &host, ""),
        )
        .unwrap();
        assert_eq!(prune(&modules).unwrap(), 1);
        assert!(read_entry(&modules, &key).is_none());
        assert!(read_entry(&modules, &"d".repeat(64)).is_some());
        remove_entry(&modules, &"d".repeat(64));
        assert!(read_entry(&modules, &"d".repeat(64)).is_none());
    }
}
