//! Splunk: the named SPL templates of the config, as searchable documents.
//!
//! In manual mode (the usual one: Splunk Cloud access is often not given) the templates are
//! all qapms knows of Splunk, and finding "the query for checkout errors" is what a QA needs.
//! They are listed in full every time (they are config, so cheap) and compared by
//! fingerprint. Saved searches over the REST API are not synced: the derived Splunk contract
//! qapms is tested against has no `saved/searches` endpoint.

use std::collections::BTreeMap;

use super::Ctx;
use super::cursor::fingerprint;
use super::snapshot::{Entry, Kind, write_listing};
use crate::Result;
use crate::config::SplunkTemplate;
use crate::model::{SearchDocument, utc_now};

/// The one scope: every template from the config.
pub(crate) const SCOPE: &str = "templates";
/// `doc_type` of a template.
pub(crate) const DOC_TYPE: &str = "template";

pub(crate) async fn run(
    cx: &mut Ctx<'_>,
    templates: &BTreeMap<String, SplunkTemplate>,
) -> Result<()> {
    let now = utc_now();
    let entries = templates
        .iter()
        .map(|(name, t)| {
            let print = fingerprint([
                name.as_str(),
                t.spl.as_str(),
                t.description.as_deref().unwrap_or(""),
                t.earliest.as_deref().unwrap_or(""),
                t.latest.as_deref().unwrap_or(""),
            ]);
            Entry::document(name.clone(), print, document(name, t, now))
        })
        .collect();
    write_listing(cx, SCOPE, Kind::Documents, entries, None).await
}

fn document(name: &str, t: &SplunkTemplate, now: chrono::DateTime<chrono::Utc>) -> SearchDocument {
    let mut body = String::new();
    if let Some(description) = &t.description {
        body.push_str(description);
        body.push('\n');
    }
    body.push_str(&t.spl);
    let mut fields = BTreeMap::new();
    fields.insert("spl".to_owned(), t.spl.clone());
    if let Some(earliest) = &t.earliest {
        fields.insert("earliest".to_owned(), earliest.clone());
    }
    if let Some(latest) = &t.latest {
        fields.insert("latest".to_owned(), latest.clone());
    }
    SearchDocument {
        source: "splunk".to_owned(),
        source_key: name.to_owned(),
        doc_type: DOC_TYPE.to_owned(),
        title: name.to_owned(),
        body,
        url: None,
        project: None,
        status: None,
        tags: Vec::new(),
        ticket_keys: Vec::new(),
        fields,
        updated_at: now,
    }
}
