//! Shared helpers for qapms benchmarks.
