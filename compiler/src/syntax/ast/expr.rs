//! Expressions, the print family, statistics, histograms and target
//! (kernel/user program) expressions.

use crate::diag::Span;

use super::{Ident, NodeId, NumLit, StrLit};

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
    /// Its identity.
    pub id: NodeId,
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
