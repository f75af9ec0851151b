//! The loopback redirect listener of a browser sign-in (RFC 8252 §7.3).
//!
//! The CLI and the editor cannot receive a redirect on a public URL, so they listen on
//! `127.0.0.1` (never `0.0.0.0`: the code must not be reachable from the network) on a port the
//! OS picks, or on a fixed one for providers that match the registered redirect URI exactly.
//! The browser comes back to `http://127.0.0.1:<port>/callback?code=…&state=…`.
//!
//! What arrives is untrusted: any local process or web page can send requests to the port. So
//! the listener reads at most [`MAX_HEAD`] bytes per connection with a deadline, answers only
//! `GET /callback`, and accepts a code only with the `state` it was given (a mismatch is
//! answered 400 and waiting goes on, so a stray request cannot end a sign-in). The browser gets
//! a small page saying what happened; the code itself is never echoed or logged.

use std::time::Duration;

use secrecy::SecretString;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::{Error, ErrorKind, Result};

/// The most of a request head read from one connection.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request head.
const READ_DEADLINE: Duration = Duration::from_secs(10);

/// A listener on `127.0.0.1` waiting for one authorization redirect.
#[derive(Debug)]
pub struct RedirectListener {
    listener: TcpListener,
    port: u16,
}

/// What a request to the listener said.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Callback {
    /// `GET /callback` with a code.
    Code { code: String, state: Option<String> },
    /// `GET /callback` with an error from the provider (`access_denied`...).
    Denied {
        error: String,
        description: Option<String>,
        state: Option<String>,
    },
    /// `GET /callback` with neither.
    Incomplete,
    /// Some other path (a favicon) or method.
    Other,
    /// Not an HTTP request head.
    Malformed,
}

/// Reads the request line of `head` (bytes up to the blank line).
pub(crate) fn parse_callback(head: &[u8]) -> Callback {
    let Some(line_end) = head.windows(2).position(|w| w == b"\r\n") else {
        return Callback::Malformed;
    };
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return Callback::Malformed;
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Callback::Malformed;
    };
    if !version.starts_with("HTTP/1.") {
        return Callback::Malformed;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if method != "GET" || path != "/callback" {
        return Callback::Other;
    }
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match key.as_ref() {
            "code" => &mut code,
            "state" => &mut state,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        // The first value wins; a repeated parameter cannot replace it.
        if slot.is_none() {
            *slot = Some(value.into_owned());
        }
    }
    match (code, error) {
        (_, Some(error)) => Callback::Denied {
            error,
            description,
            state,
        },
        (Some(code), None) if !code.is_empty() => Callback::Code { code, state },
        _ => Callback::Incomplete,
    }
}

impl RedirectListener {
    /// Listens on `127.0.0.1:port`, or on a free port when `port` is `None`.
    pub async fn bind(port: Option<u16>) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!(
                        "cannot listen on 127.0.0.1:{} for the sign-in redirect",
                        port.unwrap_or(0)
                    ),
                )
                .with_source(e)
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::from(e).with_context("operation", "local address"))?
            .port();
        Ok(Self { listener, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    /// Waits up to `timeout` for a redirect carrying `state`, and returns its code.
    pub async fn wait(self, state: &str, timeout: Duration) -> Result<SecretString> {
        let waiting = async {
            loop {
                let (stream, _) = match self.listener.accept().await {
                    Ok(conn) => conn,
                    Err(err) => {
                        tracing::debug!(error = %err, "accepting a redirect connection failed");
                        continue;
                    }
                };
                if let Some(outcome) = handle(stream, state).await {
                    return outcome;
                }
            }
        };
        match tokio::time::timeout(timeout, waiting).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::new(
                ErrorKind::Unauthorized,
                format!(
                    "no sign-in came back within {} s; run the login again and finish it in the browser",
                    timeout.as_secs()
                ),
            )),
        }
    }
}

/// Serves one connection; `Some` ends the wait.
async fn handle(mut stream: TcpStream, state: &str) -> Option<Result<SecretString>> {
    let head = match tokio::time::timeout(READ_DEADLINE, read_head(&mut stream)).await {
        Ok(Ok(head)) => head,
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "reading a redirect request failed");
            return None;
        }
        Err(_) => return None,
    };
    let callback = parse_callback(&head);
    let (status, title, text, outcome) = match callback {
        Callback::Code {
            code,
            state: Some(got),
        } if got == state => (
            "200 OK",
            "Signed in",
            "qapms is signed in. You can close this tab and go back to the terminal or editor.",
            Some(Ok(SecretString::from(code))),
        ),
        Callback::Code { .. } | Callback::Denied { .. } | Callback::Incomplete
            if !state_matches(&callback, state) =>
        {
            tracing::warn!("a sign-in redirect arrived with the wrong state; ignored");
            (
                "400 Bad Request",
                "Sign-in not accepted",
                "This sign-in response does not belong to the sign-in qapms started. Start it again from qapms.",
                None,
            )
        }
        Callback::Denied {
            error, description, ..
        } => {
            let description = description
                .map(|d| format!(": {}", clean(&d)))
                .unwrap_or_default();
            (
                "200 OK",
                "Sign-in refused",
                "The sign-in was refused. Go back to qapms for details.",
                Some(Err(Error::new(
                    ErrorKind::Unauthorized,
                    format!(
                        "the provider refused the sign-in ({}){description}",
                        clean(&error)
                    ),
                ))),
            )
        }
        Callback::Code { .. } | Callback::Incomplete => (
            "400 Bad Request",
            "Sign-in incomplete",
            "The sign-in response has no code. Start it again from qapms.",
            None,
        ),
        Callback::Other => ("404 Not Found", "Not found", "Nothing here.", None),
        Callback::Malformed => ("400 Bad Request", "Bad request", "Bad request.", None),
    };
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>qapms: {title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{text}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    if let Err(err) = stream.write_all(response.as_bytes()).await {
        tracing::debug!(error = %err, "answering a redirect request failed");
    }
    let _ = stream.shutdown().await;
    outcome
}

fn state_matches(callback: &Callback, expected: &str) -> bool {
    match callback {
        Callback::Code { state, .. } | Callback::Denied { state, .. } => {
            state.as_deref() == Some(expected)
        }
        _ => false,
    }
}

/// Provider text for a message: printable, short.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0_u8; 2048];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(head);
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.len() >= MAX_HEAD {
            head.truncate(MAX_HEAD);
            return Ok(head);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_with_code_and_state_is_read() {
        let head = b"GET /callback?code=abc%2F1&state=xyz HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            parse_callback(head),
            Callback::Code {
                code: "abc/1".to_owned(),
                state: Some("xyz".to_owned())
            }
        );
    }

    #[test]
    fn errors_other_paths_and_garbage_are_told_apart() {
        assert!(matches!(
            parse_callback(b"GET /callback?error=access_denied&state=s HTTP/1.1\r\n\r\n"),
            Callback::Denied { .. }
        ));
        assert_eq!(
            parse_callback(b"GET /favicon.ico HTTP/1.1\r\n\r\n"),
            Callback::Other
        );
        assert_eq!(
            parse_callback(b"POST /callback?code=a HTTP/1.1\r\n\r\n"),
            Callback::Other
        );
        assert_eq!(parse_callback(b"\xff\xfe\r\n"), Callback::Malformed);
        assert_eq!(parse_callback(b"GET /callback"), Callback::Malformed);
        assert_eq!(
            parse_callback(b"GET /callback?state=s HTTP/1.1\r\n\r\n"),
            Callback::Incomplete
        );
    }

    #[test]
    fn a_repeated_code_cannot_replace_the_first() {
        assert_eq!(
            parse_callback(b"GET /callback?code=one&code=two&state=s HTTP/1.1\r\n\r\n"),
            Callback::Code {
                code: "one".to_owned(),
                state: Some("s".to_owned())
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_callback(&bytes);
        }

        #[test]
        fn request_lines_parse_without_panicking(target in "\\PC{0,200}") {
            let head = format!("GET {target} HTTP/1.1\r\n\r\n");
            let _ = parse_callback(head.as_bytes());
        }
    }
}
