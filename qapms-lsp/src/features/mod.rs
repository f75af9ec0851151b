//! Protocol-free feature code: what the handlers compute, on plain text and byte offsets.
//! Nothing here knows LSP types, so every piece is unit- and property-tested on its own.

pub mod config_schema;
pub mod keys;
pub mod regions;
pub mod testfiles;
