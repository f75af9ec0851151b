//! Testmo: the case repository of each configured project.
//!
//! Testmo's case listing has no "changed since" filter, so each sync lists a project's cases
//! in full (100 per page, with the folder tree for paths) and writes only the cases whose
//! title, folder or tags changed. A case deleted in Testmo is deleted here too, unless stored
//! results refer to it: then it stays, so its history is not lost (the report counts it as
//! kept). Runs are not synced: results reach the store from `JUnit` and the pytest plugin, with
//! every attempt, which Testmo's run listing does not give.

use futures::StreamExt as _;

use super::Ctx;
use super::cursor::fingerprint;
use super::snapshot::{Entry, Kind, write_listing};
use crate::Result;
use crate::integrations::TestCaseSource as _;
use crate::integrations::testmo::Testmo;
use crate::model::TestSource;
use crate::store::SyncedCase;

pub(crate) fn scope(project: u64) -> String {
    format!("project:{project}")
}

pub(crate) async fn run(cx: &mut Ctx<'_>, client: &Testmo, projects: &[u64]) -> Result<()> {
    if projects.is_empty() {
        return Err(crate::Error::config(
            "integrations.testmo.projects is empty: list the Testmo project ids to sync",
        ));
    }
    for &project in projects {
        let mut cases = client.test_cases(&project.to_string());
        let mut entries = Vec::new();
        while let Some(case) = cx.cancel.guard(async { Ok(cases.next().await) }).await? {
            let case = case?;
            let tags = case.tags.join("\u{1f}");
            let print = fingerprint([
                case.title.as_str(),
                case.folder_path.as_deref().unwrap_or("\u{0}"),
                tags.as_str(),
            ]);
            entries.push(Entry::case(
                print,
                SyncedCase {
                    source: TestSource::Testmo,
                    external_id: case.external_id,
                    title: case.title,
                    folder_path: case.folder_path,
                    tags: case.tags,
                },
            ));
        }
        write_listing(
            cx,
            &scope(project),
            Kind::Cases(TestSource::Testmo),
            entries,
            None,
        )
        .await?;
    }
    Ok(())
}
