//! The abstract syntax tree: a plain owned tree in which every node carries
//! its [`Span`].
//!
//! One enum per node family ([`Item`], [`StmtKind`], [`ExprKind`],
//! [`Component`]) keeps matches exhaustive for the stages that walk it;
//! [`super::visit`] walks it for you. The tree records what was written
//! (after preprocessing), not what it means: probe-point brace groups stay
//! groups ([`ProbePoint::expand`] multiplies them out), names are unresolved,
//! nothing is typed. Parentheses leave no node; [`super::print()`] puts back
//! the ones precedence needs.
//!
//! The node families live in `probe` (probes, aliases, probe points),
//! `stmt` (blocks and statements) and `expr` (expressions and target
//! expressions); everything is re-exported here, so `ast::Expr` works.

mod expr;
mod probe;
mod stmt;

use std::borrow::Cow;

use crate::diag::{FileId, Span};

pub use expr::*;
pub use probe::*;
pub use stmt::*;

/// Identifies an expression, statement or block: the file the parser
/// was given and the node's number in that parse. Later stages key their
/// facts about a node by it (never by address). A node the parser copies
/// keeps its id: `@choose_defined(a, b)` is `@defined(a) ? a : b` with
/// both `a`s the same node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// The file that was parsed (macros of other files expand into it).
    pub file: FileId,
    /// The node's number in that parse.
    pub index: u32,
}

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

impl Script {
    /// The probes, in source order.
    pub fn probes(&self) -> impl Iterator<Item = &Probe> {
        self.items.iter().filter_map(|i| match i {
            Item::Probe(p) => Some(p),
            _ => None,
        })
    }

    /// The probe alias definitions, in source order.
    pub fn aliases(&self) -> impl Iterator<Item = &ProbeAlias> {
        self.items.iter().filter_map(|i| match i {
            Item::Alias(a) => Some(a),
            _ => None,
        })
    }

    /// The functions, in source order.
    pub fn functions(&self) -> impl Iterator<Item = &Function> {
        self.items.iter().filter_map(|i| match i {
            Item::Function(f) => Some(f),
            _ => None,
        })
    }

    /// Every declared global variable, with its declaration.
    pub fn globals(&self) -> impl Iterator<Item = (&GlobalDecl, &GlobalVar)> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Global(g) => Some(g),
                _ => None,
            })
            .flat_map(|g| g.vars.iter().map(move |v| (g, v)))
    }

    /// The top-level embedded C blocks, in source order.
    pub fn embedded(&self) -> impl Iterator<Item = &EmbeddedCode> {
        self.items.iter().filter_map(|i| match i {
            Item::Embedded(e) => Some(e),
            _ => None,
        })
    }
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
