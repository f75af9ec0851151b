//! The Grafana client against a Prism mock started from Grafana's swagger (11.4.0): Prism
//! rejects any request that breaks the contract (path, query parameters, body, auth), so every
//! call succeeding shows the requests the client builds are ones Grafana documents.
//!
//! Prism 5.14.2 loads this Swagger 2.0 document (it converts it to OpenAPI 3 on load) and
//! serves its paths at `/`, without the `/api` base path, so the client is pointed at the mock
//! with `api_root()`; against a real server the builder appends `/api` itself.
//!
//! Prism (`@stoplight/prism-cli@5.14.2`) is found as `QAPMS_PRISM`, on `PATH`, or in a
//! `node_modules/.bin` above the crate; the spec in `../shared/contracts`. Without either the
//! test says so and passes, like the other contract tests.

#![cfg(feature = "grafana")]

mod contract;

use chrono::Utc;
use contract::{accepted, contract_path, find_prism, start_prism};
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::grafana::{DashboardUid, Grafana};
use qapms_core::integrations::{AnnotationFilter, Health, Integration as _};
use secrecy::SecretString;
use serde_json::json;

#[tokio::test]
async fn prism_accepts_every_request_the_grafana_client_makes() {
    let (Some(prism), Some(spec)) = (
        find_prism(),
        contract_path("grafana/grafana-http-api-11.4.0.swagger2.json"),
    ) else {
        eprintln!(
            "skipped: needs prism (QAPMS_PRISM, PATH or node_modules) and ../shared/contracts"
        );
        return;
    };
    let mock = start_prism(&prism, &spec).await;
    let grafana = Grafana::builder(mock.url.clone())
        .api_root()
        .token(SecretString::from("glsa_prism_test_token"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let now = Utc::now();

    accepted("health", grafana.server_health().await);
    accepted(
        "dashboards.search",
        grafana
            .dashboards()
            .search()
            .query("prod")
            .tag("prod")
            .folder("l3KqBxCMz")
            .starred()
            .limit(10)
            .send()
            .await,
    );
    accepted(
        "dashboards.get",
        grafana
            .dashboards()
            .get(&DashboardUid::new("cIBgcSjkk"))
            .await,
    );
    let filter = AnnotationFilter {
        from: Some(now - chrono::Duration::days(1)),
        to: Some(now),
        tags: vec!["deploy".into(), "qapms".into()],
        dashboard_uid: Some("cIBgcSjkk".into()),
        panel_id: Some(2),
        limit: Some(100),
    };
    accepted(
        "annotations.list",
        grafana.annotations().list(&filter).await,
    );
    accepted(
        "annotations.create",
        grafana
            .annotations()
            .create("Regression run 412", now - chrono::Duration::minutes(30))
            .time_end(now)
            .tags(["qapms", "test-run"])
            .dashboard("cIBgcSjkk")
            .panel(2)
            .send()
            .await,
    );
    accepted(
        "ds.query",
        grafana
            .datasources()
            .query("P1809F7CD0C75ACF3", now - chrono::Duration::hours(1), now)
            .target("A", json!({"expr": "up"}))
            .interval(std::time::Duration::from_mins(1))
            .send_raw()
            .await,
    );
    // Prism makes up `"database": "string"`, which the client rightly calls degraded; what
    // matters here is that the token was accepted and the server reached.
    let report = grafana.health().await;
    assert_eq!(report.health, Health::Degraded, "{report:?}");
    assert!(report.detail.unwrap().contains("database"));
}
