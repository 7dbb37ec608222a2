//! The test guest's initramfs: busybox, a static staprun, the
//! `stapkit-workload` event generator, the modules to run, the kernel's own
//! modules that cases ask for (`/modules/NAME.ko`) and the `/init` from
//! `vm-images/init.sh`.

use std::path::{Path, PathBuf};

use object::Object;

use super::initramfs::Initramfs;
use super::{Arch, VmError};

/// The guest's `/init`, embedded from `vm-images/init.sh`.
pub const INIT_SCRIPT: &str = include_str!("../../../vm-images/init.sh");

/// One module to run in the guest.
#[derive(Debug, Clone)]
pub struct GuestCase {
    /// Identifier used for the case's directory and results (`[A-Za-z0-9_-]`).
    pub id: String,
    /// The module file.
    pub module: PathBuf,
    /// The module's name once loaded (`/sys/module/NAME`).
    pub module_name: String,
    /// Seconds before staprun is interrupted (end probes then run).
    pub timeout_secs: u32,
    /// Options for staprun in the guest (`-c CMD`, `-x PID`).
    pub staprun_args: Vec<String>,
    /// Modules of the kernel's own package to load before the case (and
    /// unload after it), dependencies first.
    pub kernel_modules: Vec<KernelModuleLoad>,
    /// Shell commands run instead of `staprun ARGS MODULE`, in `/tmp`,
    /// with `$MODULE` the module's path in the guest.
    pub run: Option<String>,
}

/// One of the kernel's own modules, loaded in the guest for a case.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelModuleLoad {
    /// Its name (`/sys/module/NAME`); also its file's name in `/modules`.
    pub name: String,
    /// The uncompressed `.ko` on the host.
    pub file: PathBuf,
    /// insmod's parameters (`rd_nr=1`), free of shell quoting.
    pub params: Vec<String>,
    /// The modules it needs loaded first (direct dependencies).
    pub depends: Vec<String>,
    /// Loaded by `/init` before the case; else only carried, for the case
    /// to `modprobe` (`/lib/modules/RELEASE/modules.dep` lists them all).
    pub load: bool,
}

/// `modules.dep` for busybox `modprobe`: each carried module and all it
/// needs, transitively, the one to load first last (as depmod writes it).
pub fn modules_dep(modules: &[&KernelModuleLoad]) -> String {
    fn closure<'a>(name: &'a str, modules: &[&'a KernelModuleLoad], out: &mut Vec<&'a str>) {
        let Some(m) = modules.iter().find(|m| m.name == name) else {
            return;
        };
        for dep in &m.depends {
            if !out.contains(&dep.as_str()) {
                closure(dep, modules, out);
                out.push(dep);
            }
        }
    }
    let mut text = String::new();
    for m in modules {
        let mut deps = Vec::new();
        closure(&m.name, modules, &mut deps);
        text.push_str(&format!("{}.ko:", m.name));
        for d in deps.iter().rev() {
            text.push_str(&format!(" {d}.ko"));
        }
        text.push('\n');
    }
    text
}

/// The user-space programs the guest needs, built for its architecture.
#[derive(Debug, Clone)]
pub struct GuestTools {
    /// A statically linked busybox.
    pub busybox: PathBuf,
    /// A statically linked staprun.
    pub staprun: PathBuf,
    /// The statically linked `stapkit-workload` (`/bin/stapkit-workload`),
    /// which scripts run with `-c` to make the events they probe.
    pub workload: PathBuf,
    /// More programs: the guest's path (`bin/NAME`, `lib64/ld-linux-x86-64.so.2`)
    /// and the file to put there; their directories are made as needed.
    pub programs: Vec<(String, PathBuf)>,
}

/// The other programs built beside `stapkit-workload` from its package
/// (C programs: `workload/c/`), which every guest also gets in `/bin`
/// and builds find in the guests' sysroot.
pub const WORKLOAD_PROGRAMS: [&str; 1] = ["stapkit-ustack"];

/// Whether the ELF file at `path` is a static executable for `arch`.
pub fn check_static_binary(path: &Path, arch: Arch, what: &str, fix: &str) -> Result<(), VmError> {
    let data = std::fs::read(path).map_err(|e| VmError::Tool {
        what: what.to_string(),
        message: format!("cannot read {}: {e}; {fix}", path.display()),
    })?;
    let file = object::File::parse(&*data).map_err(|e| VmError::Tool {
        what: what.to_string(),
        message: format!("{} is not an ELF executable ({e}); {fix}", path.display()),
    })?;
    let machine = match file.architecture() {
        object::Architecture::X86_64 => Some(Arch::X86_64),
        object::Architecture::Aarch64 => Some(Arch::Arm64),
        _ => None,
    };
    if machine != Some(arch) {
        return Err(VmError::Tool {
            what: what.to_string(),
            message: format!(
                "{} is not an {} executable; {fix}",
                path.display(),
                arch.name()
            ),
        });
    }
    if file.section_by_name(".interp").is_some() {
        return Err(VmError::Tool {
            what: what.to_string(),
            message: format!(
                "{} is dynamically linked, but the guest has no C library; {fix}",
                path.display()
            ),
        });
    }
    Ok(())
}

/// The trailer of a module signed in the kernel's appended format.
const SIGNATURE_TRAILER: &[u8] = b"~Module signature appended~\n";

/// A case's module as the guest gets it: without its debug sections
/// (`objcopy --strip-debug`, as the kernel's `INSTALL_MOD_STRIP=1` installs
/// modules), which the kernel's loader never reads but which are five
/// sixths of a module's bytes; every guest unpacks, and the host
/// compresses, an initramfs of all of them. A signed module (its signature
/// covers those sections), a file that is not ELF (a bundle), or one that
/// `objcopy` cannot strip is carried as it is.
pub fn guest_module(arch: Arch, data: Vec<u8>) -> Vec<u8> {
    if !data.starts_with(b"\x7fELF") || data.ends_with(SIGNATURE_TRAILER) {
        return data;
    }
    let objcopy = if Arch::host() == Some(arch) {
        "objcopy"
    } else {
        match arch {
            Arch::X86_64 => "x86_64-linux-gnu-objcopy",
            Arch::Arm64 => "aarch64-linux-gnu-objcopy",
        }
    };
    let stripped = || -> Option<Vec<u8>> {
        let dir = tempfile::tempdir().ok()?;
        let (from, to) = (dir.path().join("in.ko"), dir.path().join("out.ko"));
        std::fs::write(&from, &data).ok()?;
        let status = std::process::Command::new(objcopy)
            .arg("--strip-debug")
            .arg(&from)
            .arg(&to)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| std::fs::read(&to).ok())?
    };
    stripped().unwrap_or(data)
}

/// `s` quoted for the guest's shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Assembles the initramfs for `cases` on `arch`.
pub fn build_initramfs(
    arch: Arch,
    tools: &GuestTools,
    cases: &[GuestCase],
) -> Result<Vec<u8>, VmError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| VmError::Io {
            path: p.to_path_buf(),
            error: e,
        })
    };
    let mut fs = Initramfs::default();
    for dir in ["bin", "proc", "sys", "dev", "tmp", "cases", "modules"] {
        fs.dir(dir);
    }
    fs.file("bin/busybox", 0o755, read(&tools.busybox)?);
    fs.file("bin/staprun", 0o755, read(&tools.staprun)?);
    fs.file("bin/stapkit-workload", 0o755, read(&tools.workload)?);
    for name in WORKLOAD_PROGRAMS {
        fs.file(
            &format!("bin/{name}"),
            0o755,
            read(&tools.workload.with_file_name(name))?,
        );
    }
    // Programs may lie outside /bin (the userland's loader and C
    // library): the kernel's unpacker needs each directory before its
    // files.
    let mut made: Vec<String> = ["bin", "proc", "sys", "dev", "tmp", "cases", "modules"]
        .map(String::from)
        .to_vec();
    for (at, program) in &tools.programs {
        let dirs: Vec<&Path> = Path::new(at)
            .ancestors()
            .skip(1)
            .filter(|d| !d.as_os_str().is_empty())
            .collect();
        for dir in dirs.into_iter().rev() {
            let dir = dir.to_string_lossy().into_owned();
            if !made.contains(&dir) {
                fs.dir(&dir);
                made.push(dir);
            }
        }
        fs.file(at, 0o755, read(program)?);
    }
    fs.symlink("bin/sh", "busybox");
    fs.file("init", 0o755, INIT_SCRIPT.as_bytes().to_vec());
    fs.file(
        "cases/results-port",
        0o644,
        format!("{}\n", arch.results_device()),
    );
    let mut list = String::new();
    let mut carried: Vec<&KernelModuleLoad> = Vec::new();
    for module in cases.iter().flat_map(|c| &c.kernel_modules) {
        if !carried.iter().any(|m| m.name == module.name) {
            carried.push(module);
            fs.file(
                &format!("modules/{}.ko", module.name),
                0o644,
                read(&module.file)?,
            );
        }
    }
    // /init links /lib/modules/RELEASE to /modules for modprobe.
    fs.file("modules/modules.dep", 0o644, modules_dep(&carried));
    for case in cases {
        let dir = format!("cases/{}", case.id);
        fs.dir(&dir);
        fs.file(
            &format!("{dir}/module.ko"),
            0o644,
            guest_module(arch, read(&case.module)?),
        );
        fs.file(
            &format!("{dir}/name"),
            0o644,
            format!("{}\n", case.module_name),
        );
        fs.file(
            &format!("{dir}/timeout"),
            0o644,
            format!("{}\n", case.timeout_secs),
        );
        let args: Vec<String> = case.staprun_args.iter().map(|a| shell_quote(a)).collect();
        fs.file(
            &format!("{dir}/args"),
            0o644,
            format!("{}\n", args.join(" ")),
        );
        let mut modules = String::new();
        for m in case.kernel_modules.iter().filter(|m| m.load) {
            modules.push_str(&m.name);
            for p in &m.params {
                modules.push(' ');
                modules.push_str(p);
            }
            modules.push('\n');
        }
        fs.file(&format!("{dir}/modules"), 0o644, modules);
        let later: String = case
            .kernel_modules
            .iter()
            .filter(|m| !m.load)
            .map(|m| format!("{}\n", m.name))
            .collect();
        fs.file(&format!("{dir}/later"), 0o644, later);
        fs.file(
            &format!("{dir}/run"),
            0o644,
            case.run.clone().unwrap_or_default(),
        );
        list.push_str(&case.id);
        list.push('\n');
    }
    fs.file("cases/list", 0o644, list);
    Ok(fs.to_gzip())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Module loading lives only in the guest's `/init`, which must stop
    /// before any command unless it is PID 1 (never so on a host).
    #[test]
    fn init_script_refuses_to_run_outside_a_guest() {
        let guard = INIT_SCRIPT
            .find("if [ \"$$\" != 1 ]; then")
            .expect("the PID 1 guard");
        let commands = INIT_SCRIPT
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect::<Vec<_>>();
        assert_eq!(
            commands[0], "if [ \"$$\" != 1 ]; then",
            "the guard comes first"
        );
        for loader in ["insmod", "modprobe", "staprun"] {
            let at = INIT_SCRIPT.find(&format!("{loader} ")).expect(loader);
            assert!(guard < at, "{loader} before the guard");
        }
    }

    #[test]
    fn init_script_streams_every_part_the_decoder_reads() {
        for part in ["stdout", "stderr", "rc", "module", "dmesg"] {
            assert!(INIT_SCRIPT.contains(part), "{part}");
        }
        assert!(INIT_SCRIPT.contains("@@stapkit-end"));
        assert!(INIT_SCRIPT.contains("init: success"));
    }

    #[test]
    fn the_workload_frames_every_part_and_the_shell_is_the_fallback() {
        // One process per case: `stapkit-workload emit` with the parts of
        // the decoder, the kernel log last (read after the case ended).
        let parts = &super::super::results::PARTS;
        let (last, files) = parts.split_last().unwrap();
        let emit = format!(
            "stapkit-workload emit \"$case\" /out {} \\\n\t\t\t--kernel-log {last} >&3",
            files.join(" ")
        );
        assert!(INIT_SCRIPT.contains(&emit), "{emit}");
        // Checked once per boot, so that an older workload without `emit`
        // (or a guest without one) still reports through the shell.
        assert!(INIT_SCRIPT.contains("if stapkit-workload emit check /cases results-port"));
        assert!(INIT_SCRIPT.contains(&format!("for part in {}; do", parts.join(" "))));
        // The loop reads its files with the shell's `read`, not `cat`.
        for file in ["timeout", "name", "args"] {
            assert!(
                INIT_SCRIPT.contains(&format!("< \"$dir/{file}\"")),
                "{file}"
            );
        }
    }

    #[test]
    fn pid_1_never_asks_for_power_off_itself() {
        // reboot(2) ends its caller when the machine is still running after
        // the request; pid 1 ending panics the guest.
        for line in INIT_SCRIPT.lines().map(str::trim) {
            if line.starts_with("poweroff") || line.starts_with("reboot") {
                assert!(line.ends_with('&'), "pid 1 runs `{line}` itself");
            }
        }
        assert!(INIT_SCRIPT
            .trim_end()
            .ends_with("while :; do sleep 1; done"));
    }

    #[test]
    fn guest_modules_lose_their_debug_sections_only() {
        use object::{Object, ObjectSection};
        let mut elf = object::write::Object::new(
            object::BinaryFormat::Elf,
            object::Architecture::X86_64,
            object::Endianness::Little,
        );
        let text = elf.add_section(Vec::new(), b".text".to_vec(), object::SectionKind::Text);
        elf.append_section_data(text, &[0xc3; 16], 16);
        let debug = elf.add_section(
            Vec::new(),
            b".debug_info".to_vec(),
            object::SectionKind::Debug,
        );
        elf.append_section_data(debug, &[7; 4096], 1);
        let ko = elf.write().unwrap();
        let stripped = guest_module(Arch::X86_64, ko.clone());
        let names = |data: &[u8]| -> Vec<String> {
            let file = object::File::parse(data).unwrap();
            file.sections()
                .filter_map(|s| s.name().ok().map(String::from))
                .filter(|n| !n.is_empty())
                .collect()
        };
        assert!(names(&ko).contains(&".debug_info".to_string()));
        let left = names(&stripped);
        assert!(left.contains(&".text".to_string()), "{left:?}");
        assert!(!left.iter().any(|n| n.starts_with(".debug")), "{left:?}");
        assert!(stripped.len() < ko.len() - 4000);
        // A signed module, or a file that is not ELF: as they are.
        let mut signed = ko.clone();
        signed.extend_from_slice(SIGNATURE_TRAILER);
        assert_eq!(guest_module(Arch::X86_64, signed.clone()), signed);
        let bundle = b"STAPKIT-BUNDLE\n".to_vec();
        assert_eq!(guest_module(Arch::Arm64, bundle.clone()), bundle);
    }

    #[test]
    fn modules_dep_lists_every_dependency_first_loaded_last() {
        let m = |name: &str, deps: &[&str]| KernelModuleLoad {
            name: name.to_string(),
            file: PathBuf::from(format!("{name}.ko")),
            params: Vec::new(),
            depends: deps.iter().map(|d| d.to_string()).collect(),
            load: false,
        };
        let (crc16, jbd2, ext4) = (
            m("crc16", &[]),
            m("jbd2", &["crc16"]),
            m("ext4", &["jbd2", "crc16"]),
        );
        let dep = modules_dep(&[&crc16, &jbd2, &ext4]);
        assert_eq!(
            dep,
            "crc16.ko:\njbd2.ko: crc16.ko\next4.ko: jbd2.ko crc16.ko\n"
        );
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("cat /etc/passwd"), "'cat /etc/passwd'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn dynamic_or_foreign_binaries_are_refused() {
        let exe = std::env::current_exe().unwrap();
        let err = check_static_binary(&exe, Arch::Arm64, "busybox", "install busybox-static")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("is not an arm64 executable; install busybox-static"),
            "{err}"
        );
        let err = check_static_binary(
            Path::new("/nonexistent"),
            Arch::X86_64,
            "staprun",
            "build it",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("cannot read /nonexistent"),
            "{err}"
        );
    }
}
