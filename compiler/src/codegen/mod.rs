//! C code generation from [`crate::ir`].
