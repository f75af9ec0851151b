//! Code lenses above tests: "flaky 0.31 (±0.08)", "failing since Tue: cluster #a1b2", or the
//! recent pass count, from the store's results. Tests the store does not know get no lens.
//! Clicking one shows the test's hover text through the client (`qapms.showTest`).

use tower_lsp_server::ls_types::{CodeLens, CodeLensParams, Command};

use super::cluster_tag;
use crate::session::Session;
use crate::workspace::{TestHistory, Workspace};

/// Tests per file that get a lens (each costs a few store reads).
const MAX_LENSES: usize = 300;

pub(crate) async fn code_lens(session: &Session, params: CodeLensParams) -> Option<Vec<CodeLens>> {
    let doc = session.document(&params.text_document.uri).await?;
    let ws = session.workspace();
    ws.store.as_ref()?;
    let tests = doc.tests();
    let rel = ws.relative_path(&doc.path);
    let mut lenses = Vec::new();
    for item in tests.items.iter().filter(|t| !t.is_group).take(MAX_LENSES) {
        let keys = item.keys(&rel, tests.package.as_deref());
        let Some(id) = ws.resolve_test(&keys).await else {
            continue;
        };
        let Some(history) = ws.test_history(id).await else {
            continue;
        };
        lenses.push(CodeLens {
            range: doc.range(item.line_range.clone()),
            command: Some(Command {
                title: lens_title(&ws, &history),
                command: "qapms.showTest".to_owned(),
                arguments: Some(vec![serde_json::json!({
                    "uri": doc.uri.as_str(),
                    "testId": history.id.to_string(),
                })]),
            }),
            data: None,
        });
    }
    Some(lenses)
}

pub(crate) fn lens_title(_ws: &Workspace, h: &TestHistory) -> String {
    let mut parts = Vec::new();
    if let Some(since) = h.failing_since {
        let mut text = format!("failing since {}", since.format("%a"));
        if let Some(c) = &h.cluster {
            text.push_str(": cluster ");
            text.push_str(&cluster_tag(&c.fingerprint));
        }
        parts.push(text);
    }
    let f = &h.flakiness;
    if f.verdict.as_str() == "flaky" {
        let (lo, hi) = f.score_interval;
        parts.push(format!("flaky {:.2} (±{:.2})", f.score, (hi - lo) / 2.0));
    }
    if parts.is_empty() {
        let recent: Vec<_> = h.results.iter().take(10).collect();
        let passed = recent
            .iter()
            .filter(|(r, _)| r.status == qapms_core::model::TestStatus::Passed)
            .count();
        parts.push(format!("passed {passed}/{} recent", recent.len()));
    }
    parts.join(" · ")
}
