//! `stap`: translate a SystemTap script into a kernel module for any kernel
//! tree (passes 1-4), and run it through staprun on the target (pass 5).
//!
//! What goes where and when follows real SystemTap 5.1 (observed with
//! Debian's package): a target that is not this host (`-r` another
//! release, `-a` another architecture) without `-p` stops after pass 4
//! with `WARNING: kernel release/architecture mismatch with host forces
//! last-pass 4.` first on stderr (not with `-w`), then prints the
//! module's name and exits 0; warnings are printed as each pass finds
//! them, each `-v` `Pass N:` line after its pass's messages, and a
//! failing pass's `-v` line comes before its `Pass N: ... failed.` line.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use stapkit::driver::{deliver, Failure, Pipeline, StapOptions};
use stapkit::markers::{self, Edge};

/// SystemTap's words for the forced last pass.
const MISMATCH_WARNING: &str =
    "WARNING: kernel release/architecture mismatch with host forces last-pass 4.\n";

fn main() -> ExitCode {
    let cli = StapOptions::parse();
    if let Some(ko) = cli.check_module.clone() {
        let options = match cli.check_module_options() {
            Ok(o) => o,
            Err(f) => return fail(&f),
        };
        let (text, ok) = stapkit::driver::check_module(&options, &ko);
        let _ = if ok {
            std::io::stdout().write_all(text.as_bytes())
        } else {
            std::io::stderr().write_all(text.as_bytes())
        };
        return if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    if cli.clean_cache {
        let cache = stapkit::kernel::Cache::locate(cli.cache_dir.as_deref());
        let cleaned = stapkit::modcache::clean(&cache).and_then(|modules| {
            let runtime = stapkit::runtime_object::limit::clean(&cache)?;
            Ok(modules + &runtime)
        });
        return match cleaned {
            Ok(text) => {
                if cli.verbose > 0 {
                    let _ = std::io::stderr().write_all(text.as_bytes());
                }
                ExitCode::SUCCESS
            }
            Err(message) => fail(&Failure {
                message: format!("{message}\n"),
            }),
        };
    }
    if let Some(dir) = &cli.make_mok {
        return print_or_fail(stapkit::ship::make_mok(dir.as_deref()));
    }
    let (bundle, releases) = (cli.bundle.clone(), cli.release.clone());
    let options = match cli.options() {
        Ok(o) => o,
        Err(f) => return fail(&f),
    };
    if let Some(file) = bundle {
        let verbose = options.verbose > 0;
        return print_or_fail(stapkit::ship::bundle_command(
            &options, &releases, &file, verbose,
        ));
    }
    let mut pipeline = match Pipeline::new(options) {
        Ok(p) => p,
        Err(f) => return fail(&f),
    };
    if pipeline.options.last_pass() == 5 && targets_another_host(&pipeline) {
        pipeline.options.last_pass = Some(4);
        if !pipeline.options.suppress_warnings {
            let _ = std::io::stderr().write_all(MISMATCH_WARNING.as_bytes());
        }
    }
    let mut run = Run {
        verbose: pipeline.options.verbose > 0,
        started: PassClock::now(),
        session: &pipeline as *const Pipeline as usize,
    };
    markers::pass(0, Edge::Start, run.session);
    let code = match run.passes(&mut pipeline) {
        Ok(code) => code,
        Err(f) => {
            run.failed(&mut pipeline, &f);
            ExitCode::FAILURE
        }
    };
    // SystemTap's pass 6 is its clean-up, after the last pass run.
    markers::pass(6, Edge::Start, run.session);
    drop(pipeline);
    markers::pass(6, Edge::End, run.session);
    code
}

fn print_or_fail(result: Result<String, Failure>) -> ExitCode {
    match result {
        Ok(text) => {
            let _ = std::io::stdout().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(f) => fail(&f),
    }
}

fn fail(f: &Failure) -> ExitCode {
    let _ = std::io::stderr().write_all(f.message.as_bytes());
    ExitCode::FAILURE
}

/// Whether the module is for a kernel other than the one running here:
/// another release, or another architecture.
fn targets_another_host(p: &Pipeline) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let host_arch = stapkit::arch::Arch::host();
    match &p.tree {
        Some(tree) => tree.release != release.trim() || Some(tree.arch) != host_arch,
        None => p.options.arch.is_some_and(|arch| Some(arch) != host_arch),
    }
}

/// The passes as `stap` runs them, printing as it goes.
struct Run {
    verbose: bool,
    started: PassClock,
    /// The pipeline's address: the `session` of the `stap.pass*` markers.
    session: usize,
}

impl Run {
    /// After a pass: its warnings, then its `-v` line.
    fn done(&mut self, p: &mut Pipeline, line: impl FnOnce() -> String) {
        let mut stderr = std::io::stderr();
        let _ = stderr.write_all(std::mem::take(&mut p.warnings).as_bytes());
        if self.verbose {
            let _ = writeln!(stderr, "{} {}", line(), self.started.report());
        }
        self.started = PassClock::now();
    }

    /// A failed pass: its warnings and errors, its `-v` line, then the
    /// `Pass N: ... failed.` line.
    fn failed(&mut self, p: &mut Pipeline, f: &Failure) {
        let mut stderr = std::io::stderr();
        let _ = stderr.write_all(std::mem::take(&mut p.warnings).as_bytes());
        let (body, closing) = split_closing_line(&f.message);
        let _ = stderr.write_all(body.as_bytes());
        if let (true, Some(pass)) = (self.verbose, closing_pass(closing)) {
            let line = match pass {
                1 => Some(format!(
                    "Pass 1: parsed user script and {} library scripts",
                    library_scripts()
                )),
                2 => Some(pass2_line(p.pass2_summary.unwrap_or_default())),
                _ => None,
            };
            if let Some(line) = line {
                let _ = writeln!(stderr, "{line} {}", self.started.report());
            }
        }
        let _ = stderr.write_all(closing.as_bytes());
    }

    fn passes(&mut self, p: &mut Pipeline) -> Result<ExitCode, Failure> {
        let session = self.session;
        markers::pass(0, Edge::End, session);
        let last = p.options.last_pass();
        let mut stdout = std::io::stdout();
        if p.options.dumps() {
            let _ = stdout.write_all(p.dump()?.as_bytes());
            return Ok(ExitCode::SUCCESS);
        }
        // A module the same script, options and tree built before, found
        // without passes 1 to 3 (`modcache::script`).
        if let Some(built) = p.cached_script() {
            markers::pass(4, Edge::Start, session);
            markers::pass(4, Edge::End, session);
            let mut stderr = std::io::stderr();
            let _ = stderr.write_all(std::mem::take(&mut p.warnings).as_bytes());
            return self.deliver(p, built);
        }
        markers::pass(1, Edge::Start, session);
        let ast = p.parse()?;
        markers::pass1b(session);
        if ast.items.is_empty() {
            // SystemTap's words for a script of comments and blanks only.
            return Err(Failure {
                message: format!(
                    "Input file '{}' is empty.\nPass 1: parse failed.  [man error::pass1]\n",
                    p.script.name
                ),
            });
        }
        self.done(p, || {
            format!(
                "Pass 1: parsed user script and {} library scripts",
                library_scripts()
            )
        });
        markers::pass(1, Edge::End, session);
        if p.options.lists_points() {
            let _ = stdout.write_all(p.list_points(&ast)?.as_bytes());
            return Ok(ExitCode::SUCCESS);
        }
        if last == 1 {
            let text = stapkit::syntax::dump_p1(&ast, &p.sources, &p.script.name);
            let _ = stdout.write_all(text.as_bytes());
            return Ok(ExitCode::SUCCESS);
        }
        markers::pass(2, Edge::Start, session);
        let program = p.elaborate(&ast)?;
        markers::pass(2, Edge::End, session);
        let summary = p.pass2_summary.unwrap_or_default();
        self.done(p, || pass2_line(summary));
        if last == 2 {
            let _ = stdout.write_all(stapkit::sema::listing(&program).as_bytes());
            return Ok(ExitCode::SUCCESS);
        }
        markers::pass(3, Edge::Start, session);
        let c = p.translate(&program)?;
        markers::pass(3, Edge::End, session);
        let module = p.module_name();
        // The C source, where -v says it is (kept with -k).
        let c_dir = tempfile::Builder::new()
            .prefix("stap")
            .tempdir()
            .map_err(|e| io_failure("cannot make a temporary directory", &e))?;
        let c_file = c_dir.path().join(format!("{module}_src.c"));
        std::fs::write(&c_file, &c).map_err(|e| io_failure("cannot write the C source", &e))?;
        self.done(p, || {
            format!("Pass 3: translated to C into \"{}\"", c_file.display())
        });
        if last == 3 {
            let _ = stdout.write_all(c.as_bytes());
            return Ok(ExitCode::SUCCESS);
        }
        markers::pass(4, Edge::Start, session);
        let built = p.build(&c)?;
        markers::pass(4, Edge::End, session);
        if p.options.keep {
            eprintln!(
                "Keeping temporary directory \"{}\"",
                built.dir.path().display()
            );
            let _ = c_dir.keep();
        }
        self.deliver(p, built)
    }

    /// After pass 4: the module to the current directory (signed when
    /// asked), pass 4's `-v` lines, then pass 5 or the module's name.
    fn deliver(
        &mut self,
        p: &mut Pipeline,
        built: stapkit::kernel::kbuild::BuiltModule,
    ) -> Result<ExitCode, Failure> {
        let session = self.session;
        let last = p.options.last_pass();
        let module = p.module_name();
        let cwd = std::env::current_dir()
            .map_err(|e| io_failure("cannot find the current directory", &e))?;
        let ko = deliver(&built, &module, &cwd).map_err(|e| Failure {
            message: format!("stap: cannot write {module}.ko: {e}\n"),
        })?;
        stapkit::ship::sign_delivered(p, &ko)?;
        let mut stderr = std::io::stderr();
        if p.options.verbose >= 2 {
            for note in &p.build_notes {
                let _ = writeln!(stderr, "Pass 4: {note}");
            }
        }
        match (&p.cached_module, self.verbose) {
            // SystemTap's words for a module from its cache.
            (Some(entry), true) => {
                let _ = writeln!(stderr, "Pass 4: using cached {}", entry.display());
            }
            (None, true) => {
                let _ = writeln!(
                    stderr,
                    "Pass 4: compiled C into \"{module}.ko\" {}",
                    self.started.report_times()
                );
            }
            (_, false) => {}
        }
        if last == 4 {
            println!("{module}.ko");
            return Ok(ExitCode::SUCCESS);
        }
        markers::pass(5, Edge::Start, session);
        let ran = pass5(p, &ko);
        markers::pass(5, Edge::End, session);
        ran
    }
}

fn io_failure(what: &str, e: &std::io::Error) -> Failure {
    Failure {
        message: format!("stap: {what}: {e}\n"),
    }
}

/// Splits a failure's text into its body and its closing
/// `Pass N: ... failed.  [man error::passN]` line and what follows it
/// (empty if none).
fn split_closing_line(message: &str) -> (&str, &str) {
    // The `Pass N: ... failed.` line may be followed by SystemTap's count
    // of suppressed repeats.
    let mut start = 0;
    let mut found = None;
    for line in message.split_inclusive('\n') {
        if closing_pass(line).is_some() {
            found = Some(start);
        }
        start += line.len();
    }
    match found {
        Some(at) => (&message[..at], &message[at..]),
        None => (message, ""),
    }
}

/// N of a `Pass N: ... failed.` line.
fn closing_pass(line: &str) -> Option<u8> {
    let rest = line.strip_prefix("Pass ")?;
    if !line.contains(" failed.") {
        return None;
    }
    rest.split(':').next()?.parse().ok()
}

/// `-v`'s line after pass 2, before its resource use: SystemTap 5.1's
/// words and counts (`tests/oracle/verbose.stp`), printed also when pass 2
/// failed, before its `Pass 2: analysis failed.` line.
fn pass2_line(s: stapkit::sema::Summary) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "Pass 2: analyzed script: {}, {}, {}, {}",
        count(s.probes, "probe", "probes"),
        count(s.functions, "function", "functions"),
        count(s.embeds, "embed", "embeds"),
        count(s.globals, "global", "globals"),
    )
}

/// How many library script files stapkit's tapset has.
fn library_scripts() -> usize {
    stapkit::runtime::tapsets().len()
}

/// Resource use at the start of a pass, for `-v`.
struct PassClock {
    wall: Instant,
    user_ms: u64,
    sys_ms: u64,
}

impl PassClock {
    fn now() -> PassClock {
        let (user_ms, sys_ms) = cpu_ms();
        PassClock {
            wall: Instant::now(),
            user_ms,
            sys_ms,
        }
    }

    /// `using Vvirt/Rres/Sshr/Ddata kb, in Uusr/Ssys/Rreal ms.`
    fn report(&self) -> String {
        let (virt, res, shr, data) = memory_kb();
        format!(
            "using {virt}virt/{res}res/{shr}shr/{data}data kb, {}",
            self.report_times()
        )
    }

    /// `in Uusr/Ssys/Rreal ms.`
    fn report_times(&self) -> String {
        let (user, sys) = cpu_ms();
        format!(
            "in {}usr/{}sys/{}real ms.",
            user.saturating_sub(self.user_ms),
            sys.saturating_sub(self.sys_ms),
            self.wall.elapsed().as_millis()
        )
    }
}

/// CPU time of this process and its waited-for children (the compiler),
/// user and system, in milliseconds.
fn cpu_ms() -> (u64, u64) {
    let ms = |tv: libc::timeval| tv.tv_sec as u64 * 1000 + tv.tv_usec as u64 / 1000;
    let mut total = (0, 0);
    for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
        // SAFETY: getrusage fills the struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(who, &mut usage) } == 0 {
            total.0 += ms(usage.ru_utime);
            total.1 += ms(usage.ru_stime);
        }
    }
    total
}

/// Virtual, resident, shared and data memory of this process in KiB,
/// from `/proc/self/statm`.
fn memory_kb() -> (u64, u64, u64, u64) {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: Vec<u64> = statm
        .split_whitespace()
        .map(|w| w.parse().unwrap_or(0))
        .collect();
    // SAFETY: sysconf has no preconditions.
    let page_kb = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) / 1024) as u64;
    let at = |i: usize| pages.get(i).copied().unwrap_or(0) * page_kb;
    (at(0), at(1), at(2), at(5))
}

/// Pass 5 runs the module here, through staprun — only when the tree is
/// this machine's running kernel (any other target stops after pass 4).
fn pass5(p: &Pipeline, ko: &std::path::Path) -> Result<ExitCode, Failure> {
    let running = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let tree = p.require_tree()?;
    if tree.release != running.trim() {
        return Err(Failure {
            message: format!(
                "stap: {} is built for kernel {}, but this machine runs {}; copy it to a host running {} \
                 and run: staprun {}{}\n",
                ko.display(),
                tree.release,
                running.trim(),
                tree.release,
                ko.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                p.options.set_globals.iter().map(|g| format!(" {g}")).collect::<String>()
            ),
        });
    }
    let mut cmd = std::process::Command::new("staprun");
    cmd.args(staprun_options(&p.options));
    let status = cmd
        .arg(ko)
        .args(&p.options.set_globals)
        .status()
        .map_err(|e| Failure {
            message: format!(
                "stap: cannot run staprun: {e}; install stapkit's staprun on this host\n"
            ),
        })?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// staprun's options for pass 5, from stap's: `-o`, `-S`, `-F` (stap(1):
/// detach, or with `-o` run in the background), `-x`, `-c`.
fn staprun_options(o: &stapkit::driver::Options) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    if o.flight {
        args.push(if o.output.is_some() { "-D" } else { "-L" }.into());
    }
    if let Some(out) = &o.output {
        args.push("-o".into());
        args.push(out.into());
    }
    if let Some(rotate) = &o.rotate {
        args.push("-S".into());
        args.push(rotate.into());
    }
    if let Some(pid) = o.target_pid {
        args.push("-x".into());
        args.push(pid.to_string().into());
    }
    if let Some(command) = &o.command {
        args.push("-c".into());
        args.push(command.into());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass2_line_counts_in_systemtaps_words() {
        let one = stapkit::sema::Summary {
            probes: 1,
            functions: 1,
            embeds: 1,
            globals: 1,
        };
        assert_eq!(
            pass2_line(one),
            "Pass 2: analyzed script: 1 probe, 1 function, 1 embed, 1 global"
        );
        let some = stapkit::sema::Summary {
            probes: 2,
            functions: 0,
            embeds: 0,
            globals: 2,
        };
        assert_eq!(
            pass2_line(some),
            "Pass 2: analyzed script: 2 probes, 0 functions, 0 embeds, 2 globals"
        );
    }

    #[test]
    fn pass5_hands_stap_options_to_staprun() {
        let parse = |args: &[&str]| {
            stapkit::driver::StapOptions::try_parse_from(
                std::iter::once("stap").chain(args.iter().copied()),
            )
            .unwrap()
            .options()
            .unwrap()
        };
        let words = |args: &[&str]| {
            staprun_options(&parse(args))
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(words(&["-F", "-e", "x"]), "-L");
        assert_eq!(
            words(&["-F", "-o", "f", "-S", "2,3", "-e", "x"]),
            "-D -o f -S 2,3"
        );
        assert_eq!(words(&["-x", "7", "-e", "x"]), "-x 7");
        assert_eq!(words(&["-c", "ls -l", "-e", "x"]), "-c ls -l");
    }

    #[test]
    fn failures_split_before_their_closing_line() {
        let (body, closing) = split_closing_line(
            "semantic error: x\n\nPass 2: analysis failed.  [man error::pass2]\n",
        );
        assert_eq!(body, "semantic error: x\n\n");
        assert_eq!(closing, "Pass 2: analysis failed.  [man error::pass2]\n");
        assert_eq!(closing_pass(closing), Some(2));
        assert_eq!(
            split_closing_line("stap: no script\n"),
            ("stap: no script\n", "")
        );
        let counted = "parse error: x\n\n2 parse errors.\nPass 1: parse failed.  [man error::pass1]\n\
                       Number of similar error messages suppressed: 1.\nRerun with -v to see them.\n";
        let (body, closing) = split_closing_line(counted);
        assert_eq!(body, "parse error: x\n\n2 parse errors.\n");
        assert!(closing.starts_with("Pass 1: parse failed."), "{closing}");
        assert!(
            closing.ends_with("Rerun with -v to see them.\n"),
            "{closing}"
        );
    }
}
