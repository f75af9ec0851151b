//! Guided workflows: templates, the state machine and the engine that persists it.
//!
//! - [`template`]: built-in and configured templates, `extends` resolution;
//! - [`machine`]: the pure state machine (snapshot + command -> next snapshot + events);
//! - [`engine`]: loads, applies, plans the timer change and writes through the
//!   [`Store`](crate::store::Store) in one optimistic-versioned transaction.
//!
//! Nothing here does I/O except through the store trait and the injected [`Clock`].

pub mod engine;
pub mod machine;
pub mod template;

pub use engine::{
    Clock, DEFAULT_IDLE_GAP, DueAction, Engine, ManualClock, Outcome, SystemClock, instantiate,
};
pub use machine::{Command, ItemRef, StepRef, Transition};
pub use template::{Catalog, ResolvedTemplate, builtin_names, builtins};
