//! The kernel cache: where `stap-prep` keeps fetched, relocated trees.
//!
//! ```text
//! CACHE/kernels/NAME/state.yaml        what was fetched (FetchState)
//! CACHE/kernels/NAME/RELEASE/root/     the unpacked, relocated packages
//! CACHE/kernels/NAME/RELEASE/debs/     the downloaded .deb files
//! CACHE/apt/NAME/                       the private apt configuration
//! CACHE/toolchains/SUITE-COMPILER/      a toolchain root (kernel::toolchain)
//! CACHE/features/KEY/stp_features.h     feature probe results (kernel::features)
//! CACHE/features/KEY/{runtime,pch}-HASH/ the compiled runtime (runtime_object),
//!                                       within CACHE/features/cache_mb_limit
//! CACHE/modules/KEY.ko                  built modules (crate::modcache)
//! ```
//! `CACHE` is `$STAPKIT_CACHE`, else `$XDG_CACHE_HOME/stapkit`, else
//! `~/.cache/stapkit`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::PrepError;

/// The root of the kernel cache.
#[derive(Debug, Clone, PartialEq)]
pub struct Cache {
    dir: PathBuf,
}

/// What `stap-prep fetch` recorded about one kernel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FetchState {
    /// The manifest's name.
    pub manifest: String,
    /// The resolved kernel release (`uname -r` of that kernel).
    pub release: String,
    /// The resolved package version of the header package.
    pub version: String,
    /// Every package unpacked, with its version.
    pub packages: Vec<FetchedPackage>,
    /// Where the packages were unpacked and relocated to (absolute).
    pub root: PathBuf,
    /// The build tree, relative to `root`.
    pub build: PathBuf,
    /// The bootable kernel image, relative to `root`.
    pub image: PathBuf,
    /// `System.map`, relative to `root`, if the image package has one.
    #[serde(default)]
    pub system_map: Option<PathBuf>,
    /// The debug vmlinux, relative to `root`, when fetched with `--debug`.
    #[serde(default)]
    pub debug_vmlinux: Option<PathBuf>,
    /// A static busybox of the kernel's architecture for the test guest,
    /// relative to `root`, when the manifest names one.
    #[serde(default)]
    pub busybox: Option<PathBuf>,
}

/// One package that was unpacked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FetchedPackage {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
}

impl FetchState {
    /// The absolute build tree directory (what `make -C` takes).
    pub fn build_dir(&self) -> PathBuf {
        self.root.join(&self.build)
    }

    /// The absolute kernel image path.
    pub fn image_path(&self) -> PathBuf {
        self.root.join(&self.image)
    }

    /// The absolute path of the guest's static busybox, if fetched.
    pub fn busybox_path(&self) -> Option<PathBuf> {
        self.busybox.as_ref().map(|p| self.root.join(p))
    }
}

impl Cache {
    /// The cache at `dir`, or the default location when `None`.
    pub fn locate(dir: Option<&Path>) -> Cache {
        if let Some(dir) = dir {
            return Cache {
                dir: dir.to_path_buf(),
            };
        }
        let env = |k| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = env("STAPKIT_CACHE")
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("stapkit")))
            .or_else(|| env("HOME").map(|h| h.join(".cache/stapkit")))
            .unwrap_or_else(|| PathBuf::from("/var/cache/stapkit"));
        Cache { dir }
    }

    /// The cache's root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory holding everything about one kernel.
    pub fn kernel_dir(&self, name: &str) -> PathBuf {
        self.dir.join("kernels").join(name)
    }

    /// The private apt directory for one kernel's source.
    pub fn apt_dir(&self, name: &str) -> PathBuf {
        self.dir.join("apt").join(name)
    }

    /// Toolchain roots live under here, one directory each.
    pub fn toolchains_dir(&self) -> PathBuf {
        self.dir.join("toolchains")
    }

    /// Feature probe results live under here, one directory per key.
    pub fn features_dir(&self) -> PathBuf {
        self.dir.join("features")
    }

    /// Built modules live under here (`crate::modcache`).
    pub fn modules_dir(&self) -> PathBuf {
        self.dir.join("modules")
    }

    /// The recorded state of one kernel, if it has been fetched.
    pub fn state(&self, name: &str) -> Result<Option<FetchState>, PrepError> {
        let path = self.kernel_dir(name).join("state.yaml");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(PrepError::Io { path, error }),
        };
        let state = super::manifest::check_yaml_shape(&text)
            .and_then(|()| serde_yaml::from_str(&text).map_err(|e| e.to_string()))
            .map_err(|message| PrepError::Corrupt {
                path: path.clone(),
                message,
            })?;
        Ok(Some(state))
    }

    /// Records the state of one kernel.
    pub fn save_state(&self, state: &FetchState) -> Result<(), PrepError> {
        let dir = self.kernel_dir(&state.manifest);
        let path = dir.join("state.yaml");
        let text = serde_yaml::to_string(state).expect("FetchState serializes");
        let tmp = dir.join("state.yaml.tmp");
        std::fs::write(&tmp, text).map_err(|error| PrepError::Io {
            path: tmp.clone(),
            error,
        })?;
        std::fs::rename(&tmp, &path).map_err(|error| PrepError::Io { path, error })
    }

    /// Every fetched kernel, sorted by manifest name.
    pub fn list(&self) -> Result<Vec<FetchState>, PrepError> {
        let dir = self.dir.join("kernels");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(PrepError::Io { path: dir, error }),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        let mut out = Vec::new();
        for name in names {
            if let Some(state) = self.state(&name)? {
                out.push(state);
            }
        }
        Ok(out)
    }

    /// The fetched kernel whose release is `release`, if any.
    pub fn find_release(&self, release: &str) -> Result<Option<FetchState>, PrepError> {
        Ok(self.list()?.into_iter().find(|s| s.release == release))
    }

    /// Holds an exclusive lock on one kernel's cache entry until dropped, so
    /// parallel fetches of the same kernel wait for each other.
    pub fn lock(&self, name: &str) -> Result<std::fs::File, PrepError> {
        lock_file(&self.kernel_dir(name).join(".lock"))
    }
}

/// Holds an exclusive lock on `path` (created, with its directory, if
/// needed) until the returned file is dropped.
pub fn lock_file(path: &Path) -> Result<std::fs::File, PrepError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|error| PrepError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
    }
    let file = std::fs::File::create(path).map_err(|error| PrepError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    file.lock().map_err(|error| PrepError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    Ok(file)
}

/// A labelled, length-prefixed SHA-256: the keys of the cache's built
/// pieces (modules, runtime objects, precompiled headers), where no two
/// different inputs may run together into the same bytes.
#[derive(Default)]
pub struct KeyHasher(Sha256);

impl KeyHasher {
    /// Adds `bytes` under `label`.
    pub fn part(&mut self, label: &str, bytes: &[u8]) {
        self.0.update((label.len() as u64).to_le_bytes());
        self.0.update(label.as_bytes());
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    /// The key, 64 hex digits.
    pub fn hex(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_lists() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::locate(Some(tmp.path()));
        assert_eq!(cache.state("debian-6.1-amd64").unwrap(), None);
        assert!(cache.list().unwrap().is_empty());
        let state = FetchState {
            manifest: "debian-6.1-amd64".into(),
            release: "6.1.0-56-amd64".into(),
            version: "6.1.192-2".into(),
            packages: vec![FetchedPackage {
                name: "linux-kbuild-6.1".into(),
                version: "6.1.192-2".into(),
            }],
            root: tmp.path().join("root"),
            build: "usr/src/linux-headers-6.1.0-56-amd64".into(),
            image: "boot/vmlinuz-6.1.0-56-amd64".into(),
            system_map: None,
            debug_vmlinux: None,
            busybox: None,
        };
        let _lock = cache.lock("debian-6.1-amd64").unwrap();
        cache.save_state(&state).unwrap();
        assert_eq!(
            cache.state("debian-6.1-amd64").unwrap().as_ref(),
            Some(&state)
        );
        assert_eq!(cache.list().unwrap(), vec![state.clone()]);
        assert_eq!(cache.find_release("6.1.0-56-amd64").unwrap(), Some(state));
        assert_eq!(cache.find_release("6.1.0-1-amd64").unwrap(), None);
    }

    #[test]
    fn corrupt_state_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::locate(Some(tmp.path()));
        std::fs::create_dir_all(cache.kernel_dir("k")).unwrap();
        std::fs::write(cache.kernel_dir("k").join("state.yaml"), "{{nope").unwrap();
        let err = cache.state("k").unwrap_err().to_string();
        assert!(err.contains("state.yaml"), "{err}");
    }
}
