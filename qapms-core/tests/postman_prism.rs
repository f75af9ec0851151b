//! The Postman client against a Prism mock started from the Postman API definition 1.45.0:
//! Prism rejects any request that breaks the contract (path, query parameters, the
//! `X-API-Key` security scheme), so every call succeeding shows the requests the client builds
//! are ones Postman documents. Prism answers with the spec's examples, which the models read.
//!
//! Prism (`@stoplight/prism-cli@5.14.2`) is found as `QAPMS_PRISM`, on `PATH`, or in a
//! `node_modules/.bin` above the crate; the spec in `../shared/contracts`. Without either the
//! test says so and passes, like the other contract tests.

#![cfg(feature = "postman")]

mod contract;

use contract::{accepted, contract_path, find_prism, start_prism};
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::postman::{CollectionId, EnvironmentId, Postman, WorkspaceId};
use secrecy::SecretString;

#[tokio::test]
async fn prism_accepts_every_request_the_postman_client_makes() {
    let (Some(prism), Some(spec)) = (
        find_prism(),
        contract_path("postman/postman-api-1.45.0.yaml"),
    ) else {
        eprintln!(
            "skipped: needs prism (QAPMS_PRISM, PATH or node_modules) and ../shared/contracts"
        );
        return;
    };
    let mock = start_prism(&prism, &spec).await;
    let postman = Postman::builder(mock.url.clone())
        .api_key(SecretString::from("PMAK-prism-test-key"))
        .workspace(WorkspaceId::new("1f0df51a-8658-4ee8-a2a1-d2567dfa09a9"))
        .retry(RetryPolicy::none())
        .rate_limit(None)
        // Prism's list example claims 192 collections in pages of 3, so paging makes ~64
        // calls; the 10 per 10 s budget would turn that into a minute of waiting.
        .list_rate_limit(None)
        .build()
        .unwrap();

    let me = postman.me().await;
    accepted("me", me);
    accepted("workspaces.list", postman.workspaces().list().await);
    accepted(
        "workspaces.get",
        postman
            .workspaces()
            .get(&WorkspaceId::new("1f0df51a-8658-4ee8-a2a1-d2567dfa09a9"))
            .await,
    );
    let collections = postman.collections().list().send().await;
    accepted("collections.list", collections);
    accepted(
        "collections.list by name",
        postman
            .collections()
            .list()
            .all_workspaces()
            .name("Test")
            .send()
            .await,
    );
    let collection = postman
        .collections()
        .get(&CollectionId::new(
            "12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2",
        ))
        .await;
    accepted("collections.get", collection);
    accepted("environments.list", postman.environments().list().await);
    accepted(
        "environments.get",
        postman
            .environments()
            .get(&EnvironmentId::new("5daabc50-8451-43f6-922d-96b403b4f28e"))
            .await,
    );

    // And the examples Prism serves decode: the client reads what the contract sends.
    assert_eq!(postman.me().await.unwrap().user.id, 12_345_678);
    let collection = postman
        .collections()
        .get(&CollectionId::new(
            "12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2",
        ))
        .await
        .unwrap();
    assert!(!collection.flatten().is_empty());
}
