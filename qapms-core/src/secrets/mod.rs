//! Secrets: the `enc:v1:` envelope and master-key sources.
