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
        _ => err.to_string(),
    }
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
