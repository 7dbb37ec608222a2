//! Fetching through exactly the code public archives go through, from
//! repositories built here and served by the test on 127.0.0.1: CentOS
//! Stream 9's repositories (the shipped manifests) of
//! `kernel-devel`/`kernel-core` packages made with Debian's `rpmbuild` and
//! `createrepo_c` from fetched Debian trees (6.1 amd64; 6.1 arm64 as
//! aarch64, cross-built with `-a arm64`; 5.10 amd64 recording Red Hat's
//! gcc 11, built with bookworm's gcc-11 from the manifest's toolchain
//! root); small packages laid out as each shipped RPM-family manifest's
//! distribution lays them out, x86_64 and aarch64; and an Ubuntu-shaped
//! apt repository (`linux-headers-REL`, `linux-headers-REL-generic`,
//! `linux-image-unsigned-REL`) made with `dpkg-deb` from the 6.1 tree.
//! Each fetch is checked, a module is built against each fetched tree
//! with `stap -p4` (those of the RPM trees boot and run in QEMU, the
//! aarch64 one in an arm64 guest),
//! and a lock naming a version the repository no longer has fails saying
//! how to move the lock.
//!
//! The Debian trees come from the stapkit cache (`cargo xtask test`
//! fetches them); a missing kernel is a failure, not a skip.

mod fetch_support;

use std::path::Path;
use std::process::Command;

use fetch_support::rpm::{
    fetch_served_stream9, small_kernel_rpms, stream9_repository, Compiler, Family, Served, FAMILIES,
};
use fetch_support::{
    cached_kernel, deb, deb_index, debian_tree, run, serve, DebPackage, LocalTree,
};
use stapkit::kernel::archives::Archives;
use stapkit::kernel::fetch::{fetch, FetchOptions, Fetched};
use stapkit::kernel::lock::LockedKernel;
use stapkit::kernel::{manifest, Cache};

/// `stap -p4` against `kernel` of `kernels_dir`, fetched into `cache`
/// (for `-a ARCH` when given).
fn build_module(
    cache: &Path,
    kernels_dir: &Path,
    kernel: &str,
    arch: Option<&str>,
    work: &Path,
) -> Vec<u8> {
    run(Command::new(env!("CARGO_BIN_EXE_stap"))
        .args(arch.map(|a| ["-a", a]).into_iter().flatten())
        .args(["-p4", "-r", kernel, "-m", "fetched_hello", "-e"])
        .arg("probe begin { println(\"hello from a fetched tree\") exit() }")
        .env("STAPKIT_CACHE", cache)
        .env("STAPKIT_KERNELS", kernels_dir)
        .current_dir(work));
    std::fs::read(work.join("fetched_hello.ko")).expect("stap wrote the module")
}

/// `module` is built for the tree whose `UTS_RELEASE` is `release`.
fn assert_vermagic(module: &[u8], release: &str) {
    let vermagic = format!("vermagic={release} ");
    assert!(
        module
            .windows(vermagic.len())
            .any(|x| x == vermagic.as_bytes()),
        "the module is built for the tree's own release {release}"
    );
}

#[test]
fn an_rpm_repository_is_fetched_locked_and_built_against() {
    let debian = debian_tree();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // The shipped CentOS Stream 9 manifest, its repositories served here:
    // Debian's tree packaged as Stream's kernel-devel 5.14.0-57.el9.
    let rel = "5.14.0-57.el9.x86_64";
    let tree = stream9_repository(
        &debian,
        "x86_64",
        Compiler {
            text: "gcc (GCC) 12.2.0 20221121 (Red Hat 12.2.0-1)",
            gcc_version: None,
        },
        w,
    );
    let name = "centos-stream-9-x86_64";
    let served = fetch_served_stream9(w, name);
    let Served {
        m,
        kernels,
        cache_dir,
        cache,
        archives,
        options,
        lines,
        state,
    } = served;
    assert_eq!(state.release, rel);
    assert_eq!(state.version, "5.14.0-57.el9");
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
    // No root of the tree's distribution: its plain `gcc` becomes Debian's
    // gcc of the same major version (CONFIG_GCC_VERSION), passed to kbuild
    // as CC, and the note names it.
    let built = stapkit::kernel::HeaderTree::from_fetched(state.clone()).unwrap();
    assert_eq!(built.compiler, "gcc-12");
    assert!(built.make_vars().contains(&"CC=gcc-12".to_string()));
    let tc = stapkit::kernel::toolchain::ensure(&m, &built, &cache, &mut |_| {}).unwrap();
    let host = Command::new("gcc-12").arg("--version").output().unwrap();
    let host = String::from_utf8_lossy(&host.stdout);
    let version = host.lines().next().unwrap().rsplit(' ').next().unwrap();
    assert_eq!(
        stapkit::kernel::compiler_note::for_tree(&m.name, &built, &tc).unwrap(),
        format!(
            "centos-stream-9-x86_64: the kernel was built with gcc 12.2.0 (Red Hat 12.2.0-1); no compiler of \
             that distribution is available here, so modules build with Debian's gcc-12 {version}, the nearest"
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
    assert!(locked.packages.iter().all(|p| p.version == "5.14.0-57.el9"));
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
        release: "5.14.0-56.el9.x86_64".into(),
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
        "centos-stream-9-x86_64: the locked kernel-devel 5.14.0-56.el9.x86_64 is no longer in the archive; \
         move the lock to the archive's newest with: stap-prep update --lock kernels/kernels.lock \
         centos-stream-9-x86_64 (and commit kernels/kernels.lock)"
    );

    // The release as `uname -r` prints it on a Stream host finds the tree.
    let module = build_module(&cache_dir, &kernels, rel, None, w);
    assert_vermagic(&module, &tree.release);

    // The RPM-fetched tree's module boots and runs in QEMU, on the image
    // kernel-core carried (Debian's, so the module's vermagic fits it).
    prints_in_qemu(
        name,
        &kernels,
        &cache_dir,
        &w.join("rpm_hello.stp"),
        "hello from an RPM-fetched tree",
    );
}

/// Writes `script`, which prints `line` and exits, runs it with
/// `stap-matrix --print` on `name` of `kernels`, fetched into `cache_dir`,
/// and checks the guest printed `line`.
fn prints_in_qemu(name: &str, kernels: &Path, cache_dir: &Path, script: &Path, line: &str) {
    std::fs::write(
        script,
        format!("probe begin {{ println(\"{line}\") exit() }}\n"),
    )
    .unwrap();
    std::env::var_os("STAPKIT_STAPRUN")
        .expect("set STAPKIT_STAPRUN=$(cargo xtask staprun): the guest runs the module with it");
    let out = Command::new(env!("CARGO_BIN_EXE_stap-matrix"))
        .args(["--kernel", name, "--print"])
        .arg(script)
        .env("STAPKIT_CACHE", cache_dir)
        .env("STAPKIT_KERNELS", kernels)
        .output()
        .expect("running stap-matrix");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("|{line}\n")),
        "stap-matrix: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_aarch64_rpm_repository_is_fetched_and_cross_built_against_with_dash_a() {
    // Debian's arm64 tree (its kbuild host tools are this host's, from
    // linux-kbuild: what a real aarch64 kernel-devel needs put in its
    // scripts/ to build here, docs/kernels.md) as Stream 9's aarch64
    // kernel-devel, served as Stream lays out its aarch64 trees.
    let debian = cached_kernel("debian-6.1-arm64");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let tree = stream9_repository(
        &debian,
        "aarch64",
        Compiler {
            text: "gcc (GCC) 12.2.0 20221121 (Red Hat 12.2.0-1)",
            gcc_version: None,
        },
        w,
    );
    let rel = "5.14.0-57.el9.aarch64";
    let name = "centos-stream-9-aarch64";
    let served = fetch_served_stream9(w, name);
    let state = &served.state;
    assert_eq!(state.release, rel);
    assert_eq!(
        state.image,
        Path::new("lib/modules").join(rel).join("vmlinuz")
    );
    assert!(state.build_dir().join("scripts/mod/modpost").is_file());
    // Cross-built with Debian's cross gcc of the kernel's major version.
    let built = stapkit::kernel::HeaderTree::from_fetched(state.clone()).unwrap();
    assert_eq!(built.compiler, "gcc-12");
    assert_eq!(
        built.make_vars(),
        [
            "ARCH=arm64",
            "CROSS_COMPILE=aarch64-linux-gnu-",
            "CC=aarch64-linux-gnu-gcc-12"
        ]
    );
    // `stap -a arm64 -r` with the release as `uname -r` prints it on a
    // Stream aarch64 host.
    let module = build_module(&served.cache_dir, &served.kernels, rel, Some("arm64"), w);
    assert_vermagic(&module, &tree.release);
    // An aarch64 ELF relocatable (e_machine 183).
    assert_eq!(&module[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([module[18], module[19]]), 183);

    // It boots and runs in an arm64 guest, on the image kernel-core
    // carried (Debian's); the RPM manifest names no busybox, so the guest
    // takes the fetched Debian arm64 kernel's, linked into the test's
    // cache as the shared cache holds it.
    std::env::var_os("STAPKIT_STAPRUN_ARM64").expect(
        "set STAPKIT_STAPRUN_ARM64=$(cargo xtask staprun --target aarch64): the arm64 guest runs the module with it",
    );
    std::os::unix::fs::symlink(
        Cache::locate(None).kernel_dir("debian-6.1-arm64"),
        served.cache.kernel_dir("debian-6.1-arm64"),
    )
    .unwrap();
    prints_in_qemu(
        name,
        &served.kernels,
        &served.cache_dir,
        &w.join("rpm_arm64_hello.stp"),
        "hello from an aarch64 RPM-fetched tree",
    );
}

#[test]
fn an_el9_tree_built_with_gcc_11_builds_with_bookworms_gcc_11_root_and_runs_in_qemu() {
    // Debian 5.10's tree (built with gcc-10) recording Red Hat's gcc 11 as
    // an EL9 kernel-devel does: the module builds with gcc-11 from the
    // manifest's toolchain root, a minimal root of Debian's bookworm.
    let debian = cached_kernel("debian-5.10-amd64");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let tree = stream9_repository(
        &debian,
        "x86_64",
        Compiler {
            text: "gcc (GCC) 11.5.0 20240719 (Red Hat 11.5.0-2)",
            gcc_version: Some("110500"),
        },
        w,
    );
    let rel = "5.14.0-57.el9.x86_64";
    let name = "centos-stream-9-x86_64";
    let served = fetch_served_stream9(w, name);
    let built = stapkit::kernel::HeaderTree::from_fetched(served.state.clone()).unwrap();
    assert_eq!(built.compiler, "gcc-11");
    assert_eq!(built.make_vars(), ["CC=gcc-11"]);
    // The root lives in the shared cache (prepared here once, with
    // mmdebstrap, when missing) and is linked into the test's.
    let shared = Cache::locate(None);
    let tc =
        stapkit::kernel::toolchain::ensure(&served.m, &built, &shared, &mut |l| eprintln!("{l}"))
            .unwrap();
    let stapkit::kernel::toolchain::Toolchain::Root(root) = &tc else {
        panic!("this host has no gcc-11 of its own: {tc:?}")
    };
    assert_eq!(root.name, "bookworm-gcc-11");
    assert!(root.state.packages.iter().any(|p| p.name == "gcc-11"));
    let own = served.cache_dir.join("toolchains");
    std::fs::create_dir_all(&own).unwrap();
    std::os::unix::fs::symlink(root.dir.parent().unwrap(), own.join(&root.name)).unwrap();
    let note = stapkit::kernel::compiler_note::for_tree(name, &built, &tc).unwrap();
    assert!(
        note.starts_with(
            "centos-stream-9-x86_64: the kernel was built with gcc 11.5.0 (Red Hat 11.5.0-2); no compiler \
             of that distribution is available here, so modules build with Debian's gcc-11 11."
        ) && note.ends_with(", the nearest"),
        "{note}"
    );
    let module = build_module(&served.cache_dir, &served.kernels, rel, None, w);
    assert_vermagic(&module, &tree.release);
    // gcc-11 built it: its .comment names Debian's gcc 11.
    let comment = b"GCC: (Debian 11.";
    assert!(
        module.windows(comment.len()).any(|x| x == comment),
        "the module's .comment names gcc 11"
    );
    prints_in_qemu(
        name,
        &served.kernels,
        &served.cache_dir,
        &w.join("gcc11_hello.stp"),
        "hello from a gcc-11 module",
    );
}

/// An Ubuntu-shaped test package of the 6.1 tree named `name`.
fn ubuntu_deb(dir: &Path, name: &str, arch: &str, depends: &str, pool: &Path) {
    let package = DebPackage {
        name,
        version: "6.1.0-57.63",
        arch,
        depends,
        description: "Ubuntu-shaped test package made from a Debian tree",
    };
    deb(dir, &package, pool);
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
    ubuntu_deb(
        &w.join("common"),
        "linux-headers-6.1.0-57",
        "all",
        "",
        &pool,
    );
    ubuntu_deb(
        &w.join("flavour"),
        &format!("linux-headers-{rel}"),
        "amd64",
        "linux-headers-6.1.0-57, libc6",
        &pool,
    );
    ubuntu_deb(
        &w.join("image"),
        &format!("linux-image-unsigned-{rel}"),
        "amd64",
        "",
        &pool,
    );
    deb_index(&archive, "noble", "amd64");
    let base = serve(w.join("www"));

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
    let uri = format!("[trusted=yes] {base}/ubuntu");
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
    let module = build_module(&cache_dir, &kernels, rel, None, w);
    assert_vermagic(&module, &tree.release);
}

#[test]
fn each_rpm_family_manifest_resolves_and_fetches_from_its_distributions_layout() {
    use stapkit::kernel::fetch::update_entry;
    use stapkit::kernel::manifest::Source;
    use stapkit::kernel::HeaderTree;
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let www = w.join("www");
    let base = serve(www.clone());
    let catalog = manifest::Catalog::builtin().unwrap();
    let rpm_manifests: Vec<&str> = catalog
        .all()
        .iter()
        .filter(|m| matches!(m.source, Source::Rpm(_)))
        .map(|m| m.name.as_str())
        .collect();
    let runs: Vec<(&Family, &str, String)> = FAMILIES
        .iter()
        .flat_map(|f| ["x86_64", "aarch64"].map(|arch| (f, arch, format!("{}-{arch}", f.manifest))))
        .collect();
    let mut checked: Vec<&str> = runs.iter().map(|(_, _, name)| name.as_str()).collect();
    checked.sort();
    assert_eq!(
        rpm_manifests, checked,
        "every shipped RPM-family manifest is checked here"
    );
    for (family, arch, name) in &runs {
        let (family, arch) = (*family, *arch);
        let m = catalog.get(name).unwrap();
        let Source::Rpm(source) = &m.source else {
            unreachable!()
        };
        let gcc = (family.gcc.0, family.gcc.1);
        let built = w.join(format!("rpms-{name}"));
        for (version, release) in family.kernels {
            small_kernel_rpms(w, arch, version, release, gcc, &built);
        }
        // Each archive under www/ARCHIVE; a debug archive beside its
        // distribution's unless configured apart.
        let mut env: Vec<(String, String)> = Vec::new();
        let mut dir_of = |archive: &str| {
            let dir = match archive.strip_suffix("-debug") {
                Some(base) if family.debug_archive != Some(archive) => base,
                _ => archive,
            };
            let var = stapkit::kernel::archives::env_var(dir);
            if !env.iter().any(|(v, _)| *v == var) {
                env.push((var, format!("{base}/{dir}")));
            }
            www.join(dir)
        };
        let (mut main, mut debug) = (Vec::new(), Vec::new());
        for repo in &source.repositories {
            let root = dir_of(&repo.archive);
            for path in &repo.paths {
                let dir = root.join(path);
                std::fs::create_dir_all(&dir).unwrap();
                if repo.debug_only {
                    &mut debug
                } else {
                    &mut main
                }
                .push(dir);
            }
        }
        for (k, (version, release)) in family.kernels.iter().enumerate() {
            let file = |pkg: &str| {
                built
                    .join(arch)
                    .join(format!("{pkg}-{version}-{release}.{arch}.rpm"))
            };
            let pick = |dirs: &[std::path::PathBuf], i: usize| {
                dirs[if family.split { k } else { i }.min(dirs.len() - 1)].clone()
            };
            // RHEL's family: kernel-core in BaseOS (the first), kernel-devel
            // in AppStream (the second); Fedora: both in one.
            for (pkg, dir) in [
                ("kernel-core", pick(&main, 0)),
                ("kernel-devel", pick(&main, 1)),
                ("kernel-debuginfo", pick(&debug, 0)),
            ] {
                std::fs::copy(file(pkg), dir.join(file(pkg).file_name().unwrap())).unwrap();
            }
        }
        for dir in main.iter().chain(&debug) {
            run(Command::new("createrepo_c").arg("-q").arg(dir));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let archives = Archives::from_parts(&env, "", Default::default()).unwrap();
        let cache_dir = w.join(format!("cache-{name}"));
        let cache = Cache::locate(Some(&cache_dir));

        // No location: the error names the variable, the file and what the
        // URI must hold.
        let none = Archives::from_parts(&[], "", Default::default()).unwrap();
        let e = update_entry(m, &cache, &none, false, &mut |_| {})
            .unwrap_err()
            .to_string();
        let first = &source.repositories[0];
        assert_eq!(
            e,
            format!(
                "no location for the '{0}' archive: set {1}=URI, or add '{0}: URI' to archives.yaml, where \
                 URI is the root of the archive or of your mirror of it (URI/{2}/repodata/repomd.xml must \
                 exist) (this machine's apt sources name only its own distribution's archives)",
                first.archive,
                stapkit::kernel::archives::env_var(&first.archive),
                first.paths[0]
            ),
            "{}",
            name
        );

        // `stap-prep update` locks the newest kernel of the series, with
        // its debug package.
        let (version, release) = family.kernels[1];
        let rel = format!("{version}-{release}.{arch}");
        let locked = update_entry(m, &cache, &archives, false, &mut |_| {}).unwrap();
        assert_eq!(locked.release, rel, "{name}");
        let names: Vec<&str> = locked.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["kernel-devel", "kernel-core", "kernel-debuginfo"]);

        // A locked fetch with --debug unpacks the tree, image and vmlinux.
        let options = FetchOptions {
            archives: Some(archives),
            debug: true,
            locked: Some((locked, "kernels.lock".into())),
            ..Default::default()
        };
        let Fetched::New(state) = fetch(m, &cache, &options, &mut |_| {}).unwrap() else {
            panic!("a fresh cache fetches")
        };
        assert_eq!(state.build, Path::new("usr/src/kernels").join(&rel));
        assert_eq!(
            state.image,
            Path::new("lib/modules").join(&rel).join("vmlinuz")
        );
        assert_eq!(
            state.debug_vmlinux.as_deref(),
            Some(
                Path::new("usr/lib/debug/lib/modules")
                    .join(&rel)
                    .join("vmlinux")
                    .as_path()
            )
        );

        // `-r` as `uname -r` prints it finds the fetched tree, whose plain
        // `gcc` becomes Debian's gcc of the kernel's major version.
        let tree = HeaderTree::resolve(Some(&rel), &cache, &catalog).unwrap();
        assert_eq!(tree.release, rel);
        let want = family.gcc.2;
        assert_eq!(tree.compiler, want, "{name}");
        assert_eq!(m.toolchain.compiler, want, "{name}");
        if arch == "aarch64" {
            // Cross-built on this host: Debian's cross gcc of the kernel's
            // major version, from the toolchain root's cross package.
            let cross = format!("aarch64-linux-gnu-{want}");
            assert_eq!(
                tree.make_vars(),
                [
                    "ARCH=arm64".to_string(),
                    "CROSS_COMPILE=aarch64-linux-gnu-".into(),
                    format!("CC={cross}")
                ],
                "{name}"
            );
            assert_eq!(m.compiler_package(), format!("{want}-aarch64-linux-gnu"));
            assert_eq!(m.toolchain.packages[0], m.compiler_package(), "{name}");
        } else {
            assert_eq!(tree.make_vars(), [format!("CC={want}")], "{name}");
        }
        if name == "centos-stream-10-x86_64" {
            // Its toolchain root is debian-6.12-amd64's (trixie's gcc-14,
            // which `cargo xtask test` prepares in the shared cache): the
            // note names Red Hat's gcc and the Debian one that builds.
            let shared = Cache::locate(None);
            let tc = stapkit::kernel::toolchain::select(&tree, &shared, &catalog).unwrap();
            let note = stapkit::kernel::compiler_note::for_tree(&m.name, &tree, &tc).unwrap();
            assert!(
                note.starts_with(
                    "centos-stream-10-x86_64: the kernel was built with gcc 14.2.1 (Red Hat 14.2.1-7); no \
                     compiler of that distribution is available here, so modules build with Debian's \
                     gcc-14 14."
                ) && note.ends_with(", the nearest"),
                "{note}"
            );
        }
    }
}
