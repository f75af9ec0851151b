//! One module per request or notification.

pub(crate) mod diagnostics;
