//! Jira Cloud (REST v3, Agile) and Jira Data Center (REST v2).
//!
//! [`Jira`] is the client; [`Jira::builder`] or [`Jira::from_config`] make one. It implements
//! [`crate::integrations::TicketSource`], which is how the rest of qapms sees it. Models are in
//! [`models`]; Markdown-ish text becomes ADF or wiki markup in [`markup`].
//!
//! OAuth 2.0 (client credentials; authorization code with PKCE and a loopback redirect) is in
//! [`oauth`]: `qapms auth login jira` signs in and stores the tokens encrypted, and
//! [`Jira::from_config_with_tokens`] builds a client that renews them.

mod client;
mod config;
mod error;
pub mod markup;
pub mod models;
pub mod oauth;

pub use client::{
    AgileHandler, CreateIssue, GetIssue, IssueHandler, Jira, Search, TICKET_FIELDS, browse_url,
    to_ticket,
};
pub use config::JiraBuilder;
