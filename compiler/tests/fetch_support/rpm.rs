//! CentOS Stream 9-shaped RPM repositories made here: a fetched Debian
//! tree packaged as `kernel-devel` and `kernel-core` with Debian's
//! `rpmbuild`, laid out as Stream lays them out (kernel-core in BaseOS,
//! kernel-devel in AppStream) and indexed with `createrepo_c`; and small
//! packages of each RPM-family distribution's layout.

use std::path::{Path, PathBuf};
use std::process::Command;

use stapkit::kernel::archives::Archives;
use stapkit::kernel::fetch::{fetch, FetchOptions, Fetched};
use stapkit::kernel::{manifest, Cache, FetchState};

use super::{run, serve, LocalTree};

/// The compiler a repackaged tree records, as a RHEL-family tree does:
/// `CONFIG_CC_VERSION_TEXT` and, when it differs from the Debian tree's,
/// `CONFIG_GCC_VERSION` (kbuild itself reads include/config/auto.conf,
/// which keeps Debian's).
pub struct Compiler<'a> {
    pub text: &'a str,
    pub gcc_version: Option<&'a str>,
}

/// Packages `debian`'s tree and image as Stream 9's `kernel-devel` and
/// `kernel-core` 5.14.0-57.el9.`arch` under `w/www/centos-stream`; the
/// tree's own `UTS_RELEASE` is the returned tree's.
pub fn stream9_repository(
    debian: &FetchState,
    arch: &str,
    compiler: Compiler,
    w: &Path,
) -> LocalTree {
    let rel = format!("5.14.0-57.el9.{arch}");
    let devel = w.join("devel/usr/src/kernels").join(&rel);
    let tree = LocalTree::flatten(debian, &devel);
    let config = devel.join(".config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    let mut set = |key: &str, value: &str| {
        let old = text
            .lines()
            .find(|l| l.starts_with(&format!("{key}=")))
            .unwrap_or_else(|| panic!("the tree records {key}"))
            .to_string();
        text = text.replace(&old, &format!("{key}={value}"));
    };
    set("CONFIG_CC_VERSION_TEXT", &format!("\"{}\"", compiler.text));
    if let Some(version) = compiler.gcc_version {
        set("CONFIG_GCC_VERSION", version);
    }
    std::fs::write(&config, text).unwrap();
    let core = w.join(format!("core/lib/modules/{rel}"));
    std::fs::create_dir_all(&core).unwrap();
    std::fs::copy(debian.image_path(), core.join("vmlinuz")).unwrap();
    let spec = w.join("k.spec");
    std::fs::write(
        &spec,
            "Name: %{pkg}\nVersion: 5.14.0\nRelease: 57.el9\nSummary: kernel-devel-shaped test package\n\
             License: GPL-2.0-only\nAutoReqProv: no\n%define debug_package %{nil}\n\
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
            .args(["-bb", "--quiet", "--target", arch])
            .arg(format!("--define=_topdir {}", w.join("top").display()))
            .arg(format!("--define=pkg {pkg}"))
            .arg(format!("--define=src {}", w.join(src).display()))
            .arg(format!("--define=top {top}"))
            .arg(&spec));
    }
    for (pkg, repo) in [("kernel-core", "BaseOS"), ("kernel-devel", "AppStream")] {
        let repo = w
            .join("www/centos-stream/9-stream")
            .join(repo)
            .join(arch)
            .join("os");
        std::fs::create_dir_all(&repo).unwrap();
        let file = format!("{pkg}-{rel}.rpm");
        std::fs::rename(w.join("top/RPMS").join(arch).join(&file), repo.join(&file)).unwrap();
        run(Command::new("createrepo_c").arg("-q").arg(&repo));
    }
    tree
}

/// What [`fetch_served_stream9`] fetched, and with what.
pub struct Served {
    pub m: manifest::Manifest,
    /// A kernels directory holding the shipped manifest (`STAPKIT_KERNELS`).
    pub kernels: PathBuf,
    pub cache_dir: PathBuf,
    pub cache: Cache,
    pub archives: Archives,
    pub options: FetchOptions,
    /// `stap-prep`'s progress lines.
    pub lines: Vec<String>,
    pub state: FetchState,
}

/// Serves `w/www` (as [`stream9_repository`] made it) and fetches the
/// shipped manifest `name` from it into a fresh cache under `w`.
pub fn fetch_served_stream9(w: &Path, name: &str) -> Served {
    let base = serve(w.join("www"));
    let kernels = w.join("kernels");
    std::fs::create_dir_all(&kernels).unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../kernels/{name}.yaml")),
    )
    .unwrap();
    std::fs::write(kernels.join(format!("{name}.yaml")), &text).unwrap();
    let m = manifest::parse(&text).unwrap();
    let cache_dir = w.join("cache");
    let cache = Cache::locate(Some(&cache_dir));
    let uri = format!("{base}/centos-stream");
    let archives = Archives::from_parts(
        &[("STAPKIT_ARCHIVE_CENTOS_STREAM", &uri)],
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
    Served {
        m,
        kernels,
        cache_dir,
        cache,
        archives,
        options,
        lines,
        state,
    }
}

/// One distribution's shipped RPM-family manifests (`NAME-x86_64`,
/// `NAME-aarch64`) and the two kernels its local repositories hold (older,
/// newer), as `VERSION-RELEASE`.
pub struct Family {
    pub manifest: &'static str,
    pub kernels: [(&'static str, &'static str); 2],
    /// Where the newer kernel's packages are, when apart from the older's
    /// (Fedora: the release repository, then updates): repository index.
    pub split: bool,
    /// The archive the debug repositories are configured under, when not
    /// beside the others (`X-debug` falls back to `X`).
    pub debug_archive: Option<&'static str>,
    /// The kernel's compiler (`CONFIG_CC_VERSION_TEXT`, `CONFIG_GCC_VERSION`)
    /// and the Debian gcc that builds its modules.
    pub gcc: (&'static str, &'static str, &'static str),
}

pub const EL9_GCC: (&str, &str, &str) = (
    "gcc (GCC) 11.5.0 20240719 (Red Hat 11.5.0-2)",
    "110500",
    "gcc-11",
);

pub const FAMILIES: &[Family] = &[
    Family {
        manifest: "centos-stream-9",
        kernels: [("5.14.0", "503.el9"), ("5.14.0", "570.el9")],
        split: false,
        debug_archive: None,
        gcc: EL9_GCC,
    },
    Family {
        manifest: "centos-stream-10",
        kernels: [("6.12.0", "55.el10"), ("6.12.0", "124.el10")],
        split: false,
        debug_archive: None,
        gcc: (
            "gcc (GCC) 14.2.1 20250110 (Red Hat 14.2.1-7)",
            "140201",
            "gcc-14",
        ),
    },
    Family {
        manifest: "rhel-9",
        kernels: [("5.14.0", "427.13.1.el9_4"), ("5.14.0", "503.11.1.el9_5")],
        split: false,
        debug_archive: None,
        gcc: EL9_GCC,
    },
    Family {
        manifest: "almalinux-9",
        kernels: [("5.14.0", "427.13.1.el9_4"), ("5.14.0", "503.11.1.el9_5")],
        split: false,
        debug_archive: Some("almalinux-vault"),
        gcc: EL9_GCC,
    },
    Family {
        manifest: "rocky-9",
        kernels: [("5.14.0", "427.13.1.el9_4"), ("5.14.0", "503.11.1.el9_5")],
        split: false,
        debug_archive: None,
        gcc: EL9_GCC,
    },
    Family {
        manifest: "fedora-43",
        kernels: [("6.17.1", "300.fc43"), ("6.17.7", "300.fc43")],
        split: true,
        debug_archive: None,
        gcc: (
            "gcc (GCC) 15.2.1 20250808 (Red Hat 15.2.1-1)",
            "150201",
            "gcc-15",
        ),
    },
];

/// Builds small `kernel-devel`, `kernel-core` and `kernel-debuginfo`
/// packages of `version-release` into `out` (one rpmbuild, three
/// subpackages): a tree that `stap -r` opens (Makefile, .config recording
/// Red Hat's gcc 11 or Fedora's 15, utsrelease.h), an image and a debug
/// vmlinux, at the paths the distributions use, for `arch` (`x86_64`,
/// `aarch64`).
pub fn small_kernel_rpms(
    work: &Path,
    arch: &str,
    version: &str,
    release: &str,
    gcc: (&str, &str),
    out: &Path,
) {
    let rel = format!("{version}-{release}.{arch}");
    let config_arch = if arch == "aarch64" { "ARM64" } else { "X86_64" };
    let src = work.join(format!("src-{rel}"));
    let tree = src.join(format!("usr/src/kernels/{rel}"));
    std::fs::create_dir_all(tree.join("include/generated")).unwrap();
    std::fs::write(tree.join("Makefile"), "# kernel-devel-shaped test tree\n").unwrap();
    std::fs::write(
        tree.join(".config"),
        format!(
            "CONFIG_{config_arch}=y\nCONFIG_CC_VERSION_TEXT=\"{}\"\nCONFIG_GCC_VERSION={}\n",
            gcc.0, gcc.1
        ),
    )
    .unwrap();
    std::fs::write(
        tree.join("include/generated/utsrelease.h"),
        format!("#define UTS_RELEASE \"{rel}\"\n"),
    )
    .unwrap();
    let core = src.join(format!("lib/modules/{rel}"));
    std::fs::create_dir_all(&core).unwrap();
    std::fs::write(core.join("vmlinuz"), "image").unwrap();
    let debug = src.join(format!("usr/lib/debug/lib/modules/{rel}"));
    std::fs::create_dir_all(&debug).unwrap();
    std::fs::write(debug.join("vmlinux"), "dwarf").unwrap();
    let spec = work.join("family.spec");
    let sub = |name: &str, files: &str| {
        format!(
            "%package -n {name}\nSummary: test\n%description -n {name}\ntest\n%files -n {name}\n{files}\n"
        )
    };
    std::fs::write(
        &spec,
        format!(
            "Name: kernel\nVersion: %{{ver}}\nRelease: %{{rel}}\nSummary: test\nLicense: GPL-2.0-only\n\
             AutoReqProv: no\n%define debug_package %{{nil}}\n\
             %define __os_install_post %{{nil}}\n%define _build_id_links none\n%description\ntest\n\
             %install\ncp -a %{{src}}/. %{{buildroot}}/\n{}{}{}",
            sub("kernel-devel", "/usr/src/kernels"),
            sub("kernel-core", "/lib/modules"),
            sub("kernel-debuginfo", "/usr/lib/debug"),
        ),
    )
    .unwrap();
    run(Command::new("rpmbuild")
        .args(["-bb", "--quiet"])
        .arg(format!("--define=_topdir {}", work.join("top").display()))
        .args(["--target", arch])
        .arg(format!("--define=_rpmdir {}", out.display()))
        .arg(format!("--define=ver {version}"))
        .arg(format!("--define=rel {release}"))
        .arg(format!("--define=src {}", src.display()))
        .arg(&spec));
}
