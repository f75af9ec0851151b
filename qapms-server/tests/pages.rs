//! The page shell: sign-in and sign-out through forms, the five persona views with their
//! filters, navigation and accessibility landmarks, embedded assets, and the degraded banner.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use axum::http::{StatusCode, header};
use chrono::Utc;
use qapms_core::model::Role;
use qapms_core::store::NewAlert;
use qapms_server::ServerOptions;

use common::{PASSWORD, TestApp, get, raw_request, with_session};

fn options() -> ServerOptions {
    ServerOptions::default()
}

async fn login_page_renders_accessibly(app: TestApp) {
    let reply = app.send(get("/login")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let html = &reply.body;
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("class=\"skip-link\" href=\"#main\""));
    assert!(html.contains("<main id=\"main\""));
    assert!(html.contains("<label for=\"name\">"));
    assert!(html.contains("<label for=\"password\">"));
    assert!(html.contains("autocomplete=\"current-password\""));
    assert!(html.contains("No users exist yet"), "first-run hint");
    let csp = reply.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );
}

async fn form_sign_in_and_out(app: TestApp) {
    app.add_user("pat", Role::Pm, None).await;
    let form = |body: &str| {
        raw_request(
            "POST",
            "/login",
            "application/x-www-form-urlencoded",
            body.as_bytes().to_vec(),
        )
    };
    let reply = app.send(form("name=pat&password=nope")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body.contains("Wrong user name or password."));
    assert!(reply.body.contains("value=\"pat\""), "the name is kept");

    let body = format!("name=pat&password={}", PASSWORD.replace(' ', "+"));
    let reply = app.send(form(&body)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let cookie = reply.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    // Home sends a PM to the PM view.
    let mut home = get("/");
    home.headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    let reply = app.send(home).await;
    assert_eq!(reply.headers[header::LOCATION], "/dashboards/pm");

    let mut page = get("/dashboards/pm");
    page.headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    let reply = app.send(page).await;
    assert_eq!(reply.status, StatusCode::OK);
    let csrf = reply
        .body
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        reply
            .body
            .contains(&format!("<meta name=\"csrf-token\" content=\"{csrf}\">"))
    );

    let mut logout = raw_request(
        "POST",
        "/logout",
        "application/x-www-form-urlencoded",
        format!("_csrf={csrf}").into_bytes(),
    );
    logout
        .headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    let reply = app.send(logout).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.headers[header::LOCATION], "/login");
    let mut again = get("/dashboards/pm");
    again
        .headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    assert_eq!(app.send(again).await.status, StatusCode::SEE_OTHER);
}

async fn every_persona_view_renders(app: TestApp) {
    app.add_user("lead", Role::TechLead, Some("payments")).await;
    let session = app.login("lead").await;
    for (slug, heading) in [
        ("qa", "QA dashboard"),
        ("pm", "PM dashboard"),
        ("po", "PO dashboard"),
        ("tech-lead", "Tech Lead dashboard"),
        ("qa-manager", "QA Manager dashboard"),
    ] {
        let path = format!("/dashboards/{slug}?days=90&project=PAY");
        let reply = app.send(with_session(get(&path), &session, false)).await;
        assert_eq!(reply.status, StatusCode::OK, "{slug}: {}", reply.body);
        let html = &reply.body;
        assert!(html.contains(&format!("<h1>{heading}</h1>")), "{slug}");
        assert!(
            html.contains(&format!(
                "<a href=\"/dashboards/{slug}\" aria-current=\"page\">"
            )),
            "{slug}: the current view is marked"
        );
        assert_eq!(html.matches("aria-current=\"page\"").count(), 1);
        assert!(html.contains("<nav aria-label=\"Dashboards\">"));
        assert!(
            html.contains("days=90&#38;project=PAY\" aria-current=\"true\">90 days"),
            "{slug}: {html}"
        );
        assert!(html.contains("Showing the last 90 days of project <strong>PAY</strong>"));
        assert!(html.contains("No data yet."));
        assert!(
            html.contains("placeholder=\"payments\""),
            "the lead's team is the default"
        );
        assert!(html.contains("lead <span class=\"role\">(tech_lead)</span>"));
        assert!(html.contains("id=\"theme-toggle\""));
        assert!(!html.contains("class=\"banner\""), "no banner when healthy");
    }
    // Filter values are escaped; a project that is not a key is refused without echoing it.
    let reply = app
        .send(with_session(
            get("/dashboards/qa?team=%3Cscript%3E"),
            &session,
            false,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(!reply.body.contains("<script>"), "{}", reply.body);
    assert!(reply.body.contains("&#60;script&#62;"), "{}", reply.body);
    let reply = app
        .send(with_session(
            get("/dashboards/qa?project=%3Cscript%3E"),
            &session,
            false,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!reply.body.contains("<script>"), "{}", reply.body);
}

async fn banner_shows_an_integration_alert(app: TestApp) {
    app.add_user("qa", Role::Qa, None).await;
    let session = app.login("qa").await;
    app.store
        .raise_alert(&NewAlert {
            kind: "integration_down".to_owned(),
            fingerprint: "jira".to_owned(),
            title: "jira has been down since 09:00".to_owned(),
            severity: "critical".to_owned(),
            evidence: serde_json::json!({}),
            seen_at: Utc::now(),
        })
        .await
        .unwrap();
    let reply = app
        .send(with_session(get("/dashboards/qa"), &session, false))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("<div class=\"banner\" role=\"alert\">"));
    assert!(reply.body.contains("jira has been down since 09:00"));
    let health = app.send(get("/api/v1/health")).await;
    assert_eq!(
        health.status,
        StatusCode::OK,
        "an integration does not fail the probe"
    );
    assert_eq!(health.json()["status"], "degraded");
    assert_eq!(health.json()["alerts"][0]["kind"], "integration_down");
}

async fn assets_are_embedded(app: TestApp) {
    for (path, mime, needle) in [
        ("/assets/app.css", "text/css", "prefers-color-scheme: dark"),
        ("/assets/app.js", "javascript", "qapms-theme"),
        ("/assets/vendor/htmx-2.0.4.min.js", "javascript", "htmx"),
        (
            "/assets/vendor/htmx-LICENSE.txt",
            "text/plain",
            "Zero-Clause BSD",
        ),
    ] {
        let reply = app.send(get(path)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        let content_type = reply.headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(content_type.contains(mime), "{path}: {content_type}");
        assert!(reply.body.contains(needle), "{path}");
        assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}

for_each_backend!(super::options();
    login_page_renders_accessibly,
    form_sign_in_and_out,
    every_persona_view_renders,
    banner_shows_an_integration_alert,
    assets_are_embedded,
);

#[tokio::test]
async fn banner_shows_a_store_that_is_down() {
    let app = TestApp::sqlite(ServerOptions::default()).await;
    app.store.close().await;
    let reply = app.send(get("/login")).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the page degrades, it does not fail"
    );
    assert!(
        reply.body.contains("The store is unavailable"),
        "{}",
        reply.body
    );
    let health = app.send(get("/api/v1/health")).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json()["store"]["status"], "unavailable");
    // Signed-in API calls say the store is the problem, not the caller.
    let reply = app
        .send(common::with_bearer(get("/api/v1/me"), "qapms_anything"))
        .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error_code(), "STORE_UNAVAILABLE");
}
