//! Grafana: its health, recorded for the dashboard's integrations page; its dashboards, as
//! searchable documents (a QA looking for "checkout latency" finds the board too); and its
//! annotations of infrastructure trouble, as external signals for failure classification.
//!
//! **Signals.** An annotation carrying one of the configured `signal_tags` (by default
//! `incident`, `outage`, `alert`) says the infrastructure was unwell at its time, which is the
//! evidence the classifier's systemic rule looks for (see [`crate::patterns::classify`]).
//! Grafana has no change feed for annotations, and an annotation can be deleted, edited or
//! added with a time in the past, so each sync reads the whole [`SIGNAL_HISTORY`] the
//! classifier looks at (newest first and capped per call, so the window is walked backwards
//! page by page until a short page) and replaces the stored Grafana signals of that window in
//! one transaction: a deleted annotation's signal leaves, a backdated one arrives, an edited
//! one is rewritten, keyed by annotation id. Reading from a cursor instead would miss the last
//! two. The listing cannot filter by tag server-side (Grafana matches tags exactly, the signal
//! tags match any case), so it reads every annotation of the window; older signals are kept as
//! history. Other annotations (deploys, test runs qapms marked) are not copied: they are read
//! from Grafana when a timeline needs them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::Ctx;
use super::cursor::{fingerprint, format_time};
use super::snapshot::{Entry, Kind, write_listing};
use crate::integrations::grafana::Grafana;
use crate::integrations::grafana::models::SearchHit;
use crate::integrations::{AnnotationFilter, Health, Integration as _};
use crate::model::{SearchDocument, utc_now};
use crate::patterns::classify::{ExternalSignal, SignalSource};
use crate::store::{IntegrationCheck, SignalWindow, SyncedSignal};
use crate::{Error, ErrorKind, Result};

pub(crate) const SCOPE: &str = "dashboards";
pub(crate) const DOC_TYPE: &str = "dashboard";
/// The scope of the annotation signals.
pub(crate) const SIGNALS_SCOPE: &str = "annotations";
/// How far back each sync reads annotations: the failure-rate window of the analysis.
pub(crate) const SIGNAL_HISTORY: chrono::Duration = chrono::Duration::days(30);
/// Annotations per listing call.
const ANNOTATION_PAGE: u32 = 1000;
/// Listing calls per sync at most, so a server that ignores `to` cannot keep us paging.
const MAX_ANNOTATION_PAGES: usize = 1000;

pub(crate) async fn run(cx: &mut Ctx<'_>, client: &Grafana, signal_tags: &[String]) -> Result<()> {
    let report = cx.cancel.guard(async { Ok(client.health().await) }).await?;
    cx.store
        .record_integration_check(&IntegrationCheck {
            integration: "grafana".to_owned(),
            checked_at: utc_now(),
            healthy: report.health == Health::Ok,
            latency_ms: u64::try_from(report.latency.as_millis()).ok(),
            message: report.detail.clone(),
        })
        .await?;
    if matches!(report.health, Health::Unauthorized | Health::Unreachable) {
        return Err(Error::new(
            if report.health == Health::Unauthorized {
                ErrorKind::Unauthorized
            } else {
                ErrorKind::Upstream
            },
            format!(
                "Grafana is {}: {}",
                if report.health == Health::Unauthorized {
                    "refusing the token"
                } else {
                    "unreachable"
                },
                report.detail.unwrap_or_default()
            ),
        ));
    }
    let hits = cx.cancel.guard(client.dashboards().search().send()).await?;
    let site = client.endpoint();
    let now = utc_now();
    let entries = hits
        .into_iter()
        .filter(|h| h.kind.as_deref().is_none_or(|k| k == "dash-db"))
        .map(|hit| {
            let tags = hit.tags.join("\u{1f}");
            let print = fingerprint([
                hit.title.as_str(),
                hit.url.as_deref().unwrap_or(""),
                hit.folder_title.as_deref().unwrap_or(""),
                tags.as_str(),
            ]);
            Entry::document(hit.uid.to_string(), print, document(&hit, &site, now))
        })
        .collect();
    write_listing(cx, SCOPE, Kind::Documents, entries, None).await?;
    sync_signals(cx, client, signal_tags).await
}

async fn sync_signals(cx: &mut Ctx<'_>, client: &Grafana, signal_tags: &[String]) -> Result<()> {
    if signal_tags.is_empty() {
        return Ok(());
    }
    let now = utc_now();
    let from = now - SIGNAL_HISTORY;
    let mut found: BTreeMap<u64, (DateTime<Utc>, ExternalSignal)> = BTreeMap::new();
    let mut to = now;
    // Whether the listing got to the window's start; the page cap can stop it first.
    let mut complete = false;
    for _ in 0..MAX_ANNOTATION_PAGES {
        let filter = AnnotationFilter {
            from: Some(from),
            to: Some(to),
            limit: Some(ANNOTATION_PAGE),
            ..AnnotationFilter::default()
        };
        let page = cx.cancel.guard(client.annotations().list(&filter)).await?;
        let full_page = page.len() >= ANNOTATION_PAGE as usize;
        let mut oldest = to;
        for record in page {
            let annotation = record.to_annotation()?;
            oldest = oldest.min(annotation.time);
            let Some(tag) = annotation
                .tags
                .iter()
                .find(|t| signal_tags.iter().any(|s| s.eq_ignore_ascii_case(t)))
            else {
                continue;
            };
            let text = annotation.text.trim();
            let name = if text.is_empty() {
                tag.clone()
            } else {
                format!("{tag}: {}", clip(text, 200))
            };
            found.insert(
                record.id,
                (
                    annotation.time,
                    ExternalSignal {
                        source: SignalSource::Grafana,
                        at: annotation.time,
                        name,
                        value: 1.0,
                    },
                ),
            );
        }
        // A short page is the end of the window; a full one continues below its oldest
        // annotation (the boundary millisecond is read twice and kept once, by id).
        if !full_page || oldest <= from || oldest >= to {
            complete = true;
            break;
        }
        to = oldest;
    }
    cx.counts.seen += found.len() as u64;
    let mut signals: Vec<(DateTime<Utc>, SyncedSignal)> = found
        .into_iter()
        .map(|(id, (at, signal))| {
            (
                at,
                SyncedSignal {
                    key: id.to_string(),
                    signal,
                },
            )
        })
        .collect();
    signals.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.key.cmp(&b.1.key)));
    // One batch whatever the batch size: the window is replaced as a whole, so a signal
    // deleted upstream leaves in the same transaction that writes the others, and signals are
    // rows of a few dozen bytes.
    let mut batch = cx.batch(SIGNALS_SCOPE);
    batch.cursor = signals.last().map(|(at, _)| format_time(*at));
    batch.signals = signals.into_iter().map(|(_, s)| s).collect();
    batch.replace_signals = Some(SignalWindow {
        source: SignalSource::Grafana,
        // Cut short, only what was read is replaced: nothing unread is deleted.
        from: if complete { from } else { to },
        to: now,
    });
    batch.full = complete;
    cx.counts.written += batch.signals.len() as u64;
    let outcome = cx.commit(&batch, |_| Vec::new()).await?;
    cx.counts.deleted += outcome.deleted_signals;
    cx.counts.scopes += 1;
    Ok(())
}

/// The first `max` characters of `text`.
fn clip(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(i, _)| &text[..i])
}

fn document(hit: &SearchHit, site: &str, now: chrono::DateTime<chrono::Utc>) -> SearchDocument {
    let mut fields = BTreeMap::new();
    if let Some(folder) = &hit.folder_title {
        fields.insert("folder".to_owned(), folder.clone());
    }
    // Search hits carry a site-relative URL; the base URL may end in `/api`.
    let url = hit.url.as_ref().map(|u| {
        let base = site.trim_end_matches('/').trim_end_matches("/api");
        format!("{base}{u}")
    });
    SearchDocument {
        source: "grafana".to_owned(),
        source_key: hit.uid.to_string(),
        doc_type: DOC_TYPE.to_owned(),
        title: hit.title.clone(),
        body: hit.folder_title.clone().unwrap_or_default(),
        url,
        project: None,
        status: None,
        tags: hit.tags.clone(),
        ticket_keys: Vec::new(),
        fields,
        updated_at: now,
    }
}
