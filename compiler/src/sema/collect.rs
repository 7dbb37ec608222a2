//! Collecting what a script and the tapsets it needs define: globals,
//! functions (overloaded by arity) and probe aliases, tapset files pulled
//! in as the names they define are used (a global one by one, as
//! SystemTap does).

use crate::diag::Diagnostic;
use crate::ir::Type;
use crate::syntax::ast;

use super::scope::{FunctionDef, GlobalVar, Locals, Shape, Slot};
use super::Context;

impl<'a> Context<'a> {
    pub(super) fn add_items(
        &mut self,
        script: &'a ast::Script,
        from: Source,
    ) -> Vec<&'a ast::ProbeAlias> {
        let tapset = from != Source::Script;
        let mut aliases = Vec::new();
        for item in &script.items {
            let is_global = matches!(item, ast::Item::Global(_));
            let wanted = match from {
                Source::Script => true,
                Source::Tapset => !is_global,
                Source::TapsetGlobal(_) => is_global,
            };
            if !wanted {
                continue;
            }
            match item {
                ast::Item::Global(decl) => {
                    for var in &decl.vars {
                        if matches!(from, Source::TapsetGlobal(name) if name != var.name.name) {
                            continue;
                        }
                        let private_to = decl.private.then_some(script.file);
                        let existing = match private_to {
                            Some(file) => self.globals.iter().position(|g| {
                                g.name == var.name.name && g.private_to == Some(file)
                            }),
                            None => self.global_named(&var.name.name, script.file),
                        };
                        if let Some(existing) = existing {
                            let prev = self.globals[existing].decl.name.span;
                            self.diagnostics
                                .push(duplicate("global", &var.name, "declared", prev));
                            continue;
                        }
                        let mut g = GlobalVar {
                            name: var.name.name.clone(),
                            decl: var,
                            private_to,
                            shape: Shape::Unknown,
                            shape_at: None,
                            value: Slot::default(),
                            keys: Vec::new(),
                            histogram: None,
                            variance_shift: None,
                            read: false,
                            written: false,
                            first_write: None,
                        };
                        if var.size.is_some() || var.wrap {
                            g.shape = Shape::Unknown; // arity is learned from uses
                        }
                        if let Some(init) = &var.init {
                            g.shape = Shape::Scalar;
                            g.shape_at = Some(var.span);
                            let ty = match init {
                                ast::Literal::Number(_) => Type::Long,
                                ast::Literal::String(_) => Type::String,
                            };
                            g.value = Slot {
                                ty: Some(ty),
                                decided_at: Some(init.span()),
                            };
                        }
                        self.globals.push(g);
                    }
                }
                ast::Item::Function(f) => {
                    if let Some(i) = self.function_with_arity(&f.name.name, f.params.len()) {
                        // A script's function replaces the library's, as
                        // SystemTap runs the script's first (the filter
                        // functions of the mib tapsets are meant for this).
                        if tapset && self.function_from_script(i) {
                            continue;
                        }
                        let prev = self.functions[i].def.name.span;
                        self.diagnostics
                            .push(duplicate("function", &f.name, "defined", prev));
                        continue;
                    }
                    let mut locals = Locals::default();
                    for p in &f.params {
                        let i = locals.get_or_add(&p.name.name, p.name.span);
                        locals.vars[i].assigned = true;
                        if let Some(t) = p.ty {
                            locals.vars[i].slot = Slot {
                                ty: Some(script_type(t.ty)),
                                decided_at: Some(t.span),
                            };
                        }
                    }
                    let ret = f
                        .ret
                        .map(|t| Slot {
                            ty: Some(script_type(t.ty)),
                            decided_at: Some(t.span),
                        })
                        .unwrap_or_default();
                    let embedded = matches!(f.body, ast::FunctionBody::Embedded(_));
                    if embedded && !tapset && !self.config.guru {
                        self.diagnostics.push(
                            Diagnostic::semantic_error("embedded C in a script needs guru mode")
                                .with_primary(f.name.span, "this function's body is embedded C")
                                .with_help("run stap with -g if you trust this code"),
                        );
                    }
                    self.function_index
                        .entry(f.name.name.clone())
                        .or_default()
                        .push(self.functions.len());
                    self.functions.push(FunctionDef {
                        def: f,
                        locals,
                        returns_value: embedded && f.ret.is_some(),
                        ret,
                        used: false,
                        reachable: true,
                        elision: Default::default(),
                        facts: Default::default(),
                        tapset,
                    });
                }
                ast::Item::Alias(a) => aliases.push(a),
                ast::Item::Embedded(e) => {
                    if !tapset && !self.config.guru {
                        self.diagnostics.push(
                            Diagnostic::semantic_error("embedded C in a script needs guru mode")
                                .with_primary(e.span, "embedded C")
                                .with_help("run stap with -g if you trust this code"),
                        );
                    }
                    self.embedded.push(e.code.clone());
                }
                ast::Item::Probe(_) => {}
            }
        }
        aliases
    }

    /// Pulls in the tapset file defining each function called but not
    /// defined, and each global used but not declared, until nothing new
    /// is needed.
    pub(super) fn pull_functions(&mut self, roots: &[&'a ast::Block]) -> Vec<&'a ast::ProbeAlias> {
        let mut aliases = Vec::new();
        loop {
            // The script's own code may name any library global; a
            // tapset's code (an alias body, a function) only its own
            // file's, so that its locals and parameters (kprocess.stp's
            // `argv`) never pull in another file's global of that name.
            let mut wanted = Symbols::default();
            let mut own_file = Vec::new();
            let library_file = |file| {
                (self.library.files.iter())
                    .position(|t: &std::sync::Arc<super::tapset::TapsetFile>| t.script.file == file)
            };
            let mut take = |b: &ast::Block,
                            params: &[ast::Param],
                            own_file: &mut Vec<(usize, String)>| {
                let mut own = Symbols::default();
                symbols_in_block(b, &mut own);
                wanted.calls.extend(own.calls);
                let vars = own
                    .vars
                    .into_iter()
                    .filter(|v| !params.iter().any(|p| p.name.name == *v));
                match library_file(b.span.file) {
                    Some(i) => {
                        let t = &self.library.files[i];
                        own_file.extend(
                            vars.filter(|v| t.globals.contains(v) || t.private_globals.contains(v))
                                .map(|v| (i, v)),
                        );
                    }
                    None => wanted.vars.extend(vars),
                }
            };
            for b in roots {
                take(b, &[], &mut own_file);
            }
            for f in &self.functions {
                if let ast::FunctionBody::Block(b) = &f.def.body {
                    take(b, &f.def.params, &mut own_file);
                }
            }
            let mut files = Vec::new();
            for (name, arity) in wanted.calls {
                if self.function_with_arity(&name, arity).is_none() {
                    files.extend(self.library.defining_function(&name, arity));
                }
            }
            let mut global_files = Vec::new();
            for name in wanted.vars {
                if !self.globals.iter().any(|g| g.name == name) {
                    if let Some(i) = self.library.defining_global(&name) {
                        global_files.push((i, name));
                    }
                }
            }
            let mut added = false;
            for i in files {
                if !self.pulled[i] {
                    self.pulled[i] = true;
                    aliases.extend(self.add_items(&self.library.files[i].script, Source::Tapset));
                    added = true;
                }
            }
            for (i, name) in global_files {
                if !self.globals.iter().any(|g| g.name == name) {
                    self.add_items(&self.library.files[i].script, Source::TapsetGlobal(&name));
                    added = true;
                }
            }
            for (i, name) in own_file {
                let file = self.library.files[i].script.file;
                let private = self.library.files[i].private_globals.contains(&name);
                let present = self.globals.iter().any(|g| {
                    g.name == name
                        && (g.private_to == Some(file) || (!private && g.private_to.is_none()))
                });
                if !present {
                    self.add_items(&self.library.files[i].script, Source::TapsetGlobal(&name));
                    added = true;
                }
            }
            if !added {
                return aliases;
            }
        }
    }
}

impl Context<'_> {
    /// The library files (indices) that `roots` use: those of the alias
    /// bodies among them, of every function they reach, directly or
    /// through other functions, and of the globals taken from the library.
    pub(super) fn used_tapset_files(&self, roots: &[&ast::Block]) -> Vec<usize> {
        let mut files: std::collections::BTreeSet<_> =
            self.globals.iter().map(|g| g.decl.name.span.file).collect();
        let mut seen = vec![false; self.functions.len()];
        let mut calls = Symbols::default();
        for b in roots {
            files.insert(b.span.file);
            symbols_in_block(b, &mut calls);
        }
        let mut pending = calls.calls;
        while let Some((name, arity)) = pending.pop() {
            let Some(i) = self.function_with_arity(&name, arity) else {
                continue;
            };
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            let def = self.functions[i].def;
            files.insert(def.name.span.file);
            if let ast::FunctionBody::Block(b) = &def.body {
                let mut own = Symbols::default();
                symbols_in_block(b, &mut own);
                pending.extend(own.calls);
            }
        }
        (self.library.files.iter().enumerate())
            .filter(|(_, f)| files.contains(&f.script.file))
            .map(|(i, _)| i)
            .collect()
    }
}

/// Which items of a file `add_items` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source<'n> {
    /// The user's script: everything.
    Script,
    /// A tapset pulled in for a function or alias: all but its globals,
    /// which load one by one when something names them.
    Tapset,
    /// Only this global of a tapset.
    TapsetGlobal(&'n str),
}

/// `duplicate global 'x'` / `duplicate function 'f'`: `name` is `done`
/// (declared, defined) again, first at `prev`.
fn duplicate(what: &str, name: &ast::Ident, done: &str, prev: crate::diag::Span) -> Diagnostic {
    Diagnostic::semantic_error(format!("duplicate {what} '{}'", name.name))
        .with_primary(name.span, format!("{done} again here"))
        .with_secondary(prev, format!("first {done} here"))
}

fn script_type(t: ast::ScriptType) -> Type {
    match t {
        ast::ScriptType::Long => Type::Long,
        ast::ScriptType::String => Type::String,
    }
}

/// Names a block uses that a tapset may define.
#[derive(Default)]
struct Symbols {
    /// Functions called, with their number of arguments.
    calls: Vec<(String, usize)>,
    /// Plain identifiers used as variables or arrays.
    vars: Vec<String>,
}

/// The functions called and variables named anywhere in a block.
fn symbols_in_block(b: &ast::Block, out: &mut Symbols) {
    use crate::syntax::visit::{walk_expr, Visitor};
    struct Collect<'o>(&'o mut Symbols);
    impl Visitor for Collect<'_> {
        fn visit_expr(&mut self, e: &ast::Expr) {
            match &e.kind {
                ast::ExprKind::Call { name, args } => {
                    self.0.calls.push((name.name.clone(), args.len()))
                }
                ast::ExprKind::Var(v)
                | ast::ExprKind::Index {
                    base: ast::Indexable::Var(v),
                    ..
                } => self.0.vars.push(v.name.clone()),
                _ => {}
            }
            walk_expr(self, e);
        }
    }
    let mut v = Collect(out);
    for s in &b.stmts {
        v.visit_stmt(s);
    }
}
