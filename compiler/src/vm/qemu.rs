//! Booting a kernel in QEMU and supervising it.
//!
//! The console (first serial port) is streamed line by line and kept; the
//! guest is killed on a panic, a lockup or the time limit. Case results
//! arrive separately on the results port, written to a file and decoded
//! when the guest has gone.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::results::{decode, ResultStream};
use super::uefi::{pflash_drive, Uefi};
use super::{Arch, VmError};

/// How to boot.
#[derive(Debug, Clone)]
pub struct BootConfig {
    /// Guest architecture.
    pub arch: Arch,
    /// The kernel image.
    pub kernel: PathBuf,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Guest CPUs.
    pub cpus: u32,
    /// Use KVM instead of TCG (opt-in: KVM guests hang on some hosts).
    pub kvm: bool,
    /// Kill the guest after this long.
    pub timeout: Duration,
    /// Where the results file and the console log are written.
    pub work_dir: PathBuf,
    /// Kernel arguments added to the usual ones (`module.sig_enforce=1`).
    pub kernel_args: Vec<String>,
    /// Boot through UEFI firmware (x86_64 only; see `uefi`) instead of
    /// QEMU's own loader.
    pub firmware: Option<Uefi>,
}

/// How a boot ended.
#[derive(Debug, Clone, PartialEq)]
pub enum BootOutcome {
    /// The guest ran every case and powered off.
    Completed,
    /// The kernel panicked or locked up; the line that said so.
    Crashed(String),
    /// The time limit passed; the guest was killed.
    TimedOut,
    /// The guest powered off without reporting every case.
    Incomplete,
}

/// What a boot produced.
#[derive(Debug)]
pub struct BootReport {
    /// How it ended.
    pub outcome: BootOutcome,
    /// Everything the console printed.
    pub console: String,
    /// The cases' results.
    pub results: ResultStream,
    /// Wall time of the boot.
    pub elapsed: Duration,
    /// The guest init's own console lines (`init: ...`), each with when
    /// it arrived after QEMU started: where the guest's time went.
    pub marks: Vec<(String, Duration)>,
}

/// Console lines after which the guest is beyond saving.
const FATAL_MARKERS: &[&str] = &[
    "Kernel panic - not syncing",
    "soft lockup",
    "hard LOCKUP",
    "self-detected stall",
];

/// The QEMU command line for `config` with `initrd`.
pub fn command(config: &BootConfig, initrd: &Path, results: &Path) -> Command {
    let mut cmd = Command::new(config.arch.qemu());
    let accel = if config.kvm {
        ["-accel", "kvm", "-cpu", "host"]
    } else {
        // One thread for all vCPUs: with a thread per vCPU, QEMU 7.2 let a
        // 6.12 guest's CPU run code another CPU had already re-patched (a
        // static key flipped by tracepoint registration) and die on a
        // stale int3 (`Oops: int3` in ttwu_do_activate, one boot in two
        // with kernel.trace("sched:*")); never in six single-thread boots.
        ["-accel", "tcg,thread=single", "-cpu", config.arch.tcg_cpu()]
    };
    cmd.args(accel);
    if config.arch == Arch::Arm64 {
        cmd.args(["-machine", "virt"]);
    }
    if let Some(uefi) = &config.firmware {
        cmd.arg("-drive")
            .arg(pflash_drive(&uefi.code, true))
            .arg("-drive")
            .arg(pflash_drive(&uefi.vars, false));
    }
    cmd.args(["-nodefaults", "-display", "none", "-no-reboot"])
        .args([
            "-m",
            &config.memory_mib.to_string(),
            "-smp",
            &config.cpus.to_string(),
        ])
        .arg("-kernel")
        .arg(&config.kernel)
        .arg("-initrd")
        .arg(initrd)
        .args([
            "-append",
            &format!(
                "console={} panic=-1 quiet loglevel=4 nokaslr{}{}",
                config.arch.console_device(),
                // The boot-time check that the timer interrupt arrives
                // through the IO-APIC counts ticks against a busy-wait
                // calibrated moments before; under TCG on a loaded host
                // the ticks come late and the kernel panics with
                // "IO-APIC + timer doesn't work!". KVM guests skip the
                // check by themselves; TCG guests are told to.
                if config.arch == Arch::X86_64 && !config.kvm {
                    " no_timer_check"
                } else {
                    ""
                },
                config
                    .kernel_args
                    .iter()
                    .map(|a| format!(" {a}"))
                    .collect::<String>()
            ),
        ])
        .args(["-serial", "stdio"]);
    match config.arch {
        Arch::X86_64 => {
            cmd.arg("-serial")
                .arg(format!("file:{}", results.display()));
        }
        // The virt machine has one PL011: results go to a PCI 16550, which
        // Debian's arm64 kernels drive built in (8250_pci).
        Arch::Arm64 => {
            cmd.arg("-chardev")
                .arg(format!("file,id=results,path={}", results.display()))
                .args(["-device", "pci-serial,chardev=results"]);
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Boots `config.kernel` with `initrd` and supervises it to the end.
pub fn boot(config: &BootConfig, initrd: &[u8]) -> Result<BootReport, VmError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| VmError::Io { path, error }
    };
    std::fs::create_dir_all(&config.work_dir).map_err(io(&config.work_dir))?;
    let initrd_path = config.work_dir.join("initrd.gz");
    let results_path = config.work_dir.join("results.bin");
    std::fs::write(&initrd_path, initrd).map_err(io(&initrd_path))?;
    let _ = std::fs::remove_file(&results_path);

    let start = Instant::now();
    let mut child = command(config, &initrd_path, &results_path)
        .spawn()
        .map_err(|e| VmError::Tool {
            what: config.arch.qemu().to_string(),
            message: format!(
                "cannot start it: {e}; install {}",
                config.arch.qemu_package()
            ),
        })?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n') {
            let Ok(line) = line else { break };
            if tx
                .send(
                    String::from_utf8_lossy(&line)
                        .trim_end_matches('\r')
                        .to_string(),
                )
                .is_err()
            {
                break;
            }
        }
    });

    let mut console = String::new();
    let mut marks = Vec::new();
    let outcome = loop {
        let left = config.timeout.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if line.starts_with("init: ") {
                    marks.push((line.clone(), start.elapsed()));
                }
                let fatal = FATAL_MARKERS.iter().any(|m| line.contains(m));
                console.push_str(&line);
                console.push('\n');
                if fatal {
                    // Let the kernel finish printing the report, then stop it.
                    let until = Instant::now() + Duration::from_secs(2);
                    while let Ok(more) =
                        rx.recv_timeout(until.saturating_duration_since(Instant::now()))
                    {
                        console.push_str(&more);
                        console.push('\n');
                    }
                    break BootOutcome::Crashed(line);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => break BootOutcome::TimedOut,
            Err(mpsc::RecvTimeoutError::Disconnected) => break BootOutcome::Completed,
        }
    };
    let _ = child.kill();
    let status = child.wait().map_err(io(Path::new(config.arch.qemu())))?;
    let _ = reader.join();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    std::fs::write(config.work_dir.join("console.log"), &console).map_err(io(&config.work_dir))?;
    let results = decode(&std::fs::read(&results_path).unwrap_or_default());
    let outcome = match outcome {
        BootOutcome::Completed if !results.complete => {
            if !status.success() && !stderr.trim().is_empty() {
                return Err(VmError::Tool {
                    what: config.arch.qemu().to_string(),
                    message: format!("it failed: {}", stderr.trim()),
                });
            }
            BootOutcome::Incomplete
        }
        other => other,
    };
    Ok(BootReport {
        outcome,
        console,
        results,
        elapsed: start.elapsed(),
        marks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcg_by_default_kvm_on_request() {
        let mut config = BootConfig {
            kernel_args: vec!["module.sig_enforce=1".to_string()],
            arch: Arch::X86_64,
            kernel: "/k/vmlinuz".into(),
            memory_mib: 1024,
            cpus: 2,
            kvm: false,
            timeout: Duration::from_secs(60),
            work_dir: "/w".into(),
            firmware: None,
        };
        let args = |c: &BootConfig| {
            let cmd = command(c, Path::new("/w/initrd.gz"), Path::new("/w/results.bin"));
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let tcg = args(&config);
        assert!(
            tcg.starts_with("-accel tcg,thread=single -cpu max "),
            "{tcg}"
        );
        assert!(
            tcg.contains("-serial stdio -serial file:/w/results.bin"),
            "{tcg}"
        );
        assert!(tcg.contains("console=ttyS0 panic=-1"), "{tcg}");
        assert!(
            tcg.contains("nokaslr no_timer_check module.sig_enforce=1"),
            "{tcg}"
        );
        assert!(!tcg.contains("pflash"), "{tcg}");
        config.firmware = Some(Uefi {
            code: "/fw/code.fd".into(),
            vars: "/w/vars.fd".into(),
        });
        assert!(
            args(&config).contains(
                "-drive if=pflash,format=raw,readonly=on,file=/fw/code.fd \
                 -drive if=pflash,format=raw,file=/w/vars.fd -nodefaults"
            ),
            "{}",
            args(&config)
        );
        config.firmware = None;
        config.kvm = true;
        assert!(args(&config).starts_with("-accel kvm -cpu host "));
        assert!(!args(&config).contains("no_timer_check"));
        config.kvm = false;
        config.arch = Arch::Arm64;
        let arm64 = args(&config);
        assert!(
            arm64.starts_with("-accel tcg,thread=single -cpu max,pauth-impdef=on -machine virt "),
            "{arm64}"
        );
        assert!(
            arm64.contains(
                "-serial stdio -chardev file,id=results,path=/w/results.bin \
                 -device pci-serial,chardev=results"
            ),
            "{arm64}"
        );
        assert!(arm64.contains("console=ttyAMA0 panic=-1"), "{arm64}");
    }
}
