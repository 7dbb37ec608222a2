//! `stap-prep`: fetch and relocate kernel trees so `stap -r` can target
//! kernels that are not installed, and prepare the toolchain each needs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stapkit::kernel::archives::Archives;
use stapkit::kernel::fetch::{fetch, update_entry, update_entry_at, FetchOptions, Fetched};
use stapkit::kernel::lock::{self, LockFile};
use stapkit::kernel::module_tracepoints::{self, ModuleSource};
use stapkit::kernel::{compiler_note, dbgsym, toolchain};
use stapkit::kernel::{Cache, Catalog, HeaderTree, TreeError};

/// Fetch kernel header trees (and images) for stapkit.
#[derive(Parser)]
#[command(name = "stap-prep", version, after_help = ARCHIVES_HELP)]
struct Cli {
    /// Cache directory (default: $STAPKIT_CACHE, $XDG_CACHE_HOME/stapkit or ~/.cache/stapkit).
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Download, unpack and relocate kernels' headers and images (several
    /// kernels in parallel), and prepare the toolchain each needs.
    Fetch {
        /// Kernel manifest names (see `list --available`).
        #[arg(required = true)]
        kernels: Vec<String>,
        /// Also fetch the debug vmlinux (large).
        #[arg(long)]
        debug: bool,
        /// Resolve the newest package version again even if one is cached.
        #[arg(long)]
        refresh: bool,
        /// Fetch exactly the versions the lock file names (verifying their
        /// SHA-256); a cached kernel of other versions is fetched again.
        #[arg(long)]
        locked: bool,
        /// The lock file (default: $STAPKIT_KERNELS/kernels.lock, else
        /// ./kernels/kernels.lock, else the one built into stap-prep).
        #[arg(long, value_name = "FILE")]
        lock: Option<PathBuf>,
        /// Also download the kernel's modules package and learn the
        /// tracepoints its modules define (what `kernel.trace("*")` and
        /// `stap -l 'kernel.trace("*")'` match beside the image's).
        #[arg(long)]
        modules: bool,
    },
    /// Move the lock file to the archive's newest release of each kernel
    /// (all locked kernels when none is named), or with --from-cache to
    /// the versions the cache holds; fetch them with `fetch --locked`.
    Update {
        kernels: Vec<String>,
        /// The lock file to write (default: $STAPKIT_KERNELS/kernels.lock,
        /// else ./kernels/kernels.lock).
        #[arg(long, value_name = "FILE")]
        lock: Option<PathBuf>,
        /// Lock what the cache already holds instead of the newest.
        #[arg(long, conflicts_with = "release")]
        from_cache: bool,
        /// Lock exactly this release of the kernel's series instead of the
        /// newest (e.g. 6.8.0-31-generic: the release a fleet runs); names
        /// one kernel.
        #[arg(long, value_name = "RELEASE")]
        release: Option<String>,
    },
    /// Prepare (or show) the toolchain of fetched kernels: the host's when it
    /// fits, else a root of the kernel's Debian suite.
    Toolchain {
        #[arg(required = true)]
        kernels: Vec<String>,
    },
    /// List fetched kernels (or, with --available, every known manifest).
    List {
        #[arg(long)]
        available: bool,
    },
    /// Unpack the debug files of user-space programs into a sysroot: for
    /// each binary package, its NAME-dbgsym package from a debug archive
    /// (only `usr/lib/debug/`), where `stap --sysroot DIR` finds each
    /// program's DWARF by its build id.
    Dbgsym {
        /// Binary packages (or debug packages: NAME-dbgsym, NAME-dbg).
        #[arg(required = true)]
        packages: Vec<String>,
        /// The target's file tree the debug files go into.
        #[arg(long, value_name = "DIR")]
        sysroot: PathBuf,
        /// The debug archive's name (located as under Archives below).
        #[arg(long, default_value = "debian-debug")]
        archive: String,
        /// Its suite (e.g. bookworm-debug); repeat for more.
        #[arg(long, required = true)]
        suite: Vec<String>,
        /// Its component; repeat for more.
        #[arg(long, default_value = "main")]
        component: Vec<String>,
        /// The packages' Debian architecture (default: this machine's).
        #[arg(long)]
        arch: Option<String>,
    },
    /// Print the build tree directory of a fetched kernel.
    Path {
        kernel: String,
        /// Print the kernel image instead of the build tree.
        #[arg(long)]
        image: bool,
    },
}

/// Where packages come from (`kernel::archives`), for `--help`.
const ARCHIVES_HELP: &str = "\
Archives: manifests name an archive (debian, debian-security, ubuntu,
ubuntu-ddebs, centos-stream, ...) and its suites; where it is, is
configuration. For archive NAME the first of these wins:
  STAPKIT_ARCHIVE_NAME=URI     environment (upper case, '-' as '_'),
                               e.g. STAPKIT_ARCHIVE_DEBIAN=http://mirror/debian
  NAME: URI                    a line of $XDG_CONFIG_HOME/stapkit/archives.yaml
                               (else ~/.config/stapkit/archives.yaml)
  this machine's apt sources   for its own distribution's archives
                               (all suites of a distribution share them)
NAME-security defaults to NAME's URI with -security appended. A URI may be
preceded by apt options: '[signed-by=/path/key.gpg] URI', '[trusted=yes] URI'.";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stap-prep: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Fetches one kernel and prepares its toolchain; the build tree's path.
fn fetch_one(
    name: &str,
    catalog: &Catalog,
    cache: &Cache,
    options: &FetchOptions,
    modules: bool,
) -> Result<String, String> {
    let manifest = catalog.get(name).map_err(|e| e.to_string())?;
    let fetched = fetch(manifest, cache, options, &mut |line| eprintln!("{line}"))
        .map_err(|e| e.to_string())?;
    let state = fetched.state();
    let verb = match fetched {
        Fetched::AlreadyCached(_) => "already fetched",
        Fetched::New(_) => "fetched",
    };
    eprintln!("{name}: {verb}: {} ({})", state.release, state.version);
    let tree = HeaderTree::from_fetched(state.clone()).map_err(|e| e.to_string())?;
    let tc = toolchain::ensure(manifest, &tree, cache, &mut |l| eprintln!("{l}"))
        .map_err(|e| e.to_string())?;
    eprintln!("{name}: toolchain: {}", tc.describe());
    if let Some(note) = compiler_note::for_tree(name, &tree, &tc) {
        eprintln!("{note}");
    }
    if modules {
        let source = ModuleSource::Fetched {
            cache_dir: cache.dir().to_path_buf(),
            manifest: name.to_string(),
        };
        let found = module_tracepoints::prepare(&source, &mut |l| eprintln!("{name}: {l}"))
            .map_err(|e| e.to_string())?;
        eprintln!("{name}: {} tracepoints defined by modules", found.len());
    }
    Ok(state.build_dir().display().to_string())
}

/// The lock file `fetch --locked` reads, and its name for messages.
fn read_lock(path: Option<&std::path::Path>) -> Result<(LockFile, PathBuf), String> {
    lock::load(path).map_err(|e| e.to_string())?.ok_or_else(|| {
        "no lock file: name one with --lock FILE, or lock kernels with stap-prep update --lock FILE KERNEL..."
            .to_string()
    })
}

fn run(cli: Cli) -> Result<(), String> {
    let cache = Cache::locate(cli.cache_dir.as_deref());
    let catalog = Catalog::load().map_err(|e| e.to_string())?;
    match cli.command {
        Command::Fetch {
            kernels,
            debug,
            refresh,
            locked,
            lock,
            modules,
        } => {
            for name in &kernels {
                catalog.get(name).map_err(|e| e.to_string())?;
            }
            let archives = Archives::load().map_err(|e| e.to_string())?;
            let lock_file = if locked {
                Some(read_lock(lock.as_deref())?)
            } else {
                None
            };
            let mut options = Vec::new();
            for name in &kernels {
                let locked = match &lock_file {
                    Some((file, path)) => Some((
                        file.get(name, path).map_err(|e| e.to_string())?.clone(),
                        path.clone(),
                    )),
                    None => None,
                };
                options.push(FetchOptions {
                    debug,
                    refresh,
                    archives: Some(archives.clone()),
                    locked,
                });
            }
            let results: Vec<Result<String, String>> = std::thread::scope(|s| {
                let handles: Vec<_> = kernels
                    .iter()
                    .zip(&options)
                    .map(|(name, options)| {
                        s.spawn(|| fetch_one(name, &catalog, &cache, options, modules))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err("fetch panicked".into())))
                    .collect()
            });
            let mut errors = Vec::new();
            for result in results {
                match result {
                    Ok(dir) => println!("{dir}"),
                    Err(e) => errors.push(e),
                }
            }
            if !errors.is_empty() {
                return Err(errors.join("\nstap-prep: "));
            }
        }
        Command::Dbgsym {
            packages,
            sysroot,
            archive,
            suite,
            component,
            arch,
        } => {
            let archives = Archives::load().map_err(|e| e.to_string())?;
            let from = dbgsym::DebugArchive {
                archive,
                suites: suite,
                components: component,
                architecture: arch
                    .unwrap_or_else(|| stapkit::kernel::arch::host_debian().to_string()),
            };
            let work = cache.dir().join("dbgsym").join(&from.architecture);
            let unpacked = dbgsym::fetch_into(&work, &from, &archives, &packages, &sysroot)
                .map_err(|e| e.to_string())?;
            for u in unpacked {
                println!(
                    "{} {}: {} debug files in {}",
                    u.package,
                    u.version,
                    u.build_ids.len(),
                    sysroot.join("usr/lib/debug/.build-id").display()
                );
            }
        }
        Command::Update {
            kernels,
            lock,
            from_cache,
            release,
        } => {
            if release.is_some() && kernels.len() != 1 {
                return Err("--release names one kernel's release: name that one kernel".into());
            }
            let path = lock
                .or_else(lock::default_path)
                .ok_or("stap-prep update writes the lock file: name it with --lock FILE")?;
            let mut file = LockFile::read(&path, true).map_err(|e| e.to_string())?;
            let names: Vec<String> = if kernels.is_empty() {
                file.kernels.keys().cloned().collect()
            } else {
                kernels
            };
            if names.is_empty() {
                return Err(format!(
                    "{} locks no kernel yet: name the kernels to lock",
                    path.display()
                ));
            }
            let archives = Archives::load().map_err(|e| e.to_string())?;
            for name in &names {
                let manifest = catalog.get(name).map_err(|e| e.to_string())?;
                let mut progress = |l: &str| eprintln!("{l}");
                let entry = match &release {
                    Some(release) => {
                        update_entry_at(manifest, &cache, &archives, release, &mut progress)
                    }
                    None => update_entry(manifest, &cache, &archives, from_cache, &mut progress),
                }
                .map_err(|e| e.to_string())?;
                let moved = match file.kernels.get(name) {
                    Some(old) if old == &entry => "unchanged".to_string(),
                    Some(old) => format!("moved from {}", old.release),
                    None => "added".to_string(),
                };
                println!("{name}: {} ({moved})", entry.release);
                file.kernels.insert(name.clone(), entry);
            }
            file.write(&path).map_err(|e| e.to_string())?;
        }
        Command::Toolchain { kernels } => {
            for name in kernels {
                let manifest = catalog.get(&name).map_err(|e| e.to_string())?;
                let state = cache
                    .state(&name)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| TreeError::NotFetched { name: name.clone() }.to_string())?;
                let tree = HeaderTree::from_fetched(state).map_err(|e| e.to_string())?;
                let tc = toolchain::ensure(manifest, &tree, &cache, &mut |l| eprintln!("{l}"))
                    .map_err(|e| e.to_string())?;
                println!("{name}: {}", tc.describe());
                if let Some(note) = compiler_note::for_tree(&name, &tree, &tc) {
                    eprintln!("{note}");
                }
            }
        }
        Command::List { available: true } => {
            for m in catalog.all() {
                println!("{:<24} {}", m.name, m.description);
            }
        }
        Command::List { available: false } => {
            for s in cache.list().map_err(|e| e.to_string())? {
                println!(
                    "{:<24} {:<28} {:<14} {}",
                    s.manifest,
                    s.release,
                    s.version,
                    s.build_dir().display()
                );
            }
        }
        Command::Path { kernel, image } => {
            catalog.get(&kernel).map_err(|e| e.to_string())?;
            let state = cache.state(&kernel).map_err(|e| e.to_string())?;
            let state = state.ok_or_else(|| {
                TreeError::NotFetched {
                    name: kernel.clone(),
                }
                .to_string()
            })?;
            if image {
                println!("{}", state.image_path().display());
            } else {
                let tree = HeaderTree::from_fetched(state).map_err(|e| e.to_string())?;
                println!("{}", tree.dir.display());
            }
        }
    }
    Ok(())
}
