//! Helpers shared by the semantic-analysis test targets (`sema.rs`, on
//! fixtures; `sema_kernel.rs`, on the real Debian 6.1 tree): a sysroot with
//! a synthetic `/bin/stapkit-workload`, analysis of a fixture with its
//! `//@` and `# matrix:` headers, and snapshots.
//!
//! `process("PATH")` probes read their programs under a sysroot made here:
//! `bin/stapkit-workload` and `bin/stapkit-ustack` are small synthetic ELF
//! executables (written with `object`) defining the workload's uprobe
//! targets and `main` (and the workload's SDT markers), so the
//! generated C and the errors do not depend on a built workload; the
//! guests' C programs (`tests/programs/`) are built as stap-matrix builds
//! them, with their debug files at their build-id paths.

#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::frontend_support::fixture_config;
use stapkit::debuginfo::{KernelInfo, UserPrograms};
use stapkit::diag::{render_all, SourceMap};
use stapkit::sema;
use stapkit::text::header;

/// Functions of the synthetic `/bin/stapkit-workload`: (name, offset in .text).
const SYNTHETIC_FUNCTIONS: &[(&str, u64)] = &[
    ("main", 0x0),
    ("stapkit_workload_add", 0x40),
    ("stapkit_workload_text", 0x80),
];

/// Functions of the synthetic `/bin/stapkit-ustack` (the user-stack
/// tests' C program).
const SYNTHETIC_USTACK_FUNCTIONS: &[(&str, u64)] = &[
    ("main", 0x0),
    ("stapkit_ustack_inner", 0x40),
    ("stapkit_ustack_middle", 0x80),
    ("stapkit_ustack_outer", 0xc0),
];

/// SDT markers of the synthetic `/bin/stapkit-workload`, as the built
/// workload's (`workload/c/`) on amd64.
const SYNTHETIC_MARKERS: &[Marker] = &[
    (
        "stapkit",
        "registers",
        0xa0,
        0,
        "-8@%rdi -8@%rax -4@$42 8@%rsi",
    ),
    ("stapkit", "none", 0xa1, 0, ""),
    (
        "stapkit",
        "sizes",
        0xa2,
        0,
        "-1@-1(%rbp) 2@-4(%rbp) -2@-6(%rbp) -4@-12(%rbp) 4@-16(%rbp) -8@-24(%rbp) 8@-48(%rbp)",
    ),
    ("stapkit", "guarded", 0xa3, 0xbe, "-8@-8(%rbp) 2@%ax"),
];

/// SDT markers of the synthetic `/bin/staprun`, as the built staprun's
/// (`staprun/src/markers.rs`) on amd64.
const STAPRUN_MARKERS: &[Marker] = &[
    ("staprun", "insert__module", 0xa0, 0, "-8@%rbx"),
    ("staprun", "remove__module", 0xa1, 0, "-8@%rax"),
    ("stapio", "send__ctlmsg", 0xa2, 0, "-8@%rax -8@%r12 -8@%rcx"),
    ("staprun", "recv__ctlmsg", 0xa3, 0, "-8@%r14 -8@%rdi -8@%r9"),
];

/// An SDT marker: (provider, name, offset in .text, semaphore offset in
/// .text or 0, arguments).
type Marker = (&'static str, &'static str, u64, u64, &'static str);

/// The `.note.stapsdt` section of `markers` at `vaddr`.
fn synthetic_notes(vaddr: u64, markers: &[Marker]) -> Vec<u8> {
    let mut out = Vec::new();
    for (provider, name, offset, semaphore, args) in markers {
        let mut desc = Vec::new();
        desc.extend((vaddr + offset).to_le_bytes());
        desc.extend(0u64.to_le_bytes());
        let sem = if *semaphore == 0 {
            0
        } else {
            vaddr + semaphore
        };
        desc.extend(sem.to_le_bytes());
        for text in [provider, name, args] {
            desc.extend(text.as_bytes());
            desc.push(0);
        }
        out.extend(8u32.to_le_bytes());
        out.extend((desc.len() as u32).to_le_bytes());
        out.extend(3u32.to_le_bytes());
        out.extend(b"stapsdt\0");
        out.extend(&desc);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    out
}

/// A sysroot holding the synthetic `bin/stapkit-workload` (made once).
pub fn test_sysroot() -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sema-sysroot");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        for (name, functions, markers) in [
            ("stapkit-workload", SYNTHETIC_FUNCTIONS, SYNTHETIC_MARKERS),
            ("stapkit-ustack", SYNTHETIC_USTACK_FUNCTIONS, &[][..]),
            // staprun's markers (process("staprun") is looked for in $PATH).
            ("staprun", SYNTHETIC_FUNCTIONS, STAPRUN_MARKERS),
        ] {
            let tmp = root.join(format!("bin/.{name}.{}", std::process::id()));
            std::fs::write(&tmp, synthetic_program(functions, markers)).unwrap();
            if name == "staprun" {
                let mut perms = std::fs::metadata(&tmp).unwrap().permissions();
                std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
                std::fs::set_permissions(&tmp, perms).unwrap();
            }
            std::fs::rename(&tmp, root.join("bin").join(name)).unwrap();
        }
        // The guests' C programs, stripped, their debug files at their
        // build-id paths (as stap-matrix lays them out).
        let programs = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("sema-programs.{}", std::process::id()));
        stapkit::matrix::programs::build(&programs, &root, stapkit::arch::Arch::X86_64, &[])
            .unwrap();
        shared_library_program(&programs, &root);
        root
    })
    .clone()
}

/// [`test_sysroot`] with the guests' dynamic loader and C library
/// (`stapkit::matrix::userland`, fetched into the cache when missing: the
/// network), at the paths the guests have them, for the scripts that
/// probe the guests' `libc.so.6` (`tests/scripts/uprobes_plt.stp` by path,
/// `uprobes_plt_soname.stp` by soname).
pub fn test_sysroot_with_userland() -> PathBuf {
    let root = test_sysroot();
    let arch = stapkit::arch::Arch::X86_64;
    let cache = stapkit::kernel::Cache::locate(None);
    let files = stapkit::matrix::userland::fetch(&cache, None, arch, &|_| {})
        .unwrap_or_else(|e| panic!("the guests' userland: {e}"));
    for (at, file) in files {
        let link = root.join(&at);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        let tmp = link.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&file, &tmp).unwrap();
        std::fs::rename(&tmp, &link).unwrap();
    }
    root
}

/// `bin/uselib`, a program that needs `libstaplib.so.1`: the library is
/// `usr/lib/x86_64-linux-gnu/libstaplib.so.1.0` with the soname's link
/// beside it, and `opt/staplib/libstaplib.so.1`, a second copy that
/// `DT_RUNPATH` of `bin/uselib-runpath` names. Built with the host's gcc
/// without the C library, so that they need nothing else.
fn shared_library_program(dir: &Path, root: &Path) {
    let run = |cmd: &mut std::process::Command| {
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("staplib.c"),
        "int staplib_add(int a, int b) { return a + b; }\nint staplib_neg(int a) { return -a; }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("uselib.c"),
        "int staplib_add(int, int);\nint main(void) { return staplib_add(1, 2); }\n",
    )
    .unwrap();
    let libdir = root.join("usr/lib/x86_64-linux-gnu");
    let optdir = root.join("opt/staplib");
    std::fs::create_dir_all(&libdir).unwrap();
    std::fs::create_dir_all(&optdir).unwrap();
    let lib = dir.join("libstaplib.so.1.0");
    run(std::process::Command::new("gcc")
        .args([
            "-shared",
            "-fPIC",
            "-nostdlib",
            "-Wl,-soname,libstaplib.so.1",
            "-o",
        ])
        .arg(&lib)
        .arg(dir.join("staplib.c")));
    std::fs::copy(&lib, libdir.join("libstaplib.so.1.0")).unwrap();
    std::fs::copy(&lib, optdir.join("libstaplib.so.1")).unwrap();
    let link = libdir.join("libstaplib.so.1");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("libstaplib.so.1.0", &link).unwrap();
    for (name, runpath) in [("uselib", None), ("uselib-runpath", Some("/opt/staplib"))] {
        let out = dir.join(name);
        let mut cmd = std::process::Command::new("gcc");
        cmd.args(["-nostdlib", "-Wl,-e,main", "-o"])
            .arg(&out)
            .arg(dir.join("uselib.c"))
            .arg(&lib);
        if let Some(r) = runpath {
            cmd.arg(format!("-Wl,--enable-new-dtags,-rpath,{r}"));
        }
        run(&mut cmd);
        std::fs::copy(&out, root.join("bin").join(name)).unwrap();
    }
}

/// An x86-64 ELF executable: one loadable segment at file offset 0x1000,
/// address 0x401000, holding .text with `functions` (0x40 bytes each),
/// and the `.note.stapsdt` of `markers` (see [`SYNTHETIC_MARKERS`]).
fn synthetic_program(functions: &[(&str, u64)], markers: &[Marker]) -> Vec<u8> {
    use object::elf;
    use object::write::elf::{FileHeader, ProgramHeader, SectionHeader, Sym, Writer};

    const VADDR: u64 = 0x401000;
    let text = vec![0xc3u8; 0x40 * functions.len()];
    let mut buf = Vec::new();
    let mut w = Writer::new(object::Endianness::Little, true, &mut buf);
    w.reserve_file_header();
    w.reserve_program_headers(1);
    w.reserve_until(0x1000);
    let text_offset = w.reserve(text.len(), 16);
    let notes = synthetic_notes(VADDR, markers);
    let notes_offset = w.reserve(notes.len(), 4);
    let names: Vec<_> = functions
        .iter()
        .map(|(n, _)| w.add_string(n.as_bytes()))
        .collect();
    let text_name = w.add_section_name(b".text");
    let notes_name = w.add_section_name(b".note.stapsdt");
    w.reserve_null_section_index();
    let text_index = w.reserve_section_index();
    w.reserve_section_index();
    w.reserve_null_symbol_index();
    for _ in functions {
        w.reserve_symbol_index(Some(text_index));
    }
    w.reserve_symtab();
    w.reserve_strtab();
    w.reserve_symtab_section_index();
    w.reserve_strtab_section_index();
    w.reserve_shstrtab_section_index();
    w.reserve_shstrtab();
    w.reserve_section_headers();

    w.write_file_header(&FileHeader {
        os_abi: elf::ELFOSABI_NONE,
        abi_version: 0,
        e_type: elf::ET_EXEC,
        e_machine: elf::EM_X86_64,
        e_entry: VADDR,
        e_flags: 0,
    })
    .unwrap();
    w.write_align_program_headers();
    w.write_program_header(&ProgramHeader {
        p_type: elf::PT_LOAD,
        p_flags: elf::PF_R | elf::PF_X,
        p_offset: text_offset as u64,
        p_vaddr: VADDR,
        p_paddr: VADDR,
        p_filesz: text.len() as u64,
        p_memsz: text.len() as u64,
        p_align: 0x1000,
    });
    w.pad_until(text_offset);
    w.write(&text);
    w.write_align(4);
    w.write(&notes);
    w.write_null_symbol();
    for (name, (_, offset)) in names.iter().zip(functions) {
        w.write_symbol(&Sym {
            name: Some(*name),
            section: Some(text_index),
            st_info: (elf::STB_GLOBAL << 4) | elf::STT_FUNC,
            st_other: elf::STV_DEFAULT,
            st_shndx: 0,
            st_value: VADDR + offset,
            st_size: 0x40,
        });
    }
    w.write_strtab();
    w.write_shstrtab();
    w.write_null_section_header();
    w.write_section_header(&SectionHeader {
        name: Some(text_name),
        sh_type: elf::SHT_PROGBITS,
        sh_flags: (elf::SHF_ALLOC | elf::SHF_EXECINSTR) as u64,
        sh_addr: VADDR,
        sh_offset: text_offset as u64,
        sh_size: text.len() as u64,
        sh_link: 0,
        sh_info: 0,
        sh_addralign: 16,
        sh_entsize: 0,
    });
    w.write_section_header(&SectionHeader {
        name: Some(notes_name),
        sh_type: elf::SHT_NOTE,
        sh_flags: 0,
        sh_addr: 0,
        sh_offset: notes_offset as u64,
        sh_size: notes.len() as u64,
        sh_link: 0,
        sh_info: 0,
        sh_addralign: 4,
        sh_entsize: 0,
    });
    w.write_symtab_section_header(1);
    w.write_strtab_section_header();
    w.write_shstrtab_section_header();
    assert_eq!(w.reserved_len(), w.len());
    buf
}

/// The target's programs for analysis: those of [`test_sysroot`].
pub fn test_programs() -> Arc<UserPrograms> {
    Arc::new(UserPrograms::new(Some(test_sysroot())))
}

pub fn analyze(name: &str, text: &str) -> (SourceMap, sema::Analysis) {
    analyze_for(name, text, None)
}

/// The command of a QEMU script's `# matrix: -c "CMD"` option, whose
/// program a `process` point without a path names.
fn matrix_command(text: &str) -> Option<String> {
    header::values(text, "#", "matrix").find_map(|(_, opts)| {
        let words = header::split_words(opts, header::Quoting::DOUBLE).ok()?;
        let at = words.iter().position(|w| w == "-c")?;
        words.get(at + 1).cloned()
    })
}

/// Whether a QEMU script's `# matrix:` options ask for guru mode.
fn matrix_guru(text: &str) -> bool {
    header::values(text, "#", "matrix").any(|(_, opts)| {
        header::split_words(opts, header::Quoting::DOUBLE)
            .is_ok_and(|words| words.iter().any(|w| w == "-g" || w == "--guru-mode"))
    })
}

pub fn analyze_for(
    name: &str,
    text: &str,
    kernel: Option<Arc<KernelInfo>>,
) -> (SourceMap, sema::Analysis) {
    let mut cfg = fixture_config(text);
    cfg.guru |= matrix_guru(text);
    let mut map = SourceMap::new();
    // The library's macros (@this1, @offsetof...), as the driver reads them.
    let (macros, _) = sema::library_macros(&mut map, &[], &cfg);
    cfg.library_macros = macros;
    let file = map.add(name.to_string(), text.to_string());
    let parsed = stapkit::syntax::parse(&map, file, &cfg);
    assert!(
        !parsed.has_errors(),
        "{name} does not parse:\n{}",
        render_all(&map, &parsed.diagnostics)
    );
    let config = sema::Config {
        guru: cfg.guru,
        preprocess: cfg,
        kernel,
        programs: match matrix_command(text) {
            Some(cmd) => {
                Arc::new(UserPrograms::new(Some(test_sysroot())).with_target(Some(&cmd), None))
            }
            None => test_programs(),
        },
        ..Default::default()
    };
    let analysis = sema::analyze(&mut map, &parsed.script, &config);
    (map, analysis)
}

/// Analyzes a fixture that must elaborate cleanly: its `-p2` listing
/// (with its warnings after `# warnings`) and the program, or the errors.
pub fn elaborate(
    name: &str,
    text: &str,
    kernel: Option<Arc<KernelInfo>>,
) -> Result<(String, stapkit::ir::Program), String> {
    let (map, analysis) = analyze_for(&format!("{name}.stp"), text, kernel);
    let Some(program) = analysis.program else {
        return Err(format!(
            "unexpected errors:\n{}",
            render_all(&map, &analysis.diagnostics)
        ));
    };
    let mut listing = sema::listing(&program);
    if !analysis.diagnostics.is_empty() {
        listing.push_str("# warnings\n");
        listing.push_str(&render_all(&map, &analysis.diagnostics));
    }
    Ok((listing, program))
}

/// The C of fixture `name`'s program, as module `t_NAME`.
pub fn translate(name: &str, program: &stapkit::ir::Program) -> String {
    let config = stapkit::codegen::Config {
        module_name: format!("t_{name}"),
        script_name: format!("{name}.stp"),
    };
    stapkit::codegen::generate(program, &config)
}

/// `stap -l`/`-L` (with `variables`) on `pattern`, on `kernel`: the lines
/// listed and the diagnostics.
fn list(
    pattern: &str,
    kernel: &Arc<KernelInfo>,
    variables: bool,
) -> (Vec<String>, Vec<stapkit::diag::Diagnostic>, SourceMap) {
    let text = format!("probe {pattern} {{}}\n");
    let cfg = fixture_config(&text);
    let mut map = SourceMap::new();
    let file = map.add("<input>".to_string(), text);
    let parsed = stapkit::syntax::parse(&map, file, &cfg);
    let config = sema::Config {
        preprocess: cfg,
        kernel: Some(kernel.clone()),
        programs: test_programs(),
        ..Default::default()
    };
    let (lines, diagnostics) = sema::list_points(&mut map, &parsed.script, &config, variables);
    (lines, diagnostics, map)
}

/// The `stap -l`/`-L` listings of `patterns` (`true`: `-L`) on `kernel`,
/// each after its command line; each must list something, without errors.
pub fn listings(kernel: &Arc<KernelInfo>, patterns: &[(&str, bool)]) -> String {
    let mut out = String::new();
    for &(pattern, variables) in patterns {
        let (lines, diagnostics, map) = list(pattern, kernel, variables);
        assert!(
            !diagnostics.iter().any(|d| d.is_error()),
            "{pattern}: {}",
            render_all(&map, &diagnostics)
        );
        assert!(!lines.is_empty(), "{pattern} lists nothing");
        let flag = if variables { 'L' } else { 'l' };
        out.push_str(&format!("$ stap -{flag} '{pattern}'\n"));
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// `stap -l PATTERN` that must list nothing and fail: the command line
/// and the errors.
pub fn listing_refused(kernel: &Arc<KernelInfo>, pattern: &str) -> String {
    let (lines, diagnostics, map) = list(pattern, kernel, false);
    assert!(lines.is_empty(), "{pattern}");
    assert!(diagnostics.iter().any(|d| d.is_error()), "{pattern}");
    format!("$ stap -l '{pattern}'\n{}", render_all(&map, &diagnostics))
}

pub fn run_all(files: Vec<PathBuf>, check: impl Fn(&str, &str) -> Result<(), String>) {
    assert!(!files.is_empty(), "no fixtures");
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match catch_unwind(AssertUnwindSafe(|| check(&name, &text))) {
            Ok(Ok(())) => {}
            Ok(Err(message)) => failures.push(format!("{}: {message}", path.display())),
            Err(_) => failures.push(format!("{}: panicked (snapshot mismatch?)", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

pub fn snapshot(dir: &str, name: &str, content: &str) {
    insta::with_settings!({
        snapshot_path => format!("{}/tests/snapshots/{dir}", env!("CARGO_MANIFEST_DIR")),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name.to_string(), content);
    });
}
