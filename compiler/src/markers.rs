//! `stap`'s own SDT markers: the static probe points SystemTap's tapset
//! documents as `stap.pass0` ... `stap.pass6.end`, `stap.cache_*` and
//! `stap.system*` (`runtime-c/tapset/stap_staticmarkers.stp` names them
//! with `process("stap").mark(...)`). Each is a `.note.stapsdt` note
//! with a nop at its place, written by the `probe` crate's `probe!`
//! macro; they cost nothing until a uprobe is placed there. The markers
//! have the provider, names and argument order of SystemTap's own `stap`
//! (as `readelf -n` shows them), so scripts written for either program
//! find their markers in both. A string argument is the address of a
//! NUL-terminated copy that lives until the marker has fired.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use probe::probe;

/// A NUL-terminated copy of `bytes` (cut at an inner NUL, as C sees it).
fn c_text(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).unwrap_or_default()
}

fn c_path(path: &Path) -> CString {
    c_text(path.as_os_str().as_bytes())
}

/// Where a pass marker stands: at the pass's start or its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Start,
    End,
}

/// The marker of pass `pass` (0 to 6; pass 1 has `1a`/`1b` starts, see
/// [`pass1b`]) at `edge`; `session` is the address of the run's state
/// (SystemTap's `systemtap_session`, here the driver's pipeline).
pub fn pass(pass: u8, edge: Edge, session: usize) {
    match (pass, edge) {
        (0, Edge::Start) => probe!(stap, pass0__start, session),
        (0, Edge::End) => probe!(stap, pass0__end, session),
        (1, Edge::Start) => probe!(stap, pass1a__start, session),
        (1, Edge::End) => probe!(stap, pass1__end, session),
        (2, Edge::Start) => probe!(stap, pass2__start, session),
        (2, Edge::End) => probe!(stap, pass2__end, session),
        (3, Edge::Start) => probe!(stap, pass3__start, session),
        (3, Edge::End) => probe!(stap, pass3__end, session),
        (4, Edge::Start) => probe!(stap, pass4__start, session),
        (4, Edge::End) => probe!(stap, pass4__end, session),
        (5, Edge::Start) => probe!(stap, pass5__start, session),
        (5, Edge::End) => probe!(stap, pass5__end, session),
        (6, Edge::Start) => probe!(stap, pass6__start, session),
        (6, Edge::End) => probe!(stap, pass6__end, session),
        _ => {}
    }
}

/// Pass 1's second start: the user's script is read, the library is next.
pub fn pass1b(session: usize) {
    probe!(stap, pass1b__start, session);
}

/// A module is taken from the cache: its entry, and the C source that
/// came with it (empty: stapkit caches modules only).
pub fn cache_get(module: &Path, source: &Path) {
    let (module, source) = (c_path(module), c_path(source));
    probe!(stap, cache__get, module.as_ptr(), source.as_ptr());
}

/// A built module is about to be copied from `source` into the cache at
/// `dest`.
pub fn cache_add_module(source: &Path, dest: &Path) {
    let (source, dest) = (c_path(source), c_path(dest));
    probe!(stap, cache__add__module, dest.as_ptr(), source.as_ptr());
}

/// A cached module is about to be removed (eviction or `--clean-cache`).
pub fn cache_clean(path: &Path) {
    let path = c_path(path);
    probe!(stap, cache__clean, path.as_ptr());
}

/// A command is about to be run (`command` as a shell would read it).
pub fn system_start(command: &str) {
    let command = c_text(command.as_bytes());
    probe!(stap, stap_system__start, command.as_ptr());
}

/// The command was started: 0 or the `errno` of the failure, and its
/// process id (0 when it could not be).
pub fn system_spawn(pid: u32, ret: i32) {
    probe!(stap, stap_system__spawn, ret as isize, pid as isize);
}

/// The command ended: its wait status (non-zero on failure) and pid.
pub fn system_complete(pid: u32, ret: i32) {
    probe!(stap, stap_system__complete, ret as isize, pid as isize);
}

/// Runs `command` (spawned, then waited for) between the `stap_system`
/// markers; what `Command::output` gives.
pub fn run_command(command: &mut std::process::Command) -> std::io::Result<std::process::Output> {
    let text = format!("{command:?}");
    system_start(&text);
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            system_spawn(0, e.raw_os_error().unwrap_or(-1));
            return Err(e);
        }
    };
    let pid = child.id();
    system_spawn(pid, 0);
    let out = child.wait_with_output();
    let status = out.as_ref().map_or(-1, |o| {
        std::os::unix::process::ExitStatusExt::into_raw(o.status)
    });
    system_complete(pid, status);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_arguments_stop_at_an_inner_nul() {
        assert_eq!(c_text(b"make\0junk").as_bytes(), b"make");
        assert_eq!(c_path(Path::new("/a/b.ko")).as_bytes(), b"/a/b.ko");
    }

    #[test]
    fn run_command_gives_the_output_and_status() {
        let out =
            run_command(std::process::Command::new("/bin/sh").args(["-c", "echo hi; exit 3"]))
                .unwrap();
        assert_eq!(out.stdout, b"hi\n");
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    fn this_program_carries_the_markers() {
        // Firing a marker nobody probes is a nop; it also links each in.
        for n in 0..=6 {
            pass(n, Edge::Start, 0);
            pass(n, Edge::End, 0);
        }
        pass1b(0);
        cache_get(Path::new("/m.ko"), Path::new(""));
        cache_add_module(Path::new("/a.ko"), Path::new("/b.ko"));
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let names: Vec<String> = crate::debuginfo::sdt::markers(&exe, "test")
            .unwrap()
            .into_iter()
            .filter(|m| m.provider == "stap")
            .map(|m| m.name)
            .collect();
        for name in [
            "pass0__start",
            "pass6__end",
            "pass1b__start",
            "cache__get",
            "stap_system__spawn",
        ] {
            assert!(
                names.iter().any(|n| n == name),
                "{name} missing from {names:?}"
            );
        }
    }
}
