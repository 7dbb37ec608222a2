//! The `stap` pipeline: passes 1 (parse) to 4 (build a `.ko`).
