//! Variables and functions as semantic analysis tracks them while types
//! are still being inferred.

use std::collections::HashMap;

use crate::diag::{FileId, Span};
use crate::ir::{Histogram, Type};
use crate::syntax::ast;

/// Whether a global is a scalar or an array (learned from its uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Not yet known.
    Unknown,
    /// A single value.
    Scalar,
    /// An array with this many key columns.
    Array(usize),
}

/// A type as far as it is known, with the place that decided it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Slot {
    /// The type, once known.
    pub ty: Option<Type>,
    /// Where the type was decided (for mismatch messages).
    pub decided_at: Option<Span>,
}

/// A global variable.
#[derive(Debug, Clone)]
pub struct GlobalVar<'a> {
    /// Its name.
    pub name: String,
    /// The declaration.
    pub decl: &'a ast::GlobalVar,
    /// For `private global`, the only file that sees it.
    pub private_to: Option<FileId>,
    /// Scalar or array.
    pub shape: Shape,
    /// Where the shape was decided.
    pub shape_at: Option<Span>,
    /// The (element) value type.
    pub value: Slot,
    /// Key column types of an array.
    pub keys: Vec<Slot>,
    /// The histogram printed from it, if any.
    pub histogram: Option<(Histogram, Span)>,
    /// `@variance(it, N)`'s bit-shift, and where it was given.
    pub variance_shift: Option<(u32, Span)>,
    /// Read anywhere.
    pub read: bool,
    /// Written anywhere.
    pub written: bool,
    /// The first place it is written, in source order (auto-printing
    /// lists unread globals in this order).
    pub first_write: Option<Span>,
}

/// A local variable or parameter.
#[derive(Debug, Clone)]
pub struct LocalVar {
    /// Its name.
    pub name: String,
    /// Its type.
    pub slot: Slot,
    /// Where it first appears.
    pub first: Span,
    /// Assigned somewhere (parameters count as assigned).
    pub assigned: bool,
    /// The C type its `->` members are read with (SystemTap's autocast).
    pub autocast: AutoCast,
}

/// What a local's `->member` reads: SystemTap's autocast, where a local
/// given a pointer by a target expression (`fh = &@cast(p, "struct
/// svc_fh")`, `t = $task`) keeps that pointer's type.
#[derive(Debug, Clone, Default)]
pub enum AutoCast {
    /// No target expression gave it a pointer.
    #[default]
    Untyped,
    /// Every target expression that gave it one gave this type.
    Typed(TypedPointer),
    /// Target expressions gave it pointers of different types.
    Mixed,
}

impl AutoCast {
    /// The state after the local is also given a pointer of type `p`.
    pub fn with(&self, p: TypedPointer) -> AutoCast {
        match self {
            AutoCast::Untyped => AutoCast::Typed(p),
            AutoCast::Typed(old) if old.ty == p.ty => self.clone(),
            _ => AutoCast::Mixed,
        }
    }
}

/// A pointer's C type, and the loadable module's types its members are
/// found in, if not the kernel's.
#[derive(Debug, Clone)]
pub struct TypedPointer {
    /// The pointer type (`struct svc_fh *`).
    pub ty: crate::debuginfo::ctype::CType,
    /// The module's types (`nfsd`'s split BTF), if they are its.
    pub module_types: Option<std::sync::Arc<crate::debuginfo::btf::Btf>>,
}

/// The locals of one probe or function body.
#[derive(Debug, Clone, Default)]
pub struct Locals {
    /// In order of first appearance; parameters first.
    pub vars: Vec<LocalVar>,
    by_name: HashMap<String, usize>,
}

impl Locals {
    /// The local called `name`, if any.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The local called `name`, created at `span` if new.
    pub fn get_or_add(&mut self, name: &str, span: Span) -> usize {
        if let Some(i) = self.get(name) {
            return i;
        }
        self.vars.push(LocalVar {
            name: name.to_string(),
            slot: Slot::default(),
            first: span,
            assigned: false,
            autocast: AutoCast::Untyped,
        });
        self.by_name.insert(name.to_string(), self.vars.len() - 1);
        self.vars.len() - 1
    }
}

/// A function the script may call.
#[derive(Debug, Clone)]
pub struct FunctionDef<'a> {
    /// The declaration.
    pub def: &'a ast::Function,
    /// Parameters, then locals.
    pub locals: Locals,
    /// Return type.
    pub ret: Slot,
    /// Has a `return EXPR` (or is embedded C with a declared type).
    pub returns_value: bool,
    /// Reached from some probe.
    pub used: bool,
    /// Still reached once the optimizer dropped code
    /// ([`super::elide`]); a function only elided code called is checked
    /// but left out of the program.
    pub reachable: bool,
    /// What the optimizer left out of its body.
    pub elision: std::sync::Arc<super::elide::Elision>,
    /// What checking's reporting walk learnt about its nodes.
    pub facts: super::facts::BodyFacts,
    /// Defined in a tapset, not the user's script.
    pub tapset: bool,
}

impl FunctionDef<'_> {
    /// A tapset function marked `/* guru */` in its embedded C: it may
    /// corrupt the kernel (writes, delays, panics), so only `-g` scripts
    /// may call it.
    pub fn guru_only(&self) -> bool {
        self.tapset
            && matches!(&self.def.body, ast::FunctionBody::Embedded(code) if code.code.contains("/* guru */"))
    }

    /// Why a tapset function cannot be used, from the
    /// `/* unsupported: WHY */` its embedded C consists of: it is
    /// documented, so it resolves, but calling it is an error naming the
    /// reason and what to use instead.
    pub fn unsupported(&self) -> Option<&str> {
        self.marker("/* unsupported: ")
    }

    /// What a tapset function cannot do here, from a `/* warning: WHAT */`
    /// in its embedded C: calling it is a warning saying so (it still
    /// works, as SystemTap's does without the same information).
    pub fn warning(&self) -> Option<&str> {
        self.marker("/* warning: ")
    }

    fn marker(&self, open: &str) -> Option<&str> {
        let ast::FunctionBody::Embedded(code) = &self.def.body else {
            return None;
        };
        if !self.tapset {
            return None;
        }
        let start = code.code.find(open)? + open.len();
        let len = code.code[start..].find(" */")?;
        Some(&code.code[start..start + len])
    }
}
