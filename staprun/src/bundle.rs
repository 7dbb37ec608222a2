//! Reading a stapkit bundle (`stap --bundle NAME.stpb`): a plain POSIX tar
//! holding a text `MANIFEST` and one `.ko` per kernel, and choosing the
//! module built for the running kernel.
//!
//! `MANIFEST` (inspect it with `tar -xOf NAME.stpb MANIFEST`) starts with
//! `stapkit-bundle 1`, then tab-separated lines: `name`, `stapkit`,
//! `protocol`, `script-sha256` with one value each, and one `kernel` line
//! per module whose fields are `key=value`: `release`, `arch` (x86_64,
//! arm64), `vermagic`, `build-id` (hex, or `-` when the kernel image was
//! not at hand), `signed` (the hash, or `no`), `sha256` and `file`.
//!
//! A module fits when its arch and release are the running kernel's, its
//! vermagic agrees with `uname -v` (SMP, preemption), and — where both are
//! known — its build id is the one in `/sys/kernel/notes`.

use std::fmt::Write as _;

/// One module of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    /// Kernel release (`uname -r`).
    pub release: String,
    /// `x86_64` or `arm64`.
    pub arch: String,
    /// The kernel's vermagic.
    pub vermagic: String,
    /// The kernel's GNU build id, hex; `None` when unknown.
    pub build_id: Option<String>,
    /// The signature's hash, when signed.
    pub signed: Option<String>,
    /// Path of the `.ko` inside the tar.
    pub file: String,
}

/// A bundle's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// Module name.
    pub name: String,
    /// stapkit version that built it.
    pub stapkit: String,
    /// The modules' channel protocol.
    pub protocol: u32,
    /// SHA-256 of the script.
    pub script_sha256: String,
    /// The modules.
    pub entries: Vec<Entry>,
}

/// The running kernel, as far as a module's fit goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Host {
    /// `uname -r`.
    pub release: String,
    /// `x86_64` or `arm64` (from `uname -m`).
    pub arch: String,
    /// `uname -v` (`#1 SMP PREEMPT_DYNAMIC Debian ...`).
    pub version: String,
    /// The GNU build id in `/sys/kernel/notes`, hex.
    pub build_id: Option<String>,
}

/// Whether `data` is a tar archive (the `ustar` magic).
pub fn is_bundle(data: &[u8]) -> bool {
    data.len() >= 512 && &data[257..262] == b"ustar"
}

/// The files of a tar archive: (name, contents). Regular files only.
pub fn tar_files(data: &[u8]) -> Result<Vec<(String, &[u8])>, String> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 512 <= data.len() {
        let h = &data[at..at + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let field = |from: usize, len: usize| {
            let f = &h[from..from + len];
            let end = f.iter().position(|&b| b == 0).unwrap_or(len);
            String::from_utf8_lossy(&f[..end]).into_owned()
        };
        let size_text = field(124, 12);
        let size = u64::from_str_radix(size_text.trim(), 8)
            .map_err(|_| format!("damaged tar header at byte {at} (size '{size_text}')"))?
            as usize;
        let prefix = field(345, 155);
        let name = match prefix.is_empty() {
            true => field(0, 100),
            false => format!("{prefix}/{}", field(0, 100)),
        };
        let body = at + 512;
        let end = body
            .checked_add(size)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| format!("the archive is cut short in '{name}'"))?;
        if matches!(h[156], b'0' | 0) {
            out.push((name, &data[body..end]));
        }
        at = body + size.div_ceil(512) * 512;
    }
    Ok(out)
}

/// Parses `MANIFEST`.
pub fn parse_manifest(text: &str) -> Result<Manifest, String> {
    let mut lines = text.lines();
    if lines.next() != Some("stapkit-bundle 1") {
        return Err("its MANIFEST does not start with 'stapkit-bundle 1' (a newer stapkit's bundle? use that version's staprun)".to_string());
    }
    let mut m = Manifest::default();
    for (n, line) in lines.enumerate() {
        let mut fields = line.split('\t');
        let key = fields.next().unwrap_or_default();
        let value = fields.clone().next().unwrap_or_default().to_string();
        match key {
            "name" => m.name = value,
            "stapkit" => m.stapkit = value,
            "protocol" => m.protocol = value.parse().unwrap_or(0),
            "script-sha256" => m.script_sha256 = value,
            "kernel" => {
                let mut e = Entry::default();
                for f in fields {
                    let (k, v) = f.split_once('=').unwrap_or((f, ""));
                    let v = v.to_string();
                    match k {
                        "release" => e.release = v,
                        "arch" => e.arch = v,
                        "vermagic" => e.vermagic = v,
                        "build-id" => e.build_id = (v != "-").then_some(v),
                        "signed" => e.signed = (v != "no").then_some(v),
                        "file" => e.file = v,
                        _ => {}
                    }
                }
                if e.release.is_empty() || e.file.is_empty() {
                    return Err(format!(
                        "MANIFEST line {}: a kernel line without release or file",
                        n + 2
                    ));
                }
                m.entries.push(e);
            }
            _ => {}
        }
    }
    Ok(m)
}

/// Why an entry does not fit the host, or `None` when it does.
pub fn misfit(e: &Entry, host: &Host) -> Option<String> {
    if e.arch != host.arch {
        return Some(format!("built for {}", e.arch));
    }
    if e.release != host.release {
        return Some(format!("built for {}", e.release));
    }
    if let (Some(want), Some(have)) = (&e.build_id, &host.build_id) {
        if want != have {
            return Some(format!(
                "built for another build of {} (build id {want}, this kernel's is {have})",
                e.release
            ));
        }
    }
    vermagic_misfit(&e.vermagic, &host.version)
}

/// Checks the parts of a vermagic that `uname -v` also shows.
fn vermagic_misfit(vermagic: &str, version: &str) -> Option<String> {
    let words: Vec<&str> = vermagic.split_whitespace().collect();
    let version_words: Vec<&str> = version.split_whitespace().collect();
    let smp = version_words.contains(&"SMP");
    if words.contains(&"SMP") != smp {
        return Some(format!(
            "vermagic '{vermagic}' does not fit '{version}' (SMP)"
        ));
    }
    let rt = version_words.contains(&"PREEMPT_RT");
    let preempt = version_words
        .iter()
        .any(|w| *w == "PREEMPT" || *w == "PREEMPT_DYNAMIC");
    let (vm_rt, vm_preempt) = (words.contains(&"preempt_rt"), words.contains(&"preempt"));
    if vm_rt != rt || (!rt && vm_preempt != preempt) {
        return Some(format!(
            "vermagic '{vermagic}' does not fit '{version}' (preemption)"
        ));
    }
    None
}

/// The entry to load on `host`, or the message listing what the bundle
/// holds and why none fits.
pub fn choose<'a>(m: &'a Manifest, host: &Host, bundle: &str) -> Result<&'a Entry, String> {
    let fits: Vec<&Entry> = m
        .entries
        .iter()
        .filter(|e| misfit(e, host).is_none())
        .collect();
    if let Some(e) = fits.first() {
        return Ok(e);
    }
    let mut msg = format!(
        "{bundle} has no module for this kernel ({} {}, build id {}).\nIt holds:\n",
        host.release,
        host.arch,
        host.build_id.as_deref().unwrap_or("unknown")
    );
    for e in &m.entries {
        let why = misfit(e, host).unwrap_or_default();
        let _ = writeln!(msg, "  {:<28} {:<7} {why}", e.release, e.arch);
    }
    let _ = write!(
        msg,
        "Build it for this kernel too: stap -r {} ... --bundle {bundle} (with the kernel's headers: linux-headers-{})",
        host.release, host.release
    );
    Err(msg)
}

/// `staprun --list`: a header, then one line per module; `*` marks the one
/// this host would run.
pub fn listing(m: &Manifest, host: &Host) -> String {
    let mut out = format!(
        "module {}, built by stapkit {} (channel protocol {}), script sha256 {}\n",
        m.name, m.stapkit, m.protocol, m.script_sha256
    );
    let chosen = choose(m, host, "").ok();
    let _ = writeln!(
        out,
        "  {:<28} {:<7} {:<40} {:<7} VERMAGIC",
        "RELEASE", "ARCH", "BUILD-ID", "SIGNED"
    );
    for e in &m.entries {
        let mark = if chosen == Some(e) { '*' } else { ' ' };
        let _ = writeln!(
            out,
            "{mark} {:<28} {:<7} {:<40} {:<7} {}",
            e.release,
            e.arch,
            e.build_id.as_deref().unwrap_or("-"),
            e.signed.as_deref().unwrap_or("no"),
            e.vermagic
        );
    }
    out
}

/// The running kernel: uname and `/sys/kernel/notes`.
pub fn this_host() -> Host {
    // SAFETY: uname fills a zeroed utsname; its fields are NUL-terminated.
    let uts = unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        libc::uname(&mut u);
        u
    };
    let text = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let machine = text(&uts.machine);
    Host {
        release: text(&uts.release),
        arch: match machine.as_str() {
            "aarch64" => "arm64".to_string(),
            other => other.to_string(),
        },
        version: text(&uts.version),
        build_id: std::fs::read("/sys/kernel/notes")
            .ok()
            .and_then(|n| gnu_build_id(&n)),
    }
}

/// The GNU build id in an ELF note section's bytes (native endian), hex.
pub fn gnu_build_id(notes: &[u8]) -> Option<String> {
    let u32_at =
        |at: usize| Some(u32::from_ne_bytes(notes.get(at..at + 4)?.try_into().ok()?) as usize);
    let mut at = 0;
    while at + 12 <= notes.len() {
        let (namesz, descsz, kind) = (u32_at(at)?, u32_at(at + 4)?, u32_at(at + 8)?);
        let name_at = at + 12;
        let desc_at = name_at + namesz.div_ceil(4) * 4;
        let next = desc_at + descsz.div_ceil(4) * 4;
        if next > notes.len() {
            return None;
        }
        if kind == 3 && notes.get(name_at..name_at + namesz) == Some(b"GNU\0") {
            return Some(
                notes[desc_at..desc_at + descsz]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
            );
        }
        at = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "stapkit-bundle 1\nname\thello\nstapkit\t0.1.0\nprotocol\t2\nscript-sha256\tabc\n\
        kernel\trelease=6.1.0-27-amd64\tarch=x86_64\tvermagic=6.1.0-27-amd64 SMP preempt mod_unload modversions\tbuild-id=aa11\tsigned=no\tsha256=00\tfile=6.1.0-27-amd64/hello.ko\n\
        kernel\trelease=5.10.0-33-amd64\tarch=x86_64\tvermagic=5.10.0-33-amd64 SMP mod_unload modversions\tbuild-id=-\tsigned=sha256\tsha256=01\tfile=5.10.0-33-amd64/hello.ko\n\
        kernel\trelease=6.1.0-27-arm64\tarch=arm64\tvermagic=6.1.0-27-arm64 SMP preempt mod_unload modversions aarch64\tbuild-id=bb22\tsigned=no\tsha256=02\tfile=6.1.0-27-arm64/hello.ko\n";

    fn host(release: &str, arch: &str, version: &str, id: Option<&str>) -> Host {
        Host {
            release: release.into(),
            arch: arch.into(),
            version: version.into(),
            build_id: id.map(str::to_string),
        }
    }

    #[test]
    fn the_manifest_reads_back() {
        let m = parse_manifest(MANIFEST).unwrap();
        assert_eq!((m.name.as_str(), m.protocol), ("hello", 2));
        assert_eq!(m.entries.len(), 3);
        assert_eq!(m.entries[1].build_id, None);
        assert_eq!(m.entries[1].signed.as_deref(), Some("sha256"));
        assert!(parse_manifest("something else\n")
            .unwrap_err()
            .contains("stapkit-bundle 1"));
        assert!(parse_manifest("stapkit-bundle 1\nkernel\tarch=x\n")
            .unwrap_err()
            .contains("line 2"));
    }

    #[test]
    fn the_running_kernels_module_is_chosen() {
        let m = parse_manifest(MANIFEST).unwrap();
        let dyn_preempt = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)";
        let h = host("6.1.0-27-amd64", "x86_64", dyn_preempt, Some("aa11"));
        assert_eq!(choose(&m, &h, "b").unwrap().file, "6.1.0-27-amd64/hello.ko");
        let h = host("6.1.0-27-arm64", "arm64", dyn_preempt, None);
        assert_eq!(choose(&m, &h, "b").unwrap().file, "6.1.0-27-arm64/hello.ko");
        let h = host(
            "5.10.0-33-amd64",
            "x86_64",
            "#1 SMP Debian 5.10.226-1",
            Some("ff"),
        );
        assert_eq!(choose(&m, &h, "b").unwrap().release, "5.10.0-33-amd64");
    }

    #[test]
    fn no_fit_lists_what_the_bundle_holds() {
        let m = parse_manifest(MANIFEST).unwrap();
        let h = host(
            "6.1.0-27-amd64",
            "x86_64",
            "#1 SMP PREEMPT_DYNAMIC x",
            Some("cc33"),
        );
        let err = choose(&m, &h, "hello.stpb").unwrap_err();
        assert!(
            err.starts_with(
                "hello.stpb has no module for this kernel (6.1.0-27-amd64 x86_64, build id cc33)"
            ),
            "{err}"
        );
        assert!(
            err.contains("another build of 6.1.0-27-amd64 (build id aa11, this kernel's is cc33)"),
            "{err}"
        );
        assert!(
            err.contains("6.1.0-27-arm64               arm64   built for arm64"),
            "{err}"
        );
        assert!(
            err.contains("stap -r 6.1.0-27-amd64 ... --bundle hello.stpb"),
            "{err}"
        );
        // A kernel without SMP or preemption is another build too.
        let h = host("6.1.0-27-amd64", "x86_64", "#1 Debian", None);
        assert!(choose(&m, &h, "b").unwrap_err().contains("(SMP)"));
        let h = host("6.1.0-27-amd64", "x86_64", "#1 SMP Debian", None);
        assert!(choose(&m, &h, "b").unwrap_err().contains("(preemption)"));
    }

    #[test]
    fn listing_marks_the_module_that_would_run() {
        let m = parse_manifest(MANIFEST).unwrap();
        let h = host("5.10.0-33-amd64", "x86_64", "#1 SMP Debian", None);
        let text = listing(&m, &h);
        assert!(
            text.starts_with("module hello, built by stapkit 0.1.0 (channel protocol 2)"),
            "{text}"
        );
        assert!(text.contains("\n* 5.10.0-33-amd64"), "{text}");
        assert!(text.contains("\n  6.1.0-27-amd64"), "{text}");
    }

    #[test]
    fn tar_members_are_read() {
        let mut tar = Vec::new();
        for (name, body) in [
            ("MANIFEST", &b"stapkit-bundle 1\n"[..]),
            ("k/m.ko", &[7u8; 600][..]),
        ] {
            let mut h = [0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
            h[156] = b'0';
            h[257..263].copy_from_slice(b"ustar\0");
            tar.extend(h);
            tar.extend(body);
            tar.resize(tar.len().div_ceil(512) * 512, 0);
        }
        tar.extend([0u8; 1024]);
        assert!(is_bundle(&tar));
        let files = tar_files(&tar).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[1].0, "k/m.ko");
        assert_eq!(files[1].1.len(), 600);
        assert!(tar_files(&tar[..1024 + 512 + 100])
            .unwrap_err()
            .contains("cut short in 'k/m.ko'"));
    }

    #[test]
    fn build_ids_come_from_the_gnu_note() {
        let mut notes = Vec::new();
        // A Xen note first, then NT_GNU_BUILD_ID.
        for (name, kind, desc) in [
            (&b"Xen\0"[..], 1u32, &[1u8, 2][..]),
            (b"GNU\0", 3, &[0xab, 0xcd, 0xef]),
        ] {
            notes.extend((name.len() as u32).to_ne_bytes());
            notes.extend((desc.len() as u32).to_ne_bytes());
            notes.extend(kind.to_ne_bytes());
            notes.extend(name);
            notes.extend(desc);
            notes.resize(notes.len().div_ceil(4) * 4, 0);
        }
        assert_eq!(gnu_build_id(&notes).as_deref(), Some("abcdef"));
        assert_eq!(gnu_build_id(&notes[..20]), None);
    }
}
