//! Semantic analysis: symbol and tapset resolution, probe elaboration and
//! type inference, lowering the AST to [`crate::ir`].
