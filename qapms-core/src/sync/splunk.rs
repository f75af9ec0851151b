//! Splunk: the named SPL templates of the config and, in REST mode, the saved searches, as
//! searchable documents.
//!
//! In manual mode (the usual one: Splunk Cloud access is often not given) the templates are
//! all qapms knows of Splunk, and finding "the query for checkout errors" is what a QA needs.
//! In REST mode the saved searches (reports and alerts the team already wrote) are listed
//! too. Both are listed in full every time (a few hundred entries at most) and compared by
//! fingerprint, so an edit is re-indexed and a deleted or renamed saved search leaves the
//! index. `saved/searches` is not in the derived Splunk contract; its reader follows Splunk's
//! REST reference (the Atom feed as JSON: `entry[].name`, `content.search`, `acl.app`).

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
/// The scope and `doc_type` of the saved searches.
#[cfg(feature = "splunk")]
pub(crate) const SAVED_SCOPE: &str = "saved_searches";
#[cfg(feature = "splunk")]
pub(crate) const SAVED_DOC_TYPE: &str = "saved_search";

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

/// The searchable text of a search (its description, then its SPL) and its named fields.
fn spl_text(
    spl: &str,
    description: Option<&String>,
    named: [(&str, Option<&String>); 4],
) -> (String, BTreeMap<String, String>) {
    let mut body = String::new();
    if let Some(description) = description {
        body.push_str(description);
        body.push('\n');
    }
    body.push_str(spl);
    let mut fields = BTreeMap::new();
    fields.insert("spl".to_owned(), spl.to_owned());
    for (name, value) in named {
        if let Some(value) = value {
            fields.insert(name.to_owned(), value.clone());
        }
    }
    (body, fields)
}

fn document(name: &str, t: &SplunkTemplate, now: chrono::DateTime<chrono::Utc>) -> SearchDocument {
    let (body, fields) = spl_text(
        &t.spl,
        t.description.as_ref(),
        [
            ("earliest", t.earliest.as_ref()),
            ("latest", t.latest.as_ref()),
            ("app", None),
            ("owner", None),
        ],
    );
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

/// Lists every saved search and writes the listing; see the module note.
#[cfg(feature = "splunk")]
pub(crate) async fn saved_searches(
    cx: &mut Ctx<'_>,
    client: &crate::integrations::splunk::Splunk,
) -> Result<()> {
    let now = utc_now();
    let entries = client
        .saved_searches()
        .await?
        .into_iter()
        .map(|saved| {
            let key = saved.key();
            let print = fingerprint([
                key.as_str(),
                saved.search.as_str(),
                saved.description.as_deref().unwrap_or(""),
                saved.earliest.as_deref().unwrap_or(""),
                saved.latest.as_deref().unwrap_or(""),
                if saved.disabled { "disabled" } else { "" },
                if saved.scheduled { "scheduled" } else { "" },
                saved.url.as_deref().unwrap_or(""),
            ]);
            Entry::document(key, print, saved_document(saved, now))
        })
        .collect();
    write_listing(cx, SAVED_SCOPE, Kind::Documents, entries, None).await
}

#[cfg(feature = "splunk")]
fn saved_document(
    saved: crate::integrations::splunk::models::SavedSearch,
    now: chrono::DateTime<chrono::Utc>,
) -> SearchDocument {
    let key = saved.key();
    let (body, fields) = spl_text(
        &saved.search,
        saved.description.as_ref(),
        [
            ("earliest", saved.earliest.as_ref()),
            ("latest", saved.latest.as_ref()),
            ("app", saved.app.as_ref()),
            ("owner", saved.owner.as_ref()),
        ],
    );
    let status = if saved.disabled {
        Some("disabled")
    } else if saved.scheduled {
        Some("scheduled")
    } else {
        None
    };
    SearchDocument {
        source: "splunk".to_owned(),
        source_key: key,
        doc_type: SAVED_DOC_TYPE.to_owned(),
        title: saved.name,
        body,
        url: saved.url,
        project: None,
        status: status.map(str::to_owned),
        tags: Vec::new(),
        ticket_keys: Vec::new(),
        fields,
        updated_at: saved.updated.unwrap_or(now),
    }
}
