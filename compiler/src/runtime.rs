//! The C runtime (`runtime-c/`), embedded in the binary.
