//! staprun's command line, as SystemTap's `staprun(8)` documents it:
//! `staprun [OPTIONS] MODULE [name=value...]`, getopt-style short options
//! (`-vv`, `-oFILE`, `-S 1,3`), options only before MODULE. Refusals are
//! SystemTap's staprun's, word for word (`docs/oracle/FINDINGS.md`):
//! `ERROR: ...` on stderr and the usage on stdout, exit status 1; `-h`
//! prints the usage alone and exits 0.
//!
//! MODULE is a `.ko`, a stapkit bundle (`.stpb`, see `bundle.rs`), or a
//! module name: for `-A`/`-d` a loaded module's, else looked up as
//! `/lib/modules/RELEASE/systemtap/NAME.ko`.

use std::path::PathBuf;

/// What staprun was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Load MODULE, run it, unload it (or detach with -L / -F).
    #[default]
    Run,
    /// `-A`: attach to a loaded module.
    Attach,
    /// `-d`: stop and remove a loaded module.
    Delete,
    /// `--list`: what a bundle holds.
    List,
    /// `-V`: print the version.
    Version,
}

/// `-S SIZE[,N]`: switch output files past SIZE MiB, keep the last N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Bytes a file may hold before the next one starts.
    pub max_bytes: u64,
    /// Files kept (the oldest removed beyond); `None`: all.
    pub keep: Option<u32>,
}

/// Parsed command line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// What to do.
    pub mode: Mode,
    /// The module file, bundle, or module name.
    pub module: PathBuf,
    /// `name=value` module parameters (script globals).
    pub params: Vec<String>,
    /// `-o FILE`: output file name, a strftime(3) pattern.
    pub output: Option<String>,
    /// `-S SIZE[,N]`.
    pub rotation: Option<Rotation>,
    /// `-x PID`.
    pub target: Option<u32>,
    /// `-c CMD`.
    pub command: Option<String>,
    /// `-v` count.
    pub verbose: u32,
    /// `-L`: load, start, detach.
    pub detach: bool,
    /// `-F`: flight recorder (load, start in overwrite mode, detach).
    pub flight: bool,
    /// `-D`: run in the background, print the pid.
    pub daemon: bool,
    /// `-R`: load under a unique name.
    pub rename: bool,
    /// `-T MS`: the longest the reader waits before passing on output
    /// (SystemTap's default 200). stapkit's channel hands every record to
    /// the reader as it is written, so output never waits that long.
    pub reader_timeout_ms: Option<u32>,
    /// `-w`: drop the script's warnings.
    pub suppress_warnings: bool,
}

/// Why the command line was not run: what goes to stderr (nothing for
/// `-h`), with the usage on stdout, and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The message, with its `ERROR: ` or `staprun: ` prefix.
    pub message: Option<String>,
    /// 0 for `-h`, else 1.
    pub status: u8,
}

fn refuse(message: impl Into<String>) -> Refusal {
    Refusal {
        message: Some(message.into()),
        status: 1,
    }
}

/// The usage text, on stdout for `-h` and after a refusal: SystemTap's
/// staprun's layout and wording for the options stapkit's shares, with
/// stapkit's own (`-F` flight recorder, `--list`) and without those it
/// lacks (`-u`, `-C`, `-b`, `-r`, `-N`, `-F fd`), `RELEASE` the running
/// kernel's.
pub fn usage(release: &str) -> String {
    format!(
        "\n\
staprun [-v] [-w] [-V] [-h] [-c cmd ] [-x pid] [-A|-L|-F|-d]\n\
\t[-R] [-T timeout] [-o FILE [-D] [-S size[,N]]] MODULE [module-options]\n\
staprun --list BUNDLE\n\
-v              Increase verbosity.\n\
-V              Print version number and exit.\n\
-h              Print this help text and exit.\n\
-w              Suppress warnings.\n\
-c cmd          Command 'cmd' will be run and staprun will\n\
\x20               exit when it does.  The '_stp_target' variable\n\
\x20               will contain the pid for the command.\n\
-x pid          Sets the '_stp_target' variable to pid.\n\
-o FILE         Send output to FILE. This supports strftime(3)\n\
\x20               formats for FILE.\n\
-L              Load module and start probes, then detach.\n\
-F              Load module and start probes, then detach, the module\n\
\x20               keeping its newest output (flight recorder) for -A.\n\
-A              Attach to loaded systemtap module.\n\
-d              Delete a module.  Only detached or unused modules\n\
\x20               the user has permission to access will be deleted. Use \"*\"\n\
\x20               (quoted) to delete all unused modules.\n\
-R              Have staprun create a new name for the module before\n\
\x20               inserting it. This allows the same module to be inserted\n\
\x20               more than once.\n\
-D              Run in background. This requires '-o' option.\n\
-S size[,N]     Switches output file to next file when the size\n\
\x20               of file reaches the specified size. The value\n\
\x20               should be an integer greater than 1 which is\n\
\x20               assumed to be the maximum file size in MB.\n\
\x20               When the number of output files reaches N, it\n\
\x20               switches to the first output file. You can omit\n\
\x20               the second argument.\n\
-T timeout      Specifies upper limit on amount of time reader thread\n\
\x20               will wait for new full trace buffer. Value should be an\n\
\x20               integer >= 1, which is timeout value in ms. Default 200ms.\n\
--list BUNDLE   List the modules of a stapkit bundle, '*' marking\n\
\x20               the one for this kernel.\n\
\n\
MODULE can be either a module name or a module path.  If a\n\
module name is used, it is searched in the following directory:\n\
/lib/modules/{release}/systemtap\n"
    )
}

/// C's `atoi`: leading blanks, a sign, digits; 0 when there are none
/// (SystemTap's staprun reads `-T` and `-x` so: `-T abc` is a timeout of
/// 0, `-x abc` the pid 0).
fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if neg {
        -n
    } else {
        n
    }
}

/// Options taking a value.
const WITH_VALUE: &[char] = &['o', 'S', 'x', 'c', 'T', 'b'];

/// Parses the arguments after the program name.
pub fn parse_args(args: &[String]) -> Result<Options, Refusal> {
    let mut opts = Options::default();
    let mut module: Option<PathBuf> = None;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if module.is_some() {
            // Words after MODULE go to the kernel as they are, as
            // SystemTap's staprun passes them: `name` without a value
            // fails the load there ("Invalid parameters"), an unknown
            // name is ignored there with a kernel-log line.
            if arg.starts_with('-') {
                return Err(refuse(format!(
                    "ERROR: options go before MODULE; module parameters are name=value, not '{arg}'"
                )));
            }
            opts.params.push(arg.clone());
            continue;
        }
        match arg.as_str() {
            "--list" => {
                set_mode(&mut opts, Mode::List, arg)?;
                continue;
            }
            "--help" => {
                return Err(Refusal {
                    message: None,
                    status: 0,
                })
            }
            "--version" => {
                set_mode(&mut opts, Mode::Version, arg)?;
                continue;
            }
            "--" => {
                let rest = args
                    .get(i)
                    .ok_or_else(|| refuse("ERROR: Need a module name or path to load."))?;
                module = Some(PathBuf::from(rest));
                i += 1;
                continue;
            }
            _ => {}
        }
        if arg.starts_with("--") {
            // glibc getopt's words.
            return Err(refuse(format!("staprun: unrecognized option '{arg}'")));
        }
        if !arg.starts_with('-') || arg == "-" {
            module = Some(PathBuf::from(arg));
            continue;
        }
        for (at, flag) in arg[1..].char_indices() {
            if WITH_VALUE.contains(&flag) {
                let inline = &arg[1 + at + flag.len_utf8()..];
                let value = if !inline.is_empty() {
                    inline.to_string()
                } else {
                    let v = args.get(i).ok_or_else(|| {
                        refuse(format!("staprun: option requires an argument -- '{flag}'"))
                    })?;
                    i += 1;
                    v.clone()
                };
                take_value(&mut opts, flag, &value)?;
                break;
            }
            match flag {
                'v' => opts.verbose += 1,
                'w' => opts.suppress_warnings = true,
                'L' => opts.detach = true,
                'F' => opts.flight = true,
                'D' => opts.daemon = true,
                'R' => opts.rename = true,
                'A' => set_mode(&mut opts, Mode::Attach, "-A")?,
                'd' => set_mode(&mut opts, Mode::Delete, "-d")?,
                'V' => set_mode(&mut opts, Mode::Version, "-V")?,
                'h' => {
                    return Err(Refusal {
                        message: None,
                        status: 0,
                    })
                }
                _ => return Err(refuse(format!("staprun: invalid option -- '{flag}'"))),
            }
        }
    }
    if opts.mode == Mode::Version {
        return Ok(opts);
    }
    check(&opts)?;
    opts.module = module.ok_or_else(|| refuse("ERROR: Need a module name or path to load."))?;
    check_modes(&opts)?;
    Ok(opts)
}

fn set_mode(opts: &mut Options, mode: Mode, flag: &str) -> Result<(), Refusal> {
    if opts.mode != Mode::Run && opts.mode != mode {
        return Err(refuse(format!(
            "ERROR: {flag} cannot be combined with {}",
            mode_flag(opts.mode)
        )));
    }
    opts.mode = mode;
    Ok(())
}

fn mode_flag(mode: Mode) -> &'static str {
    match mode {
        Mode::Run => "a run",
        Mode::Attach => "-A",
        Mode::Delete => "-d",
        Mode::List => "--list",
        Mode::Version => "-V",
    }
}

fn take_value(opts: &mut Options, flag: char, value: &str) -> Result<(), Refusal> {
    match flag {
        'o' => opts.output = Some(value.to_string()),
        'S' => opts.rotation = Some(parse_rotation(value).map_err(refuse)?),
        // atoi(3), as SystemTap's staprun reads it: `-x abc` is pid 0.
        'x' => opts.target = Some(atoi(value).clamp(0, i64::from(u32::MAX)) as u32),
        'c' => opts.command = Some(value.to_string()),
        'T' => {
            let ms = atoi(value);
            if ms < 1 {
                return Err(refuse(format!(
                    "ERROR: Invalid reader timeout value '{ms}' (should be >= 1)."
                )));
            }
            opts.reader_timeout_ms = Some(ms.min(i64::from(u32::MAX)) as u32);
        }
        'b' => {
            return Err(refuse(format!(
                "ERROR: -b {value}: stapkit modules fix their buffer size when built; rebuild with stap -s {value}"
            )))
        }
        _ => unreachable!("WITH_VALUE lists the flags handled here"),
    }
    Ok(())
}

/// `SIZE[,N]`: SIZE in MiB (as SystemTap), N files kept.
pub fn parse_rotation(value: &str) -> Result<Rotation, String> {
    let bad = || {
        format!("ERROR: -S needs SIZE[,N]: the size of each output file in MB and how many to keep, not '{value}'")
    };
    let (size, keep) = match value.split_once(',') {
        Some((s, n)) => (s, Some(n)),
        None => (value, None),
    };
    let mb: u64 = size.parse().map_err(|_| bad())?;
    if mb == 0 || mb > 1 << 20 {
        return Err(bad());
    }
    let keep = match keep {
        Some(n) => {
            let n: u32 = n.parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(bad());
            }
            Some(n)
        }
        None => None,
    };
    Ok(Rotation {
        max_bytes: mb << 20,
        keep,
    })
}

/// Options that need others (SystemTap's words), checked before MODULE.
fn check(o: &Options) -> Result<(), Refusal> {
    if o.mode == Mode::Version {
        return Ok(());
    }
    if o.rotation.is_some() && o.output.is_none() {
        return Err(refuse(
            "ERROR: You have to specify output FILE with '-S' option.",
        ));
    }
    if o.daemon && o.output.is_none() {
        return Err(refuse(
            "ERROR: You have to specify output FILE with '-D' option.",
        ));
    }
    Ok(())
}

/// Combinations that make no sense, refused before anything is loaded.
fn check_modes(o: &Options) -> Result<(), Refusal> {
    check_combinations(o).map_err(|e| refuse(format!("ERROR: {e}")))
}

fn check_combinations(o: &Options) -> Result<(), String> {
    if o.command.is_some() && o.target.is_some() {
        return Err("-c and -x cannot be used together".to_string());
    }
    if o.detach && o.flight {
        return Err("-L and -F cannot be used together (-F also detaches)".to_string());
    }
    let runs_here = o.command.is_some() || o.output.is_some() || o.daemon;
    if (o.detach || o.flight) && runs_here {
        return Err(format!(
            "{} detaches at once: -o, -S, -D and -c belong to the staprun that attaches (-A)",
            if o.flight { "-F" } else { "-L" }
        ));
    }
    match o.mode {
        Mode::Attach | Mode::Delete => {
            let flag = mode_flag(o.mode);
            if o.detach
                || o.flight
                || o.rename
                || o.command.is_some()
                || o.target.is_some()
                || !o.params.is_empty()
            {
                return Err(format!(
                    "{flag} works on a loaded module: -L, -F, -R, -c, -x and module parameters belong to the staprun that loads it"
                ));
            }
            if o.mode == Mode::Delete && (o.output.is_some() || o.daemon) {
                return Err("-d takes no -o or -D: the module's output is not read".to_string());
            }
        }
        Mode::List => {
            if o.detach
                || o.flight
                || o.daemon
                || o.rename
                || o.command.is_some()
                || o.target.is_some()
                || o.output.is_some()
                || !o.params.is_empty()
            {
                return Err("--list only reads the bundle: give it no other options".to_string());
            }
        }
        Mode::Run | Mode::Version => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn parse(s: &str) -> Result<Options, Refusal> {
        parse_args(&args(s))
    }

    /// The message of a refusal with status 1.
    fn error(s: &str) -> String {
        let r = parse(s).unwrap_err();
        assert_eq!(r.status, 1, "{s}");
        r.message.expect("a message")
    }

    #[test]
    fn parses_module_params_and_output() {
        let o = parse("-v -o out.txt m.ko a=1 b=x").unwrap();
        assert_eq!(
            o,
            Options {
                module: "m.ko".into(),
                params: vec!["a=1".into(), "b=x".into()],
                output: Some("out.txt".into()),
                verbose: 1,
                ..Options::default()
            }
        );
        assert_eq!(error(""), "ERROR: Need a module name or path to load.");
        assert_eq!(error("-A"), "ERROR: Need a module name or path to load.");
        assert_eq!(error("-q m.ko"), "staprun: invalid option -- 'q'");
        assert_eq!(
            error("--quiet m.ko"),
            "staprun: unrecognized option '--quiet'"
        );
        // The kernel judges module parameters, as with SystemTap's staprun.
        assert_eq!(parse("m.ko junk").unwrap().params, vec!["junk".to_string()]);
        assert!(error("m.ko -v").contains("name=value, not '-v'"));
        for help in ["-h", "--help", "-v -h m.ko"] {
            assert_eq!(
                parse(help).unwrap_err(),
                Refusal {
                    message: None,
                    status: 0
                }
            );
        }
    }

    #[test]
    fn short_options_cluster_and_take_values_inline() {
        let o = parse("-vvw -oout.%Y -S2,3 -T5 m.ko").unwrap();
        assert_eq!(o.verbose, 2);
        assert!(o.suppress_warnings);
        assert_eq!(o.output.as_deref(), Some("out.%Y"));
        assert_eq!(
            o.rotation,
            Some(Rotation {
                max_bytes: 2 << 20,
                keep: Some(3)
            })
        );
        assert_eq!(o.reader_timeout_ms, Some(5));
        assert_eq!(parse("-x 42 m.ko").unwrap().target, Some(42));
        assert_eq!(parse("-vx42 m.ko").unwrap().target, Some(42));
        assert_eq!(
            parse("-c true m.ko").unwrap().command.as_deref(),
            Some("true")
        );
    }

    #[test]
    fn bad_values_are_refused_in_systemtaps_words() {
        assert_eq!(parse("-x abc m.ko").unwrap().target, Some(0));
        assert_eq!(parse("-x 12abc m.ko").unwrap().target, Some(12));
        // -T is read with atoi, as SystemTap's staprun reads it.
        assert_eq!(
            error("-T abc m.ko"),
            "ERROR: Invalid reader timeout value '0' (should be >= 1)."
        );
        assert_eq!(
            error("-T -5 m.ko"),
            "ERROR: Invalid reader timeout value '-5' (should be >= 1)."
        );
        assert_eq!(parse("-T 100ms m.ko").unwrap().reader_timeout_ms, Some(100));
        assert!(error("-o f -S 0 m.ko").contains("SIZE[,N]"));
        assert!(error("-o f -S 1,x m.ko").contains("SIZE[,N]"));
        assert!(error("-o f -S 1,0 m.ko").contains("SIZE[,N]"));
        assert_eq!(error("-o"), "staprun: option requires an argument -- 'o'");
        assert!(error("-b 4 m.ko").contains("stap -s 4"));
        assert_eq!(
            parse("-o f -S 7 m.ko").unwrap().rotation.unwrap().keep,
            None
        );
        assert_eq!(atoi("  42x"), 42);
        assert_eq!(atoi("+7"), 7);
        assert_eq!(atoi(""), 0);
    }

    #[test]
    fn modes_and_their_combinations() {
        assert_eq!(parse("-A m").unwrap().mode, Mode::Attach);
        assert_eq!(parse("-d m").unwrap().mode, Mode::Delete);
        assert_eq!(parse("--list b.stpb").unwrap().mode, Mode::List);
        assert_eq!(parse("-V").unwrap().mode, Mode::Version);
        assert!(parse("-F m.ko").unwrap().flight);
        assert!(parse("-L m.ko").unwrap().detach);
        assert!(error("-A -d m").contains("cannot be combined"));
        assert!(error("-c true -x 1 m.ko").contains("cannot be used together"));
        assert_eq!(
            error("-S 1 m.ko"),
            "ERROR: You have to specify output FILE with '-S' option."
        );
        assert_eq!(
            error("-D m.ko"),
            "ERROR: You have to specify output FILE with '-D' option."
        );
        assert!(error("-F -o x m.ko").contains("belong to the staprun that attaches"));
        assert!(error("-L -F m.ko").contains("cannot be used together"));
        assert!(error("-A -F m").contains("works on a loaded module"));
        assert!(error("-A m a=1").contains("works on a loaded module"));
        assert!(error("-d -o x m").contains("-d takes no"));
        assert!(error("--list -o x b.stpb").contains("only reads"));
        let o = parse("-A -o f -T 3 m").unwrap();
        assert_eq!(
            (o.output.as_deref(), o.reader_timeout_ms),
            (Some("f"), Some(3))
        );
    }

    #[test]
    fn usage_names_the_running_kernels_module_directory() {
        let u = usage("6.1.0-57-amd64");
        assert!(
            u.starts_with("\nstaprun [-v] [-w] [-V] [-h] [-c cmd ] [-x pid] "),
            "{u}"
        );
        assert!(u.ends_with(
            "module name is used, it is searched in the following directory:\n\
             /lib/modules/6.1.0-57-amd64/systemtap\n"
        ));
    }
}
