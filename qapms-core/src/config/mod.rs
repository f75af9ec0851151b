//! Configuration: `qapms.yaml` discovery, parsing, profiles, interpolation and validation.

pub mod env;

pub use env::Env;
