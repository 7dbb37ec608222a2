//! The readers `fuzz_readers` drives, each with seeds that it accepts.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use object::SectionKind;
use stapkit::debuginfo::btf::write::BtfBuilder;
use stapkit::debuginfo::btf::Btf;
use stapkit::debuginfo::dwarf::DwarfKernel;
use stapkit::debuginfo::{debugfile, image, plt, sdt};
use stapkit::kernel::{fetch, manifest, modcheck, module_tracepoints, rpm_repo};

use super::elf_fixture;
use super::Target;

/// A BTF blob with every kind the queries follow: integers, pointers,
/// arrays, a self-referencing struct, a union with bitfields, an enum,
/// typedefs, qualifiers, a forward declaration, prototypes and functions,
/// a per-CPU variable and a tracepoint's typedef with its
/// `__bpf_trace_` class function.
pub fn btf_blob() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let long = b.int("long", 8, true);
    let uchar = b.int("unsigned char", 1, false);
    let fwd = b.fwd("task_struct", false);
    let fwd_ptr = b.ptr(fwd);
    let list_id = b.next_id();
    let list_ptr = b.ptr(list_id + 1);
    let list = b.aggregate(
        "list_head",
        false,
        16,
        &[("next", list_ptr, 0, 0), ("prev", list_ptr, 64, 0)],
    );
    assert_eq!(list, list_id + 1);
    let arr = b.array(uchar, int, 16);
    let flags = b.aggregate("flags", true, 4, &[("a", int, 0, 3), ("b", int, 3, 5)]);
    let state = b.enum32("state", &[("RUNNING", 0), ("STOPPED", -1)]);
    let pid_t = b.typedef("pid_t", int);
    let cpid = b.const_(pid_t);
    let task = b.aggregate(
        "task_struct",
        false,
        64,
        &[
            ("pid", pid_t, 0, 0),
            ("tgid", cpid, 32, 0),
            ("comm", arr, 64, 0),
            ("tasks", list, 192, 0),
            ("f", flags, 320, 0),
            ("state", state, 352, 0),
            ("parent", fwd_ptr, 384, 0),
        ],
    );
    let task_ptr = b.ptr(task);
    let proto = b.func_proto(long, &[("p", task_ptr), ("n", int)]);
    b.func("do_exit", proto);
    let variadic = b.func_proto(int, &[("fmt", uchar), ("", 0)]);
    b.func("_printk", variadic);
    let fn_ptr = b.ptr(proto);
    let ops = b.aggregate("ops", false, 8, &[("run", fn_ptr, 0, 0)]);
    b.typedef("ops_t", ops);
    b.var("runqueues", task);
    let void_ptr = b.ptr(0);
    let tp_proto = b.func_proto(0, &[("", void_ptr), ("", task_ptr), ("", int)]);
    let tp_ptr = b.ptr(tp_proto);
    b.typedef("btf_trace_sched_switch", tp_ptr);
    let class_proto = b.func_proto(0, &[("__data", void_ptr), ("prev", task_ptr), ("cpu", int)]);
    b.func("__bpf_trace_sched_switch", class_proto);
    b.build()
}

fn read_btf(data: &[u8]) {
    let Ok(btf) = Btf::parse(data) else {
        return;
    };
    let _ = image::find_btf(data);
    let count = btf.type_count().min(400);
    for id in 0..=count as u32 {
        let _ = btf.ctype(id);
    }
    let names: Vec<String> = btf
        .function_names()
        .into_iter()
        .take(50)
        .map(str::to_string)
        .collect();
    for n in &names {
        let _ = btf.prototype(n);
        let _ = btf.function_count(n);
    }
    for name in [
        "task_struct",
        "struct task_struct",
        "list_head",
        "union flags",
        "ops_t",
        "pid_t",
        "enum state",
    ] {
        let _ = btf.layout(name);
        let _ = btf.named_type_ctype(name);
    }
    let _ = btf.member_path("task_struct", &["tasks", "next", "prev", "next"]);
    let _ = btf.member_path("task_struct", &["parent", "comm"]);
    let _ = btf.member_path("ops_t", &["run"]);
    let _ = btf.has_variable("runqueues");
    let events: Vec<String> = btf
        .tracepoint_names()
        .into_iter()
        .take(20)
        .map(str::to_string)
        .collect();
    for e in &events {
        let _ = btf.tracepoint_params(e);
        let _ = btf.tracepoint_param_names(e);
    }
}

pub fn btf() -> Target {
    let blob = btf_blob();
    assert!(Btf::parse(&blob).is_ok_and(|b| b.has_function("do_exit")));
    Target {
        name: "BTF",
        seeds: vec![blob],
        per_byte: 256,
        read: read_btf,
    }
}

/// A module as kbuild lays one out: `.modinfo`, `__versions`,
/// `.gnu.linkonce.this_module`, undefined symbols, a tracepoint with its
/// event and class (relocations through section symbols), a GNU build id
/// note, a debug link and a `.BTF` section.
pub fn module_image() -> Vec<u8> {
    let mut obj = elf_fixture::object();
    elf_fixture::modinfo(
        &mut obj,
        &[
            "name=fuzz",
            "vermagic=6.1.0-27-amd64 SMP preempt mod_unload modversions ",
            "license=GPL",
        ],
    );
    elf_fixture::versions(
        &mut obj,
        &[("module_layout", 0x9060323f), ("_printk", 0x92997ed8)],
    );
    elf_fixture::this_module(&mut obj);
    elf_fixture::tracepoints(&mut obj);
    elf_fixture::undefined(&mut obj, &["_printk", "register_kprobe"]);
    let mut note = Vec::new();
    for w in [4u32, 20, 3] {
        note.extend_from_slice(&w.to_le_bytes());
    }
    note.extend_from_slice(b"GNU\0");
    note.extend(1..=20u8);
    elf_fixture::section(&mut obj, ".notes", SectionKind::Note, &note, 8);
    let mut link = b"fuzz.debug\0\0".to_vec();
    link.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    elf_fixture::section(&mut obj, ".gnu_debuglink", SectionKind::Metadata, &link, 8);
    elf_fixture::section(&mut obj, ".BTF", SectionKind::Metadata, &btf_blob(), 8);
    obj.write().unwrap()
}

fn read_module(data: &[u8]) {
    let _ = modcheck::read_image(data);
    let _ = module_tracepoints::tracepoints_of_module(data);
    let _ = debugfile::links_of(data);
    let _ = stapkit::ship::bundle::build_id_in(data);
    if let Some(btf) = image::btf_of(data) {
        read_btf(btf);
    }
    let _ = sdt::markers(data, "fuzz.ko");
    let _ = plt::plt_entries(data, "fuzz.ko");
}

pub fn elf_module() -> Target {
    let image = module_image();
    let found = module_tracepoints::tracepoints_of_module(&image).unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(modcheck::read_image(&image).unwrap().info.name.is_some());
    assert!(image::btf_of(&image).is_some());
    Target {
        name: "ELF module",
        seeds: vec![image],
        per_byte: 256,
        read: read_module,
    }
}

const PROGRAM: &str = r#"
#include <sys/sdt.h>
#include <stdio.h>
struct point { int x; long y; struct point *next; };
static int work(struct point *p, int n) {
    for (int i = 0; i < n; i++) {
        STAP_PROBE2(fuzz, step, i, p->y);
        p->x += i;
    }
    return p->x;
}
int main(int argc, char **argv) {
    struct point p = { argc, 2, 0 };
    STAP_PROBE1(fuzz, start, argc);
    printf("%d\n", work(&p, argc));
    return 0;
}
"#;

/// A small program with SDT markers and DWARF, built once with the
/// host's `cc` (which the crate's SDT tests need too).
fn program_bytes() -> &'static [u8] {
    static BUILT: OnceLock<Vec<u8>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("fuzz.c");
        std::fs::write(&src, PROGRAM).unwrap();
        let exe = dir.path().join("fuzz");
        let out = Command::new("cc")
            .args(["-g", "-O1", "-o"])
            .arg(&exe)
            .arg(&src)
            .output()
            .expect("cc (gcc) and <sys/sdt.h> (systemtap-sdt-dev) are needed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(&exe).unwrap()
    })
}

fn read_program(data: &[u8]) {
    if let Ok(markers) = sdt::markers(data, "fuzz") {
        for m in markers {
            let _ = format!("{m:?}");
        }
    }
    let _ = plt::plt_entries(data, "fuzz");
    let _ = debugfile::links_of(data);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz");
    std::fs::write(&path, data).unwrap();
    if let Ok(dwarf) = DwarfKernel::open(&path, &dir.path().join("cache")) {
        let _ = dwarf.matching("*", None);
        let _ = dwarf.prototype("work", None);
        let _ = dwarf.layout("struct point");
        let _ = dwarf.member_path("struct point", &["next", "next", "y"]);
        let _ = dwarf.index().to_text("k");
    }
}

pub fn program() -> Target {
    let bytes = program_bytes().to_vec();
    let markers = sdt::markers(&bytes, "fuzz").unwrap();
    assert_eq!(markers.len(), 2, "{markers:?}");
    Target {
        name: "program (SDT notes, PLT, debug links, DWARF)",
        seeds: vec![bytes],
        per_byte: 512,
        read: read_program,
    }
}

fn read_dwarf_index(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = stapkit::debuginfo::dwarf::index::DwarfIndex::from_text(&text, "k");
}

pub fn dwarf_index() -> Target {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz");
    std::fs::write(&path, program_bytes()).unwrap();
    let dwarf = DwarfKernel::open(&path, &dir.path().join("cache")).unwrap();
    let text = dwarf.index().to_text("k");
    assert!(stapkit::debuginfo::dwarf::index::DwarfIndex::from_text(&text, "k").is_some());
    Target {
        name: "cached DWARF index",
        seeds: vec![text.into_bytes()],
        per_byte: 256,
        read: read_dwarf_index,
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Kernel images: a gzip-compressed ELF, a bzImage around it, an EFI
/// zboot around it and a flat arm64 Image carrying BTF.
pub fn kernel_images() -> Vec<Vec<u8>> {
    let elf = module_image();
    let packed = gzip(&elf);
    let mut bz = vec![0u8; 0x400];
    bz[0x1f1] = 1;
    bz[0x202..0x206].copy_from_slice(b"HdrS");
    bz[0x206..0x208].copy_from_slice(&0x20fu16.to_le_bytes());
    bz[0x248..0x24c].copy_from_slice(&0u32.to_le_bytes());
    bz[0x24c..0x250].copy_from_slice(&(packed.len() as u32).to_le_bytes());
    bz.extend_from_slice(&packed);
    let mut zboot = b"MZ\0\0zimg".to_vec();
    zboot.extend_from_slice(&64u32.to_le_bytes());
    zboot.extend_from_slice(&(packed.len() as u32).to_le_bytes());
    zboot.resize(64, 0);
    zboot.extend_from_slice(&packed);
    let mut flat = vec![0u8; 0x40];
    flat[0x38..0x3c].copy_from_slice(b"ARM\x64");
    flat.extend_from_slice(&btf_blob());
    vec![packed, bz, zboot, flat]
}

fn read_image(data: &[u8]) {
    if let Ok(kernel) = image::extract_kernel_from(data) {
        if let Some(btf) = image::btf_of(&kernel.bytes) {
            let _ = Btf::parse(btf);
        }
        let _ = stapkit::ship::bundle::build_id_in(&kernel.bytes);
    }
}

pub fn kernel_image() -> Target {
    let seeds = kernel_images();
    for s in &seeds {
        let kernel = image::extract_kernel_from(s).unwrap();
        assert!(image::btf_of(&kernel.bytes).is_some());
    }
    Target {
        name: "kernel image",
        seeds,
        // A decompressor legitimately writes far more than it reads; the
        // bound is the image reader's own cap (see `image::decompress`).
        per_byte: 2048,
        read: read_image,
    }
}

fn tar_bytes() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8], kind: tar::EntryType, link: Option<&str>| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        if let Some(l) = link {
            h.set_link_name(l).unwrap();
        }
        b.append_data(&mut h, path, data).unwrap();
    };
    add("./boot/", b"", tar::EntryType::Directory, None);
    add(
        "./boot/vmlinuz-6.1.0-27-amd64",
        b"image bytes",
        tar::EntryType::Regular,
        None,
    );
    add(
        "./boot/System.map-6.1.0-27-amd64",
        b"ffffffff81000000 T _text\n",
        tar::EntryType::Regular,
        None,
    );
    add(
        "./usr/src/linux-headers-6.1.0-27-amd64/Makefile",
        b"all:\n",
        tar::EntryType::Regular,
        None,
    );
    add(
        "./usr/src/linux-headers-6.1.0-27-amd64/scripts",
        b"",
        tar::EntryType::Symlink,
        Some("../linux-headers-6.1.0-27-common/scripts"),
    );
    add(
        "./usr/src/linux-headers-6.1.0-27-amd64/tools",
        b"",
        tar::EntryType::Symlink,
        Some("../../../../outside"),
    );
    add(
        "./usr/src/linux-headers-6.1.0-27-amd64/tools/x",
        b"escape?",
        tar::EntryType::Regular,
        None,
    );
    b.into_inner().unwrap()
}

/// Unpacks into `dir/root`; the seeds' symlinks point at `dir/outside`,
/// which must stay empty.
fn read_tar(data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let _ = fetch::unpack_tar(data, &root, fetch::Filter::All, Path::new("fuzz.deb"));
    assert_nothing_in(&outside);
}

fn assert_nothing_in(outside: &Path) {
    let found: Vec<_> = walkdir::WalkDir::new(outside)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.path().to_path_buf())
        .collect();
    assert!(
        found.is_empty(),
        "the unpacker wrote outside its root: {found:?}"
    );
}

pub fn deb_tar() -> Target {
    Target {
        name: "package tar stream",
        seeds: vec![tar_bytes()],
        per_byte: 256,
        read: read_tar,
    }
}

/// An RPM with an uncompressed payload: a directory, files, a symlink
/// out of the tree and a file below it.
fn rpm_bytes() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let image = file("vmlinuz", b"image bytes");
    let map = file("System.map", b"ffffffff81000000 T _text\n");
    let pkg = ::rpm::PackageBuilder::new("kernel-core", "5.14.0", "GPL-2.0-only", "x86_64", "fuzz")
        .with_file(
            &image,
            ::rpm::FileOptions::new("/lib/modules/5.14.0/vmlinuz"),
        )
        .unwrap()
        .with_file(
            &map,
            ::rpm::FileOptions::new("/lib/modules/5.14.0/System.map"),
        )
        .unwrap()
        .with_file_contents(
            // The payload holds a link's target as its data.
            "../../outside",
            ::rpm::FileOptions::new("/boot/out")
                .symlink("../../outside")
                .mode(0o120777),
        )
        .unwrap()
        .with_file(&image, ::rpm::FileOptions::new("/boot/out/x"))
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    pkg.write(&mut out).unwrap();
    out
}

/// Unpacks the package `data` into a fresh `dir/root` (when it parses),
/// asserting that `dir/outside`, where the seed's symlink points, stays
/// empty; returns the unpack's answer.
pub fn unpack_rpm(data: &[u8]) -> Option<Result<(), String>> {
    let package = rpm_repo::parse_package(data).ok()?;
    let _ = package.metadata.get_name();
    let _ = package.metadata.get_version();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let result =
        rpm_repo::unpack_package(package, Path::new("fuzz.rpm"), &root, rpm_repo::Keep::All)
            .map_err(|e| e.to_string());
    assert_nothing_in(&outside);
    Some(result)
}

fn read_rpm(data: &[u8]) {
    let _ = unpack_rpm(data);
}

pub fn rpm() -> Target {
    let seed = rpm_bytes();
    assert!(rpm_repo::parse_package(&seed).is_ok());
    Target {
        name: "RPM package",
        seeds: vec![seed],
        per_byte: 256,
        read: read_rpm,
    }
}

fn read_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = manifest::parse(&text);
    let _ = stapkit::debuginfo::symbols::SystemMap::parse(&text).map(|m| m.function_names().len());
    let _ = stapkit::kernel::symvers::Symvers::parse(&text).len();
    let _ = sdt::parse_args(&text, sdt::Arch::X86_64);
    let _ = sdt::parse_args(&text, sdt::Arch::Arm64);
}

pub fn text() -> Target {
    let manifests = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../kernels"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| std::fs::read(p).unwrap());
    let mut seeds: Vec<Vec<u8>> = manifests.collect();
    seeds.sort();
    for s in &seeds {
        manifest::parse(std::str::from_utf8(s).unwrap()).unwrap();
    }
    seeds.push(
        b"ffffffff81000000 T _text\nffffffff81000100 t do_one\nffffffff81000200 T do_exit\n\
          ffffffff82000000 D jiffies\nffffffff81000300 T __kprobes_text_start\n"
            .to_vec(),
    );
    seeds.push(b"0x92997ed8\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n0x1f491d36\ttwofish\tarch/x86/crypto/twofish\tEXPORT_SYMBOL_GPL\tNS\n".to_vec());
    seeds.push(b"-4@%edi 8@-16(%rbp) -8@8+foo(%rip) 4@$5 -2@%ax".to_vec());
    Target {
        name: "text (manifests, System.map, Module.symvers, SDT arguments)",
        seeds,
        per_byte: 256,
        read: read_text,
    }
}
