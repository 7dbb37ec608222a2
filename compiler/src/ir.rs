//! The typed, resolved program: codegen's only input.
//!
//! Semantic analysis lowers the AST into this form: every name is resolved
//! to a global, local or function by index, every expression has a type,
//! probe points are concrete (aliases expanded, wildcards resolved), format
//! strings are parsed, and tapset functions are ordinary [`Function`]s. No
//! spans survive; a [`Location`] keeps what runtime error messages quote.
//!
//! **Architecture Invariant:** the IR knows nothing of C or of kernels;
//! codegen decides frames, temporaries, locking and names.

use std::fmt;

/// A whole script, ready for code generation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Program {
    /// Global variables, indexed by [`GlobalId`].
    pub globals: Vec<Global>,
    /// Functions (script and tapset), indexed by [`FunctionId`].
    pub functions: Vec<Function>,
    /// Probes, in script order.
    pub probes: Vec<Probe>,
    /// Top-level embedded C blocks (`%{ ... %}`, guru mode), in order.
    pub embedded: Vec<String>,
    /// The compiled patterns of `=~` / `!~`, indexed by [`RegexId`]; one
    /// per distinct pattern.
    pub regexes: Vec<RegexDfa>,
    /// The program calls the regex tapset (`matched(n)`, `ngroups()`):
    /// every `=~`/`!~` records what it matched for them.
    pub records_matches: bool,
    /// User-space programs and libraries whose stacks the module walks
    /// and whose addresses it names (`ubacktrace()`, `usymname()`): the
    /// probed programs and those named with `-d`/`--ldd`, when the
    /// program uses the user-stack tapset.
    pub user_modules: Vec<UserModule>,
}

/// A user-space program or library as the user-stack functions know it.
/// Offsets are into the file, so they hold wherever it is mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserModule {
    /// The target's path to it (`/usr/bin/ls`), as the kernel finds it.
    pub path: String,
    /// Its functions, sorted by offset.
    pub symbols: Vec<UserSymbol>,
    /// Its unwind table (see `debuginfo::cfi`), sorted by offset.
    pub unwind: Vec<UnwindRow>,
    /// Its source lines by offset, from its DWARF line table, when the
    /// program names source lines (`usymfileline()`) and its debug
    /// information was found; sorted by offset.
    pub lines: Vec<UserLine>,
    /// The source files [`UserLine::place`] names, by index.
    pub line_files: Vec<String>,
}

/// A row of a [`UserModule`]'s line table: from file offset `offset`
/// until the next row, the source file and line of the code (`None`: no
/// line, as after the end of a sequence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserLine {
    /// File offset of the first instruction the row holds for.
    pub offset: u64,
    /// The file (an index into [`UserModule::line_files`]) and the line.
    pub place: Option<(u32, u32)>,
}

/// A function of a [`UserModule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSymbol {
    /// File offset of its first instruction.
    pub offset: u64,
    /// Its size in bytes (0 when the symbol table does not say).
    pub size: u64,
    /// Its name.
    pub name: String,
}

/// The unwind rules from file offset `start` until the next row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnwindRow {
    /// File offset of the first instruction the rules hold for.
    pub start: u64,
    /// Where the canonical frame address is.
    pub cfa: UnwindCfa,
    /// Where the caller's return address is.
    pub ra: UnwindSaved,
    /// Where the caller's frame pointer is.
    pub fp: UnwindSaved,
}

/// The canonical frame address of an [`UnwindRow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnwindCfa {
    /// The stack pointer plus an offset.
    Sp(i32),
    /// The frame pointer plus an offset.
    Fp(i32),
    /// A rule the table has no form for, or no function here: the walk
    /// stops.
    Unknown,
}

/// Where a register of the caller is, in an [`UnwindRow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnwindSaved {
    /// Saved in memory at the CFA plus an offset.
    AtCfa(i32),
    /// Unchanged: still in its register (arm64's return address in the
    /// link register at a function's entry).
    Same,
    /// Not recoverable: the outermost frame (`_start`).
    Undefined,
    /// A rule the table has no form for: the walk stops.
    Unknown,
}

/// Index of a compiled pattern in [`Program::regexes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegexId(pub u32);

/// A regular expression compiled at translation time (see
/// `sema::regex`): the automata the runtime walks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexDfa {
    /// The pattern as written (bytes, escapes of the literal decoded).
    pub pattern: Vec<u8>,
    /// How many parenthesised subexpressions it has (`ngroups()`).
    pub groups: u32,
    /// Unanchored: does the pattern match anywhere in the subject?
    /// Accepting states are absorbing.
    pub search: RegexAutomaton,
    /// Anchored at the first byte it is run from: where can a match that
    /// starts there end?  For the extent of the leftmost-longest match.
    pub anchored: RegexAutomaton,
    /// The pattern's NFA for the subexpressions of a match (`matched(n)`),
    /// `None` when too large for the runtime's scratch space.
    pub program: Option<RegexProgram>,
}

/// A pattern's Thompson NFA as instructions (`struct stp_regex_prog` in
/// `runtime-c/lib/regex.h`): instruction `i` is `ops[i]` with operands
/// `a[i]`, `b[i]`. Alternatives of a `SPLIT` are tried `a` first, which
/// makes repetition greedy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexProgram {
    /// Opcodes: [`Self::BYTES`] .. [`Self::MATCH`].
    pub ops: Vec<u8>,
    /// First operands.
    pub a: Vec<u16>,
    /// Second operands.
    pub b: Vec<u16>,
    /// The byte sets of `BYTES` instructions, 256 bits each (bit `b % 8`
    /// of byte `b / 8` for byte value `b`).
    pub sets: Vec<[u8; 32]>,
    /// The first instruction.
    pub start: u16,
}

impl RegexProgram {
    /// Consume a byte of set `a`, go to `b`.
    pub const BYTES: u8 = 0;
    /// Go to `a`, else to `b`.
    pub const SPLIT: u8 = 1;
    /// `^`: at the start of the subject, go to `a`.
    pub const BOL: u8 = 2;
    /// `$`: at the end of the subject, go to `a`.
    pub const EOL: u8 = 3;
    /// Record the position in capture slot `a`, go to `b`.
    pub const SAVE: u8 = 4;
    /// The match is complete.
    pub const MATCH: u8 = 5;
    /// Most instructions the runtime's scratch space holds
    /// (`STP_RE_MAX_INSNS`).
    pub const MAX_INSNS: usize = 128;
    /// Most groups, the whole match included (`STP_RE_MAX_GROUPS`).
    pub const MAX_GROUPS: u32 = 10;
}

/// A DFA over byte classes. State 0 is dead (no match possible any more),
/// state 1 is the start state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexAutomaton {
    /// The class of every byte (256 entries).
    pub classes: Vec<u8>,
    /// Number of byte classes (at most 256).
    pub nclasses: u16,
    /// `next[state * nclasses + class]`: the transition table.
    pub next: Vec<u16>,
    /// The state an anchored run starting after the subject's first byte
    /// begins in (`^` cannot match there); 1 for a search automaton.
    pub restart: u16,
    /// Per state: [`Self::ACCEPT`], [`Self::ACCEPT_AT_END`].
    pub flags: Vec<u8>,
}

impl RegexAutomaton {
    /// A match ends at the current position.
    pub const ACCEPT: u8 = 1;
    /// A match ends at the current position if it is the end of the
    /// subject (the pattern's `$` is satisfied there).
    pub const ACCEPT_AT_END: u8 = 2;

    /// Number of states.
    pub fn states(&self) -> usize {
        self.flags.len()
    }
}

/// A scalar value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// 64-bit signed integer.
    Long,
    /// String of at most `MAXSTRINGLEN - 1` bytes.
    String,
    /// Statistics aggregate (`<<<`), read through `@count` and friends.
    Stats,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Long => "long",
            Type::String => "string",
            Type::Stats => "stats",
        })
    }
}

/// Index of a global in [`Program::globals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GlobalId(pub u32);

/// Index of a function in [`Program::functions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionId(pub u32);

/// Index of a local in the enclosing probe's or function's `locals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalId(pub u32);

/// Where something is in the script, as runtime errors quote it:
/// `near operator '/' at FILE:LINE:COLUMN`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The script or tapset file as the user named it (`<input>` for `-e`).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The token, described as SystemTap does: `operator '/'`,
    /// `identifier 'a'`, `keyword 'while'`, `string "x"`, `number '3'`.
    pub token: String,
}

impl Location {
    /// `TOKEN at FILE:LINE:COLUMN`, the text after `near` in an error.
    pub fn near(&self) -> String {
        format!(
            "{} at {}:{}:{}",
            self.token, self.file, self.line, self.column
        )
    }
}

/// A global variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Global {
    /// Its name in the script.
    pub name: String,
    /// Scalar or array, and the types involved.
    pub kind: GlobalKind,
    /// The initial value of a scalar (`global x = 3`).
    pub init: Option<Const>,
    /// The histogram this stats global (or stats array) carries, if any.
    pub histogram: Option<Histogram>,
    /// The bit-shift its `@variance(s, N)` asks for (0..=62; 0 by default).
    pub variance_shift: u32,
    /// Declared `private global`: seen by its own file only, and no
    /// module parameter (SystemTap's modules make none for it).
    pub private: bool,
    /// Read or written by code the optimizer kept; SystemTap's `-p2`
    /// leaves out a global that is neither, without a word.
    pub used: bool,
    /// Where it is declared.
    pub location: Location,
}

/// The shape of a global.
#[derive(Debug, Clone, PartialEq)]
pub enum GlobalKind {
    /// A single value (long, string or stats).
    Scalar(Type),
    /// An associative array.
    Array(ArrayType),
}

/// An associative array's types and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayType {
    /// Key types, one to nine, each long or string.
    pub keys: Vec<Type>,
    /// Value type (long, string or stats).
    pub value: Type,
    /// Declared capacity (`global a[1000]`); `MAXMAPENTRIES` when absent.
    pub capacity: Option<u32>,
    /// Wrap-around: when full, new keys replace the oldest (`global a%`).
    pub wrap: bool,
}

/// A compile-time constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Const {
    /// A number.
    Long(i64),
    /// A string.
    String(String),
}

/// A histogram a stats value is printed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Histogram {
    /// `@hist_log`: power-of-two buckets.
    Log,
    /// `@hist_linear(s, low, high, step)`.
    Linear { low: i64, high: i64, step: i64 },
}

/// A function, from the script or from a tapset.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// Its name in C: the name, with the arity appended when several
    /// functions of the program share the name (`ctime__1`).
    pub symbol: String,
    /// Parameters and locals; the first `params` entries are the parameters.
    pub locals: Vec<Local>,
    /// How many of `locals` are parameters.
    pub params: usize,
    /// Return type; `None` for a function that returns no value.
    pub ret: Option<Type>,
    /// The body.
    pub body: FunctionBody,
    /// Where it is defined.
    pub location: Location,
}

/// A function's body.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionBody {
    /// Script statements.
    Script(Block),
    /// Embedded C (`%{ ... %}`); reads `STAP_ARG_name`, sets `STAP_RETVALUE`.
    Embedded(String),
}

/// A local variable or parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Local {
    /// Its name.
    pub name: String,
    /// Its type (locals are never stats).
    pub ty: Type,
}

/// A probe: one body run for any of its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The concrete points that run this body.
    pub points: Vec<ProbePoint>,
    /// Each point as the script wrote it, wildcards expanded and aliases
    /// not (`syscall.kill` for `kernel.function("__x64_sys_kill")`): what
    /// `pn()` returns.
    pub written: Vec<String>,
    /// Locals of the body.
    pub locals: Vec<Local>,
    /// `probe P if (cond)`: the body runs only when the condition holds.
    pub condition: Option<Expr>,
    /// The body (alias prologues and epilogues already spliced in).
    pub body: Block,
    /// Where the probe is written.
    pub location: Location,
    /// Values a `.return` probe saves when the function is entered
    /// (`@entry(e)`, parameters read at the return), evaluated in order by
    /// an entry handler; [`ExprKind::EntrySlot`] k reads `entry[k]`.
    pub entry: Vec<Expr>,
}

/// One concrete probe point.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbePoint {
    /// The canonical text `pp()` returns, e.g. `timer.s(1)`.
    pub name: String,
    /// What fires it.
    pub kind: ProbeKind,
    /// Written with `?` or `!`: failing to attach it at run time is silent.
    pub optional: bool,
}

/// The events a probe point can name.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeKind {
    /// Once, when the session starts; lower priorities run first.
    Begin { priority: i64 },
    /// Once, when the session ends normally.
    End { priority: i64 },
    /// Once, when the session ends because of errors.
    Error { priority: i64 },
    /// Never fires (`never`).
    Never,
    /// Periodically: `timer.s/ms/us/ns/hz/jiffies(N)[.randomize(M)]`; with
    /// `per_cpu`, on every CPU (`timer.profile`).
    Timer {
        period_ns: u64,
        randomize_ns: u64,
        per_cpu: bool,
    },
    /// A kernel function's entry (kprobe) or return (`.return`, kretprobe),
    /// by name; `module` for `module("m").function(...)` and
    /// `kprobe.module("m").function(...)`, which wait for the module: placed
    /// when it loads (or at start if loaded), removed when it goes.
    Kprobe {
        function: String,
        module: Option<String>,
        ret: bool,
        maxactive: Option<u32>,
    },
    /// An inlined copy of a kernel function (`kernel.function("f").inline`):
    /// a kprobe at `symbol+offset`, where `symbol` is a text symbol no
    /// other has the name of; `containing` is the function the copy is
    /// in, what `probefunc()` returns.
    KprobeInline {
        function: String,
        symbol: String,
        offset: u64,
        containing: String,
    },
    /// A raw kprobe on a kernel address (`kprobe.statement(ADDR).absolute`,
    /// guru mode only).
    KprobeAddress { address: u64 },
    /// A user-space function's entry (uprobe) or return (`.return`,
    /// uretprobe): `process("PATH").function("f")`. `path` is the program
    /// as the target host sees it; `offset` is the probed instruction's
    /// offset in that file (resolved on the build host from its ELF).
    Uprobe {
        path: String,
        function: String,
        offset: u64,
        ret: bool,
    },
    /// A hardware breakpoint (`kernel.data(ADDRESS|"SYMBOL").write/.rw`,
    /// `.length(N)`): `len` bytes at `address`, or at `symbol` looked up
    /// when the session starts; on writes only, or on reads and writes.
    HwBreakpoint {
        address: u64,
        symbol: Option<String>,
        len: u64,
        write_only: bool,
    },
    /// A perf event (`perf.type(N).config(M)`, `.sample(K)`, `.hz(K)`,
    /// `.process("P")`, `.counter("NAME")`): a kernel counter per CPU, or
    /// one bound to the target process, whose overflow every `period`
    /// events (or `period` times a second with `freq`) runs the probe; a
    /// `counter` only counts, for `@perf("NAME")` to read.
    Perf {
        /// `perf_event_attr.type`.
        event_type: u32,
        /// `perf_event_attr.config`.
        config: u64,
        /// The sample period, or the frequency in hertz with `freq`.
        period: u64,
        /// `.hz(K)`: `period` is a frequency.
        freq: bool,
        /// `.process`: the program whose (target) process it counts in.
        process: Option<String>,
        /// `.counter("NAME")`: counts only, read by `@perf("NAME")`.
        counter: Option<String>,
    },
    /// An SDT marker of a user-space program (`process("PATH").mark("m")`):
    /// a uprobe at the marker's `offset` in the file PATH; with a
    /// `semaphore` (its offset in the file), the kernel counts the probe
    /// there while it is registered, which enables the marker.
    UserMarker {
        path: String,
        provider: String,
        name: String,
        offset: u64,
        semaphore: Option<u64>,
    },
    /// A process starting or ending: `.begin` (a new process, a process
    /// already running when the session starts, or a task that exec'd
    /// PATH) or `.end` (a process's last thread exits), for the processes
    /// `which` selects.
    Process { which: ProcessSelector, end: bool },
    /// A kernel tracepoint (`kernel.trace("sched:sched_switch")`): its
    /// name and how many arguments its probe function receives (each in
    /// one register-width slot).
    Tracepoint {
        /// The subsystem (`sched`).
        system: String,
        /// The tracepoint (`sched_switch`).
        name: String,
        /// The number of `TP_PROTO` arguments.
        nargs: usize,
        /// Defined in a module, not the kernel image: found when its
        /// module loads (now or later), never an error when it does not.
        module: bool,
    },
    /// A netfilter hook (`netfilter.hook("NF_INET_LOCAL_OUT").pf("NFPROTO_IPV4")`):
    /// a `struct nf_hook_ops` for protocol family `pf` at hook number
    /// `hook`, ordered among the kernel's own by `priority`.
    Netfilter {
        /// The protocol family (`NFPROTO_IPV4` is 2).
        pf: u8,
        /// The hook number (`NF_INET_LOCAL_OUT` is 3).
        hook: u32,
        /// Lower runs first; 0 is the filter tables' priority.
        priority: i32,
    },
    /// A file under `/proc/systemtap/MODULE/` (`procfs("PATH").read`,
    /// `.write`): the probe runs when it is read (and sets the text the
    /// reader gets) or written (and reads what was written).
    Procfs {
        /// The file's name in the module's directory.
        path: String,
        /// A write probe, not a read probe.
        write: bool,
        /// `.umask(U)`: the file's mode is 0444/0222/0666 less these
        /// bits; without it 0400/0200/0600.
        umask: Option<u32>,
        /// `.maxsize(N)`: a read probe's buffer, in bytes (the runtime's
        /// default is `MAXSTRINGLEN`).
        maxsize: Option<u32>,
    },
}

/// Which processes a `process...begin/.end` probe is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessSelector {
    /// `process.begin`, `process.end`: every process.
    Any,
    /// `process("PATH")`: processes running PATH (as the target host
    /// sees it).
    Path(String),
    /// `process(PID)`: the one process with this id.
    Pid(i64),
}

/// A sequence of statements.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    /// The statements, in order.
    pub stmts: Vec<Stmt>,
}

/// A statement and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    /// What it does.
    pub kind: StmtKind,
    /// Where it is.
    pub location: Location,
}

/// Statement forms.
// A script's IR is built once and walked a few times; boxing `For` to
// shrink the other statements would save nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect.
    Expr(Expr),
    /// A nested block.
    Block(Block),
    /// `if (cond) then else els`.
    If {
        cond: Expr,
        then: Block,
        els: Option<Block>,
    },
    /// `while (cond) body`.
    While { cond: Expr, body: Block },
    /// `for (init; cond; step) body`.
    For {
        init: Option<Expr>,
        cond: Option<Expr>,
        step: Option<Expr>,
        body: Block,
    },
    /// `foreach`.
    Foreach(Box<Foreach>),
    /// `foreach (b in @hist_log(s))`: over a histogram's buckets.
    ForeachBuckets(Box<ForeachBuckets>),
    /// `break`.
    Break,
    /// `continue`.
    Continue,
    /// `next`: leave the probe handler.
    Next,
    /// `return [value]`.
    Return(Option<Expr>),
    /// `delete ...`.
    Delete(Delete),
    /// `try { body } catch (var) { handler }`.
    Try {
        body: Block,
        catch_var: Option<LocalId>,
        handler: Block,
    },
}

/// `foreach ([k1, k2] in array- limit N)` and its variants.
#[derive(Debug, Clone, PartialEq)]
pub struct Foreach {
    /// The array iterated.
    pub array: GlobalId,
    /// Locals receiving the keys, one per key column.
    pub keys: Vec<LocalId>,
    /// `foreach (v = [k] in a)`: local receiving the value.
    pub value: Option<LocalId>,
    /// `foreach ([k1, k2] in a[*, x])`: only the entries whose keys equal
    /// the `Some` expressions (evaluated once, before the loop) are
    /// visited; `None` is a `*`. Empty when the whole array is iterated.
    pub slice: Vec<Option<Expr>>,
    /// Sort order, if any.
    pub sort: Option<Sort>,
    /// `limit N`.
    pub limit: Option<Expr>,
    /// The loop body.
    pub body: Block,
}

/// `foreach (count = b in @hist_*(stats) limit N)`: every bucket of the
/// histogram, empty ones included, in bucket order (SystemTap 5.1 takes
/// and ignores a sort order or a slice there).
#[derive(Debug, Clone, PartialEq)]
pub struct ForeachBuckets {
    /// The statistics whose histogram is walked.
    pub stats: LValue,
    /// Its histogram.
    pub histogram: Histogram,
    /// The local receiving each bucket's number.
    pub bucket: LocalId,
    /// `count =`: the local receiving the bucket's count.
    pub value: Option<LocalId>,
    /// `limit N`.
    pub limit: Option<Expr>,
    /// The loop body.
    pub body: Block,
}

/// A `foreach` sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// What is sorted on.
    pub by: SortKey,
    /// `-` (descending) rather than `+`.
    pub descending: bool,
}

/// What a `foreach` sorts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Key column N (0-based).
    Key(usize),
    /// The value (for stats values: `@count` unless an aggregate is named).
    Value,
    /// A stats value's aggregate (`foreach (x in s @sum-)`).
    Aggregate(Aggregate),
}

/// What `delete` removes.
#[derive(Debug, Clone, PartialEq)]
pub enum Delete {
    /// A whole global: an array is emptied, a scalar reset.
    Global(GlobalId),
    /// A local reset to 0 / "".
    Local(LocalId),
    /// Elements of an array; `None` keys are wildcards (`delete a[*, k]`).
    Elements {
        array: GlobalId,
        keys: Vec<Option<Expr>>,
    },
}

/// A typed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it computes.
    pub kind: ExprKind,
    /// Its type; `None` for calls of functions that return nothing.
    pub ty: Option<Type>,
    /// The token runtime errors point at (the operator for a binary expression).
    pub location: Location,
}

/// Expression forms.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A number.
    Long(i64),
    /// A string literal.
    Str(String),
    /// A local variable.
    Local(LocalId),
    /// Value k saved when the function was entered ([`Probe::entry`]).
    EntrySlot(u32),
    /// A scalar global.
    Global(GlobalId),
    /// `array[keys]`.
    Index { array: GlobalId, keys: Vec<Expr> },
    /// `[keys] in array`.
    In {
        array: GlobalId,
        /// One per key column; a `*` column holds a placeholder `0`.
        keys: Vec<Expr>,
        /// Bit `i` set: key column `i` is `*` (`[k, *] in a`).
        wildcards: u32,
    },
    /// A unary operator on a long.
    Unary { op: UnaryOp, operand: Box<Expr> },
    /// An arithmetic or bitwise operator on longs.
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// A comparison of two longs or two strings (the operands' type says which).
    Compare {
        op: CompareOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `&&` / `||`, short-circuit, on longs.
    Logical {
        op: LogicalOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// String concatenation `a . b`.
    Concat(Box<Expr>, Box<Expr>),
    /// `cond ? then : els`.
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    /// `target = value` and compound forms; the value of the expression is
    /// the target's new value.
    Assign {
        target: LValue,
        op: AssignOp,
        value: Box<Expr>,
    },
    /// `++x`, `x--`, ...
    IncDec {
        target: LValue,
        increment: bool,
        prefix: bool,
    },
    /// `target <<< value`.
    StatAdd { target: LValue, value: Box<Expr> },
    /// `@count(s)` and friends.
    Aggregate {
        op: Aggregate,
        stats: LValue,
        /// Bit `i` set: key column `i` of an `LValue::Index` is `*`
        /// (`@count(a[*, k])`: every matching entry's statistics merged).
        wildcards: u32,
    },
    /// `@hist_log(s)` / `@hist_linear(s, ...)`, only as a print argument.
    Histogram { stats: LValue, histogram: Histogram },
    /// `@hist_log(s)[i]`: the count in bucket `i` of the histogram.
    HistBucket {
        stats: LValue,
        histogram: Histogram,
        bucket: Box<Expr>,
    },
    /// `subject =~ "regex"` (or `!~` with `negate`); the pattern is a
    /// literal, compiled into [`Program::regexes`].
    Regex {
        subject: Box<Expr>,
        regex: RegexId,
        negate: bool,
    },
    /// `@perf("NAME")`: the value of the perf counter of the
    /// `.counter("NAME")` point in the current task, 0 where it does not
    /// count.
    PerfCounter(String),
    /// A C expression of the kernel's headers or the script's own
    /// embedded C (`@const("NAME")`, `%{ expr %}`; guru mode), as a long.
    EmbeddedC(String),
    /// A call of a script or tapset function.
    Call {
        function: FunctionId,
        args: Vec<Expr>,
    },
    /// `print`, `println`, `sprint`, `sprintln` of their arguments in turn.
    Print { kind: PrintKind, args: Vec<Expr> },
    /// `printf`, `sprintf` with a parsed format.
    Printf {
        kind: PrintfKind,
        format: Format,
        args: Vec<Expr>,
    },
    /// A value read from the probed kernel: `$param`, `$var->a->b`,
    /// `$return`, `@cast(p, "type")->f`.
    Target(Box<TargetAccess>),
    /// The text the probe's point hands its handler (procfs's `$value`):
    /// a string.
    ProbeText,
}

/// How to compute a target expression: start from a value, walk member
/// and index steps over addresses (reading kernel memory fault-safely),
/// and end with a value, a load or an address.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetAccess {
    /// The starting value.
    pub base: TargetBase,
    /// Steps over addresses, in order.
    pub steps: Vec<TargetStep>,
    /// What the expression yields.
    pub result: TargetResult,
}

/// Where a target expression's starting value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetBase {
    /// A register of the probed context, as saved at the probe.
    Register(Register),
    /// A 64-bit stack slot this many bytes above the stack pointer at
    /// function entry.
    Stack(u64),
    /// Argument N (0-based) of the tracepoint.
    TracepointArg(usize),
    /// A script value (`@cast(p, ...)`).
    Value(Box<Expr>),
    /// The address of a kernel variable (`@var("name")`), found by
    /// symbol name.
    KernelSymbol {
        /// The symbol (the variable's name).
        symbol: String,
        /// Not exported: where `System.map` puts it, relocated at run time.
        mapped: Option<MappedSymbol>,
    },
    /// `size` bytes of the probed process's memory (an SDT marker's
    /// argument: `8@-16(%rbp)`, `-4@[sp, 12]`), read at `base + index *
    /// scale + displacement` and sign- or zero-extended: a value.
    UserMemory {
        /// The base register, if any.
        base: Option<Register>,
        /// The index register and its scale, if any.
        index: Option<(Register, u8)>,
        /// The displacement.
        displacement: i64,
        /// 1, 2, 4 or 8.
        size: u8,
        /// Sign-extended.
        signed: bool,
    },
    /// A user-space program's value (uprobes): `base` plus `offset`, and
    /// every memory read along the chain reads the probed task's memory.
    User { base: Box<TargetBase>, offset: i64 },
    /// A kernel variable in memory at `base` plus `offset` (a DWARF
    /// location at a kernel statement: a frame slot at a register plus
    /// an offset); reads along the chain read the kernel's memory.
    Kernel { base: Box<TargetBase>, offset: i64 },
}

/// A general-purpose register of the probed CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Register {
    /// x86-64, by name.
    X86(X86Register),
    /// AArch64 `xN` (0 to 30); 31 is the stack pointer, [`ARM64_PC`] the
    /// program counter.
    Arm64(u8),
}

/// The AArch64 program counter as a [`Register::Arm64`].
pub const ARM64_PC: u8 = 32;

/// The x86-64 general-purpose registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum X86Register {
    /// `rax`, the return value.
    Ax,
    /// `rbx`.
    Bx,
    /// `rcx`, argument 4.
    Cx,
    /// `rdx`, argument 3.
    Dx,
    /// `rsi`, argument 2.
    Si,
    /// `rdi`, argument 1.
    Di,
    /// `rbp`.
    Bp,
    /// `rsp`, the stack pointer.
    Sp,
    /// `r8`, argument 5.
    R8,
    /// `r9`, argument 6.
    R9,
    /// `r10`, a syscall's argument 4.
    R10,
    /// `r11`.
    R11,
    /// `r12`.
    R12,
    /// `r13`.
    R13,
    /// `r14`.
    R14,
    /// `r15`.
    R15,
    /// `rip` (user-space operands: SDT marker arguments).
    Ip,
}

/// A `System.map` address relocated at run time: `address + (&anchor -
/// anchor_address)`, `anchor` being an exported symbol (the whole kernel
/// image moves by one offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedSymbol {
    /// The variable's link-time address.
    pub address: u64,
    /// The exported symbol whose run-time address gives the offset.
    pub anchor: String,
    /// The anchor's link-time address.
    pub anchor_address: u64,
}

/// One step of a target expression, applied to the current address.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetStep {
    /// Load the pointer stored at the current address (a `->` through a
    /// pointer member).
    Deref,
    /// Add a member's byte offset.
    Offset(u64),
    /// Add `index * stride` (array element).
    Index { index: Box<Expr>, stride: u64 },
}

/// What a target expression yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetResult {
    /// The starting value itself, narrowed to `size` bytes (a parameter
    /// in a register, a tracepoint argument).
    Value { size: u8, signed: bool },
    /// `size` bytes loaded at the address reached.
    Load { size: u8, signed: bool },
    /// A bitfield at the address reached.
    Bitfield {
        size: u8,
        bit_offset: u32,
        width: u32,
        signed: bool,
    },
    /// The address reached (`&$var->f`, arrays, structs).
    Address,
}

/// Something that can be assigned to.
#[derive(Debug, Clone, PartialEq)]
pub enum LValue {
    /// A local.
    Local(LocalId),
    /// A scalar global.
    Global(GlobalId),
    /// An array element; `location` is the array's name, which errors on
    /// the element (e.g. an overflow) point at.
    Index {
        array: GlobalId,
        keys: Vec<Expr>,
        location: Location,
    },
    /// A value of the probed kernel (guru mode): a register, a stack slot
    /// or kernel memory, as a target expression reaches it.
    Target(Box<TargetAccess>),
    /// The text the probe's point hands back (procfs's `$value` in a read
    /// probe): a string of the point's own capacity.
    ProbeText,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `!x`.
    Not,
    /// `~x`.
    BitNot,
}

/// Binary arithmetic and bitwise operators on longs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/` (division by zero is a runtime error).
    Div,
    /// `%` (by zero is a runtime error).
    Mod,
    /// `<<`.
    Shl,
    /// `>>` (arithmetic).
    Shr,
    /// `>>>` (logical).
    UShr,
    /// `&`.
    BitAnd,
    /// `|`.
    BitOr,
    /// `^`.
    BitXor,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// Short-circuit logical operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicalOp {
    /// `&&`.
    And,
    /// `||`.
    Or,
}

/// Assignment operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    /// `=`.
    Set,
    /// `+=`, `-=`, ... on longs.
    Arith(BinaryOp),
    /// `.=` on strings.
    Concat,
}

/// Statistics aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// `@count`.
    Count,
    /// `@sum`.
    Sum,
    /// `@min`.
    Min,
    /// `@max`.
    Max,
    /// `@avg`.
    Avg,
    /// `@variance`.
    Variance,
}

/// The `print` family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintKind {
    /// `print(a, b)`: arguments back to back.
    Print,
    /// `println(a, b)`: then a newline.
    Println,
    /// `sprint(a, b)`: as a string.
    Sprint,
    /// `sprintln(a, b)`: as a string, with a newline.
    Sprintln,
}

/// `printf` or `sprintf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintfKind {
    /// Output.
    Printf,
    /// A string.
    Sprintf,
}

/// A parsed format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// The format text as written (the runtime formats from it).
    pub text: String,
    /// The conversions, in order, each consuming arguments.
    pub conversions: Vec<Conversion>,
}

/// One `%` conversion of a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversion {
    /// The conversion character (`d`, `s`, `x`, ...).
    pub kind: char,
    /// Width comes from an argument (`*`).
    pub star_width: bool,
    /// Precision comes from an argument (`.*`).
    pub star_precision: bool,
}

impl Conversion {
    /// The argument type the conversion itself consumes.
    pub fn arg_type(&self) -> Type {
        match self.kind {
            's' => Type::String,
            _ => Type::Long,
        }
    }
}
