//! Grafana: its health, recorded for the dashboard's integrations page, and its dashboards,
//! as searchable documents (a QA looking for "checkout latency" finds the board too).
//!
//! Annotations are not copied: qapms writes them (test runs, deploys) and reads them back
//! from Grafana when a timeline needs them, so a copy in the store would only go stale.

use std::collections::BTreeMap;

use super::Ctx;
use super::cursor::fingerprint;
use super::snapshot::{Entry, Kind, write_listing};
use crate::integrations::grafana::Grafana;
use crate::integrations::grafana::models::SearchHit;
use crate::integrations::{Health, Integration as _};
use crate::model::{SearchDocument, utc_now};
use crate::store::IntegrationCheck;
use crate::{Error, ErrorKind, Result};

pub(crate) const SCOPE: &str = "dashboards";
pub(crate) const DOC_TYPE: &str = "dashboard";

pub(crate) async fn run(cx: &mut Ctx<'_>, client: &Grafana) -> Result<()> {
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
    write_listing(cx, SCOPE, Kind::Documents, entries, None).await
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
