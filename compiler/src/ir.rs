//! The typed, resolved program: codegen's only input.
