//! The Splunk client against a Prism mock started from the derived contract: every request
//! (paths, query, form bodies, auth) must be one Prism accepts. As in `testmo_prism.rs`, only
//! acceptance is checked, since Prism's invented bodies need not make sense (a `dispatchState`
//! of "string" never finishes, so the job is not waited on here). Without Prism or the
//! contracts the test says so and passes.

#![cfg(feature = "splunk")]

#[path = "support/mod.rs"]
mod support;

use futures::StreamExt as _;
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::splunk::Splunk;
use qapms_core::integrations::splunk::models::SearchId;
use secrecy::SecretString;
use support::accepted;

#[tokio::test]
async fn prism_accepts_every_request_the_client_makes() {
    let (Some(prism), Some(spec)) = (
        support::find_prism(),
        support::spec_path("splunk/splunk-search-rest.derived.yaml"),
    ) else {
        eprintln!(
            "skipped: needs prism (QAPMS_PRISM, PATH or node_modules) and ../shared/contracts"
        );
        return;
    };
    let mock = support::start_prism(&prism, &spec).await;
    for splunk in [
        Splunk::builder(mock.url.clone()).token(SecretString::from("prism-token")),
        Splunk::builder(mock.url.clone()).basic_auth("admin", SecretString::from("changeme")),
    ] {
        let splunk = splunk.retry(RetryPolicy::none()).build().unwrap();
        accepted("server_info", splunk.server_info().await);
        let sid = splunk
            .jobs()
            .create("index=app error")
            .earliest("-24h")
            .latest("now")
            .max_count(10)
            .send()
            .await;
        accepted("jobs.create", sid);
        let sid = SearchId("1701388800.42".into());
        accepted("jobs.status", splunk.jobs().status(&sid).await);
        accepted("jobs.cancel", splunk.jobs().cancel(&sid).await);
        if let Some(row) = splunk
            .export("index=app | stats count by host")
            .earliest("-1h")
            .stream()
            .next()
            .await
        {
            accepted("export", row);
        }
    }
}
