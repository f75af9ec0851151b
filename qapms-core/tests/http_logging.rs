//! No credential ever reaches the logs, even at TRACE with bodies logged and errors echoed.

use std::io::Write;
use std::sync::{Arc, PoisonError, RwLock};

use qapms_core::http::{Auth, HttpClient, RetryPolicy};
use qapms_core::logging::Redactor;
use secrecy::SecretString;
use tracing_subscriber::fmt::MakeWriter;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "tok-9f8e7d6c5b4a";

#[derive(Clone, Default)]
struct Capture(Arc<RwLock<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn tokens_never_appear_in_logs_or_errors() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    // A hostile server that echoes the credential back in its error body.
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string(format!(r#"{{"errorMessages":["bad token {TOKEN}"]}}"#)),
        )
        .mount(&server)
        .await;
    let redactor = Redactor::new();
    redactor.add(&SecretString::from(TOKEN));
    let http = HttpClient::builder("jira", server.uri())
        .auth(Auth::Bearer(SecretString::from(TOKEN)))
        .redactor(redactor)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = http
        .get("/rest/api/3/myself")
        .query("access_token", TOKEN)
        .send()
        .await
        .unwrap_err();
    assert!(!err.to_string().contains(TOKEN), "{err}");
    assert!(!format!("{err:?}").contains(TOKEN));
    assert!(!format!("{http:?}").contains(TOKEN));

    let logs = String::from_utf8(capture.0.read().unwrap().clone()).unwrap();
    assert!(
        logs.contains("http.call"),
        "the call was logged at all: {logs}"
    );
    assert!(!logs.contains(TOKEN), "{logs}");
}
