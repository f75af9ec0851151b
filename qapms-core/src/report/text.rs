//! Small formatting helpers every renderer shares, so a duration or a date reads the same in
//! Markdown, HTML, CSV and the Jira comment.

use chrono::{DateTime, Utc};

use crate::model::{StepState, WorkflowState};

/// `1h05m`, `45m`, `30s`, `0m`.
pub(crate) fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) if s > 0 => format!("{s}s"),
        (0, _) => format!("{m}m"),
        _ => format!("{h}h{m:02}m"),
    }
}

/// A signed difference: `+10m`, `-1h05m`, `±0m`.
pub(crate) fn signed(secs: i64) -> String {
    let magnitude = duration(secs.unsigned_abs());
    match secs.signum() {
        1 => format!("+{magnitude}"),
        -1 => format!("-{magnitude}"),
        _ => format!("±{magnitude}"),
    }
}

pub(crate) fn optional_duration(secs: Option<u64>) -> String {
    secs.map_or_else(|| "-".to_owned(), duration)
}

pub(crate) fn optional_signed(secs: Option<i64>) -> String {
    secs.map_or_else(|| "-".to_owned(), signed)
}

/// A ratio as a whole percentage: `108%`.
pub(crate) fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

/// `2025-03-03 09:00 UTC`.
pub(crate) fn time(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) fn optional_time(at: Option<&DateTime<Utc>>) -> String {
    at.map_or_else(|| "-".to_owned(), time)
}

/// `in progress`, not `in_progress`.
pub(crate) fn workflow_state(state: WorkflowState) -> &'static str {
    match state {
        WorkflowState::Created => "created",
        WorkflowState::InProgress => "in progress",
        WorkflowState::Paused => "paused",
        WorkflowState::Completed => "completed",
        WorkflowState::Abandoned => "abandoned",
    }
}

pub(crate) fn step_state(state: StepState) -> &'static str {
    state.as_str()
}

/// An `http`/`https` URL safe to link to, or `None` (a `javascript:` link, a local path).
pub(crate) fn web_url(value: &str) -> Option<&str> {
    let v = value.trim();
    let lower = v.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
    let clean = !v
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'));
    (scheme_ok && clean && v.len() > 8).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(duration(0), "0m");
        assert_eq!(duration(30), "30s");
        assert_eq!(duration(45 * 60), "45m");
        assert_eq!(duration(3900), "1h05m");
        assert_eq!(signed(-3900), "-1h05m");
        assert_eq!(signed(600), "+10m");
        assert_eq!(signed(0), "±0m");
    }

    #[test]
    fn only_web_urls_become_links() {
        assert_eq!(
            web_url("https://ci.test/run/1"),
            Some("https://ci.test/run/1")
        );
        assert_eq!(web_url("HTTP://x.test"), Some("HTTP://x.test"));
        assert_eq!(web_url("javascript:alert(1)"), None);
        assert_eq!(web_url("https://x.test/a b"), None);
        assert_eq!(web_url("https://x.test/\"onmouseover"), None);
        assert_eq!(web_url("/tmp/shot.png"), None);
        assert_eq!(web_url("https://"), None);
    }
}
