//! The scripts x kernels harness behind `stap-matrix`.
