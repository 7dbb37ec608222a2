//! `stap-prep`: fetch and relocate kernel trees so `stap -r` can target
//! kernels that are not installed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stapkit::kernel::fetch::{fetch, FetchOptions, Fetched};
use stapkit::kernel::{Cache, Catalog, HeaderTree, TreeError};

/// Fetch kernel header trees (and images) for stapkit.
#[derive(Parser)]
#[command(name = "stap-prep", version)]
struct Cli {
    /// Cache directory (default: $STAPKIT_CACHE, $XDG_CACHE_HOME/stapkit or ~/.cache/stapkit).
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Download, unpack and relocate a kernel's headers and image.
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
    },
    /// List fetched kernels (or, with --available, every known manifest).
    List {
        #[arg(long)]
        available: bool,
    },
    /// Print the build tree directory of a fetched kernel.
    Path {
        kernel: String,
        /// Print the kernel image instead of the build tree.
        #[arg(long)]
        image: bool,
    },
}

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

fn run(cli: Cli) -> Result<(), String> {
    let cache = Cache::locate(cli.cache_dir.as_deref());
    let catalog = Catalog::load().map_err(|e| e.to_string())?;
    match cli.command {
        Command::Fetch {
            kernels,
            debug,
            refresh,
        } => {
            for name in kernels {
                let manifest = catalog.get(&name).map_err(|e| e.to_string())?;
                let options = FetchOptions { debug, refresh };
                let fetched = fetch(manifest, &cache, &options, &mut |line| eprintln!("{line}"))
                    .map_err(|e| e.to_string())?;
                let state = fetched.state();
                let verb = match fetched {
                    Fetched::AlreadyCached(_) => "already fetched",
                    Fetched::New(_) => "fetched",
                };
                eprintln!("{name}: {verb}: {} ({})", state.release, state.version);
                println!("{}", state.build_dir().display());
            }
        }
        Command::List { available: true } => {
            for m in catalog.all() {
                println!("{:<22} {}", m.name, m.description);
            }
        }
        Command::List { available: false } => {
            for s in cache.list().map_err(|e| e.to_string())? {
                println!(
                    "{:<22} {:<28} {:<14} {}",
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
