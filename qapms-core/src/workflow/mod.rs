//! Guided workflows: templates, the state machine and the engine that persists it.
//!
//! - [`template`]: built-in and configured templates, `extends` resolution;
//! - [`machine`]: the pure state machine (snapshot + command -> next snapshot + events);
//! - [`engine`]: loads, applies, plans the timer change and writes through the
//!   [`Store`](crate::store::Store) in one optimistic-versioned transaction;
//! - [`actions`]: carries out the actions of finished steps against the integrations and
//!   records their outcomes;
//! - [`placeholders`]: the `{ticket}`-style names an action's texts may hold, and filling them.
//!
//! The template, machine and engine do no I/O except through the store trait and the
//! injected [`Clock`]; only [`actions`] calls out.

pub mod actions;
pub mod engine;
pub mod machine;
pub mod placeholders;
pub mod template;

pub use actions::{ActionClients, ActionRunner};
pub use engine::{
    Clock, DEFAULT_IDLE_GAP, DueAction, Engine, ManualClock, Outcome, SystemClock, instantiate,
};
pub use machine::{Command, ItemRef, StepRef, Transition};
pub use template::{Catalog, ResolvedTemplate, builtin_names, builtins};
