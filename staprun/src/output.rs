//! Where the script's output goes: stdout, or `-o FILE` — FILE a
//! strftime(3) pattern expanded in local time when each file is opened —
//! with `-S SIZE[,N]` rotation as SystemTap's staprun does it: the files
//! are `FILE.0`, `FILE.1`, ...; the write that takes the current one to
//! SIZE or past it is its last (writes are whole records, so a record is
//! never split across files), and with N only the newest N are kept.
//! SIGUSR2 (`switch_file`) also starts the next file.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};

use crate::options::Rotation;

/// The output sink.
pub struct Output {
    target: Target,
}

enum Target {
    Stdout(io::Stdout),
    Files(Files),
    Discard,
}

struct Files {
    pattern: String,
    rotation: Option<Rotation>,
    /// Files switched by SIGUSR2 without -S are `FILE.1`, `FILE.2`, ...
    numbered: bool,
    next_index: u64,
    current: File,
    written: u64,
    /// Names of the files this run created, oldest first.
    created: VecDeque<String>,
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Output {
        Output {
            target: Target::Stdout(io::stdout()),
        }
    }

    /// Nowhere (`-d`).
    pub fn discard() -> Output {
        Output {
            target: Target::Discard,
        }
    }

    /// Files named by `pattern`, opened now.
    pub fn files(pattern: &str, rotation: Option<Rotation>) -> io::Result<Output> {
        let mut files = Files {
            pattern: pattern.to_string(),
            rotation,
            numbered: rotation.is_some(),
            next_index: 0,
            current: File::create("/dev/null")?,
            written: 0,
            created: VecDeque::new(),
        };
        files.open_next()?;
        Ok(Output {
            target: Target::Files(files),
        })
    }

    /// Writes one record's bytes.
    pub fn write_record(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.target {
            Target::Stdout(out) => out.write_all(bytes),
            Target::Files(files) => files.write(bytes),
            Target::Discard => Ok(()),
        }
    }

    /// Starts the next file (SIGUSR2); stdout has none.
    pub fn switch_file(&mut self) -> io::Result<()> {
        match &mut self.target {
            Target::Stdout(_) | Target::Discard => Ok(()),
            Target::Files(files) => {
                if !files.numbered {
                    // Without -S the first file keeps its plain name and
                    // the switched ones are numbered from 1.
                    files.numbered = true;
                    files.next_index = 1;
                }
                files.open_next()
            }
        }
    }

    /// Flushes buffered output.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.target {
            Target::Stdout(out) => out.flush(),
            Target::Files(files) => files.current.flush(),
            Target::Discard => Ok(()),
        }
    }
}

impl Files {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(r) = self.rotation {
            if self.written >= r.max_bytes {
                self.open_next()?;
            }
        }
        self.current.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn open_next(&mut self) -> io::Result<()> {
        let base = expand_time(&self.pattern);
        let name = if self.numbered {
            format!("{base}.{}", self.next_index)
        } else {
            base
        };
        self.next_index += 1;
        self.current = File::create(&name)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create {name}: {e}")))?;
        self.written = 0;
        self.created.push_back(name);
        if let Some(keep) = self.rotation.and_then(|r| r.keep) {
            while self.created.len() > keep as usize {
                if let Some(old) = self.created.pop_front() {
                    std::fs::remove_file(&old).ok();
                }
            }
        }
        Ok(())
    }
}

/// `pattern` with its strftime(3) conversions expanded for now, local time.
pub fn expand_time(pattern: &str) -> String {
    if !pattern.contains('%') {
        return pattern.to_string();
    }
    let Ok(fmt) = std::ffi::CString::new(pattern) else {
        return pattern.to_string();
    };
    let mut buf = vec![0u8; 4096];
    // SAFETY: time(NULL) and localtime_r into a zeroed tm are valid;
    // strftime writes at most buf.len() bytes and returns how many.
    let n = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm)
    };
    if n == 0 {
        return pattern.to_string();
    }
    buf.truncate(n);
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn rotation_keeps_the_newest_n_files_of_whole_records() {
        let dir = tempdir();
        let pattern = dir.join("out").display().to_string();
        let rotation = Rotation {
            max_bytes: 10,
            keep: Some(2),
        };
        let mut out = Output::files(&pattern, Some(rotation)).unwrap();
        for record in ["aaaa\n", "bbbb\n", "cccc\n", "dddddddddddd\n", "e\n"] {
            out.write_record(record.as_bytes()).unwrap();
        }
        out.flush().unwrap();
        // out.0 = a+b (10 bytes: full), out.1 = c and the long record
        // that takes it past 10, out.2 = e; two kept.
        assert_eq!(names(&dir), ["out.1", "out.2"]);
        let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
        assert_eq!(read("out.1"), "cccc\ndddddddddddd\n");
        assert_eq!(read("out.2"), "e\n");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn without_rotation_sigusr2_numbers_from_one() {
        let dir = tempdir();
        let pattern = dir.join("log").display().to_string();
        let mut out = Output::files(&pattern, None).unwrap();
        out.write_record(b"one\n").unwrap();
        out.switch_file().unwrap();
        out.write_record(b"two\n").unwrap();
        out.flush().unwrap();
        assert_eq!(names(&dir), ["log", "log.1"]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn strftime_patterns_expand() {
        assert_eq!(expand_time("plain.txt"), "plain.txt");
        let year = expand_time("out-%Y");
        assert!(year.starts_with("out-2") && year.len() == 8, "{year}");
        assert_eq!(expand_time("100%%"), "100%");
    }

    fn tempdir() -> std::path::PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "staprun-output-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
