//! Fetching through exactly the code public archives go through, from
//! repositories built here and served by the test on 127.0.0.1: an RPM
//! repository of `kernel-devel`/`kernel-core`-shaped packages made with
//! Debian's `rpmbuild` and `createrepo_c` from the fetched Debian 6.1 amd64
//! tree, and an Ubuntu-shaped apt repository (`linux-headers-REL`,
//! `linux-headers-REL-generic`, `linux-image-unsigned-REL`) made with
//! `dpkg-deb` from the same tree. Each fetch is checked, a module is built
//! against each fetched tree with `stap -p4`, and a lock naming a version
//! the repository no longer has fails saying how to move the lock.
//!
//! The Debian tree comes from the stapkit cache (`cargo xtask test`
//! fetches it); a missing kernel is a failure, not a skip.

mod fetch_support;

use std::path::Path;
use std::process::Command;

use fetch_support::{debian_tree, run, serve, LocalTree};
use stapkit::kernel::archives::Archives;
use stapkit::kernel::fetch::{fetch, FetchOptions, Fetched};
use stapkit::kernel::lock::LockedKernel;
use stapkit::kernel::{manifest, Cache};

/// `stap -p4` against `kernel` of `kernels_dir`, fetched into `cache`.
fn build_module(cache: &Path, kernels_dir: &Path, kernel: &str, work: &Path) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_stap"))
        .args(["-p4", "-r", kernel, "-m", "fetched_hello", "-e"])
        .arg("probe begin { println(\"hello from a fetched tree\") exit() }")
        .env("STAPKIT_CACHE", cache)
        .env("STAPKIT_KERNELS", kernels_dir)
        .current_dir(work)
        .output()
        .expect("running stap");
    assert!(
        out.status.success(),
        "stap -p4 -r {kernel} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(work.join("fetched_hello.ko")).expect("stap wrote the module")
}

#[test]
fn an_rpm_repository_is_fetched_locked_and_built_against() {
    let debian = debian_tree();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let rel = "6.1.0-57.stapkit.x86_64";
    let tree = LocalTree::flatten(&debian, &w.join("devel/usr/src/kernels").join(rel));
    // As a RHEL-family tree records its compiler (kbuild reads
    // include/config/auto.conf, which keeps Debian's).
    let config = w.join("devel/usr/src/kernels").join(rel).join(".config");
    let text = std::fs::read_to_string(&config).unwrap();
    let cc = text
        .lines()
        .find(|l| l.starts_with("CONFIG_CC_VERSION_TEXT="))
        .expect("the tree records its compiler")
        .to_string();
    std::fs::write(
        &config,
        text.replace(
            &cc,
            "CONFIG_CC_VERSION_TEXT=\"gcc (GCC) 12.2.0 20221121 (Red Hat 12.2.0-1)\"",
        ),
    )
    .unwrap();
    let core = w.join(format!("core/lib/modules/{rel}"));
    std::fs::create_dir_all(&core).unwrap();
    std::fs::copy(debian.image_path(), core.join("vmlinuz")).unwrap();
    let spec = w.join("k.spec");
    std::fs::write(
        &spec,
        "Name: %{pkg}\nVersion: 6.1.0\nRelease: 57.stapkit\nSummary: kernel-devel-shaped test package\n\
         License: GPL-2.0-only\nBuildArch: x86_64\nAutoReqProv: no\n%define debug_package %{nil}\n\
         %define __os_install_post %{nil}\n%define _build_id_links none\n\
         %description\nMade from a Debian tree for stapkit's tests.\n\
         %install\ncp -a %{src}/. %{buildroot}/\n%files\n/%{top}\n",
    )
    .unwrap();
    for (pkg, src, top) in [
        ("kernel-devel", "devel", "usr/src/kernels"),
        ("kernel-core", "core", "lib/modules"),
    ] {
        run(Command::new("rpmbuild")
            .args(["-bb", "--quiet"])
            .arg(format!("--define=_topdir {}", w.join("top").display()))
            .arg(format!("--define=pkg {pkg}"))
            .arg(format!("--define=src {}", w.join(src).display()))
            .arg(format!("--define=top {top}"))
            .arg(&spec));
    }
    let repo = w.join("www/9/BaseOS/x86_64/os");
    std::fs::create_dir_all(&repo).unwrap();
    for entry in std::fs::read_dir(w.join("top/RPMS/x86_64")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::rename(&p, repo.join(p.file_name().unwrap())).unwrap();
    }
    run(Command::new("createrepo_c").arg("-q").arg(&repo));
    let port = serve(w.join("www"));

    let kernels = w.join("kernels");
    std::fs::create_dir_all(&kernels).unwrap();
    let text = "name: local-rpm-6.1-x86_64\ndescription: kernel-devel-shaped RPMs of Debian's 6.1 tree\n\
        distro: centos\nseries: \"6.1\"\narch: x86_64\nsource:\n  kind: rpm\n  repositories:\n\
        \x20   - archive: local-rpm\n      paths: [9/BaseOS/x86_64/os]\n  release: \"6.1.0-*.stapkit.x86_64\"\n\
        \x20 headers: [kernel-devel]\n  image: kernel-core\n  debug: kernel-debuginfo\ntoolchain:\n  compiler: gcc-12\n";
    std::fs::write(kernels.join("local-rpm-6.1-x86_64.yaml"), text).unwrap();
    let m = manifest::parse(text).unwrap();
    let cache_dir = w.join("cache");
    let cache = Cache::locate(Some(&cache_dir));
    let uri = format!("http://127.0.0.1:{port}");
    let archives = Archives::from_parts(
        &[("STAPKIT_ARCHIVE_LOCAL_RPM", &uri)],
        "",
        Default::default(),
    )
    .unwrap();
    let options = FetchOptions {
        archives: Some(archives.clone()),
        ..Default::default()
    };
    let mut lines = Vec::new();
    let fetched = fetch(&m, &cache, &options, &mut |l| lines.push(l.to_string())).unwrap();
    let Fetched::New(state) = fetched else {
        panic!("a fresh cache fetches")
    };
    assert_eq!(state.release, rel);
    assert_eq!(state.version, "6.1.0-57.stapkit");
    assert_eq!(state.build, Path::new("usr/src/kernels").join(rel));
    assert_eq!(
        state.image,
        Path::new("lib/modules").join(rel).join("vmlinuz")
    );
    assert!(state.build_dir().join("scripts/mod/modpost").is_file());
    assert_eq!(
        std::fs::read(state.image_path()).unwrap(),
        std::fs::read(debian.image_path()).unwrap()
    );
    // No root of the tree's distribution: the note names the Debian gcc
    // that builds its modules.
    let built = stapkit::kernel::HeaderTree::from_fetched(state.clone()).unwrap();
    let tc = stapkit::kernel::toolchain::ensure(&m, &built, &cache, &mut |_| {}).unwrap();
    let host = Command::new("gcc").arg("--version").output().unwrap();
    let host = String::from_utf8_lossy(&host.stdout);
    let version = host.lines().next().unwrap().rsplit(' ').next().unwrap();
    assert_eq!(
        stapkit::kernel::compiler_note::for_tree(&m.name, &built, &tc).unwrap(),
        format!(
            "local-rpm-6.1-x86_64: the kernel was built with gcc 12.2.0 (Red Hat 12.2.0-1); no compiler of \
             that distribution is available here, so modules build with Debian's gcc {version}, the nearest"
        ),
        "{lines:#?}"
    );
    assert_eq!(tree.release, debian.release);

    // `stap-prep update` locks the repository's newest from its metadata;
    // the cached kernel is that, so a locked fetch downloads nothing.
    let locked =
        stapkit::kernel::fetch::update_entry(&m, &cache, &archives, false, &mut |_| {}).unwrap();
    assert_eq!(locked.release, rel);
    let names: Vec<&str> = locked.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["kernel-devel", "kernel-core"]);
    assert!(locked
        .packages
        .iter()
        .all(|p| p.version == "6.1.0-57.stapkit"));
    let again = FetchOptions {
        locked: Some((locked.clone(), "kernels.lock".into())),
        ..options.clone()
    };
    assert!(matches!(
        fetch(&m, &cache, &again, &mut |_| {}).unwrap(),
        Fetched::AlreadyCached(_)
    ));
    // A lock naming a release the repository no longer has.
    let gone = LockedKernel {
        release: "6.1.0-56.stapkit.x86_64".into(),
        ..locked
    };
    let gone = FetchOptions {
        locked: Some((gone, "kernels/kernels.lock".into())),
        ..options
    };
    let e = fetch(&m, &cache, &gone, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "local-rpm-6.1-x86_64: the locked kernel-devel 6.1.0-56.stapkit.x86_64 is no longer in the archive; \
         move the lock to the archive's newest with: stap-prep update --lock kernels/kernels.lock \
         local-rpm-6.1-x86_64 (and commit kernels/kernels.lock)"
    );

    let module = build_module(&cache_dir, &kernels, "local-rpm-6.1-x86_64", w);
    let vermagic = format!("vermagic={} ", tree.release);
    assert!(
        module
            .windows(vermagic.len())
            .any(|x| x == vermagic.as_bytes()),
        "the module is built for the tree's own release {}",
        tree.release
    );

    // The RPM-fetched tree's module boots and runs in QEMU, on the image
    // kernel-core carried (Debian's, so the module's vermagic fits it).
    let script = w.join("rpm_hello.stp");
    std::fs::write(
        &script,
        "probe begin { println(\"hello from an RPM-fetched tree\") exit() }\n",
    )
    .unwrap();
    std::env::var_os("STAPKIT_STAPRUN")
        .expect("set STAPKIT_STAPRUN=$(cargo xtask staprun): the guest runs the module with it");
    let out = Command::new(env!("CARGO_BIN_EXE_stap-matrix"))
        .args(["--kernel", "local-rpm-6.1-x86_64", "--print"])
        .arg(&script)
        .env("STAPKIT_CACHE", &cache_dir)
        .env("STAPKIT_KERNELS", &kernels)
        .output()
        .expect("running stap-matrix");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("|hello from an RPM-fetched tree\n"),
        "stap-matrix: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds a `.deb` of `dir` (whose files are laid out from `/`) named
/// `name`, with `depends`, into `pool`.
fn deb(dir: &Path, name: &str, arch: &str, depends: &str, pool: &Path) {
    let control = dir.join("DEBIAN");
    std::fs::create_dir_all(&control).unwrap();
    let depends = if depends.is_empty() {
        String::new()
    } else {
        format!("Depends: {depends}\n")
    };
    std::fs::write(
        control.join("control"),
        format!(
            "Package: {name}\nVersion: 6.1.0-57.63\nArchitecture: {arch}\nMaintainer: stapkit tests <tests@localhost>\n\
             {depends}Description: Ubuntu-shaped test package made from a Debian tree\n"
        ),
    )
    .unwrap();
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "-z1", "--build"])
        .arg(dir)
        .arg(pool.join(format!("{name}_6.1.0-57.63_{arch}.deb"))));
}

#[test]
fn an_ubuntu_shaped_archive_is_locked_fetched_and_built_against_by_release() {
    use stapkit::kernel::fetch::{update_entry, update_entry_at};
    let debian = debian_tree();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let rel = "6.1.0-57-generic";
    // linux-headers-REL (the common tree with the kbuild tools) and
    // linux-headers-REL-generic (configuration and generated headers, its
    // Makefile including the common one), as Ubuntu splits them.
    let common = w.join("common/usr/src/linux-headers-6.1.0-57");
    let tree = LocalTree::flatten(&debian, &common);
    for f in [
        ".config",
        "Module.symvers",
        "include/generated",
        "include/config",
        "arch/x86/include/generated",
    ] {
        let p = common.join(f);
        if p.is_dir() {
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
    let flavour = w.join(format!("flavour/usr/src/linux-headers-{rel}"));
    std::fs::create_dir_all(&flavour).unwrap();
    let script = format!(
        "tar -C '{}' -cf - --exclude=./Makefile --exclude=./scripts --exclude=./tools . | tar -C '{}' -xf -",
        debian.build_dir().display(),
        flavour.display()
    );
    run(Command::new("sh").arg("-c").arg(script));
    std::fs::write(
        flavour.join("Makefile"),
        "include /usr/src/linux-headers-6.1.0-57/Makefile\n",
    )
    .unwrap();
    for d in ["scripts", "tools"] {
        std::os::unix::fs::symlink(format!("../linux-headers-6.1.0-57/{d}"), flavour.join(d))
            .unwrap();
    }
    let image = w.join("image/boot");
    std::fs::create_dir_all(&image).unwrap();
    std::fs::copy(debian.image_path(), image.join(format!("vmlinuz-{rel}"))).unwrap();

    let archive = w.join("www/ubuntu");
    let pool = archive.join("pool/main/l/linux");
    std::fs::create_dir_all(&pool).unwrap();
    deb(
        &w.join("common"),
        "linux-headers-6.1.0-57",
        "all",
        "",
        &pool,
    );
    deb(
        &w.join("flavour"),
        &format!("linux-headers-{rel}"),
        "amd64",
        "linux-headers-6.1.0-57, libc6",
        &pool,
    );
    deb(
        &w.join("image"),
        &format!("linux-image-unsigned-{rel}"),
        "amd64",
        "",
        &pool,
    );
    let packages = archive.join("dists/noble/main/binary-amd64");
    std::fs::create_dir_all(&packages).unwrap();
    let out = Command::new("dpkg-scanpackages")
        .args(["--multiversion", "pool"])
        .current_dir(&archive)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(packages.join("Packages"), &out.stdout).unwrap();
    let sum = stapkit::kernel::lock::sha256_file(&packages.join("Packages")).unwrap();
    std::fs::write(
        archive.join("dists/noble/Release"),
        format!(
            "Origin: stapkit-tests\nSuite: noble\nCodename: noble\nArchitectures: amd64\nComponents: main\n\
             Date: Sun, 06 Dec 2026 00:00:00 UTC\nSHA256:\n {sum} {} main/binary-amd64/Packages\n",
            out.stdout.len()
        ),
    )
    .unwrap();
    let port = serve(w.join("www"));

    let kernels = w.join("kernels");
    std::fs::create_dir_all(&kernels).unwrap();
    let text = "name: local-ubuntu-6.1-amd64\ndescription: Ubuntu-shaped packages of Debian's 6.1 tree\n\
        distro: ubuntu\nseries: \"6.1\"\narch: x86_64\nsource:\n  kind: apt\n  architecture: amd64\n  repositories:\n\
        \x20   - archive: ubuntu\n      suites: [noble]\n    - archive: ubuntu-ddebs\n      suites: [noble]\n      debug_only: true\n\
        \x20 release: \"6.1.0-*-generic\"\n  headers: [\"linux-headers-{release}\"]\n  image: linux-image-unsigned-{release}\n\
        \x20 modules: linux-modules-{release}\n  debug: linux-image-unsigned-{release}-dbgsym\ntoolchain:\n  compiler: gcc-12\n";
    std::fs::write(kernels.join("local-ubuntu-6.1-amd64.yaml"), text).unwrap();
    let m = manifest::parse(text).unwrap();
    let cache_dir = w.join("cache");
    let cache = Cache::locate(Some(&cache_dir));
    let uri = format!("[trusted=yes] http://127.0.0.1:{port}/ubuntu");
    // The ddebs archive is not configured: fetches without --debug never read it.
    let archives =
        Archives::from_parts(&[("STAPKIT_ARCHIVE_UBUNTU", &uri)], "", Default::default()).unwrap();

    // `stap-prep update` locks the archive's newest, `fetch --locked` fetches it.
    let locked = update_entry(&m, &cache, &archives, false, &mut |_| {}).unwrap();
    assert_eq!(locked.release, rel);
    // `stap-prep update --release REL` locks exactly a fleet's release of
    // the series; one the archive lacks, or of another series, is refused.
    let at = update_entry_at(&m, &cache, &archives, rel, &mut |_| {}).unwrap();
    assert_eq!(at, locked);
    let e = update_entry_at(&m, &cache, &archives, "6.1.0-31-generic", &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("linux-headers-6.1.0-31-generic"), "{e}");
    let e = update_entry_at(&m, &cache, &archives, "6.8.0-31-generic", &mut |_| {})
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "local-ubuntu-6.1-amd64: release 6.8.0-31-generic is not of its series (6.1.0-*-generic); name a \
         manifest whose release pattern it matches (stap-prep list --available)"
    );
    let names: Vec<&str> = locked.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "linux-headers-6.1.0-57",
            "linux-headers-6.1.0-57-generic",
            "linux-image-unsigned-6.1.0-57-generic"
        ]
    );
    let options = FetchOptions {
        archives: Some(archives),
        locked: Some((locked.clone(), "kernels.lock".into())),
        ..Default::default()
    };
    let Fetched::New(state) = fetch(&m, &cache, &options, &mut |_| {}).unwrap() else {
        panic!("a fresh cache fetches")
    };
    assert_eq!(state.release, rel);
    assert_eq!(state.version, "6.1.0-57.63");
    assert_eq!(
        state.build,
        Path::new("usr/src").join(format!("linux-headers-{rel}"))
    );
    assert_eq!(
        state.image,
        Path::new("boot").join(format!("vmlinuz-{rel}"))
    );
    let makefile = std::fs::read_to_string(state.build_dir().join("Makefile")).unwrap();
    assert!(
        makefile.starts_with(&format!(
            "include {}/usr/src/linux-headers-6.1.0-57/Makefile",
            state.root.display()
        )),
        "{makefile}"
    );

    // A lock whose version left the archive says how to move it.
    let mut gone = locked;
    gone.packages[1].version = "6.1.0-57.62".into();
    let options = FetchOptions {
        locked: Some((gone, "kernels/kernels.lock".into())),
        ..options
    };
    let e = fetch(&m, &cache, &options, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "local-ubuntu-6.1-amd64: the locked linux-headers-6.1.0-57-generic 6.1.0-57.62 is no longer in the archive; \
         move the lock to the archive's newest with: stap-prep update --lock kernels/kernels.lock \
         local-ubuntu-6.1-amd64 (and commit kernels/kernels.lock)"
    );

    // The release as users type it (`stap -r 6.1.0-57-generic`) finds the fetched tree.
    let module = build_module(&cache_dir, &kernels, rel, w);
    let vermagic = format!("vermagic={} ", tree.release);
    assert!(module
        .windows(vermagic.len())
        .any(|x| x == vermagic.as_bytes()));
}
