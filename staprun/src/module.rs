//! Loading and unloading a module with the kernel's own system calls.
//!
//! **Architecture Invariant:** this is the only code in stapkit that loads
//! modules. It runs on the target host or inside a test guest; the test
//! suite never runs it on the build machine.

use std::ffi::CString;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use object::{Object, ObjectSection};

/// The module's name from its `.modinfo` (`name=`), else its file stem.
pub fn module_name(path: &Path, image: &[u8]) -> String {
    let from_modinfo = object::File::parse(image).ok().and_then(|file| {
        let data = file.section_by_name(".modinfo")?.data().ok()?.to_vec();
        data.split(|&b| b == 0)
            .filter_map(|f| std::str::from_utf8(f).ok())
            .find_map(|f| f.strip_prefix("name=").map(str::to_string))
    });
    from_modinfo.unwrap_or_else(|| {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("module");
        stem.replace('-', "_")
    })
}

/// The `.modinfo` fields of a module image (`key=value`), in order.
pub fn modinfo(image: &[u8]) -> Vec<(String, String)> {
    let Ok(file) = object::File::parse(image) else {
        return Vec::new();
    };
    let Some(data) = file.section_by_name(".modinfo").and_then(|s| s.data().ok()) else {
        return Vec::new();
    };
    data.split(|&b| b == 0)
        .filter_map(|f| std::str::from_utf8(f).ok())
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The channel protocol a module speaks: its `.modinfo`
/// `stapkit_protocol`, 1 for modules built before it was recorded.
pub fn protocol_of(image: &[u8]) -> u32 {
    modinfo(image)
        .iter()
        .find(|(k, _)| k == "stapkit_protocol")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1)
}

/// The trailer the kernel's module signing appends.
pub const SIGNATURE_MAGIC: &[u8] = b"~Module signature appended~\n";

/// Whether the image carries an appended module signature.
pub fn is_signed(image: &[u8]) -> bool {
    image.ends_with(SIGNATURE_MAGIC)
}

/// `-R`'s new name for `name` in process `pid`: the same length, its end
/// overwritten by `_PID`, as SystemTap's staprun renames (in process 336
/// `o_staprun_rename` is `o_staprun_re_336`, in 367 `o_staprun_r` is
/// `o_stapr_367`).
pub fn unique_name(name: &str, pid: u32) -> String {
    let suffix = format!("_{pid}");
    let mut keep = name.len().saturating_sub(suffix.len());
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{suffix}", &name[..keep])
}

/// The image with its module name changed to `new` (`staprun -R`): the
/// name in `struct module` (`.gnu.linkonce.this_module`, after the state
/// and the list head) and `.modinfo`'s `name=` entry, which is turned into
/// a field the kernel ignores when `new` does not fit in its place.
pub fn renamed(image: &[u8], old: &str, new: &str) -> Result<Vec<u8>, String> {
    const MODULE_NAME_LEN: usize = 56;
    if new.len() >= MODULE_NAME_LEN {
        return Err(format!("the new name '{new}' is too long"));
    }
    if is_signed(image) {
        return Err("-R would break the module's signature (the name is part of what is signed); load it under its own name".to_string());
    }
    let file = object::File::parse(image).map_err(|e| format!("not an ELF module: {e}"))?;
    let offset_of = |name: &str| {
        file.section_by_name(name)
            .and_then(|s| s.file_range())
            .map(|(at, size)| (at as usize, size as usize))
    };
    let (this_at, this_size) = offset_of(".gnu.linkonce.this_module")
        .ok_or("the module has no .gnu.linkonce.this_module section")?;
    // struct module: enum module_state (padded to 8), struct list_head, char name[56].
    let name_at = this_at + if file.is_64() { 24 } else { 12 };
    let mut out = image.to_vec();
    let field = out
        .get_mut(name_at..name_at + MODULE_NAME_LEN)
        .filter(|_| name_at + MODULE_NAME_LEN <= this_at + this_size)
        .ok_or("the module's struct module is too small")?;
    let mut expect = old.as_bytes().to_vec();
    expect.push(0);
    if !field.starts_with(&expect) {
        return Err(format!(
            "could not find the name '{old}' in the module's struct module"
        ));
    }
    field.fill(0);
    field[..new.len()].copy_from_slice(new.as_bytes());
    if let Some((at, size)) = offset_of(".modinfo") {
        let entry = format!("name={old}\0");
        let section = &mut out[at..at + size];
        if let Some(pos) = section
            .windows(entry.len())
            .position(|w| w == entry.as_bytes())
        {
            let replacement = if new.len() <= old.len() {
                let mut r = format!("name={new}").into_bytes();
                r.resize(entry.len(), 0);
                r
            } else {
                // "xame=OLD": no longer a name the loader reads, so it
                // takes struct module's.
                let mut r = entry.clone().into_bytes();
                r[0] = b'x';
                r
            };
            section[pos..pos + entry.len()].copy_from_slice(&replacement);
        }
    }
    Ok(out)
}

/// Loads a module image from memory with `init_module(2)` (bundle members
/// and renamed modules, which have no file of their own).
pub fn load_image(image: &[u8], params: &str) -> io::Result<()> {
    let params = CString::new(params).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: the image buffer and parameter string outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_init_module,
            image.as_ptr(),
            image.len() as libc::c_ulong,
            params.as_ptr(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Loads the module file with `finit_module(2)`, passing `params`.
pub fn load(path: &Path, params: &str) -> io::Result<()> {
    let file = std::fs::File::open(path)?;
    let params = CString::new(params).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: the fd and the NUL-terminated parameter string outlive the call.
    let rc = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Unloads the module with `delete_module(2)`, retrying briefly while the
/// kernel still holds a reference.
pub fn unload(name: &str) -> io::Result<()> {
    crate::markers::remove_module(name);
    let name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut last = io::Error::from(io::ErrorKind::Other);
    for _ in 0..50 {
        // SAFETY: `name` is a valid NUL-terminated string.
        let rc = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
        if rc == 0 {
            return Ok(());
        }
        last = io::Error::last_os_error();
        if !matches!(last.raw_os_error(), Some(libc::EAGAIN | libc::EBUSY)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(last)
}

/// The text the kernel's errno means for a module load, in the words users
/// search for (`Invalid module format`, ...).
pub fn load_error_text(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::ENOEXEC) => "Invalid module format".to_string(),
        Some(libc::EEXIST) => "File exists (a module of that name is already loaded)".to_string(),
        Some(libc::EPERM) => "Operation not permitted".to_string(),
        Some(libc::ENOENT) => {
            "Unknown symbol in module, or unknown parameter (see dmesg)".to_string()
        }
        Some(libc::EKEYREJECTED) => {
            "Key was rejected by service (module signature required)".to_string()
        }
        // What insmod has always said for a refused parameter, and
        // SystemTap's staprun with it.
        Some(libc::EINVAL) => "Invalid parameters".to_string(),
        Some(code) => strerror(code),
        None => err.to_string(),
    }
}

/// strerror(3)'s text for `code`, without Rust's ` (os error N)`, as C
/// programs (SystemTap's staprun) print it.
fn strerror(code: i32) -> String {
    let text = io::Error::from_raw_os_error(code).to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// What to do about a load the kernel refused for its signature, or
/// `None` when the error is not about signatures. `signed` is whether the
/// module carries one.
pub fn signature_help(err: &io::Error, signed: bool, lockdown: bool) -> Option<String> {
    let fix_unsigned = "build it signed with a key this kernel trusts: \
        stap --make-mok creates one (enroll its certificate once: mokutil --import signing_key.x509, \
        then reboot and confirm), and stap --sign-module=signing_key.pem signs the module (or the bundle)";
    match err.raw_os_error() {
        Some(libc::EKEYREJECTED) if !signed => Some(format!(
            "this kernel loads only signed modules (module.sig_enforce=1 or Secure Boot), and this one is not signed; {fix_unsigned}"
        )),
        Some(libc::EKEYREJECTED) | Some(libc::ENOKEY) => Some(
            "the module is signed, but not with a key this kernel trusts (or the signature does not match it): \
             enroll the signing certificate (mokutil --import signing_key.x509, reboot, confirm), or re-sign \
             the module with an enrolled key (stap --sign-module=KEY[,CERT])"
                .to_string(),
        ),
        Some(libc::EPERM) if lockdown && !signed => Some(format!(
            "the kernel is locked down (Secure Boot) and loads only signed modules; {fix_unsigned}"
        )),
        Some(libc::EBADMSG) if signed => Some(
            "the module's appended signature is malformed; re-sign it with stap --sign-module".to_string(),
        ),
        _ => None,
    }
}

/// Whether the kernel is locked down (`/sys/kernel/security/lockdown`
/// shows a bracketed mode other than `none`).
pub fn locked_down() -> bool {
    std::fs::read_to_string("/sys/kernel/security/lockdown")
        .map(|t| !t.contains("[none]") && t.contains('['))
        .unwrap_or(false)
}

/// Makes sure debugfs is mounted at `/sys/kernel/debug`.
pub fn ensure_debugfs() -> io::Result<()> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    if mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("/sys/kernel/debug"))
    {
        return Ok(());
    }
    let c = |s: &str| CString::new(s).expect("no NUL");
    let (src, target, fstype) = (c("debugfs"), c("/sys/kernel/debug"), c("debugfs"));
    // SAFETY: all pointers are valid NUL-terminated strings; data is NULL.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_errors_read_as_systemtaps_staprun_prints_them() {
        // Observed with SystemTap 5.1 (tests/oracle/staprun_params.stp):
        // `num=abc` is EINVAL, a string past MAXSTRINGLEN ENOSPC.
        let text = |code| load_error_text(&io::Error::from_raw_os_error(code));
        assert_eq!(text(libc::EINVAL), "Invalid parameters");
        assert_eq!(text(libc::ENOSPC), "No space left on device");
        assert_eq!(text(libc::ENOEXEC), "Invalid module format");
    }

    #[test]
    fn renamed_modules_keep_their_length_as_systemtaps_do() {
        // Observed with SystemTap 5.1's staprun -R (tests/oracle/staprun.stp).
        assert_eq!(unique_name("o_staprun_rename", 336), "o_staprun_re_336");
        assert_eq!(unique_name("o_staprun_r", 367), "o_stapr_367");
        assert_eq!(
            unique_name(
                "o_staprun_rename_a_module_with_a_name_of_forty_eight_ch",
                397
            ),
            "o_staprun_rename_a_module_with_a_name_of_forty_eigh_397"
        );
        // Ours: a name shorter than the suffix is all suffix.
        assert_eq!(unique_name("ab", 4321), "_4321");
    }
}
