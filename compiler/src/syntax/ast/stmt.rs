//! Blocks and statements.

use crate::diag::Span;

use super::{Expr, Ident, IndexItem, Indexable, NodeId, StatOp};

/// `{ statements }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The statements in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
    /// Its identity.
    pub id: NodeId,
}

/// A statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    /// What kind of statement.
    pub kind: StmtKind,
    /// Where it was written (without a trailing `;`).
    pub span: Span,
    /// Its identity.
    pub id: NodeId,
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
