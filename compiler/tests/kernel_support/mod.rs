//! The fixture kernel: a miniature x86-64 kernel that semantic-analysis
//! tests run on without a fetched kernel or the network. Its headers,
//! syscall table, exports and modules' tracepoints are text files under
//! `tests/data/fixture-kernel/` (see the README there); its image is an
//! ELF `vmlinux` whose `.BTF` this module writes (types, functions with
//! their prototypes, the built-in tracepoints, a per-CPU variable), once
//! per test process, under the target directory. There is no DWARF and no
//! real `System.map`, as on a machine without the `-dbg` package.
//!
//! The answers `KernelInfo` gives come from the same readers as for a
//! real tree: only the files are small.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use stapkit::arch::Arch;
use stapkit::debuginfo::btf::write::BtfBuilder;
use stapkit::debuginfo::{KernelFiles, KernelInfo};
use stapkit::kernel::module_tracepoints::ModuleSource;

/// The fixture kernel's release, as messages name it.
pub const FIXTURE_RELEASE: &str = "6.1.0-fixture-amd64";

/// The fixture tree's text files.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixture-kernel")
}

/// The fixture kernel's files: the checked-in tree and the written image.
pub fn fixture_files() -> KernelFiles {
    let dir = fixture_dir();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixture-kernel");
    let config: BTreeMap<String, String> = [
        "CONFIG_X86_64",
        "CONFIG_64BIT",
        "CONFIG_MODULES",
        "CONFIG_MODVERSIONS",
        "CONFIG_KPROBES",
        "CONFIG_TRACEPOINTS",
        "CONFIG_ARCH_HAS_SYSCALL_WRAPPER",
    ]
    .into_iter()
    .map(|k| (k.to_string(), "y".to_string()))
    .collect();
    KernelFiles {
        release: FIXTURE_RELEASE.to_string(),
        arch: Arch::X86_64,
        config,
        source_dirs: vec![dir.clone()],
        image: Some(fixture_image(&work)),
        system_map: None,
        debug_vmlinux: None,
        module_symvers: Some(dir.join("Module.symvers")),
        cache_dir: work.join("debuginfo"),
        debug_hint: format!(
            "install linux-image-{FIXTURE_RELEASE}-dbg (stap-prep fetch --debug fixture)"
        ),
        modules: Some(ModuleSource::Installed {
            dir: fixture_modules(&work),
            cache_file: dir.join("module-tracepoints.tsv"),
        }),
    }
}

/// What analysis knows of the fixture kernel (one per test process).
pub fn fixture_kernel() -> Arc<KernelInfo> {
    static INFO: OnceLock<Arc<KernelInfo>> = OnceLock::new();
    INFO.get_or_init(|| Arc::new(KernelInfo::new(fixture_files())))
        .clone()
}

/// Writes `work/vmlinux` (once per process, through a rename, so that
/// test processes running at once never read half a file).
fn fixture_image(work: &Path) -> PathBuf {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            std::fs::create_dir_all(work).unwrap();
            let path = work.join("vmlinux");
            let bytes = elf_with_btf(&fixture_btf());
            if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
                let tmp = work.join(format!(".vmlinux.{}", std::process::id()));
                std::fs::write(&tmp, &bytes).unwrap();
                std::fs::rename(&tmp, &path).unwrap();
            }
            path
        })
        .clone()
}

/// Writes the fixture kernel's loadable modules under `work/modules`
/// (once per process, through renames): `ext4.ko`, whose split `.BTF`
/// extends the image's with ext4's own struct and functions.
fn fixture_modules(work: &Path) -> PathBuf {
    static MODULES: OnceLock<PathBuf> = OnceLock::new();
    MODULES
        .get_or_init(|| {
            let dir = work.join("modules/kernel/fs/ext4");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("ext4.ko");
            let bytes = elf_with_btf(&fixture_ext4_btf());
            if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
                let tmp = dir.join(format!(".ext4.ko.{}", std::process::id()));
                std::fs::write(&tmp, &bytes).unwrap();
                std::fs::rename(&tmp, &path).unwrap();
            }
            work.join("modules")
        })
        .clone()
}

/// ext4's split BTF on top of [`fixture_btf`]: `struct ext4_inode_info`,
/// which the image lacks, and `ext4_sync_file(struct file *, loff_t,
/// loff_t, int)`, as in the real ext4.
pub fn fixture_ext4_btf() -> Vec<u8> {
    let mut m = BtfBuilder::split(&fixture_btf_builder());
    let int = m.int("int", 4, true);
    let uint = m.int("unsigned int", 4, false);
    let llong = m.int("long long int", 8, true);
    let loff_t = m.typedef("loff_t", llong);
    let file_fwd = m.fwd("file", false);
    let file_ptr = m.ptr(file_fwd);
    m.aggregate(
        "ext4_inode_info",
        false,
        16,
        &[("i_flags", uint, 0, 0), ("i_disksize", loff_t, 64, 0)],
    );
    let sync = m.func_proto(
        int,
        &[
            ("file", file_ptr),
            ("start", loff_t),
            ("end", loff_t),
            ("datasync", int),
        ],
    );
    m.func("ext4_sync_file", sync);
    m.build()
}

/// A relocatable x86-64 ELF file with one `.BTF` section: what the image
/// reader takes from a plain `vmlinux`.
fn elf_with_btf(btf: &[u8]) -> Vec<u8> {
    use object::write::Object;
    use object::{Architecture, BinaryFormat, Endianness, SectionKind};
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let section = obj.add_section(Vec::new(), b".BTF".to_vec(), SectionKind::Other);
    obj.append_section_data(section, btf, 4);
    obj.write().expect("an ELF file")
}

/// The fixture kernel's BTF: the types, functions and tracepoints the
/// fixtures use, laid out as a 64-bit kernel lays them out (offsets in
/// bits).
pub fn fixture_btf() -> Vec<u8> {
    fixture_btf_builder().build()
}

/// [`fixture_btf`] before it is written out (modules' split BTF goes on
/// from it).
fn fixture_btf_builder() -> BtfBuilder {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let uint = b.int("unsigned int", 4, false);
    let long = b.int("long int", 8, true);
    let ulong = b.int("long unsigned int", 8, false);
    let llong = b.int("long long int", 8, true);
    let ushort = b.int("short unsigned int", 2, false);
    let char_ = b.int("char", 1, true);
    let bool_ = b.int("_Bool", 1, false);
    let void_ptr = b.ptr(0);

    let bool_t = b.typedef("bool", bool_);
    let kpid = b.typedef("__kernel_pid_t", int);
    let pid_t = b.typedef("pid_t", kpid);
    let ksize = b.typedef("__kernel_size_t", ulong);
    let size_t = b.typedef("size_t", ksize);
    let kssize = b.typedef("__kernel_ssize_t", long);
    let ssize_t = b.typedef("ssize_t", kssize);
    let kloff = b.typedef("__kernel_loff_t", llong);
    let loff_t = b.typedef("loff_t", kloff);
    let umode_t = b.typedef("umode_t", ushort);
    let fmode_t = b.typedef("fmode_t", uint);

    let fwd_ptr = |b: &mut BtfBuilder, name: &str| {
        let fwd = b.fwd(name, false);
        b.ptr(fwd)
    };
    let task_ptr = fwd_ptr(&mut b, "task_struct");
    let file_ptr = fwd_ptr(&mut b, "file");
    let inode_ptr = fwd_ptr(&mut b, "inode");
    let dentry_ptr = fwd_ptr(&mut b, "dentry");
    let vfsmount_ptr = fwd_ptr(&mut b, "vfsmount");
    let siginfo_ptr = fwd_ptr(&mut b, "kernel_siginfo");
    let sigaction_ptr = fwd_ptr(&mut b, "k_sigaction");
    let regs_fwd = b.fwd("pt_regs", false);
    let regs_ptr = b.ptr(regs_fwd);
    let const_regs = b.const_(regs_fwd);
    let const_regs_ptr = b.ptr(const_regs);
    let char_ptr = b.ptr(char_);
    let const_char = b.const_(char_);
    let const_char_ptr = b.ptr(const_char);
    let loff_ptr = b.ptr(loff_t);
    let comm = b.array(char_, int, 16);

    let path = b.aggregate(
        "path",
        false,
        16,
        &[("mnt", vfsmount_ptr, 0, 0), ("dentry", dentry_ptr, 64, 0)],
    );
    b.aggregate(
        "file",
        false,
        40,
        &[
            ("f_path", path, 0, 0),
            ("f_inode", inode_ptr, 128, 0),
            ("f_flags", uint, 192, 0),
            ("f_mode", fmode_t, 224, 0),
            ("f_pos", loff_t, 256, 0),
        ],
    );
    b.aggregate(
        "inode",
        false,
        24,
        &[
            ("i_mode", umode_t, 0, 0),
            ("i_ino", ulong, 64, 0),
            ("i_size", loff_t, 128, 0),
        ],
    );
    b.aggregate(
        "dentry",
        false,
        16,
        &[("d_flags", uint, 0, 0), ("d_inode", inode_ptr, 64, 0)],
    );
    b.aggregate(
        "task_struct",
        false,
        48,
        &[
            ("__state", uint, 0, 0),
            ("flags", uint, 32, 0),
            ("pid", pid_t, 64, 0),
            ("tgid", pid_t, 96, 0),
            ("real_parent", task_ptr, 128, 0),
            ("parent", task_ptr, 192, 0),
            ("comm", comm, 256, 0),
        ],
    );
    b.aggregate(
        "kernel_siginfo",
        false,
        48,
        &[
            ("si_signo", int, 0, 0),
            ("si_errno", int, 32, 0),
            ("si_code", int, 64, 0),
        ],
    );
    let regs: Vec<(&str, u32, u32, u32)> = [
        "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si",
        "di", "orig_ax", "ip", "cs", "flags", "sp", "ss",
    ]
    .iter()
    .enumerate()
    .map(|(i, name)| (*name, ulong, i as u32 * 64, 0))
    .collect();
    b.aggregate("pt_regs", false, 168, &regs);
    let rq = b.aggregate("rq", false, 8, &[("nr_running", uint, 0, 0)]);
    b.var("runqueues", rq);

    // Functions, with their parameter names.
    let vfs_read = b.func_proto(
        ssize_t,
        &[
            ("file", file_ptr),
            ("buf", char_ptr),
            ("count", size_t),
            ("pos", loff_ptr),
        ],
    );
    b.func("vfs_read", vfs_read);
    let vfs_write = b.func_proto(
        ssize_t,
        &[
            ("file", file_ptr),
            ("buf", const_char_ptr),
            ("count", size_t),
            ("pos", loff_ptr),
        ],
    );
    b.func("vfs_write", vfs_write);
    let vfs_fsync = b.func_proto(int, &[("file", file_ptr), ("datasync", int)]);
    b.func("vfs_fsync", vfs_fsync);
    let wake_up = b.func_proto(int, &[("p", task_ptr)]);
    b.func("wake_up_process", wake_up);
    // A struct passed by value: kuid_t, a typedef of an anonymous struct.
    let kuid_struct = b.aggregate("", false, 4, &[("val", uint, 0, 0)]);
    let kuid_t = b.typedef("kuid_t", kuid_struct);
    let user_ns = b.aggregate("user_namespace", false, 4, &[("level", uint, 0, 0)]);
    let user_ns_ptr = b.ptr(user_ns);
    let from_kuid = b.func_proto(uint, &[("targ", user_ns_ptr), ("kuid", kuid_t)]);
    b.func("from_kuid", from_kuid);
    let printk = b.func_proto(int, &[("fmt", const_char_ptr), ("", 0)]);
    b.func("_printk", printk);
    let syscall_entry = b.func_proto(long, &[("regs", const_regs_ptr)]);
    for name in [
        "read",
        "write",
        "close",
        "execve",
        "kill",
        "fsync",
        "fdatasync",
        "exit_group",
        "openat",
    ] {
        b.func(&format!("__x64_sys_{name}"), syscall_entry);
    }

    // Built-in tracepoints: the `btf_trace_<event>` typedef (unnamed
    // parameters after `void *__data`) and the class's `__bpf_trace_`
    // function (named ones).
    // (event, its class, its parameters).
    type Event<'a> = (&'a str, &'a str, &'a [(&'a str, u32)]);
    let events: [Event; 7] = [
        (
            "sched_switch",
            "sched_switch",
            &[
                ("preempt", bool_t),
                ("prev", task_ptr),
                ("next", task_ptr),
                ("prev_state", uint),
            ],
        ),
        (
            "sched_process_fork",
            "sched_process_fork",
            &[("parent", task_ptr), ("child", task_ptr)],
        ),
        ("sched_wakeup", "sched_wakeup_template", &[("p", task_ptr)]),
        (
            "signal_generate",
            "signal_generate",
            &[
                ("sig", int),
                ("info", siginfo_ptr),
                ("task", task_ptr),
                ("group", int),
                ("result", int),
            ],
        ),
        (
            "signal_deliver",
            "signal_deliver",
            &[("sig", int), ("info", siginfo_ptr), ("ka", sigaction_ptr)],
        ),
        (
            "sys_enter",
            "sys_enter",
            &[("regs", regs_ptr), ("id", long)],
        ),
        ("sys_exit", "sys_exit", &[("regs", regs_ptr), ("ret", long)]),
    ];
    for (event, class, params) in events {
        let mut unnamed: Vec<(&str, u32)> = vec![("", void_ptr)];
        unnamed.extend(params.iter().map(|&(_, ty)| ("", ty)));
        let proto = b.func_proto(0, &unnamed);
        let proto_ptr = b.ptr(proto);
        b.typedef(&format!("btf_trace_{event}"), proto_ptr);
        let mut named: Vec<(&str, u32)> = vec![("__data", void_ptr)];
        named.extend(params.iter().copied());
        let glue = b.func_proto(0, &named);
        b.func(&format!("__bpf_trace_{class}"), glue);
    }
    b
}
