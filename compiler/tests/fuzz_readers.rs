//! Property ("fuzz") test for the readers of untrusted binary and text
//! input: BTF, ELF modules (`.modinfo`, `__versions`, tracepoints, build
//! ids), SDT notes and debug links of programs, DWARF, kernel images
//! (bzImage, zboot, gzip/xz/zstd), Debian packages' tar streams, RPM
//! packages and their cpio payloads, kernel manifests, `System.map`,
//! `Module.symvers` and the cached DWARF index.
//!
//! Each reader gets seeds that reach deep into it (well-formed inputs it
//! accepts) mutated at the byte level: bit flips, interesting bytes and
//! 32-bit words (0, 1, -1, sizes, offsets), insertions, deletions,
//! duplicated chunks and truncation. For every input the reader must
//! return (a value or a typed error) without panicking, in bounded time,
//! allocating no more than a bound linear in the input (a counting
//! allocator measures each call; an allocation beyond a hard cap is
//! refused, which aborts the run with the size in the message), and the
//! package unpackers must write nothing outside their directory.
//!
//! This proptest run is the one inside every `cargo test`; the
//! coverage-guided campaign is `fuzz/` (libFuzzer, `cargo xtask fuzz`),
//! whose corpus `libfuzzer_corpus_replays` runs here under the same
//! bounds. proptest shrinks a failure to a small input and saves it under
//! `proptest-regressions/`. Every bug either found is also a named case in
//! [`regressions`].
//!
//! The default run is short (a few seconds). For a long campaign set
//! `STAPKIT_FUZZ_CASES` (cases per reader), e.g.
//! `STAPKIT_FUZZ_CASES=200000 cargo test --release -p stapkit --test
//! fuzz_readers -- --nocapture`; each test prints how many inputs it ran.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write as _;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

mod elf_fixture;
mod readers;

// ---- the counting allocator ----------------------------------------------

/// Counts the bytes the current thread holds, so that each reader call's
/// peak can be checked; refuses one allocation beyond [`HARD_CAP`] while a
/// call is measured.
struct Counting;

/// No reader may hold this much for a fuzz input (a few hundred KiB).
const HARD_CAP: usize = 1 << 30;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

fn account(delta: isize) -> bool {
    HELD.try_with(|held| {
        let now = held.get() + delta;
        if delta > 0 && ARMED.with(Cell::get) && now > HARD_CAP as isize {
            return false;
        }
        held.set(now);
        PEAK.with(|p| p.set(p.get().max(now)));
        true
    })
    .unwrap_or(true)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !account(layout.size() as isize) {
            return std::ptr::null_mut();
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !account(layout.size() as isize) {
            return std::ptr::null_mut();
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !account(new_size as isize - layout.size() as isize) {
            return std::ptr::null_mut();
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning the most it held at once beyond what was held
/// before, and how long it took.
fn measured(f: impl FnOnce()) -> (usize, Duration) {
    let base = HELD.with(Cell::get);
    PEAK.with(|p| p.set(base));
    ARMED.with(|a| a.set(true));
    let start = Instant::now();
    f();
    let took = start.elapsed();
    ARMED.with(|a| a.set(false));
    ((PEAK.with(Cell::get) - base).max(0) as usize, took)
}

// ---- mutations -----------------------------------------------------------

/// One byte-level change; positions are fractions of the input's length
/// so that they stay meaningful as earlier changes resize it.
#[derive(Debug, Clone)]
enum Op {
    Flip(u16, u8),
    SetByte(u16, u8),
    SetWord(u16, u32),
    Insert(u16, Vec<u8>),
    Delete(u16, u16),
    Duplicate(u16, u16, u16),
    Truncate(u16),
}

const WORDS: &[u32] = &[
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    12,
    16,
    24,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xfff,
    0x1000,
    0xffff,
    0x10000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

fn op() -> impl Strategy<Value = Op> {
    let word = prop_oneof![
        proptest::sample::select(WORDS),
        any::<u32>(),
        (0u32..64).prop_map(|n| n * 4),
    ];
    prop_oneof![
        3 => (any::<u16>(), 0u8..8).prop_map(|(at, bit)| Op::Flip(at, bit)),
        2 => (any::<u16>(), prop_oneof![Just(0u8), Just(0xff), Just(0x7f), Just(0x80), any::<u8>()])
            .prop_map(|(at, b)| Op::SetByte(at, b)),
        3 => (any::<u16>(), word).prop_map(|(at, w)| Op::SetWord(at, w)),
        1 => (any::<u16>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, b)| Op::Insert(at, b)),
        1 => (any::<u16>(), 1u16..64).prop_map(|(at, n)| Op::Delete(at, n)),
        1 => (any::<u16>(), any::<u16>(), 1u16..128).prop_map(|(a, b, n)| Op::Duplicate(a, b, n)),
        1 => any::<u16>().prop_map(Op::Truncate),
    ]
}

fn position(at: u16, len: usize) -> usize {
    (at as usize * len) / (u16::MAX as usize + 1)
}

fn mutate(seed: &[u8], ops: &[Op]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for op in ops {
        let len = data.len();
        match op {
            Op::Flip(at, bit) if len > 0 => data[position(*at, len)] ^= 1 << bit,
            Op::SetByte(at, b) if len > 0 => data[position(*at, len)] = *b,
            Op::SetWord(at, w) if len >= 4 => {
                let at = position(*at, len - 3);
                data[at..at + 4].copy_from_slice(&w.to_le_bytes());
            }
            Op::Insert(at, bytes) => {
                let at = position(*at, len + 1);
                data.splice(at..at, bytes.iter().copied());
            }
            Op::Delete(at, n) if len > 0 => {
                let at = position(*at, len);
                let end = (at + *n as usize).min(len);
                data.drain(at..end);
            }
            Op::Duplicate(from, to, n) if len > 0 => {
                let from = position(*from, len);
                let end = (from + *n as usize).min(len);
                let chunk = data[from..end].to_vec();
                let to = position(*to, len + 1);
                data.splice(to..to, chunk);
            }
            Op::Truncate(at) => data.truncate(position(*at, len + 1)),
            _ => {}
        }
    }
    data
}

// ---- the driver ----------------------------------------------------------

/// How many inputs each reader gets (`STAPKIT_FUZZ_CASES`).
fn cases(default: u32) -> u32 {
    std::env::var("STAPKIT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A reader under test: its name, its seeds, the allocation it may make
/// per input byte beyond a fixed allowance, and the call.
pub struct Target {
    pub name: &'static str,
    pub seeds: Vec<Vec<u8>>,
    /// Bytes allocated per input byte (decompressors and unpackers
    /// legitimately produce more than they read).
    pub per_byte: usize,
    pub read: fn(&[u8]),
}

/// A fixed allowance: tables, messages, temporary directories' paths.
const ALLOWANCE: usize = 16 << 20;
/// No single input may take this long (debug build, busy machine): a
/// hang or an exponential walk takes far longer.
const SLOW: Duration = Duration::from_secs(20);

fn check(target: &Target, data: &[u8]) -> Result<(), TestCaseError> {
    let (peak, took) = measured(|| (target.read)(data));
    let bound = ALLOWANCE + target.per_byte * data.len();
    prop_assert!(
        peak <= bound,
        "{}: a {}-byte input made it hold {peak} bytes (bound {bound})",
        target.name,
        data.len()
    );
    prop_assert!(
        took < SLOW,
        "{}: a {}-byte input took {took:?}",
        target.name,
        data.len()
    );
    Ok(())
}

fn fuzz(target: Target, default_cases: u32) {
    for seed in &target.seeds {
        check(&target, seed).unwrap_or_else(|e| panic!("seed of {}: {e}", target.name));
    }
    let count = cases(default_cases);
    let mut runner = TestRunner::new(Config {
        cases: count,
        failure_persistence: None,
        ..Config::default()
    });
    let seeds = target.seeds.len();
    let strategy = (0..seeds, proptest::collection::vec(op(), 1..8));
    let start = Instant::now();
    let result = runner.run(&strategy, |(seed, ops)| {
        let data = mutate(&target.seeds[seed], &ops);
        check(&target, &data)
    });
    let mut out = std::io::stderr().lock();
    let _ = writeln!(
        out,
        "fuzz_readers: {}: {count} mutated inputs in {:.1?}",
        target.name,
        start.elapsed()
    );
    if let Err(e) = result {
        panic!("{}: {e}", target.name);
    }
}

#[test]
fn btf() {
    fuzz(readers::btf(), 600);
}

#[test]
fn elf_modules() {
    fuzz(readers::elf_module(), 400);
}

#[test]
fn programs_sdt_notes_and_dwarf() {
    fuzz(readers::program(), 60);
}

#[test]
fn kernel_images() {
    fuzz(readers::kernel_image(), 300);
}

#[test]
fn deb_tar_streams() {
    fuzz(readers::deb_tar(), 150);
}

#[test]
fn rpm_packages() {
    fuzz(readers::rpm(), 150);
}

#[test]
fn cached_dwarf_index() {
    fuzz(readers::dwarf_index(), 200);
}

#[test]
fn text_files() {
    fuzz(readers::text(), 500);
}

/// The corpus of the coverage-guided campaign (`cargo xtask fuzz`, kept
/// in `fuzz/corpus/TARGET/`), replayed under the same bounds: CI runs the
/// corpus, not the campaign.
#[test]
fn libfuzzer_corpus_replays() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut replayed = 0;
    for (dir, target) in [
        ("btf", readers::btf()),
        ("elf_module", readers::elf_module()),
        ("program", readers::program()),
        ("dwarf_index", readers::dwarf_index()),
        ("kernel_image", readers::kernel_image()),
        ("deb_tar", readers::deb_tar()),
        ("rpm", readers::rpm()),
        ("text", readers::text()),
    ] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| {
                panic!("fuzz/corpus/{dir}: {e} (cargo xtask fuzz --target {dir} makes it)")
            })
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "fuzz/corpus/{dir} is empty");
        for path in files {
            let data = std::fs::read(&path).unwrap();
            check(&target, &data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            replayed += 1;
        }
    }
    eprintln!("fuzz_readers: {replayed} corpus inputs replayed");
}

/// The inputs that made a reader panic, hang or escape before it was
/// fixed (found by this test), each with what it must answer now.
mod regressions {
    use super::*;

    #[test]
    fn all_seeds_read_back() {
        // The seeds are well-formed: the readers accept them (checked in
        // `readers`); here only that none trips the bounds.
        for t in [
            readers::btf(),
            readers::elf_module(),
            readers::kernel_image(),
            readers::text(),
        ] {
            for seed in &t.seeds {
                check(&t, seed).unwrap();
            }
        }
    }

    #[test]
    fn an_rpm_member_below_a_symlink_out_of_the_tree_is_refused() {
        // The seed has `boot/out -> ../../outside`, then `boot/out/x`:
        // written through the link, outside the tree, before.
        let seed = &readers::rpm().seeds[0];
        let e = readers::unpack_rpm(seed).unwrap().unwrap_err();
        assert!(
            e.contains("member 'boot/out/x' lies below 'boot/out', a symbolic link"),
            "{e}"
        );
    }

    #[test]
    fn mutations_stay_inside_the_input() {
        assert_eq!(position(u16::MAX, 10), 9);
        assert_eq!(position(0, 10), 0);
        assert_eq!(
            mutate(b"abcdefgh", &[Op::Truncate(u16::MAX / 2 + 1)]),
            b"abcd"
        );
        assert_eq!(mutate(b"ab", &[Op::SetWord(0, 7)]), b"ab");
    }
}
