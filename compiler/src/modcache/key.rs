//! The cache key of a module: SHA-256 over everything kbuild is given and
//! everything that decides what it makes of it.
//!
//! The parts: stapkit's version and this executable's identity (size and
//! modification time, so a rebuilt stapkit never reuses its predecessor's
//! modules); the module name; every file written into the build directory
//! (the translated C, which carries the script and every tapset and `-I`
//! function it uses, `-g` and `-u`; the embedded runtime; the tree's
//! feature header); the C flags (`-D`, `-s`) and make variables (`-B`);
//! the toolchain's identity; and the kernel tree's identity, which is its
//! release, architecture, compiler and the contents of the files that
//! define what a module must be to load (`.config`, `Module.symvers`, the
//! release files), never its path: the same tree unpacked elsewhere gives
//! the same key. Each part is labelled and length-prefixed, so no two
//! different inputs run together into the same bytes. SHA-256 rather than
//! the project's FNV (`text::hash`): a collision here would hand out a
//! wrong module, so the key must be collision-resistant.

pub(super) use crate::kernel::cache::KeyHasher;
use crate::kernel::kbuild_batch::BatchModule;
use crate::kernel::toolchain::Toolchain;
use crate::kernel::HeaderTree;

/// The files of a tree whose contents are part of its identity (a missing
/// one counts as absent, which is part of the key too).
const TREE_FILES: &[&str] = &[
    ".config",
    "Module.symvers",
    "include/config/kernel.release",
    "include/generated/utsrelease.h",
    "include/generated/autoconf.h",
];

/// What a module is built from, borrowed from the build job.
#[derive(Debug, Clone, Copy)]
pub struct KeyInputs<'a> {
    /// The target tree.
    pub tree: &'a HeaderTree,
    /// The toolchain kbuild runs with.
    pub toolchain: &'a Toolchain,
    /// The module's name, files and C flags.
    pub module: &'a BatchModule,
    /// `-B` variables.
    pub make_vars: &'a [String],
}

/// The key of the module `inputs` describe, 64 hex digits.
pub fn module_key(inputs: &KeyInputs<'_>) -> String {
    module_key_for(inputs, &stapkit_identity())
}

/// [`module_key`] with the given stapkit identity (tests vary it).
pub(super) fn module_key_for(inputs: &KeyInputs<'_>, stapkit: &str) -> String {
    let mut h = KeyHasher::default();
    h.part("format", b"stapkit module cache 1");
    h.part("stapkit", stapkit.as_bytes());
    h.part("module", inputs.module.module.as_bytes());
    for (path, text) in &inputs.module.files {
        h.part("file", path.to_string_lossy().as_bytes());
        h.part("contents", text.as_bytes());
    }
    for object in &inputs.module.objects {
        h.part(
            "object",
            object.file_name().unwrap_or_default().as_encoded_bytes(),
        );
        h.part(
            "object contents",
            &std::fs::read(object).unwrap_or_default(),
        );
    }
    for flag in &inputs.module.cflags {
        h.part("cflag", flag.as_bytes());
    }
    // The precompiled header's directory is named by a hash of what it
    // is made from; the cache's own path is left out.
    if let Some(pch) = &inputs.module.pch {
        let dir = pch.parent().and_then(|d| d.file_name()).unwrap_or_default();
        h.part("pch", dir.as_encoded_bytes());
    }
    for var in inputs.make_vars {
        h.part("make", var.as_bytes());
    }
    h.part("toolchain", toolchain_identity(inputs.toolchain).as_bytes());
    tree_identity(&mut h, inputs.tree);
    h.hex()
}

/// stapkit's version and this executable's size and modification time.
pub(super) fn stapkit_identity() -> String {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{} {mtime}", m.len())
        })
        .unwrap_or_default();
    format!("{} {exe}", env!("CARGO_PKG_VERSION"))
}

/// The toolchain without where it lives: the host compiler's identity,
/// or a root's suite, compiler and package versions.
pub(super) fn toolchain_identity(toolchain: &Toolchain) -> String {
    match toolchain {
        Toolchain::Host { .. } => toolchain.identity(),
        Toolchain::Root(root) => format!(
            "root {}",
            serde_yaml::to_string(&root.state).unwrap_or_default()
        ),
    }
}

/// The tree's identity (see the module docs): never its path.
fn tree_identity(h: &mut KeyHasher, tree: &HeaderTree) {
    h.part("release", tree.release.as_bytes());
    h.part("arch", tree.arch.name().as_bytes());
    h.part("compiler", tree.compiler.as_bytes());
    for file in TREE_FILES {
        match std::fs::read(tree.dir.join(file)) {
            Ok(bytes) => h.part(file, &bytes),
            Err(_) => h.part(file, b"\xffabsent"),
        }
    }
    if let Some(state) = &tree.fetched {
        h.part("manifest", state.manifest.as_bytes());
        h.part("version", state.version.as_bytes());
        for p in &state.packages {
            h.part("package", format!("{} {}", p.name, p.version).as_bytes());
        }
    }
}

/// A minimal fetched header tree in `dir` (what a key reads of one), for
/// the cache's tests.
#[cfg(test)]
pub(crate) fn test_tree(dir: &std::path::Path) -> HeaderTree {
    use crate::kernel::cache::{FetchState, FetchedPackage};
    use std::path::PathBuf;

    std::fs::create_dir_all(dir.join("include/config")).unwrap();
    std::fs::write(
        dir.join(".config"),
        "CONFIG_X86_64=y\nCONFIG_MODVERSIONS=y\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("Module.symvers"),
        "0x1\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("include/config/kernel.release"),
        "6.1.0-56-amd64\n",
    )
    .unwrap();
    HeaderTree {
        dir: dir.to_path_buf(),
        release: "6.1.0-56-amd64".into(),
        arch: crate::arch::Arch::X86_64,
        config: Default::default(),
        compiler: "gcc-12".into(),
        fetched: Some(FetchState {
            manifest: "debian-6.1-amd64".into(),
            release: "6.1.0-56-amd64".into(),
            version: "6.1.192-2".into(),
            packages: vec![FetchedPackage {
                name: "linux-kbuild-6.1".into(),
                version: "6.1.192-2".into(),
            }],
            root: dir.to_path_buf(),
            build: PathBuf::new(),
            image: "boot/vmlinuz".into(),
            system_map: None,
            debug_vmlinux: None,
            busybox: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module() -> BatchModule {
        BatchModule {
            module: "hello".into(),
            files: vec![
                ("runtime/core.h".into(), "/* runtime */".into()),
                (
                    "runtime/stp_features.h".into(),
                    "#define STP_HAVE_X 1\n".into(),
                ),
                ("hello.c".into(), "int x;".into()),
            ],
            objects: vec![],
            cflags: vec!["-Werror".into(), "-DMAXACTION=10".into()],
            pch: None,
        }
    }

    fn key(tree: &HeaderTree, toolchain: &Toolchain, m: &BatchModule, vars: &[String]) -> String {
        module_key_for(
            &KeyInputs {
                tree,
                toolchain,
                module: m,
                make_vars: vars,
            },
            "0.1.0 1 2",
        )
    }

    #[test]
    fn every_input_changes_the_key_but_the_trees_path_does_not() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = test_tree(&tmp.path().join("a"));
        let host = Toolchain::Host {
            compiler: "gcc-12".into(),
        };
        let base = key(&tree, &host, &module(), &[]);
        assert_eq!(base.len(), 64);
        assert_eq!(base, key(&tree, &host, &module(), &[]), "stable");

        // The same tree elsewhere (copied, with its path in the fetch
        // state too): the same key.
        let moved = test_tree(&tmp.path().join("elsewhere/b"));
        assert_eq!(base, key(&moved, &host, &module(), &[]));

        let mut changed: Vec<(&str, String)> = Vec::new();
        let mut m = module();
        m.module = "other".into();
        changed.push(("module name", key(&tree, &host, &m, &[])));
        let mut m = module();
        m.files[2].1 = "int y;".into();
        changed.push(("script C", key(&tree, &host, &m, &[])));
        let mut m = module();
        m.files[0].1 = "/* runtime 2 */".into();
        changed.push(("runtime", key(&tree, &host, &m, &[])));
        let mut m = module();
        m.files[1].1 = "#define STP_HAVE_X 0\n".into();
        changed.push(("features", key(&tree, &host, &m, &[])));
        let mut m = module();
        m.cflags.push("-DSTP_TRANSPORT_BUFSIZE=1048576".into());
        changed.push(("-D/-s", key(&tree, &host, &m, &[])));
        changed.push((
            "-B",
            key(&tree, &host, &module(), &["KCFLAGS=-O1".to_string()]),
        ));
        let gcc13 = Toolchain::Host {
            compiler: "gcc-13".into(),
        };
        changed.push(("toolchain", key(&tree, &gcc13, &module(), &[])));
        let stapkit = module_key_for(
            &KeyInputs {
                tree: &tree,
                toolchain: &host,
                module: &module(),
                make_vars: &[],
            },
            "0.1.1 1 2",
        );
        changed.push(("stapkit", stapkit));
        let mut t = tree.clone();
        t.release = "6.1.0-57-amd64".into();
        changed.push(("release", key(&t, &host, &module(), &[])));
        let mut t = tree.clone();
        t.arch = crate::arch::Arch::Arm64;
        changed.push(("arch", key(&t, &host, &module(), &[])));
        let mut t = tree.clone();
        t.fetched.as_mut().unwrap().version = "6.1.192-3".into();
        changed.push(("package version", key(&t, &host, &module(), &[])));
        for (file, text) in [
            (".config", "CONFIG_X86_64=y\n"),
            ("Module.symvers", "0x2\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n"),
            ("include/config/kernel.release", "6.1.193\n"),
        ] {
            let t = test_tree(&tmp.path().join(format!("c{}", changed.len())));
            std::fs::write(t.dir.join(file), text).unwrap();
            changed.push((file, key(&t, &host, &module(), &[])));
        }
        let mut seen = std::collections::BTreeSet::from([base.clone()]);
        for (what, k) in &changed {
            assert!(
                seen.insert(k.clone()),
                "changing the {what} did not change the key"
            );
        }
    }

    #[test]
    fn parts_do_not_run_together() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = test_tree(tmp.path());
        let host = Toolchain::Host {
            compiler: "gcc-12".into(),
        };
        let mut a = module();
        a.cflags = vec!["-DA".into(), "-DB".into()];
        let mut b = module();
        b.cflags = vec!["-DA-DB".into()];
        assert_ne!(key(&tree, &host, &a, &[]), key(&tree, &host, &b, &[]));
    }
}
