//! What the local-repository fetch tests share: the fetched Debian tree
//! they repackage, a flattened copy of it, a command runner (the one of
//! `command_support`), `.deb` packages, a Debian repository index and a
//! small HTTP server on the loopback address.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use stapkit::kernel::{Cache, FetchState};

pub mod rpm;

/// The kernel whose tree the local repositories repackage.
pub const KERNEL: &str = "debian-6.1-amd64";

/// The fetched Debian 6.1 amd64 kernel.
pub fn debian_tree() -> FetchState {
    cached_kernel(KERNEL)
}

/// The fetched kernel `name` of the shared stapkit cache (one of the CI
/// kernels `cargo xtask test` fetches).
pub fn cached_kernel(name: &str) -> FetchState {
    Cache::locate(None)
        .state(name)
        .expect("the stapkit cache is readable")
        .unwrap_or_else(|| panic!("fetch it first: stap-prep fetch {name}"))
}

#[path = "../command_support/mod.rs"]
mod command_support;
pub use command_support::run;

/// One binary package to build with [`deb`].
pub struct DebPackage<'a> {
    /// `Package:`.
    pub name: &'a str,
    /// `Version:`.
    pub version: &'a str,
    /// `Architecture:` (`all`, `amd64`, ...).
    pub arch: &'a str,
    /// `Depends:` (empty: none).
    pub depends: &'a str,
    /// `Description:`.
    pub description: &'a str,
}

/// Builds `NAME_VERSION_ARCH.deb` of `dir` (its files laid out from `/`)
/// into `pool` with `dpkg-deb` (gzip at its fastest: the tests' packages
/// are large trees read once).
pub fn deb(dir: &Path, package: &DebPackage<'_>, pool: &Path) {
    let control = dir.join("DEBIAN");
    std::fs::create_dir_all(&control).unwrap();
    let depends = match package.depends {
        "" => String::new(),
        d => format!("Depends: {d}\n"),
    };
    std::fs::write(
        control.join("control"),
        format!(
            "Package: {}\nVersion: {}\nArchitecture: {}\nMaintainer: stapkit tests\n\
             {depends}Description: {}\n",
            package.name, package.version, package.arch, package.description
        ),
    )
    .unwrap();
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "-z1", "--build"])
        .arg(dir)
        .arg(pool.join(format!(
            "{}_{}_{}.deb",
            package.name, package.version, package.arch
        ))));
}

/// A Debian-shaped repository of the `.deb`s in `archive/pool` for suite
/// `suite`, component main.
pub fn deb_index(archive: &Path, suite: &str, arch: &str) {
    let out = run(Command::new("dpkg-scanpackages")
        .args(["--multiversion", "pool"])
        .current_dir(archive));
    let dir = archive.join(format!("dists/{suite}/main/binary-{arch}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Packages"), &out.stdout).unwrap();
    let sum = stapkit::kernel::lock::sha256_file(&dir.join("Packages")).unwrap();
    std::fs::write(
        archive.join(format!("dists/{suite}/Release")),
        format!(
            "Origin: stapkit-tests\nSuite: {suite}\nCodename: {suite}\nArchitectures: {arch}\n\
             Components: main\nDate: Sun, 06 Dec 2026 00:00:00 UTC\nSHA256:\n {sum} {} main/binary-{arch}/Packages\n",
            out.stdout.len()
        ),
    )
    .unwrap();
}

/// A self-contained copy of the Debian tree at one directory, as
/// kernel-devel and Ubuntu's headers ship theirs: the common tree, the
/// kbuild host tools and the flavour's configuration in one place.
pub struct LocalTree {
    /// `UTS_RELEASE` of the tree (what vermagic starts with).
    pub release: String,
}

impl LocalTree {
    /// Copies `state`'s tree into `dest` (created).
    pub fn flatten(state: &FetchState, dest: &Path) -> LocalTree {
        let root = &state.root;
        let flavour = state.build_dir();
        let common = std::fs::read_dir(root.join("usr/src"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with("-common"))
            .expect("a -common header tree");
        let kbuild = std::fs::read_dir(root.join("usr/lib"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("linux-kbuild-")
            })
            .expect("the linux-kbuild host tools");
        std::fs::create_dir_all(dest).unwrap();
        copy_tree(&common, dest, &["./scripts", "./tools"]);
        run(Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", kbuild.display()))
            .arg(dest));
        copy_tree(&flavour, dest, &["./Makefile", "./scripts", "./tools"]);
        let uts = std::fs::read_to_string(dest.join("include/generated/utsrelease.h")).unwrap();
        let release = uts
            .split('"')
            .nth(1)
            .expect("#define UTS_RELEASE \"...\"")
            .to_string();
        LocalTree { release }
    }
}

/// Copies `from` into `to` with tar, leaving out `exclude`.
fn copy_tree(from: &Path, to: &Path, exclude: &[&str]) {
    let excludes: Vec<String> = exclude.iter().map(|e| format!("--exclude={e}")).collect();
    let script = format!(
        "tar -C '{}' -cf - {} . | tar -C '{}' -xf -",
        from.display(),
        excludes.join(" "),
        to.display()
    );
    run(Command::new("sh").arg("-c").arg(script));
}

/// Serves the files under `dir` on the loopback address (GET and HEAD, one
/// request per connection) for the rest of the test process, and returns
/// its base URL, made from the address and port of the socket it listens on.
pub fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                let mut words = request.split_whitespace();
                let method = words.next().unwrap_or("");
                let path = words.next().unwrap_or("/").split('?').next().unwrap_or("/");
                let file = dir.join(path.trim_start_matches('/'));
                let safe = !path.contains("..");
                match std::fs::read(&file) {
                    Ok(body) if safe && file.is_file() => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(head.as_bytes());
                        if method != "HEAD" {
                            let _ = stream.write_all(&body);
                        }
                    }
                    _ => {
                        let _ = stream.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                }
            });
        }
    });
    base
}
