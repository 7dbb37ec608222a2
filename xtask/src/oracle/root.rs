//! The oracle's roots and kernels: a Debian root per suite with
//! SystemTap and the kernels' compilers, made with `mmdebstrap` and
//! cached under `$STAPKIT_CACHE/oracle/roots/`, the kernels fetched into
//! the kernel cache, and commands run inside a root in a private mount
//! namespace with the kernel's files bound where SystemTap looks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{anyhow, bail, Context, Result};
use stapkit::kernel::cache::{Cache, FetchState};
use stapkit::kernel::fetch::{fetch, FetchOptions};
use stapkit::kernel::Catalog;
use xshell::{cmd, Shell};

/// Packages every oracle root gets (the kernels' compilers are added).
const ROOT_PACKAGES: &[&str] = &["systemtap", "make", "libc6-dev", "dwarves"];

/// A root with Debian's SystemTap.
#[derive(Debug, Clone)]
pub(crate) struct StapRoot {
    /// Debian suite.
    pub(crate) suite: String,
    /// The root directory.
    pub(crate) dir: PathBuf,
    /// First line of `stap -V`.
    pub(crate) version: String,
}

/// A kernel to build for and boot.
#[derive(Debug, Clone)]
pub(crate) struct Kernel {
    /// Manifest name.
    pub(crate) name: String,
    /// What stap-prep fetched.
    pub(crate) state: FetchState,
}

/// Installs mmdebstrap from the machine's own archive when missing.
pub(crate) fn install_mmdebstrap(sh: &Shell) -> Result<()> {
    if cmd!(sh, "mmdebstrap --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
    {
        return Ok(());
    }
    eprintln!("oracle: installing mmdebstrap");
    cmd!(
        sh,
        "apt-get install -y -qq --no-install-recommends mmdebstrap"
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .run()
    .context("installing mmdebstrap (run as root)")?;
    Ok(())
}

/// Fetches (or finds cached) the kernel `name`.
pub(crate) fn fetch_kernel(cache: &Cache, name: &str) -> Result<Kernel> {
    let catalog = Catalog::load()?;
    let manifest = catalog.get(name)?;
    let fetched = fetch(manifest, cache, &FetchOptions::default(), &mut |line| {
        eprintln!("{line}")
    })
    .map_err(|e| anyhow!("{e}"))?;
    Ok(Kernel {
        name: name.to_string(),
        state: fetched.state().clone(),
    })
}

/// The compiler package the kernel `name` was built with.
pub(crate) fn kernel_compiler(name: &str) -> Result<String> {
    Ok(Catalog::load()?.get(name)?.toolchain.compiler.clone())
}

/// Makes (or reuses) the root of `suite` with SystemTap and `compilers`.
pub(crate) fn prepare_root(
    cache: &Cache,
    suite: &str,
    compilers: &BTreeSet<String>,
) -> Result<StapRoot> {
    if !suite.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        bail!("'{suite}' is not a Debian suite name");
    }
    let roots = cache.dir().join("oracle/roots");
    let dir = roots.join(suite);
    let stamp = dir.join(".stapkit-oracle-packages");
    let mut wanted: BTreeSet<String> = ROOT_PACKAGES.iter().map(|p| p.to_string()).collect();
    wanted.extend(compilers.iter().cloned());
    if !stamp.is_file() {
        let tmp = roots.join(format!("{suite}.tmp"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&roots)?;
        // The compilers are installed below, each from the suite that has
        // it: the root's own suite may not (trixie has no gcc-10).
        let base: BTreeSet<String> = ROOT_PACKAGES.iter().map(|p| p.to_string()).collect();
        eprintln!("oracle: making a {suite} root with {}", join(&base, ","));
        let include = format!("--include={}", join(&base, ","));
        // The archive this machine's apt uses: hosts are configuration.
        let archive = stapkit::kernel::apt_sources::host_archive().map_err(anyhow::Error::msg)?;
        let status = Command::new("mmdebstrap")
            .args(["--variant=apt", "--architectures=amd64", "--quiet"])
            // Suites such as sid may be served from a snapshot whose
            // Release file has expired.
            .arg("--aptopt=Acquire::Check-Valid-Until \"false\"")
            .arg(include)
            .arg(suite)
            .arg(&tmp)
            .arg(&archive)
            .status()
            .context("running mmdebstrap")?;
        if !status.success() {
            bail!("mmdebstrap {suite} failed ({status}); is '{suite}' a suite of {archive}?");
        }
        std::fs::write(
            tmp.join(".stapkit-oracle-packages"),
            join(&base, "\n") + "\n",
        )?;
        std::fs::rename(&tmp, &dir)?;
    }
    let have: BTreeSet<String> = std::fs::read_to_string(&stamp)?
        .lines()
        .map(str::to_string)
        .collect();
    let missing: Vec<String> = wanted.difference(&have).cloned().collect();
    if !missing.is_empty() {
        eprintln!(
            "oracle: installing {} into the {suite} root",
            missing.join(" ")
        );
        std::fs::copy("/etc/resolv.conf", dir.join("etc/resolv.conf"))?;
        add_compiler_suites(&dir, suite, &missing)?;
        let mut argv = vec!["sh".to_string(), "-c".to_string()];
        argv.push(format!(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
             --no-install-recommends {}",
            missing.join(" ")
        ));
        let out = in_root(&dir, &[], "/", &argv)?;
        if !out.status.success() {
            bail!(
                "installing {} into {}: {}",
                missing.join(" "),
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::fs::write(
            &stamp,
            join(&have.union(&wanted).cloned().collect(), "\n") + "\n",
        )?;
    }
    let out = in_root(&dir, &[], "/", &["stap".into(), "-V".into()])?;
    // `stap -V` prints to stdout in 5.x, to stderr in older releases.
    let version = [&out.stdout, &out.stderr]
        .iter()
        .find_map(|o| {
            String::from_utf8_lossy(o)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown SystemTap".to_string());
    Ok(StapRoot {
        suite: suite.to_string(),
        dir,
        version,
    })
}

/// Gives the root at `dir` (of `suite`) the apt sources of the suites the
/// compilers among `packages` come from when `suite` has no such package:
/// a kernel's compiler is found in its manifest's toolchain suite (gcc-10
/// for 5.10 in bullseye, which trixie no longer has). Such a suite is
/// pinned below the root's own (priority 100), so that apt takes from it
/// only what the root's suite lacks: the root keeps its SystemTap, its C
/// library and its tools. Only the root's own apt configuration is
/// written, never the machine's.
fn add_compiler_suites(dir: &Path, suite: &str, packages: &[String]) -> Result<()> {
    let catalog = Catalog::load()?;
    let mut extra = BTreeSet::new();
    for package in packages {
        let Some(from) = catalog
            .all()
            .iter()
            .filter(|m| &m.toolchain.compiler == package)
            .find_map(|m| m.toolchain.suite.clone())
        else {
            continue;
        };
        if from == suite {
            continue;
        }
        let update = [
            "sh".to_string(),
            "-c".to_string(),
            "apt-get update -qq".to_string(),
        ];
        let out = in_root(dir, &[], "/", &update)?;
        if !out.status.success() {
            bail!(
                "apt-get update in {}: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let show = [
            "apt-cache".to_string(),
            "show".to_string(),
            "--no-all-versions".to_string(),
            package.clone(),
        ];
        let has = in_root(dir, &[], "/", &show)?;
        if has.status.success() && !has.stdout.is_empty() {
            continue;
        }
        extra.insert(from);
    }
    if extra.is_empty() {
        return Ok(());
    }
    let archive = stapkit::kernel::apt_sources::host_archive().map_err(anyhow::Error::msg)?;
    for from in &extra {
        if !from.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            bail!("'{from}' is not a Debian suite name");
        }
        eprintln!("oracle: the {suite} root takes its compilers missing there from {from}");
        std::fs::write(
            dir.join(format!("etc/apt/sources.list.d/stapkit-{from}.list")),
            format!("deb {archive} {from} main\n"),
        )?;
        std::fs::write(
            dir.join(format!("etc/apt/preferences.d/stapkit-{from}")),
            format!("Package: *\nPin: release n={from}\nPin-Priority: 100\n"),
        )?;
    }
    Ok(())
}

fn join(set: &BTreeSet<String>, sep: &str) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(sep)
}

/// Runs `argv` in `root` (cwd `cwd`, a clean environment) in a private
/// mount namespace where `binds` are visible, read-only, at their own
/// paths and /proc and /dev are mounted.
pub(super) fn in_root(root: &Path, binds: &[&Path], cwd: &str, argv: &[String]) -> Result<Output> {
    in_root_with(root, binds, &[], cwd, argv)
}

/// The `files` entry of [`in_root_with`] that makes the directory `dst`
/// writable for the run, over what is bound there before it.
pub(crate) fn writable(dst: &str) -> (PathBuf, String) {
    (PathBuf::new(), dst.to_string())
}

/// [`in_root`], with `files` (host file or directory, path in the root)
/// bound over the root's, in order (made empty first where missing); an
/// entry with an empty host path ([`writable`]) puts a writable layer
/// over the directory at its path instead, so that what is bound below it
/// later leaves the root (and the cache bound there) unchanged.
pub(crate) fn in_root_with(
    root: &Path,
    binds: &[&Path],
    files: &[(PathBuf, String)],
    cwd: &str,
    argv: &[String],
) -> Result<Output> {
    run_in_root(root, binds, files, cwd, argv, false)
}

/// [`in_root_with`] in a root whose `/bin` is a directory of its own (the
/// root's is a link to `/usr/bin`, merged `/usr`), so that programs bound
/// at `/bin/NAME` are known by that path, as in the test guests: see
/// `build`'s programs installed in place.
pub(crate) fn in_root_own_bin(
    root: &Path,
    binds: &[&Path],
    files: &[(PathBuf, String)],
    cwd: &str,
    argv: &[String],
) -> Result<Output> {
    run_in_root(root, binds, files, cwd, argv, true)
}

fn run_in_root(
    root: &Path,
    binds: &[&Path],
    files: &[(PathBuf, String)],
    cwd: &str,
    argv: &[String],
    own_bin: bool,
) -> Result<Output> {
    const SETUP: &str = r#"set -e
root=$1; cwd=$2; shift 2
if [ -n "$ORACLE_OWN_BIN" ]; then
    # The root through a writable layer (in memory, gone with the
    # namespace) in which /bin is a directory of its own, as on a system
    # without merged /usr: links to /usr/bin's files, beside which the
    # programs bound later keep their /bin paths. Its /tmp stays the
    # root's, where the caller finds what the command wrote.
    top=$(mktemp -d); mount -t tmpfs tmpfs "$top"; mkdir "$top/u" "$top/w" "$top/m"
    mount -t overlay overlay -o "lowerdir=$root,upperdir=$top/u,workdir=$top/w" "$top/m"
    rm "$top/m/bin"; mkdir "$top/m/bin"
    (cd "$root/usr/bin" && ls -A) | sed 's|^|/usr/bin/|' | xargs ln -s -t "$top/m/bin"
    mount --bind "$root/tmp" "$top/m/tmp"
    root=$top/m
fi
IFS='
'
# The kernel cache, read-only: nothing SystemTap's build writes (7.x's
# kbuild writes its external module's files into the tree) may reach
# the shared cache; a tree that must be written gets an overlay below.
for b in $ORACLE_BINDS; do
    mkdir -p "$root$b"; mount --bind "$b" "$root$b"; mount -o remount,bind,ro "$root$b"
done
# A writable layer over directories (a kernel tree) for the files below.
for o in $ORACLE_OVERLAYS; do
    layer=$(mktemp -d); mkdir "$layer/u" "$layer/w"
    mount -t overlay overlay -o "lowerdir=$root$o,upperdir=$layer/u,workdir=$layer/w" "$root$o"
done
for f in $ORACLE_FILES; do
    src=${f%%	*}; dst=$root${f#*	}
    if [ -z "$src" ]; then
        # A writable layer over what is there now (binds included).
        layer=$(mktemp -d); mkdir "$layer/u" "$layer/w"
        mount -t overlay overlay -o "lowerdir=$dst,upperdir=$layer/u,workdir=$layer/w" "$dst"
        continue
    fi
    if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "${dst%/*}"; [ -e "$dst" ] || : > "$dst"; fi
    mount --bind "$src" "$dst"
done
unset IFS
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
    /bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@"
"#;
    let binds: Vec<String> = binds.iter().map(|b| b.display().to_string()).collect();
    Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            SETUP,
            "sh",
        ])
        .arg(root)
        .arg(cwd)
        .args(argv)
        .env("ORACLE_BINDS", binds.join("\n"))
        .env("ORACLE_OWN_BIN", if own_bin { "1" } else { "" })
        .env(
            "ORACLE_OVERLAYS",
            files
                .iter()
                .filter_map(|(_, dst)| dst.strip_suffix("/vmlinux"))
                .filter(|dir| dir.contains("/usr/src/"))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .env(
            "ORACLE_FILES",
            files
                .iter()
                .map(|(src, dst)| format!("{}\t{dst}", src.display()))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} in {}", argv.join(" "), root.display()))
}
