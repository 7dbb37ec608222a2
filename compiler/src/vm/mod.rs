//! QEMU guests: initramfs assembly, booting, console supervision, result capture.
//!
//! **Architecture Invariant:** modules are only ever loaded inside a guest
//! booted here. Nothing in the compiler loads a module on the build host.

pub mod guest;
pub mod initramfs;
pub mod qemu;
pub mod results;
pub mod uefi;

use std::fmt;
use std::path::PathBuf;

pub use crate::arch::Arch;

/// What QEMU needs to know about a guest architecture.
impl Arch {
    /// The QEMU system emulator.
    pub fn qemu(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86_64",
            Arch::Arm64 => "qemu-system-aarch64",
        }
    }

    /// The Debian package providing [`Arch::qemu`].
    pub fn qemu_package(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86",
            Arch::Arm64 => "qemu-system-arm",
        }
    }

    /// The CPU model for TCG (fast to emulate, recent enough for Debian kernels).
    pub fn tcg_cpu(self) -> &'static str {
        match self {
            Arch::X86_64 => "max",
            Arch::Arm64 => "max,pauth-impdef=on",
        }
    }

    /// The guest's console device.
    pub fn console_device(self) -> &'static str {
        match self {
            Arch::X86_64 => "ttyS0",
            Arch::Arm64 => "ttyAMA0",
        }
    }

    /// The guest device results are streamed on.
    pub fn results_device(self) -> &'static str {
        match self {
            Arch::X86_64 => "/dev/ttyS1",
            // The PCI 16550 `qemu::command` adds (the only 8250 port there).
            Arch::Arm64 => "/dev/ttyS0",
        }
    }
}

/// Why a guest could not be prepared or run.
#[derive(Debug)]
pub enum VmError {
    /// A host file could not be read or written.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A tool or binary the guest needs is missing or unusable.
    Tool { what: String, message: String },
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            VmError::Tool { what, message } => write!(f, "{what}: {message}"),
        }
    }
}

impl std::error::Error for VmError {}
