//! Template mining for failure messages, stack traces and log lines.
//!
//! One miner, one configuration, for every source: test failure messages (multi-line stack traces
//! are one "line" whose newlines are whitespace) and log events from files or Splunk exports.
//! Instead of Drain's per-dataset regexes, a hand-written classifier ([`mask`]) turns numbers,
//! hex, ids, UUIDs, IPs with ports, paths, URLs, e-mails and timestamps into `<*>`; an optional
//! generic header stripper ([`LogLine`]) removes timestamp/level/component prefixes from raw lines;
//! and a Drain-style tree ([`TemplateMiner`]) groups the masked lines in one streaming pass with
//! bounded memory.
//!
//! Template ids ([`TemplateId`]) are content hashes of the template text, so the same template has
//! the same id in Python, the language server and the dashboard. A cluster's template can widen
//! as lines arrive; its id is always that of its current text, and [`Match::previous_id`] reports
//! the id it replaced.
//!
//! ```
//! use qapms_core::patterns::templates::{MinerConfig, TemplateMiner};
//!
//! let mut miner = TemplateMiner::new(MinerConfig::default());
//! miner.add("Connection refused to 10.0.0.1:5432 after 3 retries");
//! let m = miner.add("Connection refused to 10.0.0.7:5433 after 5 retries");
//! assert_eq!(m.template, "Connection refused to <*>:<*> after <*> retries");
//! assert_eq!(m.cluster_size, 2);
//! ```

mod header;
mod id;
mod mask;
mod miner;

pub use header::LogLine;
pub use id::TemplateId;
pub use mask::{WILDCARD, mask};
pub use miner::{ClusterId, Match, MinerConfig, Template, TemplateMiner};
