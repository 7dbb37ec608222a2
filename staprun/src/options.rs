//! staprun's command line, as SystemTap's `staprun(8)` documents it:
//! `staprun [OPTIONS] MODULE [name=value...]`, getopt-style short options
//! (`-vv`, `-oFILE`, `-S 1,3`), options only before MODULE.
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
    /// `-T SECONDS`: stop the session after that long.
    pub timeout_secs: Option<u64>,
    /// `-w`: drop the script's warnings.
    pub suppress_warnings: bool,
}

/// The usage text, printed for `-h` and after option errors.
pub fn usage() -> String {
    "usage: staprun [-v] [-w] [-o FILE [-S SIZE[,N]]] [-D] [-T SECONDS] [-R]\n\
     \x20              [-x PID | -c CMD] [-L | -F] MODULE.ko|BUNDLE.stpb [name=value...]\n\
     \x20      staprun -A MODULE          attach to a module left running by -L or -F\n\
     \x20      staprun -d MODULE          stop and remove it (its end probes run)\n\
     \x20      staprun --list BUNDLE.stpb what a bundle holds\n\
     \x20      staprun -V                 version"
        .to_string()
}

/// Options taking a value.
const WITH_VALUE: &[char] = &['o', 'S', 'x', 'c', 'T', 'b'];

/// Parses the arguments after the program name.
pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut opts = Options::default();
    let mut module: Option<PathBuf> = None;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if module.is_some() {
            if !arg.contains('=') || arg.starts_with('=') {
                return Err(format!("module parameters must be name=value, not '{arg}'"));
            }
            opts.params.push(arg.clone());
            continue;
        }
        match arg.as_str() {
            "--list" => {
                set_mode(&mut opts, Mode::List, arg)?;
                continue;
            }
            "--help" | "-h" => return Err(usage()),
            "--version" => {
                set_mode(&mut opts, Mode::Version, arg)?;
                continue;
            }
            "--" => {
                let rest = args.get(i).ok_or_else(usage)?;
                module = Some(PathBuf::from(rest));
                i += 1;
                continue;
            }
            _ => {}
        }
        if arg.starts_with("--") {
            return Err(format!("unknown option '{arg}'\n{}", usage()));
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
                    let v = args
                        .get(i)
                        .ok_or_else(|| format!("-{flag} needs a value\n{}", usage()))?;
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
                _ => return Err(format!("unknown option '-{flag}'\n{}", usage())),
            }
        }
    }
    if opts.mode == Mode::Version {
        return Ok(opts);
    }
    opts.module = module.ok_or_else(usage)?;
    check(&opts)?;
    Ok(opts)
}

fn set_mode(opts: &mut Options, mode: Mode, flag: &str) -> Result<(), String> {
    if opts.mode != Mode::Run && opts.mode != mode {
        return Err(format!(
            "{flag} cannot be combined with {}",
            mode_flag(opts.mode)
        ));
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

fn take_value(opts: &mut Options, flag: char, value: &str) -> Result<(), String> {
    match flag {
        'o' => opts.output = Some(value.to_string()),
        'S' => opts.rotation = Some(parse_rotation(value)?),
        'x' => {
            opts.target = Some(
                value
                    .parse()
                    .map_err(|_| format!("-x needs a process id, not '{value}'"))?,
            )
        }
        'c' => opts.command = Some(value.to_string()),
        'T' => {
            let secs: u64 = value
                .parse()
                .map_err(|_| format!("-T needs a whole number of seconds, not '{value}'"))?;
            if secs == 0 {
                return Err("-T needs a timeout of at least 1 second".to_string());
            }
            opts.timeout_secs = Some(secs);
        }
        'b' => {
            return Err(format!(
                "-b {value}: stapkit modules fix their buffer size when built; rebuild with stap -s {value}"
            ))
        }
        _ => unreachable!("WITH_VALUE lists the flags handled here"),
    }
    Ok(())
}

/// `SIZE[,N]`: SIZE in MiB (as SystemTap), N files kept.
pub fn parse_rotation(value: &str) -> Result<Rotation, String> {
    let bad = || {
        format!("-S needs SIZE[,N]: the size of each output file in MB and how many to keep, not '{value}'")
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

/// Combinations that make no sense, refused before anything is loaded.
fn check(o: &Options) -> Result<(), String> {
    if o.command.is_some() && o.target.is_some() {
        return Err("-c and -x cannot be used together".to_string());
    }
    if o.rotation.is_some() && o.output.is_none() {
        return Err("-S needs -o FILE: it rotates output files".to_string());
    }
    if o.daemon && o.output.is_none() {
        return Err(
            "-D needs -o FILE: a staprun in the background has no terminal to write to".to_string(),
        );
    }
    if o.detach && o.flight {
        return Err("-L and -F cannot be used together (-F also detaches)".to_string());
    }
    let runs_here =
        o.command.is_some() || o.output.is_some() || o.daemon || o.timeout_secs.is_some();
    if (o.detach || o.flight) && runs_here {
        return Err(format!(
            "{} detaches at once: -o, -S, -D, -c and -T belong to the staprun that attaches (-A)",
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
            if o.mode == Mode::Delete
                && (o.output.is_some() || o.daemon || o.timeout_secs.is_some())
            {
                return Err(
                    "-d takes no -o, -D or -T; its end probes' output goes to stdout".to_string(),
                );
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

    fn parse(s: &str) -> Result<Options, String> {
        parse_args(&args(s))
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
        assert!(parse("").unwrap_err().starts_with("usage:"));
        assert!(parse("-q m.ko")
            .unwrap_err()
            .starts_with("unknown option '-q'"));
        assert!(parse("--quiet m.ko")
            .unwrap_err()
            .starts_with("unknown option '--quiet'"));
        assert!(parse("m.ko junk").unwrap_err().contains("name=value"));
        assert!(parse("m.ko -v")
            .unwrap_err()
            .contains("name=value, not '-v'"));
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
        assert_eq!(o.timeout_secs, Some(5));
        assert_eq!(parse("-x 42 m.ko").unwrap().target, Some(42));
        assert_eq!(parse("-vx42 m.ko").unwrap().target, Some(42));
        assert_eq!(
            parse("-c true m.ko").unwrap().command.as_deref(),
            Some("true")
        );
    }

    #[test]
    fn bad_values_say_what_is_wanted() {
        assert!(parse("-x abc m.ko").unwrap_err().contains("process id"));
        assert!(parse("-T 1.5 m.ko")
            .unwrap_err()
            .contains("whole number of seconds"));
        assert!(parse("-T 0 m.ko")
            .unwrap_err()
            .contains("at least 1 second"));
        assert!(parse("-o f -S 0 m.ko").unwrap_err().contains("SIZE[,N]"));
        assert!(parse("-o f -S 1,x m.ko").unwrap_err().contains("SIZE[,N]"));
        assert!(parse("-o f -S 1,0 m.ko").unwrap_err().contains("SIZE[,N]"));
        assert!(parse("-o").unwrap_err().starts_with("-o needs a value"));
        assert!(parse("-b 4 m.ko").unwrap_err().contains("stap -s 4"));
        assert_eq!(
            parse("-o f -S 7 m.ko").unwrap().rotation.unwrap().keep,
            None
        );
    }

    #[test]
    fn modes_and_their_combinations() {
        assert_eq!(parse("-A m").unwrap().mode, Mode::Attach);
        assert_eq!(parse("-d m").unwrap().mode, Mode::Delete);
        assert_eq!(parse("--list b.stpb").unwrap().mode, Mode::List);
        assert_eq!(parse("-V").unwrap().mode, Mode::Version);
        assert!(parse("-F m.ko").unwrap().flight);
        assert!(parse("-L m.ko").unwrap().detach);
        assert!(parse("-A -d m").unwrap_err().contains("cannot be combined"));
        assert!(parse("-c true -x 1 m.ko")
            .unwrap_err()
            .contains("cannot be used together"));
        assert!(parse("-S 1 m.ko").unwrap_err().starts_with("-S needs -o"));
        assert!(parse("-D m.ko").unwrap_err().starts_with("-D needs -o"));
        assert!(parse("-F -o x m.ko")
            .unwrap_err()
            .contains("belong to the staprun that attaches"));
        assert!(parse("-L -F m.ko")
            .unwrap_err()
            .contains("cannot be used together"));
        assert!(parse("-A -F m")
            .unwrap_err()
            .contains("works on a loaded module"));
        assert!(parse("-A m a=1")
            .unwrap_err()
            .contains("works on a loaded module"));
        assert!(parse("-d -o x m").unwrap_err().contains("-d takes no"));
        assert!(parse("--list -o x b.stpb")
            .unwrap_err()
            .contains("only reads"));
        // -A may write to a file and stop after a while.
        let o = parse("-A -o f -T 3 m").unwrap();
        assert_eq!((o.output.as_deref(), o.timeout_secs), (Some("f"), Some(3)));
    }
}
