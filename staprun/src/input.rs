//! The input probes' feed: a module with `input.char`/`input.line`
//! probes has the procfs file `/proc/systemtap/MODULE/__stdin`, and
//! staprun copies its own standard input there, one character per
//! write (each write runs `input.char` once), from a thread of its own
//! until the input ends or the file goes with the module.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::PathBuf;

/// The module's input file, if it has input probes.
fn input_file(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(format!("/proc/systemtap/{name}/__stdin"));
    path.exists().then_some(path)
}

/// Starts copying standard input to module `name`'s input file, when
/// it has one.
pub fn feed(name: &str) {
    let Some(path) = input_file(name) else {
        return;
    };
    std::thread::spawn(move || {
        let Ok(mut file) = OpenOptions::new().write(true).open(&path) else {
            return;
        };
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            for byte in &buf[..n] {
                if file.write_all(std::slice::from_ref(byte)).is_err() {
                    return;
                }
            }
        }
    });
}
