//! `staprun`: loads a stapkit module (or the one of a bundle that fits the
//! running kernel), streams its output, runs its end probes on exit or
//! Ctrl-C, and unloads it; or leaves it running (`-L`, `-F` flight
//! recorder) to be attached to (`-A`) and removed (`-d`) later.
//! `options.rs` has the command line.
//!
//! Exit status 0 when the script ran and ended cleanly (or staprun
//! detached), 1 when it reported errors or could not be run; 234 (the
//! low byte of -EINVAL) when `-d` names no loaded module, as SystemTap's.

mod bundle;
mod child;
mod input;
mod markers;
mod module;
mod options;
mod output;
mod protocol;
mod session;
mod system;
mod tz;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use options::{Mode, Options};
use output::Output;
use protocol::{Summary, PROTOCOL};
use session::{Ending, Stream};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match options::parse_args(&args) {
        Ok(o) => o,
        Err(refusal) => {
            if let Some(msg) = &refusal.message {
                eprintln!("{msg}");
            }
            print!("{}", options::usage(&bundle::this_host().release));
            return ExitCode::from(refusal.status);
        }
    };
    let result = match opts.mode {
        Mode::Version => {
            println!(
                "stapkit staprun {} (channel protocols 1 to {PROTOCOL})",
                env!("CARGO_PKG_VERSION")
            );
            Ok(None)
        }
        Mode::List => list(&opts).map(|()| None).map_err(Failure::from),
        Mode::Run => run(&opts),
        Mode::Attach => attach(&opts),
        Mode::Delete => delete(&opts),
    };
    match result {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(s)) if s.errors == 0 && s.error_exit == 0 && !s.child_failed => ExitCode::SUCCESS,
        Ok(Some(_)) => ExitCode::FAILURE,
        Err(Failure::Message(msg)) => {
            eprintln!("ERROR: {msg}");
            ExitCode::FAILURE
        }
        Err(Failure::NotAZombie(name)) => {
            eprintln!("ERROR: '{name}' is not a zombie systemtap module.");
            ExitCode::from(234)
        }
    }
}

/// Why staprun stopped.
enum Failure {
    /// `ERROR: MESSAGE`, exit 1.
    Message(String),
    /// `-d NAME` with no such module loaded.
    NotAZombie(String),
}

impl From<String> for Failure {
    fn from(msg: String) -> Failure {
        Failure::Message(msg)
    }
}

/// The module to load: its image, where it came from, and whether that is
/// a file of its own (for `finit_module`).
struct Source {
    image: Vec<u8>,
    label: String,
    file: Option<PathBuf>,
}

/// MODULE as given, or `/lib/modules/RELEASE/systemtap/NAME.ko` for a bare
/// name that is no file here.
fn module_path(module: &Path) -> PathBuf {
    let bare = module.components().count() == 1 && !module.exists();
    if bare {
        let release = bundle::this_host().release;
        let name = module.to_string_lossy();
        let name = name.strip_suffix(".ko").unwrap_or(&name);
        let installed = PathBuf::from(format!("/lib/modules/{release}/systemtap/{name}.ko"));
        if installed.exists() {
            return installed;
        }
    }
    module.to_path_buf()
}

fn read_bundle(path: &Path) -> Result<(Vec<u8>, bundle::Manifest), String> {
    let data =
        std::fs::read(path).map_err(|e| format!("Couldn't read '{}': {e}", path.display()))?;
    if !bundle::is_bundle(&data) {
        return Err(format!(
            "'{}' is not a stapkit bundle (a tar with a MANIFEST)",
            path.display()
        ));
    }
    let manifest = {
        let files =
            bundle::tar_files(&data).map_err(|e| format!("bundle '{}': {e}", path.display()))?;
        let (_, text) = files
            .iter()
            .find(|(n, _)| n == "MANIFEST")
            .ok_or_else(|| format!("bundle '{}' has no MANIFEST", path.display()))?;
        bundle::parse_manifest(&String::from_utf8_lossy(text))
            .map_err(|e| format!("bundle '{}': {e}", path.display()))?
    };
    Ok((data, manifest))
}

fn list(opts: &Options) -> Result<(), String> {
    let (_, manifest) = read_bundle(&opts.module)?;
    print!("{}", bundle::listing(&manifest, &bundle::this_host()));
    Ok(())
}

fn read_source(opts: &Options) -> Result<Source, String> {
    let path = module_path(&opts.module);
    let data = std::fs::read(&path)
        .map_err(|e| format!("Couldn't read module '{}': {e}", path.display()))?;
    if !bundle::is_bundle(&data) {
        return Ok(Source {
            image: data,
            label: path.display().to_string(),
            file: Some(path),
        });
    }
    let (data, manifest) = read_bundle(&path)?;
    let host = bundle::this_host();
    let entry = bundle::choose(&manifest, &host, &path.display().to_string())?;
    let files =
        bundle::tar_files(&data).map_err(|e| format!("bundle '{}': {e}", path.display()))?;
    let (_, image) = files
        .iter()
        .find(|(n, _)| *n == entry.file)
        .ok_or_else(|| {
            format!(
                "bundle '{}' lists {} but does not hold it",
                path.display(),
                entry.file
            )
        })?;
    if opts.verbose > 0 {
        eprintln!(
            "staprun: {}: chose {} for {} {}",
            path.display(),
            entry.file,
            entry.release,
            entry.arch
        );
    }
    Ok(Source {
        image: image.to_vec(),
        label: format!("{}:{}", path.display(), entry.file),
        file: None,
    })
}

/// Refuses a module speaking a channel protocol this staprun does not,
/// or one too old for what was asked.
fn check_protocol(protocol: u32, label: &str, needs_detach: bool) -> Result<(), String> {
    if protocol > PROTOCOL {
        return Err(format!(
            "'{label}' was built by a newer stapkit (channel protocol {protocol}; this staprun {} speaks 1 to {PROTOCOL}): \
             run it with the staprun of the stapkit that built it",
            env!("CARGO_PKG_VERSION")
        ));
    }
    if needs_detach && protocol < 2 {
        return Err(format!(
            "'{label}' was built by an older stapkit (channel protocol {protocol}), which cannot detach or keep a \
             flight recorder (-L, -F, -A need protocol 2): rebuild it with this stapkit's stap"
        ));
    }
    Ok(())
}

/// Sets this process's name (its comm, what execname() reads).
fn name_process(name: &str) {
    if let Ok(name) = std::ffi::CString::new(name) {
        // SAFETY: PR_SET_NAME reads a NUL-terminated string of up to 16 bytes.
        unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
    }
}

/// `-D`: forks; the parent prints the child's pid and exits, the child
/// goes on in its own session with stdin and stdout on /dev/null.
fn daemonize() -> Result<(), String> {
    // SAFETY: fork in a single-threaded process.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!(
            "cannot run in the background: {}",
            std::io::Error::last_os_error()
        ));
    }
    if pid > 0 {
        println!("{pid}");
        std::process::exit(0);
    }
    // SAFETY: setsid and dup2 onto the standard descriptors of /dev/null.
    unsafe {
        libc::setsid();
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::close(null);
        }
    }
    Ok(())
}

fn open_output(opts: &Options) -> Result<Output, String> {
    match &opts.output {
        Some(pattern) => Output::files(pattern, opts.rotation).map_err(|e| e.to_string()),
        None => Ok(Output::stdout()),
    }
}

fn channel_path(name: &str) -> String {
    format!("/sys/kernel/debug/stapkit/{name}/channel")
}

fn open_channel(name: &str) -> Result<std::fs::File, String> {
    let path = channel_path(name);
    OpenOptions::new().read(true).write(true).open(&path).map_err(|e| {
        if e.raw_os_error() == Some(libc::EBUSY) {
            format!("module '{name}' is attached to another staprun; stop that one first (Ctrl-C, or Ctrl-\\ to detach it)")
        } else {
            format!("cannot open {path}: {e}")
        }
    })
}

fn run(opts: &Options) -> Result<Option<Summary>, Failure> {
    let source = read_source(opts)?;
    let built_name = module::module_name(
        source.file.as_deref().unwrap_or(&opts.module),
        &source.image,
    );
    let detaching = opts.detach || opts.flight;
    check_protocol(module::protocol_of(&source.image), &source.label, detaching)?;
    let (name, image, file) = if opts.rename {
        let new = module::unique_name(&built_name, std::process::id());
        let image = module::renamed(&source.image, &built_name, &new)
            .map_err(|e| format!("cannot rename '{}' (-R): {e}", source.label))?;
        (new, image, None)
    } else {
        (built_name, source.image, source.file)
    };
    if Path::new("/sys/module").join(&name).exists() {
        return Err(format!(
            "module '{name}' is already loaded; attach to it (staprun -A {name}), remove it (staprun -d {name}), \
             or load this one under another name (staprun -R)"
        )
        .into());
    }
    module::ensure_debugfs()
        .map_err(|e| format!("cannot mount debugfs on /sys/kernel/debug: {e}"))?;
    if opts.daemon {
        daemonize()?;
    }
    let mut out = open_output(opts)?;
    session::install_signal_handlers();
    let mut child = match &opts.command {
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
    let params = params.join(" ");
    markers::insert_module(file.as_deref().unwrap_or(&opts.module));
    let loaded = match &file {
        Some(path) => module::load(path, &params),
        None => module::load_image(&image, &params),
    };
    if let Err(e) = loaded {
        let mut msg = format!(
            "Couldn't insert module '{}': {}",
            source.label,
            module::load_error_text(&e)
        );
        if let Some(help) =
            module::signature_help(&e, module::is_signed(&image), module::locked_down())
        {
            msg.push_str(&format!("\nstaprun: {help}"));
        }
        return Err(msg.into());
    }
    if opts.verbose > 0 {
        eprintln!("staprun: loaded module {name}");
    }
    let result = start_and_stream(opts, &name, &mut out, child.take());
    match result {
        Ok(Ending::Detached) => {
            if opts.detach || opts.flight {
                eprintln!("\nDisconnecting from systemtap module.\nTo reconnect, type \"staprun -A {name}\"");
            }
            Ok(None)
        }
        Ok(Ending::Done(summary)) => Ok(finish(&name, summary)?),
        Err(e) => {
            module::unload(&name).ok();
            Err(e.into())
        }
    }
}

/// Starts the session (flight recorder first when asked) and streams it,
/// or detaches at once for -L / -F.
fn start_and_stream(
    opts: &Options,
    name: &str,
    out: &mut Output,
    mut child: Option<child::Child>,
) -> Result<Ending, String> {
    let mut channel = open_channel(name)?;
    // Begin and end probes run in this process; SystemTap runs them in
    // stapio, and scripts print execname() there.
    name_process("stapio");
    if opts.flight {
        markers::send_command(&mut channel, b"flight")
            .map_err(|e| format!("cannot start the flight recorder: {e}"))?;
    }
    markers::send_command(&mut channel, b"start")
        .map_err(|e| format!("cannot start the session: {e}"))?;
    if let Some(c) = &mut child {
        c.release()
            .map_err(|e| format!("cannot start the -c command: {e}"))?;
    }
    if opts.detach || opts.flight {
        return Ok(Ending::Detached);
    }
    input::feed(name);
    Stream {
        channel,
        path: channel_path(name),
        out,
        child,
        suppress_warnings: opts.suppress_warnings,
        quiet: false,
    }
    .run()
}

/// Unloads a finished module and reports lost output, as SystemTap does.
fn finish(name: &str, summary: Summary) -> Result<Option<Summary>, String> {
    module::unload(name).map_err(|e| format!("Couldn't remove module '{name}': {e}"))?;
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
    Ok(Some(summary))
}

/// The loaded module's name from `-A NAME` / `-d NAME` (a path or
/// `NAME.ko` accepted), and its channel protocol; `None` when no such
/// module is loaded.
fn loaded_module(opts: &Options) -> Result<Option<(String, u32)>, String> {
    let given = opts.module.to_string_lossy();
    let base = given.rsplit('/').next().unwrap_or(&given);
    let name = base.strip_suffix(".ko").unwrap_or(base).replace('-', "_");
    if !Path::new("/sys/module").join(&name).exists() {
        return Ok(None);
    }
    module::ensure_debugfs()
        .map_err(|e| format!("cannot mount debugfs on /sys/kernel/debug: {e}"))?;
    let dir = format!("/sys/kernel/debug/stapkit/{name}");
    if !Path::new(&dir).exists() {
        return Err(format!(
            "module '{name}' is not a stapkit module (no {dir})"
        ));
    }
    let protocol = std::fs::read_to_string(format!("{dir}/protocol"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(1);
    Ok(Some((name, protocol)))
}

fn attach(opts: &Options) -> Result<Option<Summary>, Failure> {
    let Some((name, protocol)) = loaded_module(opts)? else {
        // SystemTap's staprun says it twice (its stapio too).
        let given = opts.module.to_string_lossy();
        let msg = format!("Cannot attach to module {given} control channel; not running?");
        eprintln!("ERROR: {msg}");
        return Err(msg.into());
    };
    check_protocol(protocol, &name, true)?;
    if opts.daemon {
        daemonize()?;
    }
    let mut out = open_output(opts)?;
    session::install_signal_handlers();
    let channel = open_channel(&name)?;
    name_process("stapio");
    let ending = Stream {
        channel,
        path: channel_path(&name),
        out: &mut out,
        child: None,
        suppress_warnings: opts.suppress_warnings,
        quiet: false,
    }
    .run()?;
    match ending {
        Ending::Detached => {
            eprintln!(
                "\nDisconnecting from systemtap module.\nTo reconnect, type \"staprun -A {name}\""
            );
            Ok(None)
        }
        Ending::Done(summary) => Ok(finish(&name, summary)?),
    }
}

/// `-d`: stops the session (its end probes run; their output, like any
/// the module still holds, is not read, as SystemTap's `-d` prints
/// nothing) and unloads the module; exits 0 whatever the script did.
/// `-d '*'` does so for every stapkit module no staprun is attached to.
fn delete(opts: &Options) -> Result<Option<Summary>, Failure> {
    if opts.module.as_os_str() == "*" {
        return delete_unused();
    }
    let Some((name, protocol)) = loaded_module(opts)? else {
        return Err(Failure::NotAZombie(
            opts.module.to_string_lossy().into_owned(),
        ));
    };
    delete_loaded(&name, protocol)?;
    Ok(None)
}

/// `-d '*'`: "Use "*" (quoted) to delete all unused modules" (staprun(8)):
/// every loaded stapkit module whose channel no staprun holds (detached
/// with -L, -F or Ctrl-\), silently, exit 0, also when there is none.
/// (SystemTap 5.1's staprun was seen to remove none of its own detached
/// modules so; docs/oracle/FINDINGS.md, "Module options".)
fn delete_unused() -> Result<Option<Summary>, Failure> {
    module::ensure_debugfs()
        .map_err(|e| format!("cannot mount debugfs on /sys/kernel/debug: {e}"))?;
    let Ok(entries) = std::fs::read_dir("/sys/kernel/debug/stapkit") else {
        return Ok(None);
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| Path::new("/sys/module").join(n).exists())
        .collect();
    names.sort();
    for name in names {
        let protocol =
            std::fs::read_to_string(format!("/sys/kernel/debug/stapkit/{name}/protocol"))
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(1);
        if protocol >= 2 {
            // An attached staprun holds the channel: that module is in use.
            match OpenOptions::new()
                .read(true)
                .write(true)
                .open(channel_path(&name))
            {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => continue,
                _ => {}
            }
        }
        delete_loaded(&name, protocol)?;
    }
    Ok(None)
}

/// Stops and unloads module `name`, speaking channel `protocol`.
fn delete_loaded(name: &str, protocol: u32) -> Result<(), Failure> {
    if protocol < 2 {
        module::unload(name).map_err(|e| format!("Couldn't remove module '{name}': {e}"))?;
        return Ok(());
    }
    let mut out = Output::discard();
    let mut channel = open_channel(name)?;
    markers::send_command(&mut channel, b"stop")
        .map_err(|e| format!("cannot stop the session: {e}"))?;
    session::install_signal_handlers();
    let ending = Stream {
        channel,
        path: channel_path(name),
        out: &mut out,
        child: None,
        suppress_warnings: true,
        quiet: true,
    }
    .run()?;
    if let Ending::Done(_) = ending {
        module::unload(name).map_err(|e| format!("Couldn't remove module '{name}': {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_name_falls_back_to_the_file_stem() {
        assert_eq!(
            module::module_name(Path::new("/x/my-mod.ko"), b"not elf"),
            "my_mod"
        );
    }

    #[test]
    fn protocols_are_checked_both_ways() {
        assert!(check_protocol(1, "m.ko", false).is_ok());
        assert!(check_protocol(2, "m.ko", true).is_ok());
        assert!(check_protocol(3, "m.ko", true).is_ok());
        let newer = check_protocol(4, "m.ko", false).unwrap_err();
        assert!(
            newer.contains("built by a newer stapkit (channel protocol 4"),
            "{newer}"
        );
        let older = check_protocol(1, "m.ko", true).unwrap_err();
        assert!(
            older.contains("older stapkit (channel protocol 1)"),
            "{older}"
        );
    }

    #[test]
    fn unsigned_modules_refused_by_the_kernel_get_a_fix() {
        let rejected = std::io::Error::from_raw_os_error(libc::EKEYREJECTED);
        let unsigned = module::signature_help(&rejected, false, false).unwrap();
        assert!(unsigned.contains("loads only signed modules"), "{unsigned}");
        assert!(unsigned.contains("stap --sign-module"), "{unsigned}");
        let signed = module::signature_help(&rejected, true, false).unwrap();
        assert!(
            signed.contains("not with a key this kernel trusts"),
            "{signed}"
        );
        let eperm = std::io::Error::from_raw_os_error(libc::EPERM);
        assert!(module::signature_help(&eperm, false, true)
            .unwrap()
            .contains("locked down"));
        assert!(module::signature_help(&eperm, false, false).is_none());
    }
}
