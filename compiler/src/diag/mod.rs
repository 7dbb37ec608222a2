//! Source files, spans and diagnostics shared by every compiler stage.
