//! The kernel lock file (`kernels/kernels.lock`): for each manifest, the
//! release and the exact package versions and SHA-256 sums that
//! `stap-prep fetch --locked` fetches, so two runs a week apart test the
//! same trees. `stap-prep update` moves it to the archive's newest (or,
//! with `--from-cache`, to what the cache already holds).
//!
//! The file is YAML, kernels sorted by name:
//! ```text
//! debian-6.1-amd64:
//!   release: 6.1.0-57-amd64
//!   packages:
//!   - name: linux-headers-6.1.0-57-amd64
//!     version: 6.1.192-3
//!     sha256: 515e...
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The whole lock file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LockFile {
    /// Locked kernels by manifest name.
    pub kernels: BTreeMap<String, LockedKernel>,
}

/// One manifest's locked release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedKernel {
    /// The kernel release (`uname -r`).
    pub release: String,
    /// Every package the kernel may need (headers and their dependencies,
    /// image, modules, debug, busybox), fetched or not.
    pub packages: Vec<LockedPackage>,
}

/// One package, exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    /// Package name (`NAME:ARCH` for a package of the build host's
    /// architecture beside a foreign kernel).
    pub name: String,
    /// Exact version.
    pub version: String,
    /// SHA-256 of the package file, 64 hex digits.
    pub sha256: String,
}

impl LockedKernel {
    /// The locked package called `name`.
    pub fn package(&self, name: &str) -> Option<&LockedPackage> {
        self.packages.iter().find(|p| p.name == name)
    }
}

/// A lock file that cannot be read or does not fit.
#[derive(Debug)]
pub enum LockError {
    /// The file could not be read or written.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file is not a lock file.
    Invalid { path: PathBuf, message: String },
    /// The kernel has no entry.
    NotLocked { kernel: String, path: PathBuf },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            LockError::Invalid { path, message } => {
                write!(f, "{}: not a kernel lock file: {message}", path.display())
            }
            LockError::NotLocked { kernel, path } => write!(
                f,
                "{kernel} is not in the lock file {}; add it with: stap-prep update --lock {} {kernel}",
                path.display(),
                path.display()
            ),
        }
    }
}

impl std::error::Error for LockError {}

const HEADER: &str = "\
# Kernel package versions and SHA-256 sums that `stap-prep fetch --locked`
# fetches. Generated: move it with `stap-prep update --lock FILE [KERNEL...]`.
";

impl LockFile {
    /// Parses a lock file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<LockFile, LockError> {
        let invalid = |message: String| LockError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        super::manifest::check_yaml_shape(text).map_err(invalid)?;
        if text
            .lines()
            .all(|l| l.trim().is_empty() || l.starts_with('#'))
        {
            return Ok(LockFile::default());
        }
        let lock: LockFile = serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        for (name, kernel) in &lock.kernels {
            if let Some(p) = kernel
                .packages
                .iter()
                .find(|p| p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(invalid(format!(
                    "{name}: {} {}: sha256 '{}' is not 64 hex digits",
                    p.name, p.version, p.sha256
                )));
            }
        }
        Ok(lock)
    }

    /// Reads `path`; a missing file is an empty lock when `missing_ok`.
    pub fn read(path: &Path, missing_ok: bool) -> Result<LockFile, LockError> {
        match std::fs::read_to_string(path) {
            Ok(text) => LockFile::parse(&text, path),
            Err(e) if missing_ok && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(LockFile::default())
            }
            Err(error) => Err(LockError::Io {
                path: path.to_path_buf(),
                error,
            }),
        }
    }

    /// The text of the file, header first.
    pub fn render(&self) -> String {
        let body = if self.kernels.is_empty() {
            String::new()
        } else {
            serde_yaml::to_string(self).expect("a lock file serializes")
        };
        format!("{HEADER}{body}")
    }

    /// Writes the file (through a temporary beside it).
    pub fn write(&self, path: &Path) -> Result<(), LockError> {
        let io = |error| LockError::Io {
            path: path.to_path_buf(),
            error,
        };
        let tmp = path.with_extension("lock.tmp");
        std::fs::write(&tmp, self.render()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The entry of `kernel`; `path` names the file in the error.
    pub fn get(&self, kernel: &str, path: &Path) -> Result<&LockedKernel, LockError> {
        self.kernels
            .get(kernel)
            .ok_or_else(|| LockError::NotLocked {
                kernel: kernel.to_string(),
                path: path.to_path_buf(),
            })
    }
}

/// The lock file in effect when none is named:
/// `$STAPKIT_KERNELS/kernels.lock`, else `./kernels/kernels.lock` when it
/// exists (`None`: the one built into the binary).
pub fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("STAPKIT_KERNELS").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("kernels.lock"));
    }
    let local = PathBuf::from("kernels/kernels.lock");
    local.is_file().then_some(local)
}

/// The lock file `path` names, else the one in effect
/// ([`default_path`]), else the one built into the binary (named
/// `kernels/kernels.lock` in messages); `None` when there is none at all.
pub fn load(path: Option<&Path>) -> Result<Option<(LockFile, PathBuf)>, LockError> {
    if let Some(path) = path.map(PathBuf::from).or_else(default_path) {
        return Ok(Some((LockFile::read(&path, false)?, path)));
    }
    let path = PathBuf::from("kernels/kernels.lock");
    match super::manifest::builtin_lock() {
        Some(text) => Ok(Some((LockFile::parse(text, &path)?, path))),
        None => Ok(None),
    }
}

/// What `--kernel all` means: every manifest that the lock file holds (so
/// `stap-prep fetch --locked` brings it) or the cache has fetched; the
/// others are left out, each with the reason and the command that would
/// bring it in.
#[derive(Debug, Clone, PartialEq)]
pub struct AllKernels {
    /// The manifests chosen, in the catalog's order.
    pub chosen: Vec<String>,
    /// The manifests left out and why.
    pub left_out: Vec<(String, String)>,
}

impl AllKernels {
    /// Chooses among `manifests` (the catalog's names, in order) by
    /// `lock` and the `fetched` manifests' names.
    pub fn choose(
        manifests: &[String],
        lock: Option<(&LockFile, &Path)>,
        fetched: &[String],
    ) -> AllKernels {
        let mut all = AllKernels {
            chosen: Vec::new(),
            left_out: Vec::new(),
        };
        for name in manifests {
            let locked = lock.is_some_and(|(l, _)| l.kernels.contains_key(name));
            if locked || fetched.contains(name) {
                all.chosen.push(name.clone());
                continue;
            }
            let why = match lock {
                Some((_, path)) => format!(
                    "not locked in {0} and not fetched; lock it with: stap-prep update --lock {0} {name}",
                    path.display()
                ),
                None => format!("not fetched; fetch it with: stap-prep fetch {name}"),
            };
            all.left_out.push((name.clone(), why));
        }
        all
    }

    /// One line per manifest left out, for the user.
    pub fn notes(&self, what: &str) -> Vec<String> {
        self.left_out
            .iter()
            .map(|(name, why)| format!("{what}: leaving out {name}: {why}"))
            .collect()
    }
}

/// The SHA-256 of a file, 64 lower-case hex digits.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LockFile {
        let mut lock = LockFile::default();
        lock.kernels.insert(
            "debian-6.1-amd64".into(),
            LockedKernel {
                release: "6.1.0-57-amd64".into(),
                packages: vec![LockedPackage {
                    name: "linux-kbuild-6.1:amd64".into(),
                    version: "6.1.192-3".into(),
                    sha256: "ab".repeat(32),
                }],
            },
        );
        lock
    }

    #[test]
    fn lock_files_round_trip_with_their_header() {
        let lock = sample();
        let text = lock.render();
        assert!(text.starts_with("# Kernel package versions"), "{text}");
        assert!(
            text.contains("debian-6.1-amd64:\n  release: 6.1.0-57-amd64\n"),
            "{text}"
        );
        assert_eq!(LockFile::parse(&text, Path::new("k.lock")).unwrap(), lock);
        assert_eq!(
            LockFile::parse(HEADER, Path::new("k.lock")).unwrap(),
            LockFile::default()
        );
    }

    #[test]
    fn bad_lock_files_and_missing_kernels_say_what_to_do() {
        let text = sample().render().replace(&"ab".repeat(32), "xyz");
        let e = LockFile::parse(&text, Path::new("k.lock"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("k.lock: not a kernel lock file: debian-6.1-amd64: "),
            "{e}"
        );
        let e = LockFile::parse("a: [", Path::new("k.lock"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("k.lock: not a kernel lock file: "), "{e}");
        let lock = sample();
        let e = lock
            .get("debian-5.10-amd64", Path::new("k.lock"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "debian-5.10-amd64 is not in the lock file k.lock; add it with: \
             stap-prep update --lock k.lock debian-5.10-amd64"
        );
    }

    #[test]
    fn files_hash_as_sha256sum_does() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x");
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(
            sha256_file(&f).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn all_means_the_locked_and_the_fetched_manifests() {
        let names: Vec<String> = ["debian-5.10-amd64", "debian-6.1-amd64", "ubuntu-6.8-amd64"]
            .map(String::from)
            .to_vec();
        let lock = sample();
        let path = Path::new("kernels/kernels.lock");
        let all = AllKernels::choose(&names, Some((&lock, path)), &["debian-5.10-amd64".into()]);
        assert_eq!(all.chosen, ["debian-5.10-amd64", "debian-6.1-amd64"]);
        assert_eq!(
            all.notes("--kernel all"),
            ["--kernel all: leaving out ubuntu-6.8-amd64: not locked in kernels/kernels.lock and not \
              fetched; lock it with: stap-prep update --lock kernels/kernels.lock ubuntu-6.8-amd64"]
        );
        let all = AllKernels::choose(&names, None, &[]);
        assert!(all.chosen.is_empty());
        assert_eq!(
            all.left_out[2].1,
            "not fetched; fetch it with: stap-prep fetch ubuntu-6.8-amd64"
        );
    }

    #[test]
    fn a_named_lock_file_is_read_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.lock");
        sample().write(&path).unwrap();
        let (lock, at) = load(Some(&path)).unwrap().unwrap();
        assert_eq!((lock, at), (sample(), path.clone()));
        let e = load(Some(&dir.path().join("none.lock")))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("{}: ", dir.path().join("none.lock").display())),
            "{e}"
        );
    }
}
