//! `stap`: translate a SystemTap script into a kernel module for any kernel
//! tree (passes 1-4), and run it through staprun on the target (pass 5).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use stapkit::driver::{deliver, Failure, Pipeline, StapOptions};

fn main() -> ExitCode {
    let options = StapOptions::parse();
    let verbose = options.verbose;
    if let Some(ko) = &options.check_module {
        let (text, ok) = stapkit::driver::check_module(&options, ko);
        let _ = if ok {
            std::io::stdout().write_all(text.as_bytes())
        } else {
            std::io::stderr().write_all(text.as_bytes())
        };
        return if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let mut pipeline = match Pipeline::new(options) {
        Ok(p) => p,
        Err(f) => return fail(&f),
    };
    let result = run(&mut pipeline);
    let mut stderr = std::io::stderr();
    let _ = stderr.write_all(pipeline.warnings.as_bytes());
    if verbose > 0 {
        for note in &pipeline.build_notes {
            let _ = writeln!(stderr, "Pass 4: {note}");
        }
        let _ = stderr.write_all(pipeline.timing_report().as_bytes());
    }
    match result {
        Ok(code) => code,
        Err(f) => fail(&f),
    }
}

fn fail(f: &Failure) -> ExitCode {
    let _ = std::io::stderr().write_all(f.message.as_bytes());
    ExitCode::FAILURE
}

fn run(p: &mut Pipeline) -> Result<ExitCode, Failure> {
    let last = p.options.last_pass();
    let mut stdout = std::io::stdout();
    if p.options.dumps() {
        let _ = stdout.write_all(p.dump()?.as_bytes());
        return Ok(ExitCode::SUCCESS);
    }
    let ast = p.parse()?;
    if p.options.list.is_some() || p.options.list_vars.is_some() {
        let _ = stdout.write_all(p.list_points(&ast)?.as_bytes());
        return Ok(ExitCode::SUCCESS);
    }
    if last == 1 {
        let _ = stdout.write_all(stapkit::syntax::print(&ast).as_bytes());
        return Ok(ExitCode::SUCCESS);
    }
    let program = p.elaborate(&ast)?;
    if last == 2 {
        let _ = stdout.write_all(stapkit::sema::listing(&program).as_bytes());
        return Ok(ExitCode::SUCCESS);
    }
    let c = p.translate(&program)?;
    if last == 3 {
        let _ = stdout.write_all(c.as_bytes());
        return Ok(ExitCode::SUCCESS);
    }
    let built = p.build(&c)?;
    let module = p.module_name();
    if p.options.keep {
        eprintln!(
            "Keeping temporary directory \"{}\"",
            built.dir.path().display()
        );
    }
    let cwd = std::env::current_dir().map_err(|e| Failure {
        message: format!("stap: {e}\n"),
    })?;
    let ko = deliver(&built, &module, &cwd).map_err(|e| Failure {
        message: format!("stap: cannot write {module}.ko: {e}\n"),
    })?;
    if last == 4 {
        println!("{module}.ko");
        return Ok(ExitCode::SUCCESS);
    }
    pass5(p, &ko)
}

/// Pass 5 runs the module here, through staprun — only when the tree is
/// this machine's running kernel; otherwise the module belongs elsewhere.
fn pass5(p: &Pipeline, ko: &std::path::Path) -> Result<ExitCode, Failure> {
    let running = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let tree = p.require_tree()?;
    if tree.release != running.trim() {
        return Err(Failure {
            message: format!(
                "stap: {} is built for kernel {}, but this machine runs {}; copy it to a host running {} \
                 and run: staprun {}\n",
                ko.display(),
                tree.release,
                running.trim(),
                tree.release,
                ko.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            ),
        });
    }
    let mut cmd = std::process::Command::new("staprun");
    if let Some(out) = &p.options.output {
        cmd.arg("-o").arg(out);
    }
    if let Some(pid) = p.options.target_pid {
        cmd.arg("-x").arg(pid.to_string());
    }
    if let Some(command) = &p.options.command {
        cmd.arg("-c").arg(command);
    }
    let status = cmd.arg(ko).status().map_err(|e| Failure {
        message: format!("stap: cannot run staprun: {e}; install stapkit's staprun on this host\n"),
    })?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
