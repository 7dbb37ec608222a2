//! `staprun`: loads a stapkit module, streams its output, runs its end
//! probes on exit or Ctrl-C, and unloads it.
//!
//! Usage: `staprun [-v] [-o FILE] [-x PID | -c CMD] MODULE.ko [name=value...]`.
//! With `-c CMD`, the command runs (exec'd directly when it is plain
//! words, else under `/bin/sh -c`) once the begin probes have, its pid is
//! the script's `target()`, and the session ends when it exits. Exit status 0
//! when the script ran and ended cleanly, 1 when it reported errors or could
//! not be run.

mod child;
mod module;
mod protocol;
mod tz;

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use protocol::{Decoder, Record, Summary};

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Parsed command line.
#[derive(Debug, Default, PartialEq)]
struct Options {
    module: PathBuf,
    params: Vec<String>,
    output: Option<PathBuf>,
    target: Option<u32>,
    command: Option<String>,
    verbose: u32,
}

fn usage() -> String {
    "usage: staprun [-v] [-o FILE] [-x PID | -c CMD] MODULE.ko [name=value...]".to_string()
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut opts = Options::default();
    let mut module = None;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        match arg.as_str() {
            "-v" => opts.verbose += 1,
            "-o" => {
                i += 1;
                let file = args
                    .get(i)
                    .ok_or_else(|| format!("-o needs a file name\n{}", usage()))?;
                opts.output = Some(PathBuf::from(file));
            }
            "-x" => {
                i += 1;
                let pid = args
                    .get(i)
                    .ok_or_else(|| format!("-x needs a process id\n{}", usage()))?;
                let pid = pid
                    .parse()
                    .map_err(|_| format!("-x needs a process id, not '{pid}'"))?;
                opts.target = Some(pid);
            }
            "-c" => {
                i += 1;
                let cmd = args
                    .get(i)
                    .ok_or_else(|| format!("-c needs a command\n{}", usage()))?;
                opts.command = Some(cmd.clone());
            }
            "-h" | "--help" => return Err(usage()),
            _ if arg.starts_with("-o") && arg.len() > 2 => {
                opts.output = Some(PathBuf::from(&arg[2..]))
            }
            _ if arg.starts_with('-') && module.is_none() => {
                return Err(format!("unknown option '{arg}'\n{}", usage()))
            }
            _ if module.is_none() => module = Some(PathBuf::from(arg)),
            _ if arg.contains('=') => opts.params.push(arg.clone()),
            _ => return Err(format!("module parameters must be name=value, not '{arg}'")),
        }
        i += 1;
    }
    opts.module = module.ok_or_else(usage)?;
    if opts.command.is_some() && opts.target.is_some() {
        return Err("-c and -x cannot be used together".to_string());
    }
    Ok(opts)
}

static CHILD_EXITED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

extern "C" fn on_child(_: libc::c_int) {
    CHILD_EXITED.store(true, Ordering::SeqCst);
}

/// Installs SIGINT/SIGTERM/SIGHUP handlers without SA_RESTART, so a
/// blocked channel read returns EINTR and the loop can send `stop`.
fn install_signal_handlers() {
    let handlers: [(libc::c_int, extern "C" fn(libc::c_int)); 4] = [
        (libc::SIGINT, on_signal),
        (libc::SIGTERM, on_signal),
        (libc::SIGHUP, on_signal),
        (libc::SIGCHLD, on_child),
    ];
    for (sig, handler) in handlers {
        // SAFETY: a zeroed sigaction with a plain handler and no flags is valid.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_args(&args) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::FAILURE;
        }
    };
    match run(&opts) {
        Ok(summary) if summary.errors == 0 && summary.error_exit == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(msg) => {
            eprintln!("ERROR: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &Options) -> Result<Summary, String> {
    let image = std::fs::read(&opts.module)
        .map_err(|e| format!("Couldn't read module '{}': {e}", opts.module.display()))?;
    let name = module::module_name(&opts.module, &image);
    if Path::new("/sys/module").join(&name).exists() {
        return Err(format!(
            "module '{name}' is already loaded; unload it first (rmmod {name})"
        ));
    }
    module::ensure_debugfs()
        .map_err(|e| format!("cannot mount debugfs on /sys/kernel/debug: {e}"))?;
    let mut out: Box<dyn Write> = match &opts.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        ),
        None => Box::new(io::stdout()),
    };
    install_signal_handlers();
    let child = match &opts.command {
        Some(cmd) => Some(
            child::Child::spawn_waiting(cmd).map_err(|e| format!("cannot start '{cmd}': {e}"))?,
        ),
        None => None,
    };
    let mut params = opts.params.clone();
    if let Some(pid) = opts.target.or(child.as_ref().map(|c| c.pid())) {
        params.push(format!("_stp_target={pid}"));
    }
    params.extend(tz::params(&opts.params));
    module::load(&opts.module, &params.join(" ")).map_err(|e| {
        format!(
            "Couldn't insert module '{}': {}",
            opts.module.display(),
            module::load_error_text(&e)
        )
    })?;
    if opts.verbose > 0 {
        eprintln!("staprun: loaded module {name}");
    }
    let result = stream(&name, out.as_mut(), child);
    let unloaded = module::unload(&name);
    let summary = result?;
    unloaded.map_err(|e| format!("Couldn't remove module '{name}': {e}"))?;
    if summary.dropped > 0 {
        // SystemTap's words for output that did not fit the buffer.
        eprintln!(
            "WARNING: There were {} transport failures. Try stap -s to increase the buffer size from {}.",
            summary.dropped, summary.buffer_mb
        );
        eprintln!(
            "WARNING: There were 0 lost messages and {} lost bytes.",
            summary.dropped_bytes
        );
    }
    Ok(summary)
}

/// Starts the session and copies records to stdout/stderr until `DONE`.
/// Sets this process's name (its comm, what execname() reads).
fn name_process(name: &str) {
    if let Ok(name) = std::ffi::CString::new(name) {
        // SAFETY: PR_SET_NAME reads a NUL-terminated string of up to 16 bytes.
        unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
    }
}

fn stream(
    name: &str,
    out: &mut dyn Write,
    mut child: Option<child::Child>,
) -> Result<Summary, String> {
    let path = format!("/sys/kernel/debug/stapkit/{name}/channel");
    let mut channel = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {path}: {e}"))?;
    // Begin and end probes run in this process; SystemTap runs them in
    // stapio, and scripts print execname() there.
    name_process("stapio");
    channel
        .write_all(b"start")
        .map_err(|e| format!("cannot start the session: {e}"))?;
    if let Some(c) = &mut child {
        c.release()
            .map_err(|e| format!("cannot start the -c command: {e}"))?;
    }
    let mut stop_sent = false;
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut stderr = io::stderr();
    loop {
        if CHILD_EXITED.swap(false, Ordering::SeqCst)
            && child.as_mut().is_some_and(|c| c.try_reap())
        {
            STOP_REQUESTED.store(true, Ordering::SeqCst);
        }
        if STOP_REQUESTED.load(Ordering::SeqCst) && !stop_sent {
            stop_sent = true;
            channel
                .write_all(b"stop")
                .map_err(|e| format!("cannot stop the session: {e}"))?;
        }
        let n = match channel.read(&mut buf) {
            Ok(0) => return Err("the module closed its channel before finishing".to_string()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("reading {path}: {e}")),
        };
        decoder.push(&buf[..n]);
        while let Some(record) = decoder.next_record() {
            match record {
                Record::Stdout(bytes) => out
                    .write_all(&bytes)
                    .map_err(|e| format!("writing output: {e}"))?,
                Record::Stderr(bytes) => {
                    out.flush().ok();
                    stderr.write_all(&bytes).ok();
                }
                Record::Exit => STOP_REQUESTED.store(true, Ordering::SeqCst),
                Record::Done(summary) => {
                    out.flush().map_err(|e| format!("writing output: {e}"))?;
                    return Ok(summary);
                }
                Record::Unknown(_) => {}
            }
        }
        out.flush().map_err(|e| format!("writing output: {e}"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_module_params_and_output() {
        let o = parse_args(&args("-v -o out.txt m.ko a=1 b=x")).unwrap();
        assert_eq!(
            o,
            Options {
                module: "m.ko".into(),
                params: vec!["a=1".into(), "b=x".into()],
                output: Some("out.txt".into()),
                target: None,
                command: None,
                verbose: 1
            }
        );
        assert!(parse_args(&args("")).unwrap_err().starts_with("usage:"));
        assert!(parse_args(&args("-q m.ko"))
            .unwrap_err()
            .starts_with("unknown option '-q'"));
        assert!(parse_args(&args("m.ko junk"))
            .unwrap_err()
            .contains("name=value"));
        assert_eq!(parse_args(&args("-x 42 m.ko")).unwrap().target, Some(42));
        assert!(parse_args(&args("-x abc m.ko"))
            .unwrap_err()
            .contains("process id"));
        assert_eq!(
            parse_args(&args("-c true m.ko"))
                .unwrap()
                .command
                .as_deref(),
            Some("true")
        );
        assert!(parse_args(&args("-c true -x 1 m.ko"))
            .unwrap_err()
            .contains("cannot be used together"));
    }

    #[test]
    fn module_name_falls_back_to_the_file_stem() {
        assert_eq!(
            module::module_name(Path::new("/x/my-mod.ko"), b"not elf"),
            "my_mod"
        );
    }
}
