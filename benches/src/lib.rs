//! Shared helpers for qapms benchmarks.

pub mod config_gen;
