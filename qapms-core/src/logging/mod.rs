//! Logging set-up: tracing with secret redaction and compressed rolling files.
