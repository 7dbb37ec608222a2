//! One script's build for one kernel tree with stap's own pipeline, as
//! `stap -p4` runs it: the script's `# matrix:` options read as stap's,
//! the options the matrix decides on set (module name, `--sysroot`,
//! `MAXTRYLOCK`, test signing key), `{symbol:NAME}` arguments replaced
//! by the kernel's addresses, passes 1-3 run and pass 4's kbuild job
//! made, then what kbuild built checked, delivered and signed.

use std::path::{Path, PathBuf};

use clap::Parser as _;

use super::script::TestScript;
use super::ship;
use crate::driver::{self, Pipeline, ScriptInput, StapOptions};
use crate::kernel::{Cache, HeaderTree};

/// Builds one script for one tree with stap's own pipeline. `sysroot`
/// is the guests' file tree as far as builds need it (`--sysroot`, for
/// `process("/bin/stapkit-workload")`), unless the script names its own.
/// `--sign-module` signs with the run's key in `key_dir` (one for every
/// kernel, the one `# guest-firmware: uefi-db` enrolls).
pub fn build_one(
    script: &TestScript,
    tree: &HeaderTree,
    cache: &Cache,
    out_dir: &Path,
    sysroot: Option<&Path>,
    key_dir: &Path,
) -> Result<PathBuf, String> {
    let mut prepared = prepare_one(script, tree, cache, out_dir, (sysroot, key_dir), None)?;
    let built = crate::kernel::kbuild::build(&prepared.job.request());
    prepared.finish(built)
}

/// A script translated for one tree, waiting for kbuild: passes 1-3 done,
/// pass 4's [`driver::BuildJob`] ready for a single or a batch build.
pub struct Prepared {
    pipeline: Pipeline,
    /// What kbuild is given.
    pub job: driver::BuildJob,
    out_dir: PathBuf,
}

impl Prepared {
    /// What pass 4 chose and found (`Pipeline::build_notes`).
    pub fn notes(&self) -> &[String] {
        &self.pipeline.build_notes
    }

    /// Checks what kbuild made of the job (as `stap -p4` does), delivers
    /// `OUT_DIR/NAME.ko` and signs it if asked.
    pub fn finish(
        &mut self,
        built: Result<crate::kernel::kbuild::BuiltModule, crate::kernel::kbuild::BuildError>,
    ) -> Result<PathBuf, String> {
        let pipeline = &mut self.pipeline;
        let failed = |p: &mut Pipeline, f: crate::driver::Failure| {
            format!("{}{}", std::mem::take(&mut p.warnings), f.message)
        };
        let built = built.map_err(|e| failed(pipeline, Pipeline::build_failure(&e)))?;
        let built = pipeline
            .check_built(built)
            .map_err(|f| failed(pipeline, f))?;
        std::fs::create_dir_all(&self.out_dir).map_err(|e| e.to_string())?;
        let ko = crate::driver::deliver(&built, &self.job.module.module, &self.out_dir)
            .map_err(|e| e.to_string())?;
        crate::ship::sign_delivered(pipeline, &ko).map_err(|f| f.message)?;
        Ok(ko)
    }
}

/// Passes 1-3 of [`build_one`] and pass 4's job, not yet built; `kernel`:
/// the tree's facts as other scripts' builds have read them (see
/// [`Pipeline::share_kernel_info`]), else read anew.
pub fn prepare_one(
    script: &TestScript,
    tree: &HeaderTree,
    cache: &Cache,
    out_dir: &Path,
    (sysroot, key_dir): (Option<&Path>, &Path),
    kernel: Option<std::sync::Arc<crate::debuginfo::KernelInfo>>,
) -> Result<Prepared, String> {
    let module = script.module_name();
    let (opts_part, args_part) = match script.stap_args.iter().position(|a| a == "--") {
        Some(i) => (&script.stap_args[..i], &script.stap_args[i + 1..]),
        None => (&script.stap_args[..], &[][..]),
    };
    // The script's own `# matrix:` flags are stap's: read them as stap
    // would (`-e ''` stands in for the script, set below), then set what
    // the matrix decides on the options themselves.
    let opts_part = ship::with_test_key(opts_part, key_dir)?;
    let own = StapOptions::try_parse_from(
        std::iter::once("stap")
            .chain(opts_part.iter().map(String::as_str))
            .chain(["-e", ""]),
    )
    .map_err(|e| e.to_string())?
    .options()
    .map_err(|f| f.message)?;
    let mut options = driver::Options {
        script: ScriptInput::File(script.path.clone()),
        args: args_part
            .iter()
            .map(|a| substitute_symbols(a, tree))
            .collect::<Result<_, _>>()?,
        release: Some(tree.dir.display().to_string()),
        module: Some(module),
        last_pass: Some(4),
        cache_dir: Some(cache.dir().to_path_buf()),
        sysroot: own
            .sysroot
            .clone()
            .or_else(|| sysroot.map(Path::to_path_buf)),
        ..own
    };
    // A TCG guest's vCPUs take turns on one host thread that the host
    // itself may not run for a while when busy: a vCPU holding a script's
    // global lock can stall for many milliseconds, which hardware never
    // does, and the default MAXTRYLOCK (10 ms of retries) then skips
    // probes at random (one second was still seen to miss once on a
    // loaded 2-core host). Guests get ten seconds unless the script sets
    // its own.
    // staprun runs the -c command (or attaches to -x PID) in the guest;
    // stap learns it too, as it would from its own -c/-x: a `process`
    // point without a path names that program.
    for pair in script.staprun_args.chunks(2) {
        match pair {
            [flag, cmd] if flag == "-c" => options.command = Some(cmd.clone()),
            [flag, pid] if flag == "-x" => options.target_pid = pid.parse().ok(),
            _ => {}
        }
    }
    if !options.defines.iter().any(|d| d.contains("MAXTRYLOCK")) {
        options.defines.insert(0, "MAXTRYLOCK=1000000".to_string());
    }
    let mut pipeline = Pipeline::new(options).map_err(|f| f.message)?;
    if let Some(kernel) = kernel {
        pipeline.share_kernel_info(kernel);
    }
    // Report the script by its file name, as `stap NAME.stp` run beside it
    // would: outcomes then do not depend on where the checkout lives.
    if let Some(file_name) = script.path.file_name() {
        pipeline.script.name = file_name.to_string_lossy().into_owned();
    }
    // A failure's text is what `stap` prints on stderr: the warnings
    // found so far, then the errors.
    let failed = |p: &mut Pipeline, f: crate::driver::Failure| {
        format!("{}{}", std::mem::take(&mut p.warnings), f.message)
    };
    let ast = pipeline.parse().map_err(|f| failed(&mut pipeline, f))?;
    let program = pipeline
        .elaborate(&ast)
        .map_err(|f| failed(&mut pipeline, f))?;
    let c = pipeline
        .translate(&program)
        .map_err(|f| failed(&mut pipeline, f))?;
    let job = pipeline
        .build_job(&c)
        .map_err(|f| failed(&mut pipeline, f))?;
    Ok(Prepared {
        pipeline,
        job,
        out_dir: out_dir.to_path_buf(),
    })
}

/// A script argument with each `{symbol:NAME}` replaced by NAME's address
/// in the kernel's System.map (hexadecimal), for probes on addresses
/// (`kprobe.statement($1).absolute`): test guests boot with `nokaslr`, so
/// the map's addresses are the running kernel's. Only the -dbg package
/// carries a real System.map: such scripts say `# requires: debuginfo`.
pub fn substitute_symbols(arg: &str, tree: &HeaderTree) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = arg;
    while let Some(start) = rest.find("{symbol:") {
        let Some(len) = rest[start..].find('}') else {
            return Err(format!("'{arg}': '{{symbol:' without its closing '}}'"));
        };
        let name = &rest[start + "{symbol:".len()..start + len];
        let map = crate::debuginfo::KernelFiles::from_tree(tree)
            .system_map
            .ok_or_else(|| {
                format!("'{arg}': this kernel has no System.map (fetch it with --debug)")
            })?;
        let map = crate::debuginfo::symbols::SystemMap::load(&map)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "'{arg}': this kernel's System.map is a placeholder (fetch it with --debug)"
                )
            })?;
        let symbol = map
            .get(name)
            .ok_or_else(|| format!("'{arg}': '{name}' is not in this kernel's System.map"))?;
        out.push_str(&rest[..start]);
        out.push_str(&format!("{:#x}", symbol.addr));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
