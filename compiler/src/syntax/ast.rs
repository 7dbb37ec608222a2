//! The abstract syntax tree: a plain owned tree in which every node carries
//! its [`Span`].
//!
//! One enum per node family ([`Item`], [`StmtKind`], [`ExprKind`],
//! [`Component`]) keeps matches exhaustive for the stages that walk it;
//! [`super::visit`] walks it for you. The tree records what was written
//! (after preprocessing), not what it means: probe-point brace groups stay
//! groups ([`ProbePoint::expand`] multiplies them out), names are unresolved,
//! nothing is typed. Parentheses leave no node; [`super::print`] puts back
//! the ones precedence needs.

use std::borrow::Cow;

use crate::diag::{FileId, Span};

/// A name as written, with its place.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The text, e.g. `count`, `$task`, `$$vars`, or for probe-point
    /// components possibly with wildcards (`sys_*`).
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A string literal; adjacent literals (`"a" "b"`) are already joined.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StrLit {
    /// The bytes, escapes decoded (not necessarily UTF-8: `"\377"`).
    pub value: Vec<u8>,
    /// Where it was written.
    pub span: Span,
}

impl StrLit {
    /// The value as text, invalid UTF-8 replaced by U+FFFD.
    pub fn to_str_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.value)
    }
}

/// A number in a place that only takes literals (array sizes, histogram
/// bounds, probe-point arguments); a leading `-` is part of it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NumLit {
    /// The value; literals above `i64::MAX` wrap, as in SystemTap.
    pub value: i64,
    /// Where it was written, sign included.
    pub span: Span,
}

/// A literal in a place that only takes literals.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Literal {
    /// A number.
    Number(NumLit),
    /// A string.
    String(StrLit),
}

impl Literal {
    /// Where the literal was written.
    pub fn span(&self) -> Span {
        match self {
            Literal::Number(n) => n.span,
            Literal::String(s) => s.span,
        }
    }
}

/// A whole parsed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// The file it was parsed from.
    pub file: FileId,
    /// Top-level items in source order.
    pub items: Vec<Item>,
    /// The whole file.
    pub span: Span,
}

/// A top-level declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `probe POINTS { ... }`
    Probe(Probe),
    /// `probe NAME = POINTS { ... }` or `probe NAME += POINTS { ... }`
    Alias(ProbeAlias),
    /// `global a, b = 1, c[100]`
    Global(GlobalDecl),
    /// `function f(x) { ... }`
    Function(Function),
    /// `%{ top-level C %}`
    Embedded(EmbeddedCode),
}

impl Item {
    /// Where the item was written.
    pub fn span(&self) -> Span {
        match self {
            Item::Probe(p) => p.span,
            Item::Alias(a) => a.span,
            Item::Global(g) => g.span,
            Item::Function(f) => f.span,
            Item::Embedded(e) => e.span,
        }
    }
}

/// `probe A, B?, C! { body }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The probe points, at least one.
    pub points: Vec<ProbePoint>,
    /// The handler.
    pub body: Block,
    /// From `probe` to the closing brace.
    pub span: Span,
}

/// Whether an alias's body runs before or after the user's handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AliasKind {
    /// `probe a = b { prologue }`: the alias body runs first.
    Prologue,
    /// `probe a += b { epilogue }`: the alias body runs after.
    Epilogue,
}

/// `probe NAME = POINTS { prologue }`, `probe NAME += POINTS { epilogue }`,
/// or the combined `probe NAME = POINTS { prologue }, { epilogue }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeAlias {
    /// The names being defined: usually one; `probe a = b = c {}` gives two.
    pub names: Vec<ProbePoint>,
    /// `=` or `+=` (if any `+=` appears, the alias is an epilogue alias).
    pub kind: AliasKind,
    /// What the alias expands to.
    pub points: Vec<ProbePoint>,
    /// The prologue (for `=`) or epilogue (for `+=`).
    pub body: Block,
    /// The epilogue of the combined form `= POINTS { prologue }, { epilogue }`.
    pub epilogue: Option<Block>,
    /// From `probe` to the last closing brace.
    pub span: Span,
}

/// A probe point: `kernel.function("vfs_*").return ? if (enabled)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbePoint {
    /// The dot-separated components, at least one.
    pub components: Vec<Component>,
    /// `?` (or `!`): a point that resolves to nothing is not an error.
    pub optional: bool,
    /// `!`: if this point resolves, later points of the probe are skipped.
    /// Implies `optional`.
    pub sufficient: bool,
    /// `if (expr)`: the probe only fires while the condition holds.
    pub condition: Option<Expr>,
    /// From the first component to the condition's `)` or the `?`/`!`.
    pub span: Span,
}

/// One component of a probe point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Component {
    /// `name`, `name(arg)`, `sys_*`, `*`.
    Named(NamedComponent),
    /// `{a, b.c}`: alternatives, multiplied out by [`ProbePoint::expand`].
    Group(ComponentGroup),
}

impl Component {
    /// Where the component was written.
    pub fn span(&self) -> Span {
        match self {
            Component::Named(n) => n.span,
            Component::Group(g) => g.span,
        }
    }
}

/// `function("vfs_read")`, `return`, `ms(100)`, `sys_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedComponent {
    /// The name, possibly containing `*` wildcards.
    pub name: Ident,
    /// The parenthesized literal argument, if any.
    pub arg: Option<Literal>,
    /// From the name to the closing parenthesis.
    pub span: Span,
}

impl NamedComponent {
    /// Whether the name contains a `*` wildcard.
    pub fn has_wildcard(&self) -> bool {
        self.name.name.contains('*')
    }
}

/// `{a, b.c?}`: a brace group of alternative probe-point tails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentGroup {
    /// The alternatives; each may itself contain components, groups and, if
    /// the group ends its point, `?`/`!`/`if` markers.
    pub alternatives: Vec<ProbePoint>,
    /// From `{` to `}`.
    pub span: Span,
}

/// Returned by [`ProbePoint::expand`] when a point has too many
/// alternatives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyAlternatives {
    /// The limit that was exceeded.
    pub limit: usize,
}

impl ProbePoint {
    /// Multiplies out brace groups: `syscall.{open,close}.return` gives
    /// `syscall.open.return` and `syscall.close.return`. The results contain
    /// only named components and keep this point's span; `?`, `!` and
    /// conditions written inside a group apply to the alternatives that
    /// pass through it, and this point's own markers apply to all. Fails
    /// rather than build more than `limit` points.
    pub fn expand(&self, limit: usize) -> Result<Vec<ProbePoint>, TooManyAlternatives> {
        let mut acc = vec![ProbePoint {
            components: Vec::new(),
            optional: false,
            sufficient: false,
            condition: None,
            span: self.span,
        }];
        for component in &self.components {
            match component {
                Component::Named(named) => {
                    for point in &mut acc {
                        point.components.push(Component::Named(named.clone()));
                    }
                }
                Component::Group(group) => {
                    let mut tails = Vec::new();
                    for alternative in &group.alternatives {
                        tails.extend(alternative.expand(limit)?);
                    }
                    if acc.len().saturating_mul(tails.len()) > limit {
                        return Err(TooManyAlternatives { limit });
                    }
                    let mut next = Vec::with_capacity(acc.len() * tails.len());
                    for head in &acc {
                        for tail in &tails {
                            let mut components = head.components.clone();
                            components.extend(tail.components.iter().cloned());
                            next.push(ProbePoint {
                                components,
                                optional: head.optional || tail.optional,
                                sufficient: head.sufficient || tail.sufficient,
                                condition: tail
                                    .condition
                                    .clone()
                                    .or_else(|| head.condition.clone()),
                                span: self.span,
                            });
                        }
                    }
                    acc = next;
                }
            }
        }
        for point in &mut acc {
            point.optional |= self.optional;
            point.sufficient |= self.sufficient;
            if self.condition.is_some() {
                point.condition = self.condition.clone();
            }
        }
        Ok(acc)
    }
}

/// `global a, b = 1, c[100], d%` (or `private global ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalDecl {
    /// `private`: visible only in this file.
    pub private: bool,
    /// The variables, at least one.
    pub vars: Vec<GlobalVar>,
    /// From `global` (or `private`) to the last variable.
    pub span: Span,
}

/// One variable of a `global` declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalVar {
    /// The name.
    pub name: Ident,
    /// `%`: when the array is full, new entries replace the oldest.
    pub wrap: bool,
    /// `[N]`: the array's maximum number of entries.
    pub size: Option<NumLit>,
    /// `= literal`: the initial value of a scalar.
    pub init: Option<Literal>,
    /// From the name to the last part.
    pub span: Span,
}

/// The two value types of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScriptType {
    /// `long`: a 64-bit signed integer.
    Long,
    /// `string`.
    String,
}

impl ScriptType {
    /// The keyword naming the type.
    pub fn as_str(self) -> &'static str {
        match self {
            ScriptType::Long => "long",
            ScriptType::String => "string",
        }
    }
}

/// A `:long` or `:string` annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TypeAnnot {
    /// The type named.
    pub ty: ScriptType,
    /// The type keyword.
    pub span: Span,
}

/// `function name:type (params) : priority { body }` or `... %{ C %}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// `private function`: visible only in this file.
    pub private: bool,
    /// The function name.
    pub name: Ident,
    /// The declared return type, if any.
    pub ret: Option<TypeAnnot>,
    /// The parameters.
    pub params: Vec<Param>,
    /// `: N` after the parameters: the tapset override priority (>= 1).
    pub priority: Option<NumLit>,
    /// A statement block, or embedded C.
    pub body: FunctionBody,
    /// From `function` (or `private`) to the end of the body.
    pub span: Span,
}

/// One function parameter: `x` or `x:string`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The name.
    pub name: Ident,
    /// The declared type, if any.
    pub ty: Option<TypeAnnot>,
    /// From the name to the type.
    pub span: Span,
}

/// The body of a function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FunctionBody {
    /// `{ statements }`
    Block(Block),
    /// `%{ C %}` (allowed only in guru mode or tapsets; sema checks).
    Embedded(EmbeddedCode),
}

/// `%{ C code %}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EmbeddedCode {
    /// The text between `%{` and `%}`, verbatim.
    pub code: String,
    /// From `%{` to `%}`.
    pub span: Span,
}

/// `{ statements }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The statements in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    /// What kind of statement.
    pub kind: StmtKind,
    /// Where it was written (without a trailing `;`).
    pub span: Span,
}

/// The kinds of statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StmtKind {
    /// `{ ... }`
    Block(Block),
    /// A lone `;`. (A `;` right after a statement just ends it.)
    Empty,
    /// An expression evaluated for its effect.
    Expr(Expr),
    /// `if (cond) then else otherwise`
    If {
        /// The condition.
        cond: Expr,
        /// Runs when the condition is non-zero.
        then: Box<Stmt>,
        /// Runs otherwise.
        otherwise: Option<Box<Stmt>>,
    },
    /// `while (cond) body`
    While {
        /// The loop condition.
        cond: Expr,
        /// The loop body.
        body: Box<Stmt>,
    },
    /// `for (init; cond; step) body`; each part may be empty.
    For {
        /// Evaluated once first.
        init: Option<Box<Expr>>,
        /// Tested before each iteration; absent means forever.
        cond: Option<Box<Expr>>,
        /// Evaluated after each iteration.
        step: Option<Box<Expr>>,
        /// The loop body.
        body: Box<Stmt>,
    },
    /// `foreach (...) body`
    Foreach(Box<Foreach>),
    /// `break`
    Break,
    /// `continue`
    Continue,
    /// `next`: leave the probe handler (or function) early.
    Next,
    /// `return` or `return expr` (only inside functions).
    Return(Option<Expr>),
    /// `delete a`, `delete a[k]`, `delete a[*, k]`.
    Delete(Expr),
    /// `try { body } catch (var) { handler }`
    Try {
        /// The protected block.
        body: Block,
        /// `(var)`: receives the error message.
        catch_var: Option<Ident>,
        /// The handler.
        catch: Block,
    },
}

/// `foreach (value = [k1, k2-] in arr[*, 1] @sum+ limit 10) body`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Foreach {
    /// `value =`: receives each element's value.
    pub value: Option<Ident>,
    /// The key variables, at least one.
    pub keys: Vec<Ident>,
    /// The array (or histogram) iterated over.
    pub base: Indexable,
    /// `[*, 1]` after the array: iterate only over matching keys.
    pub slice: Option<Vec<IndexItem>>,
    /// The sort order, if any (at most one column).
    pub sort: Option<Sort>,
    /// `limit N`: stop after N iterations.
    pub limit: Option<Expr>,
    /// The loop body.
    pub body: Stmt,
}

/// A foreach sort order: `k+`, `arr-`, `arr @sum+`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sort {
    /// Which column is sorted.
    pub column: SortColumn,
    /// Ascending (`+`) or descending (`-`).
    pub direction: SortDirection,
    /// For statistics arrays sorted by value: which aggregate (`@sum`...).
    pub aggregate: Option<StatOp>,
    /// The sign (and aggregate).
    pub span: Span,
}

/// What a foreach sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortColumn {
    /// The element values (`arr+`, `v+ = ...`).
    Value,
    /// The key at this 0-based position (`[a, b-]` sorts by key 1).
    Key(usize),
}

/// `+` or `-`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortDirection {
    /// `+`
    Ascending,
    /// `-`
    Descending,
}

/// Something that can be indexed or iterated: an array name or a histogram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Indexable {
    /// An array (or statistics) variable.
    Var(Ident),
    /// `@hist_linear(...)` or `@hist_log(...)`: indexed by bucket.
    Hist(HistOp),
}

impl Indexable {
    /// Where it was written.
    pub fn span(&self) -> Span {
        match self {
            Indexable::Var(i) => i.span,
            Indexable::Hist(h) => h.span,
        }
    }
}

/// One index of `a[i, *]`, `[i, *] in a`, or a foreach slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexItem {
    /// An index expression.
    Expr(Expr),
    /// `*`: any key (for `delete`, `in`, slices and aggregates).
    Wildcard(Span),
}

impl IndexItem {
    /// Where it was written.
    pub fn span(&self) -> Span {
        match self {
            IndexItem::Expr(e) => e.span,
            IndexItem::Wildcard(s) => *s,
        }
    }
}

/// The statistics aggregates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatOp {
    /// `@count`
    Count,
    /// `@sum`
    Sum,
    /// `@min`
    Min,
    /// `@max`
    Max,
    /// `@avg`
    Avg,
    /// `@variance`
    Variance,
}

impl StatOp {
    /// The operator's name without `@`.
    pub fn name(self) -> &'static str {
        match self {
            StatOp::Count => "count",
            StatOp::Sum => "sum",
            StatOp::Min => "min",
            StatOp::Max => "max",
            StatOp::Avg => "avg",
            StatOp::Variance => "variance",
        }
    }

    /// The aggregate named `name` (without `@`).
    pub fn lookup(name: &str) -> Option<StatOp> {
        [
            StatOp::Count,
            StatOp::Sum,
            StatOp::Min,
            StatOp::Max,
            StatOp::Avg,
            StatOp::Variance,
        ]
        .into_iter()
        .find(|op| op.name() == name)
    }
}

/// `@hist_linear(stat, low, high, step)` or `@hist_log(stat)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistOp {
    /// Which histogram.
    pub kind: HistKind,
    /// The statistics value (`s` or `a[k]`).
    pub stat: Box<Expr>,
    /// From the `@` to `)`.
    pub span: Span,
}

/// The two histogram shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HistKind {
    /// Equal-width buckets.
    Linear {
        /// The lowest bucket's start.
        low: i64,
        /// The highest bucket's end.
        high: i64,
        /// The bucket width.
        step: i64,
    },
    /// Power-of-two buckets.
    Log,
}

/// An expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// Where it was written (without enclosing parentheses).
    pub span: Span,
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExprKind {
    /// An integer literal; values above `i64::MAX` wrap, as in SystemTap
    /// (a `-` before a literal is a [`UnaryOp::Neg`]).
    Number(i64),
    /// A string literal (adjacent literals joined), escapes decoded.
    String(Vec<u8>),
    /// A variable.
    Var(Ident),
    /// `a[i, j]`, `h[i]` for a histogram bucket.
    Index {
        /// The array.
        base: Indexable,
        /// The indices, at least one.
        indices: Vec<IndexItem>,
    },
    /// `f(a, b)`.
    Call {
        /// The function name.
        name: Ident,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// `printf(...)` and the rest of the print family.
    Print(Box<PrintCall>),
    /// `-x`, `+x`, `!x`, `~x`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        operand: Box<Expr>,
    },
    /// `++x`, `x--`.
    Crement {
        /// Increment or decrement.
        op: CrementOp,
        /// Before or after the operand.
        fix: Fix,
        /// The operand (sema checks it is assignable).
        operand: Box<Expr>,
    },
    /// `a + b`, `a . b`, `a && b`, `a < b`...
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// `s =~ "regex"` or `s !~ "regex"`.
    Regex {
        /// `!~`.
        negated: bool,
        /// The string matched.
        lhs: Box<Expr>,
        /// The pattern (always a literal).
        pattern: StrLit,
    },
    /// `c ? a : b`.
    Ternary {
        /// The condition.
        cond: Box<Expr>,
        /// The value when true.
        then: Box<Expr>,
        /// The value when false.
        otherwise: Box<Expr>,
    },
    /// `a = b`, `a += b`, `s <<< v`...
    Assign {
        /// The operator.
        op: AssignOp,
        /// The target (sema checks it is assignable).
        lhs: Box<Expr>,
        /// The value.
        rhs: Box<Expr>,
    },
    /// `k in a`, `[i, j] in a`, `[*, j] in a`.
    In {
        /// The key tuple.
        keys: Vec<IndexItem>,
        /// The array.
        base: Indexable,
    },
    /// `@count(s)`, `@avg(a[k])`, `@variance(s, 2)`.
    Stat {
        /// The aggregate.
        op: StatOp,
        /// The statistics value.
        operand: Box<Expr>,
        /// `@variance`'s optional bit-shift parameter.
        param: Option<NumLit>,
    },
    /// `$var`, `$var->f[2]$`, `&$var`, `@cast(...)`, `@var(...)`, or any
    /// value followed by `->`/`[`/`$` (an autocast).
    Target(Box<TargetExpr>),
    /// `@entry(expr)`: the value at function entry, in a `.return` probe.
    Entry(Box<Expr>),
    /// `@defined(expr)`: whether a target expression resolves.
    Defined(Box<Expr>),
    /// `@probewrite(var)`: whether a probe writes the variable.
    Probewrite(Ident),
    /// `@const("C expr")` (guru mode).
    Const(StrLit),
    /// `@perf("name")`: a perf counter value.
    Perf(StrLit),
    /// `@kregister(N)` / `@uregister(N)`.
    Register {
        /// `@uregister`.
        user: bool,
        /// The DWARF register number.
        number: NumLit,
    },
    /// `@kderef(size, addr)` / `@uderef(size, addr)`.
    Deref {
        /// `@uderef`.
        user: bool,
        /// The size in bytes.
        size: NumLit,
        /// The address.
        addr: Box<Expr>,
    },
    /// `%{ C expression %}` (guru mode).
    Embedded(String),
}

/// The print family: `print`, `printf`, `printd`, `println`, `printdln` and
/// their `s`-prefixed string-returning forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrintKind {
    /// `print(args...)`
    Print,
    /// `println(args...)`
    Println,
    /// `printf("format", args...)`
    Printf,
    /// `printd("delim", args...)`
    Printd,
    /// `printdln("delim", args...)`
    Printdln,
    /// `sprint(args...)`
    Sprint,
    /// `sprintln(args...)`
    Sprintln,
    /// `sprintf("format", args...)`
    Sprintf,
    /// `sprintd("delim", args...)`
    Sprintd,
    /// `sprintdln("delim", args...)`
    Sprintdln,
}

impl PrintKind {
    /// All print functions.
    pub const ALL: [PrintKind; 10] = [
        PrintKind::Print,
        PrintKind::Println,
        PrintKind::Printf,
        PrintKind::Printd,
        PrintKind::Printdln,
        PrintKind::Sprint,
        PrintKind::Sprintln,
        PrintKind::Sprintf,
        PrintKind::Sprintd,
        PrintKind::Sprintdln,
    ];

    /// The function's name.
    pub fn name(self) -> &'static str {
        match self {
            PrintKind::Print => "print",
            PrintKind::Println => "println",
            PrintKind::Printf => "printf",
            PrintKind::Printd => "printd",
            PrintKind::Printdln => "printdln",
            PrintKind::Sprint => "sprint",
            PrintKind::Sprintln => "sprintln",
            PrintKind::Sprintf => "sprintf",
            PrintKind::Sprintd => "sprintd",
            PrintKind::Sprintdln => "sprintdln",
        }
    }

    /// The print function called `name`.
    pub fn lookup(name: &str) -> Option<PrintKind> {
        PrintKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the first argument is a format string.
    pub fn has_format(self) -> bool {
        matches!(self, PrintKind::Printf | PrintKind::Sprintf)
    }

    /// Whether the first argument is a delimiter string.
    pub fn has_delimiter(self) -> bool {
        matches!(
            self,
            PrintKind::Printd | PrintKind::Printdln | PrintKind::Sprintd | PrintKind::Sprintdln
        )
    }

    /// Whether a newline is printed after the arguments.
    pub fn has_newline(self) -> bool {
        matches!(
            self,
            PrintKind::Println | PrintKind::Printdln | PrintKind::Sprintln | PrintKind::Sprintdln
        )
    }

    /// Whether the result is returned as a string instead of printed.
    pub fn returns_string(self) -> bool {
        self.name().starts_with('s')
    }
}

/// A call of the print family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintCall {
    /// Which function.
    pub kind: PrintKind,
    /// The format (`printf`) or delimiter (`printd`) literal.
    pub format: Option<StrLit>,
    /// The values printed.
    pub args: Vec<Expr>,
    /// `print(@hist_log(s))`: a whole histogram to draw (then `args` is
    /// empty).
    pub hist: Option<HistOp>,
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `+`
    Plus,
    /// `!`
    Not,
    /// `~`
    BitNot,
}

impl UnaryOp {
    /// How the operator is written.
    pub fn as_str(self) -> &'static str {
        match self {
            UnaryOp::Neg => "-",
            UnaryOp::Plus => "+",
            UnaryOp::Not => "!",
            UnaryOp::BitNot => "~",
        }
    }
}

/// `++` or `--`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CrementOp {
    /// `++`
    Increment,
    /// `--`
    Decrement,
}

impl CrementOp {
    /// How the operator is written.
    pub fn as_str(self) -> &'static str {
        match self {
            CrementOp::Increment => "++",
            CrementOp::Decrement => "--",
        }
    }
}

/// Whether `++`/`--` comes before or after its operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fix {
    /// `++x`: the new value.
    Prefix,
    /// `x++`: the old value.
    Postfix,
}

/// Binary operators, from loosest to tightest binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `|`
    BitOr,
    /// `^`
    BitXor,
    /// `&`
    BitAnd,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `>>>` (logical shift)
    UShr,
    /// `.` (string concatenation)
    Concat,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
}

impl BinaryOp {
    /// How the operator is written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::BitOr => "|",
            BinaryOp::BitXor => "^",
            BinaryOp::BitAnd => "&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Shl => "<<",
            BinaryOp::Shr => ">>",
            BinaryOp::UShr => ">>>",
            BinaryOp::Concat => ".",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
        }
    }

    /// Whether the operator compares its operands.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }
}

/// Assignment operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssignOp {
    /// `=`
    Assign,
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
    /// `%=`
    Mod,
    /// `<<=`
    Shl,
    /// `>>=`
    Shr,
    /// `&=`
    BitAnd,
    /// `|=`
    BitOr,
    /// `^=`
    BitXor,
    /// `.=`
    Concat,
    /// `<<<`: add a value to a statistics aggregate.
    Accumulate,
}

impl AssignOp {
    /// How the operator is written.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignOp::Assign => "=",
            AssignOp::Add => "+=",
            AssignOp::Sub => "-=",
            AssignOp::Mul => "*=",
            AssignOp::Div => "/=",
            AssignOp::Mod => "%=",
            AssignOp::Shl => "<<=",
            AssignOp::Shr => ">>=",
            AssignOp::BitAnd => "&=",
            AssignOp::BitOr => "|=",
            AssignOp::BitXor => "^=",
            AssignOp::Concat => ".=",
            AssignOp::Accumulate => "<<<",
        }
    }
}

/// A target (kernel or user program) expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetExpr {
    /// What is accessed.
    pub base: TargetBase,
    /// `->member`, `[index]` and pretty-print suffixes, in order.
    pub components: Vec<TargetComponent>,
    /// `&`: the address rather than the value.
    pub address_of: bool,
}

/// The start of a target expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetBase {
    /// `$name`, or a context pseudo-variable `$$vars`, `$$parms`,
    /// `$$locals`, `$$return` (the name includes the `$`s; a trailing
    /// pretty-print `$`/`$$` is a [`TargetComponentKind::Pretty`] instead).
    Var(Ident),
    /// `@cast(operand, "type"[, "module"])`.
    Cast {
        /// The address to interpret.
        operand: Expr,
        /// The C type, e.g. `struct task_struct`.
        type_name: StrLit,
        /// Where to find the type (module or header list).
        module: Option<StrLit>,
    },
    /// `@var("name@file"[, "module"])`.
    AtVar {
        /// The variable name, optionally with `@compilation-unit`.
        name: StrLit,
        /// The module or executable.
        module: Option<StrLit>,
    },
    /// Any other value followed by `->`, `[` or `$`, or preceded by `&`:
    /// its type is inferred by sema (autocast).
    Autocast(Expr),
}

/// One step of a target expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetComponent {
    /// The kind of step.
    pub kind: TargetComponentKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of target-expression step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetComponentKind {
    /// `->name`
    Member(Ident),
    /// `[expr]`
    Index(Expr),
    /// `$` (or `$$` when `deep`): format the value as a string.
    Pretty {
        /// `$$`: include nested structures.
        deep: bool,
    },
}
