//! `cargo bench -p stapkit --bench debuginfo`: how long the debug-info
//! layer takes on the fetched Debian 6.1 kernel (cold image extraction,
//! warm cache hit, BTF parse, queries). Prints figures; asserts nothing.

use std::time::Instant;

use stapkit::debuginfo::btf::Btf;
use stapkit::debuginfo::image::cache::ImageCache;
use stapkit::kernel::Cache;

fn main() {
    let kernel = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "debian-6.1-amd64".into());
    let state = Cache::locate(None)
        .state(&kernel)
        .expect("kernel cache readable")
        .unwrap_or_else(|| panic!("{kernel} is not fetched: run stap-prep fetch {kernel}"));
    let image = state.image_path();
    let tmp = tempfile::tempdir().expect("temp dir");
    let cache = ImageCache::new(tmp.path());

    let t = Instant::now();
    let cold = cache.btf(&image).expect("extract");
    println!(
        "image {} ({}, {:.1} MB): cold extraction {:.2?}, BTF {:.1} MB",
        image.display(),
        cold.format,
        std::fs::metadata(&image).map(|m| m.len()).unwrap_or(0) as f64 / 1e6,
        t.elapsed(),
        cold.bytes.len() as f64 / 1e6
    );
    let t = Instant::now();
    let warm = cache.btf(&image).expect("cached");
    assert!(warm.cached);
    println!("warm cache hit: {:.2?}", t.elapsed());
    let t = Instant::now();
    let raw = stapkit::debuginfo::btf::parse::parse(&warm.bytes).expect("parse");
    println!(
        "BTF decode only: {:.2?} ({} members)",
        t.elapsed(),
        raw.members.len()
    );
    let t = Instant::now();
    let btf = Btf::parse(&warm.bytes).expect("parse");
    println!(
        "BTF parse + index: {:.2?} ({} types, {} functions, {} tracepoints)",
        t.elapsed(),
        btf.type_count(),
        btf.function_names().len(),
        btf.tracepoint_names().len()
    );
    let t = Instant::now();
    for name in [
        "vfs_read",
        "do_sys_openat2",
        "__x64_sys_kill",
        "do_fsync",
        "__do_sys_clone",
        "__se_sys_clone",
        "__do_sys_kill",
        "__se_sys_kill",
        "ksys_fsync",
        "vfs_fsync",
        "__x64_sys_fsync",
        "__x64_sys_newstat",
        "__ia32_sys_kill",
        "__x64_sys_ni_syscall",
    ] {
        let p = btf.prototype(name);
        println!("  {name}: {}", p.map(|p| p.render()).unwrap_or("-".into()));
    }
    println!("4 prototype lookups: {:.2?}", t.elapsed());
    dwarf_probe(&state, tmp.path());
}

#[allow(dead_code)]
fn dwarf_probe(state: &stapkit::kernel::FetchState, tmp: &std::path::Path) {
    use stapkit::debuginfo::dwarf::DwarfKernel;
    let Some(vmlinux) = state.debug_vmlinux.as_ref().map(|p| state.root.join(p)) else {
        println!("no debug vmlinux");
        return;
    };
    let t = Instant::now();
    let k = DwarfKernel::open(&vmlinux, tmp).expect("dwarf");
    println!(
        "DWARF index built in {:.2?}: {} functions, {} types, {} files, {} units",
        t.elapsed(),
        k.index().functions.len(),
        k.index().types.len(),
        k.index().files.len(),
        k.index().units.len()
    );
    let t = Instant::now();
    let k2 = DwarfKernel::open(&vmlinux, tmp).expect("dwarf");
    println!(
        "DWARF index from cache in {:.2?} (cached: {})",
        t.elapsed(),
        k2.index_was_cached()
    );
    for f in [
        "do_fsync",
        "vfs_read",
        "vfs_fsync",
        "__x64_sys_kill",
        "current",
        "get_current",
    ] {
        println!("  {f}: {:?}", k2.functions(f));
        println!("    {:?}", k2.prototype(f, None).map(|p| p.render()));
    }
    let t = Instant::now();
    println!(
        "  {:?}",
        k2.member_path("struct task_struct", &["real_parent", "pid"])
    );
    println!("  member path in {:.2?}", t.elapsed());
}
