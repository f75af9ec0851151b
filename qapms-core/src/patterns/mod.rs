//! Pattern detection over test results and logs.
//!
//! Each detector is a streaming, in-process component with bounded state, so the same code runs
//! inside the Python package, the language server and the dashboard server without extra
//! services. This module only groups them; each sub-module documents its own design.
//!
//! - [`templates`]: template mining (Drain-like) for failure messages, stack traces and log lines,
//!   with stable content-hash template ids.

pub mod templates;
