//! UEFI firmware for x86_64 guests that must see keys in the firmware's
//! signature database: Debian's OVMF (package `ovmf`) boots the kernel's
//! EFI stub straight from QEMU's `-kernel`, and a copy of its variable
//! store gets certificates enrolled in `db` by `virt-fw-vars` (PyPI's
//! `virt-firmware`, which `cargo xtask setup` installs in a venv under
//! the kernel cache, `tools/virt-firmware`).
//!
//! No platform key is enrolled, so Secure Boot stays off and Debian's
//! unsigned kernel images boot; Debian's kernels still load `db` into
//! their `.platform` keyring and trust it for module signatures
//! (`integrity: Loaded X.509 cert '...'` in the kernel log).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::VmError;

/// Debian's OVMF build without SMM (TCG boots it quickly), and the
/// empty variable store that goes with it.
const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// The owner GUID recorded with the certificates we enroll (any GUID
/// does; this one is stapkit's own, random).
const OWNER_GUID: &str = "6b1b3c2e-6f4d-4d2a-9c3e-5374617062b1";

/// The firmware of one guest: OVMF's code and the guest's own copy of
/// the variable store (written to by the firmware as it boots).
#[derive(Debug, Clone, PartialEq)]
pub struct Uefi {
    /// The firmware (read only).
    pub code: PathBuf,
    /// The guest's variable store.
    pub vars: PathBuf,
}

/// `virt-fw-vars` where `cargo xtask setup` installs it:
/// `STAPKIT_VIRT_FW_VARS`, else `CACHE/tools/virt-firmware/bin/virt-fw-vars`.
pub fn virt_fw_vars(cache_dir: &Path) -> PathBuf {
    match std::env::var_os("STAPKIT_VIRT_FW_VARS") {
        Some(p) => PathBuf::from(p),
        None => cache_dir.join("tools/virt-firmware/bin/virt-fw-vars"),
    }
}

/// Writes `vars` (a copy of OVMF's empty store) with `certs` in `db`,
/// and returns the firmware to boot with it.
pub fn firmware_with_db(tool: &Path, certs: &[&Path], vars: &Path) -> Result<Uefi, VmError> {
    for path in [OVMF_CODE, OVMF_VARS] {
        if !Path::new(path).is_file() {
            return Err(VmError::Tool {
                what: "OVMF".to_string(),
                message: format!("{path} is missing; install it with: apt-get install ovmf"),
            });
        }
    }
    if !tool.is_file() {
        return Err(VmError::Tool {
            what: "virt-fw-vars".to_string(),
            message: format!(
                "{} is missing; install it with: cargo xtask setup (or point STAPKIT_VIRT_FW_VARS at it)",
                tool.display()
            ),
        });
    }
    if let Some(dir) = vars.parent() {
        std::fs::create_dir_all(dir).map_err(|error| VmError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
    }
    std::fs::copy(OVMF_VARS, vars).map_err(|error| VmError::Io {
        path: vars.to_path_buf(),
        error,
    })?;
    let mut cmd = Command::new(tool);
    cmd.arg("--inplace").arg(vars);
    for cert in certs {
        cmd.args(["--add-db", OWNER_GUID]).arg(cert);
    }
    let out = cmd.output().map_err(|e| VmError::Tool {
        what: "virt-fw-vars".to_string(),
        message: format!("cannot run {}: {e}", tool.display()),
    })?;
    if !out.status.success() {
        return Err(VmError::Tool {
            what: "virt-fw-vars".to_string(),
            message: format!(
                "enrolling {} in {} failed ({}): {}",
                certs
                    .iter()
                    .map(|c| c.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                vars.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(Uefi {
        code: PathBuf::from(OVMF_CODE),
        vars: vars.to_path_buf(),
    })
}

/// QEMU's `-drive` value for a raw pflash image (commas doubled, as QEMU
/// option values quote them).
pub fn pflash_drive(path: &Path, read_only: bool) -> String {
    format!(
        "if=pflash,format=raw,{}file={}",
        if read_only { "readonly=on," } else { "" },
        path.display().to_string().replace(',', ",,")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drives_quote_commas_and_mark_the_code_read_only() {
        assert_eq!(
            pflash_drive(Path::new("/a,b/code.fd"), true),
            "if=pflash,format=raw,readonly=on,file=/a,,b/code.fd"
        );
        assert_eq!(
            pflash_drive(Path::new("/w/vars.fd"), false),
            "if=pflash,format=raw,file=/w/vars.fd"
        );
    }

    #[test]
    fn a_missing_tool_says_how_to_install_it() {
        if !Path::new(OVMF_CODE).is_file() {
            // The OVMF check comes first and says to install ovmf.
            let err =
                firmware_with_db(Path::new("/nonexistent"), &[], Path::new("/tmp/x")).unwrap_err();
            assert!(err.to_string().contains("apt-get install ovmf"), "{err}");
            return;
        }
        let err = firmware_with_db(
            Path::new("/nonexistent/virt-fw-vars"),
            &[],
            Path::new("/tmp/x"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("cargo xtask setup"), "{err}");
    }
}
