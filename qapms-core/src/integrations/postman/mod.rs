//! Postman: the Postman API (`X-API-Key`) and exported collection files (format v2.1).
//!
//! [`Postman`] is the client; [`Postman::builder`] or [`Postman::from_config`] make one. It
//! implements [`crate::integrations::RequestCatalog`], which is how the rest of qapms sees it:
//! every request of every collection, flattened with its folder path, URL, description and
//! scripts. Collections, from the API or from files, are parsed in [`collection`]; API
//! payloads are in [`models`].
//!
//! Not here: Collection Format v3 (a directory of YAML files) and v1 are refused with a message
//! asking for a v2.1 export. Postman CLI and newman results are `JUnit` XML, read by
//! [`crate::results`].

mod client;
pub mod collection;
mod config;
mod error;
pub mod models;

pub use client::{
    CollectionHandler, EnvironmentHandler, ListCollections, Postman, WorkspaceHandler,
};
pub use collection::{Collection, parse_collection, read_collection_file};
pub use config::PostmanBuilder;
pub use models::{CollectionId, EnvironmentId, WorkspaceId};
