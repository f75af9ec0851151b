//! The client's settings: `initializationOptions`, and the `qapms` section of
//! `workspace/didChangeConfiguration`. Unknown or malformed fields fall back to their defaults
//! (with a log line) rather than failing the handshake: a typo in an editor's settings must
//! not leave the user without a server.

use serde::Deserialize;
use tower_lsp_server::ls_types::DiagnosticSeverity;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Settings {
    /// An explicit `qapms.yaml`; otherwise it is discovered from the workspace root.
    pub(crate) config_path: Option<String>,
    /// The config profile to apply.
    pub(crate) profile: Option<String>,
    /// Project keys recognised in addition to the configured and synced ones.
    pub(crate) key_patterns: Vec<String>,
    pub(crate) diagnostics: DiagnosticSettings,
    /// The Jira user (display name) completion ranks first; the configured user otherwise.
    pub(crate) user: Option<String>,
    /// How long a cold ticket fetch may take before hover answers without it, in ms.
    pub(crate) fetch_timeout_ms: Option<u64>,
    /// Seconds between background refreshes of the tickets in view (default 300).
    pub(crate) refresh_secs: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DiagnosticSettings {
    pub(crate) enabled: bool,
    /// A reference to a ticket Jira says does not exist.
    pub(crate) missing_ticket: Level,
    /// A skip or xfail whose reason cites a resolved ticket.
    pub(crate) resolved_skip: Level,
}

impl Default for DiagnosticSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            missing_ticket: Level::Warning,
            resolved_skip: Level::Information,
        }
    }
}

/// A configurable severity; `off` silences the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Level {
    Error,
    Warning,
    Information,
    Hint,
    Off,
}

impl Level {
    pub(crate) fn severity(self) -> Option<DiagnosticSeverity> {
        match self {
            Self::Error => Some(DiagnosticSeverity::ERROR),
            Self::Warning => Some(DiagnosticSeverity::WARNING),
            Self::Information => Some(DiagnosticSeverity::INFORMATION),
            Self::Hint => Some(DiagnosticSeverity::HINT),
            Self::Off => None,
        }
    }
}

impl Settings {
    /// Reads settings from a JSON value, accepting either the settings object itself or one
    /// wrapped in `{"qapms": {...}}`.
    pub(crate) fn from_json(value: Option<serde_json::Value>) -> Self {
        let Some(mut value) = value else {
            return Self::default();
        };
        if let Some(inner) = value.get_mut("qapms") {
            value = inner.take();
        }
        if value.is_null() {
            return Self::default();
        }
        match serde_json::from_value(value) {
            Ok(settings) => settings,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring malformed qapms settings");
                Self::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_wrapped_partial_and_bad_settings() {
        let s = Settings::from_json(Some(json!({"qapms": {"keyPatterns": ["OPS"],
            "diagnostics": {"missingTicket": "error"}}})));
        assert_eq!(s.key_patterns, vec!["OPS"]);
        assert_eq!(s.diagnostics.missing_ticket, Level::Error);
        assert!(s.diagnostics.enabled);
        let bad = Settings::from_json(Some(json!({"keyPatterns": 3})));
        assert!(bad.key_patterns.is_empty());
        assert!(Settings::from_json(None).config_path.is_none());
    }
}
