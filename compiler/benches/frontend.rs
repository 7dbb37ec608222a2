//! Front-end timing: generates a realistic script of about 2,000 lines and
//! reports how long lexing, preprocessing, parsing and printing take.
//!
//! Run with `cargo bench -p stapkit --bench frontend`. It prints figures
//! only; nothing here is a pass/fail check.

use std::fmt::Write;
use std::time::{Duration, Instant};

use stapkit::diag::SourceMap;
use stapkit::syntax::{self, PreprocessConfig};

/// One block of a realistic script (about 70 lines), specialised by `i`.
fn block(out: &mut String, i: usize) {
    let _ = write!(
        out,
        r#"
# ---- section {i}: syscall and latency accounting ----
global calls_{i}, bytes_{i}%[10000], lat_{i}, start_{i}
@define key_{i} %( execname(), tid() %)

function fmt_{i}:string (name:string, value:long) {{
  if (value > 1024 * 1024) return sprintf("%s=%dM", name, value >> 20)
  else if (value > 1024) return sprintf("%s=%dK", name, value >> 10)
  return sprintf("%s=%d", name, value)
}}

probe syscall.{{read, write, pread64}}.return ? {{
  calls_{i}[name, execname()]++
  if (retval > 0) bytes_{i}[pid(), execname()] += retval
}}

probe kernel.function("vfs_read").call, kernel.function("vfs_write").call {{
  start_{i}[@key_{i}] = gettimeofday_us()
}}

probe kernel.function("vfs_read").return, kernel.function("vfs_write").return {{
  t = start_{i}[@key_{i}]
  if (!t) next
  delete start_{i}[@key_{i}]
  lat_{i}[ppfunc()] <<< gettimeofday_us() - t
%( kernel_v >= "5.10" %?
  if ($return < 0 && @defined($file->f_path)) printf("error %d on %s\n", $return, d_name($file->f_path->dentry))
%:
  if ($return < 0) printf("error %d\n", $return)
%)
}}

probe timer.s({period}) {{
  printf("%-20s %-16s %10s\n", "SYSCALL", "COMMAND", "CALLS")
  foreach ([sc, cmd] in calls_{i}- limit 10)
    printf("%-20s %-16s %10d\n", sc, cmd, calls_{i}[sc, cmd])
  foreach (v = [p, cmd] in bytes_{i}- limit 5) {{
    line = fmt_{i}(cmd . "[" . sprint(p) . "]", v)
    println(line)
  }}
  foreach (f in lat_{i} @avg-) {{
    printf("%s: count %d avg %d max %d\n", f, @count(lat_{i}[f]), @avg(lat_{i}[f]), @max(lat_{i}[f]))
    print(@hist_log(lat_{i}[f]))
  }}
  for (j = 0; j < 3; j++) {{
    try {{
      total += j * (j + 1) / 2 % 7
    }} catch (msg) {{
      printf("error: %s\n", msg)
    }}
  }}
  delete calls_{i}
  delete bytes_{i}
}}
"#,
        period = i % 9 + 1
    );
}

fn generate(lines_wanted: usize) -> String {
    let mut out = String::from("#! /usr/bin/env stap\n# Generated benchmark script.\n");
    let mut i = 0;
    while out.lines().count() < lines_wanted {
        block(&mut out, i);
        i += 1;
    }
    out
}

struct Stats {
    min: Duration,
    median: Duration,
    mean: Duration,
}

fn measure(iterations: usize, mut f: impl FnMut()) -> Stats {
    f(); // warm up
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    let total: Duration = times.iter().sum();
    Stats {
        min: times[0],
        median: times[times.len() / 2],
        mean: total / iterations as u32,
    }
}

fn report(what: &str, lines: usize, s: &Stats) {
    let per_sec = lines as f64 / s.median.as_secs_f64();
    println!(
        "{what:<28} min {:>8.3} ms   median {:>8.3} ms   mean {:>8.3} ms   ({:.0} lines/s)",
        s.min.as_secs_f64() * 1e3,
        s.median.as_secs_f64() * 1e3,
        s.mean.as_secs_f64() * 1e3,
        per_sec
    );
}

fn main() {
    let text = generate(2000);
    let lines = text.lines().count();
    let mut map = SourceMap::new();
    let file = map.add("bench.stp", text.clone());
    let cfg = PreprocessConfig::default();

    let parsed = syntax::parse(&map, file, &cfg);
    assert!(!parsed.has_errors(), "the generated script must parse");
    let tokens = syntax::lex(&map, file).tokens.len();
    let expanded = syntax::preprocess(&map, file, &cfg).tokens.len();
    println!(
        "script: {lines} lines, {} bytes, {tokens} tokens ({expanded} after preprocessing), {} items",
        text.len(),
        parsed.script.items.len()
    );

    let iterations = 50;
    report(
        "lex",
        lines,
        &measure(iterations, || drop(syntax::lex(&map, file))),
    );
    report(
        "lex + preprocess",
        lines,
        &measure(iterations, || drop(syntax::preprocess(&map, file, &cfg))),
    );
    report(
        "lex + preprocess + parse",
        lines,
        &measure(iterations, || drop(syntax::parse(&map, file, &cfg))),
    );
    report(
        "print (-p1)",
        lines,
        &measure(iterations, || drop(syntax::print(&parsed.script))),
    );
}
