//! Kernel header trees: manifests, fetching and relocation, toolchains,
//! feature probes, kbuild, module checks.
//!
//! **Architecture Invariant:** nothing here knows the SystemTap language;
//! the kbuild driver takes C sources and returns a `.ko`.

pub mod apt;
pub mod apt_sources;
pub mod arch;
pub mod archives;
pub mod cache;
pub mod compiler_note;
pub mod dbgsym;
pub mod debversion;
pub mod features;
pub mod fetch;
pub mod guest_modules;
pub mod host_fit;
pub mod host_tools;
pub mod kbuild;
pub mod kbuild_batch;
pub mod kbuild_tryrun;
pub mod lock;
pub mod lru;
pub mod manifest;
pub mod modcheck;
pub mod module_btf;
pub mod module_tracepoints;
pub mod relocate;
pub mod resolve;
pub mod rpm_header;
pub mod rpm_metadata;
pub mod rpm_repo;
pub mod rpm_unpack;
pub mod source_build;
pub mod symvers;
pub mod toolchain;
pub mod tree;

use std::fmt;
use std::path::PathBuf;

pub use cache::{Cache, FetchState};
pub use manifest::{Catalog, Manifest};
pub use tree::{HeaderTree, TreeError};

/// Why fetching or preparing a kernel failed; each renders as one line.
#[derive(Debug)]
pub enum PrepError {
    /// A file or directory could not be read or written.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A tool stap-prep needs is not installed.
    ToolMissing { tool: String, why: &'static str },
    /// apt failed (no network, unknown package, broken archive).
    Apt { command: String, message: String },
    /// No package of the series exists in the manifest's suites.
    NoRelease { manifest: String, pattern: String },
    /// A package the manifest or a dependency names does not exist.
    MissingPackage { package: String },
    /// A downloaded package or cache file is unreadable.
    Corrupt { path: PathBuf, message: String },
    /// The unpacked packages do not have the expected layout.
    Layout { what: String },
    /// Something the manifest asks for that this build cannot do.
    Unsupported(String),
    /// A package could not be downloaded: which, why, and what fetches it.
    Download {
        package: String,
        why: Box<PrepError>,
        fix: String,
    },
    /// The manifest catalog could not be read.
    Manifest(manifest::ManifestError),
    /// A version the lock file names is no longer in the archive.
    LockedGone {
        manifest: String,
        package: String,
        version: String,
        lock: PathBuf,
    },
    /// The archive's (or a download's) SHA-256 is not the locked one.
    LockMismatch {
        manifest: String,
        /// `NAME VERSION`.
        package: String,
        locked: String,
        found: String,
        lock: PathBuf,
    },
    /// The lock file cannot be read or lacks the kernel.
    Lock(lock::LockError),
    /// An archive's location is not configured or is malformed.
    Archive(archives::ArchiveError),
}

impl fmt::Display for PrepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrepError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            PrepError::ToolMissing { tool, why } => {
                write!(
                    f,
                    "'{tool}' is not installed ({why}); install it, e.g. apt-get install apt dpkg"
                )
            }
            PrepError::Apt { command, message } => write!(f, "{command} failed: {message}"),
            PrepError::NoRelease { manifest, pattern } => {
                write!(
                    f,
                    "{manifest}: no package matching '{pattern}' in the manifest's suites"
                )
            }
            PrepError::MissingPackage { package } => {
                write!(f, "package '{package}' is not in the manifest's suites")
            }
            PrepError::Corrupt { path, message } => {
                write!(f, "{} is unreadable: {message}", path.display())
            }
            PrepError::Layout { what } => write!(f, "unexpected package layout: {what}"),
            PrepError::Unsupported(what) => write!(f, "{what}"),
            PrepError::Download { package, why, fix } => {
                write!(f, "cannot download {package}: {why}; fetch it with: {fix}")
            }
            PrepError::Manifest(e) => write!(f, "{e}"),
            PrepError::Archive(e) => write!(f, "{e}"),
            PrepError::Lock(e) => write!(f, "{e}"),
            PrepError::LockedGone {
                manifest,
                package,
                version,
                lock,
            } => write!(
                f,
                "{manifest}: the locked {package} {version} is no longer in the archive; \
                 move the lock to the archive's newest with: stap-prep update --lock {} {manifest} \
                 (and commit {})",
                lock.display(),
                lock.display()
            ),
            PrepError::LockMismatch {
                manifest,
                package,
                locked,
                found,
                lock,
            } => write!(
                f,
                "{manifest}: {package} has SHA-256 {found}, but {} locks {locked}: \
                 the archive rebuilt it or a mirror serves other bytes; if it is trusted, move the lock \
                 with: stap-prep update --lock {} {manifest}",
                lock.display(),
                lock.display()
            ),
        }
    }
}

impl std::error::Error for PrepError {}

impl From<lock::LockError> for PrepError {
    fn from(e: lock::LockError) -> Self {
        PrepError::Lock(e)
    }
}

impl From<archives::ArchiveError> for PrepError {
    fn from(e: archives::ArchiveError) -> Self {
        PrepError::Archive(e)
    }
}

impl From<manifest::ManifestError> for PrepError {
    fn from(e: manifest::ManifestError) -> Self {
        PrepError::Manifest(e)
    }
}
