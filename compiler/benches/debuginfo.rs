//! `cargo bench -p stapkit --bench debuginfo [-- KERNEL]`: what the
//! debug-info layer costs on a fetched kernel (default debian-6.1-amd64):
//! cold image extraction, the warm BTF cache, BTF parsing, the DWARF index
//! (when the -dbg package is there) and typical questions. Prints figures;
//! asserts nothing.

use std::path::Path;
use std::time::{Duration, Instant};

use stapkit::debuginfo::btf::Btf;
use stapkit::debuginfo::dwarf::DwarfKernel;
use stapkit::debuginfo::image::cache::ImageCache;
use stapkit::debuginfo::{KernelFiles, KernelInfo};
use stapkit::kernel::{Cache, HeaderTree};

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn main() {
    let kernel = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "debian-6.1-amd64".into());
    let state = Cache::locate(None)
        .state(&kernel)
        .expect("kernel cache readable")
        .unwrap_or_else(|| panic!("{kernel} is not fetched: run stap-prep fetch {kernel}"));
    let tree = HeaderTree::from_fetched(state.clone()).expect("a build tree");
    let files = KernelFiles::from_tree(&tree);
    let image = files.image.clone().expect("an image");
    let tmp = tempfile::tempdir().expect("temp dir");
    println!("{kernel} ({})", files.release);

    // The image: cold (empty cache) and warm.
    let cache = ImageCache::new(tmp.path());
    let (cold, t) = timed(|| cache.btf(&image).expect("extract"));
    println!(
        "  image {} ({}): cold extraction {t:.2?}, .BTF {}",
        mb(size(&image)),
        cold.format,
        mb(cold.bytes.len() as u64)
    );
    let (warm, t) = timed(|| cache.btf(&image).expect("cached"));
    assert!(warm.cached);
    println!("  warm BTF cache hit: {t:.2?}");
    let (btf, t) = timed(|| Btf::parse(&warm.bytes).expect("parse"));
    println!(
        "  BTF parse + index: {t:.2?} ({} types, {} functions, {} tracepoints)",
        btf.type_count(),
        btf.function_names().len(),
        btf.tracepoint_names().len()
    );

    // Typical questions without debug info (the BTF cache of the kernel is used).
    let kcache = ImageCache::new(&files.cache_dir);
    let (_, t) = timed(|| kcache.btf(&image).expect("kernel cache"));
    println!("  the kernel's own BTF cache: {t:.2?}");
    let (_, t) = timed(|| kcache.btf(&image).expect("kernel cache"));
    println!("  the kernel's own BTF cache again: {t:.2?}");
    let k = KernelInfo::new(files.clone().without_debug());
    let (_, t) = timed(|| k.btf().expect("BTF"));
    println!("  KernelInfo BTF load (warm cache + parse): {t:.2?}");
    let (_, t) = timed(|| k.function("vfs_read").expect("vfs_read"));
    println!("  function(vfs_read): {t:.2?}");
    let (_, t) = timed(|| {
        k.member_path("struct task_struct", &["real_parent", "pid"])
            .expect("pid")
    });
    println!("  member_path(task_struct->real_parent->pid): {t:.2?}");
    let (tp, t) = timed(|| k.tracepoint("sched:sched_switch").expect("sched_switch"));
    println!(
        "  tracepoint(sched:sched_switch), header scan included: {t:.2?} ({} args)",
        tp.value.params.len()
    );
    let (all, t) = timed(|| k.tracepoints("*"));
    println!("  tracepoints(*): {t:.2?} ({} tracepoints)", all.len());
    let (sc, t) = timed(|| k.syscall("kill").expect("kill"));
    println!(
        "  syscall(kill), table and prototypes included: {t:.2?} ({} args)",
        sc.value.params.len()
    );
    let (all, t) = timed(|| k.syscalls("*").expect("syscalls"));
    println!("  syscalls(*): {t:.2?} ({} syscalls)", all.len());
    let (answer, t) = timed(|| match k.probeable("do_fsync") {
        Ok(f) => format!("probe-able: {}", f.value.prototype.render()),
        Err(e) => e.to_string(),
    });
    println!("  probeable(do_fsync): {t:.2?}\n    {answer}");
    let (vfs, t) = timed(|| k.functions_matching("vfs_*"));
    println!(
        "  functions_matching(vfs_*): {t:.2?} ({} from {})",
        vfs.value.len(),
        vfs.source
    );

    // DWARF, when the -dbg package was fetched.
    let Some(vmlinux) = files.debug_vmlinux.clone() else {
        println!("  no -dbg package: DWARF figures skipped (stap-prep fetch --debug {kernel})");
        return;
    };
    let index_dir = tmp.path().join("dwarf");
    let (d, t) = timed(|| DwarfKernel::open(&vmlinux, &index_dir).expect("DWARF"));
    println!(
        "  vmlinux {}: DWARF index build {t:.2?} ({} functions, {} types, {} units), index file {}",
        mb(size(&vmlinux)),
        d.index().functions.len(),
        d.index().types.len(),
        d.index().units.len(),
        mb(size(&index_dir.join("dwarf.index")))
    );
    drop(d);
    let (d, t) = timed(|| DwarfKernel::open(&vmlinux, &index_dir).expect("DWARF"));
    assert!(d.index_was_cached());
    println!("  DWARF open with cached index: {t:.2?}");
    let (_, t) = timed(|| d.prototype("vfs_read", None).expect("vfs_read"));
    println!("  DWARF prototype(vfs_read), first unit parse: {t:.2?}");
    let (_, t) = timed(|| {
        d.member_path("struct task_struct", &["real_parent", "pid"])
            .expect("pid")
    });
    println!("  DWARF member_path(task_struct->real_parent->pid): {t:.2?}");
    let (m, t) = timed(|| d.matching("vfs_*", Some("fs/read_write.c")));
    println!(
        "  DWARF vfs_*@fs/read_write.c: {t:.2?} ({} functions)",
        m.len()
    );
}
