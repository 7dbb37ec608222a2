//! What a `workload` case's build sees (under `--sysroot`, or installed
//! in place for a test script, see `build`) and its guest carries: stapkit's own `stapkit-workload` with the other programs of
//! its package (`stapkit::vm::guest::WORKLOAD_PROGRAMS`), and the C test programs
//! stap-matrix builds (`stapkit::matrix::programs`; a shared library at
//! `usr/lib/NAME`), stripped, with their debug files at their build-id
//! paths under `usr/lib/debug`.

use std::path::Path;

use anyhow::{anyhow, Context, Result};

/// The files, by their path under the sysroot (`bin/NAME`, ...).
pub(super) struct Workload {
    pub(super) files: Vec<(String, Vec<u8>)>,
}

impl Workload {
    /// `stapkit-workload` and the other programs of its package, built
    /// beside `staprun`, and the test programs, built for x86-64 under
    /// `dir`.
    pub(super) fn new(staprun: &Path, dir: &Path) -> Result<Workload> {
        let root = dir.join("sysroot");
        if root.exists() {
            std::fs::remove_dir_all(&root).with_context(|| root.display().to_string())?;
        }
        let arch = stapkit::arch::Arch::X86_64;
        let cache = stapkit::kernel::cache::Cache::locate(None);
        let userland = stapkit::matrix::userland::fetch(&cache, None, arch, &|l| eprintln!("{l}"))
            .map_err(|e| anyhow!("fetching the guest userland: {e}"))?;
        stapkit::matrix::programs::build(&dir.join("build"), &root, arch, &userland)
            .map_err(|e| anyhow!("building the test programs: {e}"))?;
        let mut files = Vec::new();
        let names =
            std::iter::once("stapkit-workload").chain(stapkit::vm::guest::WORKLOAD_PROGRAMS);
        for name in names {
            let path = staprun.with_file_name(name);
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            files.push((format!("bin/{name}"), bytes));
        }
        collect(&root, &root, &mut files)?;
        // A build on the kernel's machine has the kernel's /usr/lib/debug
        // mounted over the sysroot's (see `machine`), which hides the
        // build-id paths: the same debug file also lies beside the
        // program, where its .gnu_debuglink leads (`bin/NAME.debug`;
        // SystemTap 5.1 finds either way, as a build without the mounts
        // shows).
        let programs: Vec<String> = stapkit::matrix::programs::guest_paths().collect();
        let mut linked = Vec::new();
        for (path, _) in files
            .iter()
            .filter(|(p, _)| p.starts_with("bin/") || programs.contains(p))
        {
            let name = path.rsplit('/').next().unwrap_or(path);
            let debug = dir.join("build").join(format!("{name}.debug"));
            if let Ok(bytes) = std::fs::read(&debug) {
                linked.push((format!("{path}.debug"), bytes));
            }
        }
        files.extend(linked);
        files.sort();
        Ok(Workload { files })
    }

    /// What builds and runs of it are keyed by.
    pub(super) fn key(&self) -> Vec<u8> {
        let mut key = Vec::new();
        for (path, bytes) in &self.files {
            key.extend_from_slice(path.as_bytes());
            key.push(0);
            key.extend_from_slice(bytes);
        }
        key
    }

    /// The guest userland's loader and C library
    /// (`stapkit::matrix::userland`), by their paths under the sysroot.
    pub(super) fn userland_files(&self) -> impl Iterator<Item = &(String, Vec<u8>)> {
        let paths: Vec<String> = stapkit::matrix::userland::locked(stapkit::arch::Arch::X86_64)
            .map(|l| l.files.into_iter().map(|f| f.to).collect())
            .unwrap_or_default();
        self.files.iter().filter(move |(p, _)| paths.contains(p))
    }

    /// The programs the guest runs (`bin/...`) and the test programs'
    /// libraries (`usr/lib/NAME`).
    pub(super) fn guest_files(&self) -> impl Iterator<Item = &(String, Vec<u8>)> {
        let programs: Vec<String> = stapkit::matrix::programs::guest_paths().collect();
        self.files.iter().filter(move |(p, _)| {
            (p.starts_with("bin/") || programs.contains(p)) && !p.ends_with(".debug")
        })
    }
}

/// Every file under `dir` (symlinks followed), by its path under `root`.
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| dir.display().to_string())? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root)?.to_string_lossy().into_owned();
            out.push((
                rel,
                std::fs::read(&path).with_context(|| path.display().to_string())?,
            ));
        }
    }
    Ok(())
}
