//! The store: one trait over SQLite and PostgreSQL.
