//! Data-driven tests of semantic analysis and code generation.
//!
//! * `tests/data/sema/ok/*.stp` must analyze without errors; the snapshot
//!   holds the `-p2` listing.
//! * `tests/data/sema/err/*.stp` must produce at least one error; the
//!   snapshot holds the rendered diagnostics.
//! * `tests/data/sema/kernel_err/*.stp` must produce at least one error
//!   when checked against the fetched Debian 6.1 kernel (missing and
//!   inlined functions, unknown members); the snapshot holds the
//!   diagnostics.
//! * `tests/scripts/*.stp` (the QEMU suite) are translated to C; the
//!   snapshot holds the generated C, which must be deterministic.
//!
//! `process("PATH")` probes read their programs under a sysroot made here:
//! `bin/stapkit-workload` is a small synthetic ELF executable (written with
//! `object`) defining the workload's uprobe targets and `main`, so the
//! generated C and the errors do not depend on a built workload.
//!
//! Fixtures use the default preprocessor target (Debian 6.1 x86_64) unless
//! a `//@` header line says otherwise. The QEMU scripts are translated
//! against the fetched Debian 6.1 kernel (its BTF and symbols), as the QEMU
//! test builds them; `cargo xtask setup` fetches it. Update snapshots with
//! `INSTA_UPDATE=always cargo test -p stapkit --test sema` and review them.

mod frontend_support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use frontend_support::{fixture_config, fixtures};
use stapkit::codegen;
use stapkit::debuginfo::{KernelFiles, KernelInfo};
use stapkit::diag::{render_all, SourceMap};
use stapkit::kernel::{Cache, Catalog, HeaderTree};
use stapkit::sema;

/// The kernel the QEMU scripts are translated for.
const QEMU_KERNEL: &str = "debian-6.1-amd64";

/// The fetched [`QEMU_KERNEL`]'s information; panics with the fix when it
/// has not been fetched.
fn qemu_kernel() -> Arc<KernelInfo> {
    let catalog = Catalog::load().expect("kernel manifests");
    let tree = HeaderTree::resolve(Some(QEMU_KERNEL), &Cache::locate(None), &catalog)
        .unwrap_or_else(|e| {
            panic!("{e}\nfetch it first: cargo xtask setup (or stap-prep fetch {QEMU_KERNEL})")
        });
    // What a machine without the -dbg package sees, whatever is cached.
    let files = KernelFiles::from_tree(&tree).expect("an x86_64 tree");
    Arc::new(KernelInfo::new(files.without_debug()))
}

/// The fetched [`QEMU_KERNEL`] with its `-dbg` package, for the QEMU
/// scripts that `# requires: debuginfo` (CI fetches it with it).
fn qemu_kernel_with_debug() -> Arc<KernelInfo> {
    static INFO: std::sync::OnceLock<Arc<KernelInfo>> = std::sync::OnceLock::new();
    INFO.get_or_init(|| {
        let catalog = Catalog::load().expect("kernel manifests");
        let tree = HeaderTree::resolve(Some(QEMU_KERNEL), &Cache::locate(None), &catalog)
            .unwrap_or_else(|e| panic!("{e}"));
        let info = KernelInfo::new(KernelFiles::from_tree(&tree).expect("an x86_64 tree"));
        assert!(
            info.dwarf().is_some() && info.system_map().is_some(),
            "scripts with '# requires: debuginfo' are translated with {QEMU_KERNEL}'s -dbg \
             package: stap-prep fetch --debug {QEMU_KERNEL}"
        );
        Arc::new(info)
    })
    .clone()
}

/// Functions of the synthetic `/bin/stapkit-workload`: (name, offset in .text).
const SYNTHETIC_FUNCTIONS: &[(&str, u64)] = &[
    ("main", 0x0),
    ("stapkit_workload_add", 0x40),
    ("stapkit_workload_text", 0x80),
];

/// A sysroot holding the synthetic `bin/stapkit-workload` (made once).
fn test_sysroot() -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sema-sysroot");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        let tmp = root.join(format!("bin/.stapkit-workload.{}", std::process::id()));
        std::fs::write(&tmp, synthetic_program()).unwrap();
        std::fs::rename(&tmp, root.join("bin/stapkit-workload")).unwrap();
        root
    })
    .clone()
}

/// An x86-64 ELF executable: one loadable segment at file offset 0x1000,
/// address 0x401000, holding .text with [`SYNTHETIC_FUNCTIONS`].
fn synthetic_program() -> Vec<u8> {
    use object::elf;
    use object::write::elf::{FileHeader, ProgramHeader, SectionHeader, Sym, Writer};

    const VADDR: u64 = 0x401000;
    let text = vec![0xc3u8; 0xc0];
    let mut buf = Vec::new();
    let mut w = Writer::new(object::Endianness::Little, true, &mut buf);
    w.reserve_file_header();
    w.reserve_program_headers(1);
    w.reserve_until(0x1000);
    let text_offset = w.reserve(text.len(), 16);
    let names: Vec<_> = SYNTHETIC_FUNCTIONS
        .iter()
        .map(|(n, _)| w.add_string(n.as_bytes()))
        .collect();
    let text_name = w.add_section_name(b".text");
    w.reserve_null_section_index();
    let text_index = w.reserve_section_index();
    w.reserve_null_symbol_index();
    for _ in SYNTHETIC_FUNCTIONS {
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
    w.write_null_symbol();
    for (name, (_, offset)) in names.iter().zip(SYNTHETIC_FUNCTIONS) {
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
    w.write_symtab_section_header(1);
    w.write_strtab_section_header();
    w.write_shstrtab_section_header();
    assert_eq!(w.reserved_len(), w.len());
    buf
}

fn analyze(name: &str, text: &str) -> (SourceMap, sema::Analysis) {
    analyze_for(name, text, None)
}

/// Whether a QEMU script's `# matrix:` options ask for guru mode.
fn matrix_guru(text: &str) -> bool {
    text.lines()
        .filter_map(|l| l.strip_prefix("# matrix:"))
        .any(|opts| {
            opts.split_whitespace()
                .any(|w| w == "-g" || w == "--guru-mode")
        })
}

fn analyze_for(
    name: &str,
    text: &str,
    kernel: Option<Arc<KernelInfo>>,
) -> (SourceMap, sema::Analysis) {
    let mut cfg = fixture_config(text);
    cfg.guru |= matrix_guru(text);
    let mut map = SourceMap::new();
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
        sysroot: Some(test_sysroot()),
        ..Default::default()
    };
    let analysis = sema::analyze(&mut map, &parsed.script, &config);
    (map, analysis)
}

fn run_all(files: Vec<PathBuf>, check: impl Fn(&str, &str) -> Result<(), String>) {
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

fn snapshot(dir: &str, name: &str, content: &str) {
    insta::with_settings!({
        snapshot_path => format!("snapshots/{dir}"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name.to_string(), content);
    });
}

#[test]
fn ok_fixtures_analyze_cleanly() {
    run_all(fixtures("sema/ok"), |name, text| {
        let (map, analysis) = analyze(&format!("{name}.stp"), text);
        let Some(program) = analysis.program else {
            return Err(format!(
                "unexpected errors:\n{}",
                render_all(&map, &analysis.diagnostics)
            ));
        };
        let mut out = sema::listing(&program);
        if !analysis.diagnostics.is_empty() {
            out.push_str("# warnings\n");
            out.push_str(&render_all(&map, &analysis.diagnostics));
        }
        snapshot("sema_ok", name, &out);
        Ok(())
    });
}

/// Inference has no round cap: types flow back through a chain of calls
/// of any depth (`data/sema/ok/deep_call_chain.stp` has 40), in both
/// definition orders, and a global's type through the same chain.
#[test]
fn long_call_chains_infer_their_types() {
    const DEPTH: usize = 1000;
    let chain = |reverse: bool| {
        let mut text = String::from("global g\n");
        let mut functions: Vec<String> = (0..DEPTH - 1)
            .map(|i| format!("function f{i}(x) {{ return f{}(x) }}\n", i + 1))
            .collect();
        functions.push(format!(
            "function f{}(x) {{ g = x; return x }}\n",
            DEPTH - 1
        ));
        if reverse {
            functions.reverse();
        }
        text.extend(functions);
        text.push_str("probe begin { println(f0(\"deep\"), g) }\n");
        text
    };
    for reverse in [false, true] {
        let (map, analysis) = analyze("chain.stp", &chain(reverse));
        let program = analysis
            .program
            .unwrap_or_else(|| panic!("{}", render_all(&map, &analysis.diagnostics)));
        assert_eq!(program.functions.len(), DEPTH);
        assert!(program
            .functions
            .iter()
            .all(|f| f.ret == Some(stapkit::ir::Type::String)
                && f.locals[0].ty == stapkit::ir::Type::String));
        assert_eq!(
            program.globals[0].kind,
            stapkit::ir::GlobalKind::Scalar(stapkit::ir::Type::String)
        );
    }
}

#[test]
fn err_fixtures_report_errors() {
    run_all(fixtures("sema/err"), |name, text| {
        let (map, analysis) = analyze(&format!("{name}.stp"), text);
        if analysis.program.is_some() {
            return Err("expected a semantic error, got none".to_string());
        }
        // The sysroot lives in this checkout's target directory.
        let out = render_all(&map, &analysis.diagnostics)
            .replace(&test_sysroot().display().to_string(), "<sysroot>");
        snapshot("sema_err", name, &out);
        Ok(())
    });
}

#[test]
fn kernel_err_fixtures_report_errors() {
    let kernel = qemu_kernel();
    let release = kernel.files().release.clone();
    run_all(fixtures("sema/kernel_err"), |name, text| {
        let (map, analysis) = analyze_for(&format!("{name}.stp"), text, Some(kernel.clone()));
        if analysis.program.is_some() {
            return Err("expected a semantic error, got none".to_string());
        }
        // Debian point releases change the release, not the answers.
        let out = render_all(&map, &analysis.diagnostics).replace(&release, "<release>");
        snapshot("sema_kernel_err", name, &out);
        Ok(())
    });
}

#[test]
fn qemu_scripts_translate_to_deterministic_c() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scripts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "stp"))
        .collect();
    files.sort();
    let kernel = qemu_kernel();
    run_all(files, |name, text| {
        let kernel = match text
            .lines()
            .any(|l| l.trim_end() == "# requires: debuginfo")
        {
            true => qemu_kernel_with_debug(),
            false => kernel.clone(),
        };
        let (map, analysis) = analyze_for(&format!("{name}.stp"), text, Some(kernel));
        let Some(program) = analysis.program else {
            return Err(format!(
                "unexpected errors:\n{}",
                render_all(&map, &analysis.diagnostics)
            ));
        };
        let config = codegen::Config {
            module_name: format!("t_{name}"),
            script_name: format!("{name}.stp"),
        };
        let c = codegen::generate(&program, &config);
        let again = codegen::generate(&program, &config);
        if c != again {
            return Err("generated C differs between two runs".to_string());
        }
        snapshot("codegen", name, &c);
        Ok(())
    });
}

/// `stap -l`/`-L` against the 6.1 tree without its debug package: the
/// generated syscall aliases with their variables and types, functions
/// with BTF prototypes, tracepoints of the image and of modules (ext4's,
/// learnt from the kernel's modules package), process points (functions
/// from the synthetic program's symbol table) and points without
/// variables; wildcard components name only points that need no
/// parameter (`timer.*` is `timer.profile`), as SystemTap lists them.
#[test]
fn probe_point_listings() {
    let kernel = qemu_kernel();
    let mut out = String::new();
    for (pattern, variables) in [
        ("syscall.kill", true),
        ("syscall.kill.return", true),
        ("syscall.{openat,close,fsync,read,write}", true),
        ("syscall.fsync*", false),
        ("syscall.f*sync.return", true),
        ("syscall.exit_group", true),
        ("kernel.function(\"vfs_fsync*\")", true),
        ("kernel.function(\"vfs_read\").return", true),
        ("begin", true),
        ("timer.ms(100)", false),
        ("kernel.trace(\"ext4:ext4_sync_file_*\")", true),
        ("kernel.trace(\"*:ext4_sync_file_*\")", false),
        ("kernel.trace(\"sched:sched_process_fork\")", true),
        ("kernel.function(\"vfs_read\").*", false),
        ("process.*", false),
        ("process.begin", false),
        ("process.end", true),
        ("process(\"/bin/stapkit-workload\").*", false),
        (
            "process(\"/bin/stapkit-workload\").function(\"stapkit_*\")",
            false,
        ),
        (
            "process(\"/bin/stapkit-workload\").function(\"stapkit_*\").return",
            true,
        ),
        ("timer.*", false),
        ("begin*", false),
        ("*", false),
        ("vfs.**", false),
        ("process(\"/bin/stapkit-workload\").**", false),
    ] {
        let text = format!("probe {pattern} {{}}\n");
        let cfg = fixture_config(&text);
        let mut map = SourceMap::new();
        let file = map.add("<input>".to_string(), text.clone());
        let parsed = stapkit::syntax::parse(&map, file, &cfg);
        let config = sema::Config {
            preprocess: cfg,
            kernel: Some(kernel.clone()),
            sysroot: Some(test_sysroot()),
            ..Default::default()
        };
        let (lines, diagnostics) = sema::list_points(&mut map, &parsed.script, &config, variables);
        assert!(
            !diagnostics.iter().any(|d| d.is_error()),
            "{pattern}: {}",
            render_all(&map, &diagnostics)
        );
        assert!(!lines.is_empty(), "{pattern} lists nothing");
        out.push_str(&format!(
            "$ stap -{} '{pattern}'\n",
            if variables { 'L' } else { 'l' }
        ));
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
    // Unknown syscalls are errors naming the nearest ones.
    let text = "probe syscall.kil {}\n";
    let cfg = fixture_config(text);
    let mut map = SourceMap::new();
    let file = map.add("<input>".to_string(), text.to_string());
    let parsed = stapkit::syntax::parse(&map, file, &cfg);
    let config = sema::Config {
        preprocess: cfg,
        kernel: Some(kernel.clone()),
        ..Default::default()
    };
    let (lines, diagnostics) = sema::list_points(&mut map, &parsed.script, &config, false);
    assert!(lines.is_empty());
    out.push_str(&format!(
        "$ stap -l 'syscall.kil'\n{}",
        render_all(&map, &diagnostics)
    ));
    snapshot("listing", "probe_point_listings", &out);
}

/// Every alias of the generated syscall tapset elaborates on the 6.1 tree:
/// `syscall.*` and `syscall.*.return` with their variables all used.
/// (Built and loaded in guests of 5.10, 6.1, 6.12 and 7.2 by hand: several
/// hundred kprobes take about 40 s to register under TCG, too slow for
/// the suite.)
#[test]
fn every_syscall_alias_elaborates() {
    let text = "global calls\n\
                probe syscall.* { calls[name, argstr]++ }\n\
                probe syscall.*.return { calls[name, retstr] += retval }\n";
    let (map, analysis) = analyze_for("all.stp", text, Some(qemu_kernel()));
    let Some(program) = analysis.program else {
        panic!("{}", render_all(&map, &analysis.diagnostics));
    };
    let entries = program
        .probes
        .iter()
        .flat_map(|p| &p.points)
        .filter(|p| p.name.starts_with("kernel.function") && !p.name.ends_with(".return"))
        .count();
    let returns = program
        .probes
        .iter()
        .flat_map(|p| &p.points)
        .filter(|p| p.name.ends_with(".return"))
        .count();
    // 6.1's x86-64 table, without exit and exit_group on return.
    assert!(entries > 300, "{entries} entries");
    assert_eq!(returns + 2, entries);
}
