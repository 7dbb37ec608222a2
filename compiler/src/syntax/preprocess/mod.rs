//! The preprocessor: lexer tokens in, parser tokens out.
//!
//! It works in the order SystemTap does:
//!
//! 1. **Arguments.** `$N` is replaced by the tokens of the Nth command-line
//!    argument (so `42` stays a number and `kernel.function("x")` becomes a
//!    probe point), `@N` by that argument as a string literal, `$#`/`@#` by
//!    the argument count as a number/string. A missing argument is an error
//!    that names it, unless the reference is in a skipped conditional
//!    branch (`%( $# >= 1 %? $1 %: 0 %)` is the usual idiom). Spliced
//!    tokens carry the span of the `$N`.
//! 2. **Macros.** `@define NAME %( BODY %)` and `@define NAME(A, B) %( BODY
//!    %)` define a macro for the rest of the file; `@NAME` and `@NAME(x, y)`
//!    expand it, and inside the body `@A` expands to the argument (in the
//!    context of the use, so arguments may themselves use macros). A macro
//!    without parameters leaves a following `(...)` alone. Unknown `@words`
//!    pass through for the parser (`@cast`, `@count`...). Expanded tokens
//!    carry the span of the outermost use, and their own span as `origin`.
//! 3. **Conditionals.** `%( CONDITION %? A %: B %)`, nested, keeps `A` or `B`
//!    according to [`cond`]'s evaluation against [`PreprocessConfig`].
//!    Skipped branches are not macro-expanded, so a `@define` there does not
//!    count.
//!
//! All three run as one stream, so a condition may come from a macro or an
//! argument, and a macro body may contain conditionals.

mod cond;
mod macros;
mod matching;

use std::collections::HashMap;
use std::rc::Rc;

use crate::diag::Span;

use super::config::PreprocessConfig;
use super::error::SyntaxError;
use super::lexer::tokenize;
use super::token::{Punct, Token, TokenKind};

use macros::{Env, MacroDef};

/// How deeply macro uses (and parameter uses) may nest.
const MAX_MACRO_DEPTH: usize = 64;
/// How many tokens macro expansion may produce in one file.
const MAX_EXPANDED_TOKENS: usize = 1 << 20;

/// Runs all three stages over `tokens` (a lexed file).
pub(crate) fn preprocess(
    tokens: Vec<Token>,
    cfg: &PreprocessConfig,
) -> (Vec<Token>, Vec<SyntaxError>) {
    let mut pp = Preprocessor::new(tokens, cfg);
    pp.run();
    (pp.out, pp.errors)
}

/// Preprocesses a library macro file (`.stpm`): returns the macros it
/// defines, and the tokens left over, which such a file may not have.
pub(crate) fn library_macros(
    tokens: Vec<Token>,
    cfg: &PreprocessConfig,
) -> (
    Vec<(String, crate::syntax::config::LibraryMacro)>,
    Vec<Token>,
    Vec<SyntaxError>,
) {
    let mut pp = Preprocessor::new(tokens, cfg);
    pp.run();
    let mut macros: Vec<_> = pp
        .macros
        .into_iter()
        .map(|(name, def)| {
            (
                name,
                crate::syntax::config::LibraryMacro {
                    name_span: def.name_span,
                    params: def.params.clone(),
                    body: def.body.to_vec(),
                },
            )
        })
        .collect();
    macros.sort_by_key(|(_, m)| (m.name_span.file.index(), m.name_span.start));
    (macros, pp.out, pp.errors)
}

/// One active expansion: a macro body or a parameter's tokens.
struct Frame {
    tokens: Rc<[Token]>,
    pos: usize,
    env: Env,
    /// The span every token of this expansion gets: the outermost use.
    span: Span,
}

struct Cond {
    open: Span,
    in_else: bool,
}

enum SkipEnd {
    Else,
    Close,
    Eof,
}

struct Preprocessor<'c> {
    cfg: &'c PreprocessConfig,
    input: Vec<Token>,
    pos: usize,
    frames: Vec<Frame>,
    macros: HashMap<String, Rc<MacroDef>>,
    conds: Vec<Cond>,
    out: Vec<Token>,
    errors: Vec<SyntaxError>,
    expanded: usize,
}

fn placeholder(span: Span) -> Token {
    Token {
        kind: TokenKind::Eof,
        span,
        spaced: false,
        line_start: false,
        origin: None,
    }
}

/// Stands in for a macro use that could not be expanded, so the parser
/// does not report the hole it leaves.
fn invalid(span: Span) -> Token {
    Token {
        kind: TokenKind::Invalid,
        span,
        spaced: true,
        line_start: false,
        origin: None,
    }
}

impl<'c> Preprocessor<'c> {
    fn new(input: Vec<Token>, cfg: &'c PreprocessConfig) -> Preprocessor<'c> {
        Preprocessor {
            cfg,
            input,
            pos: 0,
            frames: Vec::new(),
            macros: HashMap::new(),
            conds: Vec::new(),
            out: Vec::new(),
            errors: Vec::new(),
            expanded: 0,
        }
    }
}

fn is(tok: &Token, p: Punct) -> bool {
    tok.kind.is_punct(p)
}

impl Preprocessor<'_> {
    fn run(&mut self) {
        while let Some(tok) = self.next_expanded() {
            match tok.kind {
                TokenKind::Punct(Punct::PpOpen) => self.conditional(tok.span),
                TokenKind::Punct(Punct::PpThen) => self.errors.push(SyntaxError::PpStray {
                    span: tok.span,
                    token: "%?",
                }),
                TokenKind::Punct(Punct::PpElse) => match self.conds.last() {
                    None => self.errors.push(SyntaxError::PpStray {
                        span: tok.span,
                        token: "%:",
                    }),
                    Some(cond) => {
                        let open = cond.open;
                        if cond.in_else {
                            self.errors.push(SyntaxError::PpDuplicateElse {
                                span: tok.span,
                                open,
                            });
                        }
                        // The branch before this '%:' was kept; drop the rest.
                        if let SkipEnd::Eof = self.skip(false, 0, open) {
                            self.errors.push(SyntaxError::PpUnterminated { open });
                        }
                        self.conds.pop();
                    }
                },
                TokenKind::Punct(Punct::PpClose) => {
                    if self.conds.pop().is_none() {
                        self.errors.push(SyntaxError::PpStray {
                            span: tok.span,
                            token: "%)",
                        });
                    }
                }
                _ => self.out.push(tok),
            }
        }
        for cond in std::mem::take(&mut self.conds) {
            self.errors
                .push(SyntaxError::PpUnterminated { open: cond.open });
        }
    }

    /// Handles a conditional whose `%(` has just been read.
    fn conditional(&mut self, open: Span) {
        let mut condition = Vec::new();
        loop {
            let Some(tok) = self.next_expanded() else {
                self.errors.push(SyntaxError::PpUnterminated { open });
                return;
            };
            match tok.kind {
                TokenKind::Punct(Punct::PpThen) => break,
                TokenKind::Punct(p @ (Punct::PpOpen | Punct::PpElse | Punct::PpClose)) => {
                    self.errors.push(SyntaxError::PpMissingThen {
                        span: tok.span,
                        open,
                        found: tok.kind.to_string(),
                    });
                    // Drop the whole conditional.
                    if p != Punct::PpClose {
                        let depth = usize::from(p == Punct::PpOpen);
                        if let SkipEnd::Eof = self.skip(false, depth, open) {
                            self.errors.push(SyntaxError::PpUnterminated { open });
                        }
                    }
                    return;
                }
                _ => condition.push(tok),
            }
        }
        let keep_then = cond::evaluate(&condition, self.cfg, open).unwrap_or_else(|e| {
            self.errors.push(*e);
            false
        });
        if keep_then {
            self.conds.push(Cond {
                open,
                in_else: false,
            });
            return;
        }
        match self.skip(true, 0, open) {
            SkipEnd::Else => self.conds.push(Cond {
                open,
                in_else: true,
            }),
            SkipEnd::Close => {}
            SkipEnd::Eof => self.errors.push(SyntaxError::PpUnterminated { open }),
        }
    }

    /// Drops raw tokens up to the `%)` (or, with `stop_at_else`, the `%:`)
    /// that closes the current conditional, which is `depth` levels out.
    fn skip(&mut self, stop_at_else: bool, mut depth: usize, open: Span) -> SkipEnd {
        while let Some(tok) = self.next_raw() {
            match tok.kind {
                TokenKind::Punct(Punct::PpOpen) => depth += 1,
                TokenKind::Punct(Punct::PpClose) if depth > 0 => depth -= 1,
                TokenKind::Punct(Punct::PpClose) => return SkipEnd::Close,
                TokenKind::Punct(Punct::PpElse) if depth == 0 => {
                    if stop_at_else {
                        return SkipEnd::Else;
                    }
                    self.errors.push(SyntaxError::PpDuplicateElse {
                        span: tok.span,
                        open,
                    });
                }
                _ => {}
            }
        }
        SkipEnd::Eof
    }

    /// The next token with arguments spliced and macros defined and
    /// expanded. (Skipped conditional branches never get here, so a `$2`
    /// there is not an error even without a second argument.)
    fn next_expanded(&mut self) -> Option<Token> {
        loop {
            let tok = self.next_raw()?;
            if let TokenKind::Arg { .. } | TokenKind::ArgCount { .. } = tok.kind {
                match self.splice_arg(tok) {
                    Some(single) => return Some(single),
                    None => continue,
                }
            }
            let TokenKind::AtWord(name) = &tok.kind else {
                return Some(tok);
            };
            if name == "define" {
                if self.frames.is_empty() {
                    self.define(tok.span);
                } else {
                    self.errors.push(SyntaxError::DefineInMacro {
                        span: tok.origin.unwrap_or(tok.span),
                    });
                    self.skip_nested_define();
                }
                continue;
            }
            if let Some(binding) = self.frames.last().and_then(|f| f.env.get(name)).cloned() {
                let span = self.outer_span(tok.span);
                match self.push_frame(binding.tokens, binding.env, span, name.clone()) {
                    Some(failed) => return Some(failed),
                    None => continue,
                }
            }
            let def = self.macros.get(name).cloned().or_else(|| {
                self.cfg.library_macros.get(name).map(|m| {
                    Rc::new(MacroDef {
                        name_span: m.name_span,
                        params: m.params.clone(),
                        body: m.body.clone().into(),
                    })
                })
            });
            if let Some(def) = def {
                let name = name.clone();
                match self.invoke(tok, &name, &def) {
                    Some(failed) => return Some(failed),
                    None => continue,
                }
            }
            return Some(tok);
        }
    }

    /// Replaces an argument reference: `@N`, `$#` and `@#` by one literal
    /// (returned), `$N` by the tokens of the argument (pushed as an
    /// expansion, or returned if there is just one). A missing argument is
    /// reported and replaced by a literal of the right kind.
    fn splice_arg(&mut self, tok: Token) -> Option<Token> {
        let with = |kind| Token {
            kind,
            ..tok.clone()
        };
        let (quoted, index) = match tok.kind {
            TokenKind::ArgCount { quoted } => {
                let n = self.cfg.args.len();
                return Some(with(if quoted {
                    TokenKind::Str(n.to_string().into_bytes())
                } else {
                    TokenKind::Number(n as u64)
                }));
            }
            TokenKind::Arg { quoted, index } => (quoted, index),
            _ => return Some(tok),
        };
        let Some(text) = (index as usize)
            .checked_sub(1)
            .and_then(|i| self.cfg.args.get(i))
        else {
            let given = self.cfg.args.len();
            self.errors.push(SyntaxError::MissingArgument {
                span: tok.span,
                quoted,
                index,
                given,
            });
            return Some(with(if quoted {
                TokenKind::Str(Vec::new())
            } else {
                TokenKind::Number(0)
            }));
        };
        if quoted {
            return Some(with(TokenKind::Str(text.as_bytes().to_vec())));
        }
        let (lexed, lex_errors) = tokenize(tok.span.file, text);
        self.errors
            .extend(lex_errors.into_iter().map(|inner| SyntaxError::InArgument {
                span: tok.span,
                quoted,
                index,
                inner: Box::new(inner),
            }));
        let mut spliced = Vec::with_capacity(lexed.len());
        for (i, t) in lexed.into_iter().enumerate() {
            if matches!(t.kind, TokenKind::Arg { .. } | TokenKind::ArgCount { .. }) {
                self.errors.push(SyntaxError::NestedArgument {
                    span: tok.span,
                    index,
                });
                spliced.push(invalid(tok.span));
                continue;
            }
            let (spaced, line_start) = if i == 0 {
                (tok.spaced, tok.line_start)
            } else {
                (t.spaced, false)
            };
            spliced.push(Token {
                kind: t.kind,
                span: tok.span,
                spaced,
                line_start,
                origin: tok.origin,
            });
        }
        if spliced.len() == 1 {
            return spliced.pop();
        }
        let env = self
            .frames
            .last()
            .map(|f| f.env.clone())
            .unwrap_or_default();
        let span = self.outer_span(tok.span);
        self.push_frame(spliced.into(), env, span, format!("${index}"))
    }

    /// The span expanded tokens get: that of the outermost active use, or
    /// `here` when no expansion is active.
    fn outer_span(&self, here: Span) -> Span {
        self.frames.first().map_or(here, |f| f.span)
    }

    /// Starts an expansion; returns an invalid token if nested too deeply.
    fn push_frame(
        &mut self,
        tokens: Rc<[Token]>,
        env: Env,
        span: Span,
        name: String,
    ) -> Option<Token> {
        if self.frames.len() >= MAX_MACRO_DEPTH {
            self.errors.push(SyntaxError::MacroTooDeep { span, name });
            self.frames.clear();
            return Some(invalid(span));
        }
        self.frames.push(Frame {
            tokens,
            pos: 0,
            env,
            span,
        });
        None
    }

    /// The next token from the innermost active source, popping finished
    /// expansions, without any macro processing.
    fn next_raw(&mut self) -> Option<Token> {
        while let Some(frame) = self.frames.last() {
            if frame.pos < frame.tokens.len() {
                return self.next_same_source();
            }
            self.frames.pop();
        }
        self.next_same_source()
    }

    /// The next token of the innermost source only: `None` at the end of a
    /// macro body even if outer sources have more.
    fn next_same_source(&mut self) -> Option<Token> {
        if let Some(frame) = self.frames.last_mut() {
            let tok = frame.tokens.get(frame.pos)?;
            frame.pos += 1;
            let tok = Token {
                origin: Some(tok.origin.unwrap_or(tok.span)),
                span: frame.span,
                ..tok.clone()
            };
            self.expanded += 1;
            if self.expanded > MAX_EXPANDED_TOKENS {
                self.errors
                    .push(SyntaxError::ExpansionTooLarge { span: tok.span });
                self.expanded = 0;
                self.frames.clear();
                return Some(invalid(tok.span));
            }
            return Some(tok);
        }
        let slot = self.input.get_mut(self.pos)?;
        self.pos += 1;
        let span = slot.span;
        Some(std::mem::replace(slot, placeholder(span)))
    }

    fn peek_same_source(&self) -> Option<&Token> {
        match self.frames.last() {
            Some(frame) => frame.tokens.get(frame.pos),
            None => self.input.get(self.pos),
        }
    }
}

#[cfg(test)]
mod tests;
