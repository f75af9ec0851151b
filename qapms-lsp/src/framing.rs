//! The frames between the editor and tower-lsp-server, checked before tower-lsp sees them.
//!
//! tower-lsp-server reads stdin through a `FramedRead`, and a `FramedRead` ends its stream after
//! the first decode error: one body that is not JSON (or not UTF-8, or a header without a
//! length) and the server answers that one message with a parse error, then never reads
//! another. An editor with a buggy extension would see the server go silent. So the input
//! goes through [`Deframer`] first ([`pump`]): every well-formed message passes to tower-lsp
//! unchanged, and a malformed one never reaches it. Its answer, the JSON-RPC error the
//! protocol names (`-32700` for what is not JSON, `-32600` for JSON that is not a message, with
//! a null id since none could be read), goes out through [`merge`], which writes tower-lsp's
//! frames and these errors to the client whole, never interleaved mid-frame.

use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc;

/// A header block longer than this has no end the server is willing to wait for.
const MAX_HEADER: usize = 8 * 1024;
/// The largest body accepted; a longer one is skipped unread (a 64 MiB document is already far
/// beyond what an editor sends).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// What the deframer made of the next frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A JSON-RPC message, as the client sent it.
    Message(Vec<u8>),
    /// Not a message: the JSON-RPC error code and why.
    Malformed { code: i64, reason: String },
}

/// `body` with its `Content-Length` header.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// The error response to a malformed frame.
fn error_response(code: i64, reason: &str) -> Vec<u8> {
    let body = json!({
        "jsonrpc": "2.0",
        "error": { "code": code, "message": reason },
        "id": null,
    });
    framed(body.to_string().as_bytes())
}

#[derive(Debug)]
enum State {
    Headers,
    Body(usize),
    /// Discarding an oversized body: this many bytes are left.
    Skip(usize),
}

/// Splits a byte stream into LSP frames (`Content-Length` headers, `\r\n\r\n`, a body) and
/// checks each body. Pure and synchronous, so it is property-tested on its own.
#[derive(Debug)]
pub(crate) struct Deframer {
    buf: Vec<u8>,
    state: State,
    /// Check each body (the client's input); tower-lsp's own output is only split.
    check: bool,
}

impl Default for Deframer {
    fn default() -> Self {
        Self {
            buf: Vec::new(),
            state: State::Headers,
            check: true,
        }
    }
}

impl Deframer {
    /// A deframer that only splits frames (for output known to be well-formed).
    fn unchecked() -> Self {
        Self {
            check: false,
            ..Self::default()
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, or `None` until more bytes arrive.
    pub(crate) fn next_frame(&mut self) -> Option<Frame> {
        loop {
            match self.state {
                State::Skip(left) => {
                    let n = left.min(self.buf.len());
                    self.buf.drain(..n);
                    if n < left {
                        self.state = State::Skip(left - n);
                        return None;
                    }
                    self.state = State::Headers;
                }
                State::Body(len) => {
                    if self.buf.len() < len {
                        return None;
                    }
                    let body: Vec<u8> = self.buf.drain(..len).collect();
                    self.state = State::Headers;
                    // An empty body carries nothing to answer (tower-lsp skips it too).
                    if !body.is_empty() {
                        return Some(if self.check {
                            check_body(body)
                        } else {
                            Frame::Message(body)
                        });
                    }
                }
                State::Headers => {
                    let end = find(&self.buf, b"\r\n\r\n");
                    if end.map_or(self.buf.len() > MAX_HEADER, |e| e > MAX_HEADER) {
                        self.resync(1);
                        return Some(malformed(
                            jsonrpc::ErrorCode::ParseError,
                            "a header block without an end",
                        ));
                    }
                    let end = end?;
                    match content_length(&self.buf[..end]) {
                        Ok(len) => {
                            self.buf.drain(..end + 4);
                            if len > MAX_BODY {
                                self.state = State::Skip(len);
                                return Some(malformed(
                                    jsonrpc::ErrorCode::ParseError,
                                    &format!("a body of {len} bytes; the limit is {MAX_BODY}"),
                                ));
                            }
                            self.state = State::Body(len);
                        }
                        Err(reason) => {
                            // Junk in front of a real header (`xyzContent-Length: …`): start
                            // again at it rather than losing the message behind it.
                            if end > 1 && find(&self.buf[1..end], b"Content-Length").is_some() {
                                self.resync(1);
                            } else {
                                self.buf.drain(..end + 4);
                            }
                            return Some(malformed(jsonrpc::ErrorCode::ParseError, reason));
                        }
                    }
                }
            }
        }
    }

    /// Drops bytes up to the next `Content-Length` at or after `from` (keeping a tail that may
    /// be the start of one), so the stream picks up again at the next message.
    fn resync(&mut self, from: usize) {
        const NEEDLE: &[u8] = b"Content-Length";
        let from = from.min(self.buf.len());
        let cut = match find(&self.buf[from..], NEEDLE) {
            Some(at) => from + at,
            None => self.buf.len().saturating_sub(NEEDLE.len() - 1),
        };
        self.buf.drain(..cut);
    }
}

fn malformed(code: jsonrpc::ErrorCode, reason: &str) -> Frame {
    Frame::Malformed {
        code: code.code(),
        reason: reason.to_owned(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `Content-Length` of a header block (lines of `Name: value`, names case-insensitive).
/// `Content-Type` is not checked: the body is checked for UTF-8 JSON whatever it claims.
fn content_length(block: &[u8]) -> Result<usize, &'static str> {
    let text = std::str::from_utf8(block).map_err(|_| "a header that is not text")?;
    let mut length = None;
    for line in text.split("\r\n") {
        let (name, value) = line.split_once(':').ok_or("a header line without a `:`")?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            let value = value.trim();
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err("a Content-Length that is not a number");
            }
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| "a Content-Length that is too large")?,
            );
        }
    }
    length.ok_or("a header without Content-Length")
}

/// A message if the body is what tower-lsp decodes (a request, notification or response);
/// otherwise the error the JSON-RPC specification names for it.
fn check_body(body: Vec<u8>) -> Frame {
    // tower-lsp's own message type is an untagged request-or-response; these are its halves.
    // Parsed straight from the bytes, a request first (nearly every frame is one), so a good
    // frame costs one parse and no `Value` tree, however large the document it carries.
    if serde_json::from_slice::<jsonrpc::Request>(&body).is_ok()
        || serde_json::from_slice::<jsonrpc::Response>(&body).is_ok()
    {
        return Frame::Message(body);
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok() {
        return malformed(
            jsonrpc::ErrorCode::InvalidRequest,
            "JSON that is not a JSON-RPC 2.0 message",
        );
    }
    let reason = if std::str::from_utf8(&body).is_err() {
        "a body that is not UTF-8"
    } else {
        "a body that is not JSON"
    };
    malformed(jsonrpc::ErrorCode::ParseError, reason)
}

/// Copies the client's `input` to tower-lsp's `server` frame by frame through a [`Deframer`],
/// and sends the error response of each malformed frame to `errors`, until `input` ends or
/// the other side is gone.
pub(crate) async fn pump(
    mut input: impl AsyncRead + Unpin,
    mut server: impl AsyncWrite + Unpin,
    errors: mpsc::Sender<Vec<u8>>,
) {
    let mut deframer = Deframer::default();
    let mut chunk = vec![0; 64 * 1024];
    loop {
        let n = match input.read(&mut chunk).await {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read from the client; stopping");
                return;
            }
        };
        deframer.push(&chunk[..n]);
        while let Some(frame) = deframer.next_frame() {
            let delivered = match frame {
                Frame::Message(body) => server.write_all(&framed(&body)).await.is_ok(),
                Frame::Malformed { code, reason } => {
                    tracing::warn!(%reason, "a malformed message from the client");
                    errors.send(error_response(code, &reason)).await.is_ok()
                }
            };
            if !delivered {
                return;
            }
        }
        if server.flush().await.is_err() {
            return;
        }
    }
}

/// Writes tower-lsp's frames (read from `server`) and the error responses from [`pump`] to
/// the client's `output`, each frame whole, until tower-lsp's output ends.
pub(crate) async fn merge(
    mut server: impl AsyncRead + Unpin,
    mut errors: mpsc::Receiver<Vec<u8>>,
    output: impl AsyncWrite,
) {
    tokio::pin!(output);
    let mut deframer = Deframer::unchecked();
    let mut chunk = vec![0; 64 * 1024];
    let mut errors_open = true;
    loop {
        // Both branches are cancel-safe: a read or receive that loses the race took nothing.
        // Errors first: the pump queues a frame's error before it passes on the frames after
        // it, so an error waiting here is older than any answer tower-lsp has ready, and the
        // client sees answers in the order it sent the frames.
        tokio::select! {
            biased;
            error = errors.recv(), if errors_open => match error {
                Some(bytes) => {
                    if output.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                None => errors_open = false,
            },
            read = server.read(&mut chunk) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                deframer.push(&chunk[..n]);
                while let Some(frame) = deframer.next_frame() {
                    if let Frame::Message(body) = frame
                        && output.write_all(&framed(&body)).await.is_err()
                    {
                        return;
                    }
                }
            }
        }
        if output.flush().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    fn frames(bytes: &[u8]) -> Vec<Frame> {
        let mut d = Deframer::default();
        d.push(bytes);
        std::iter::from_fn(|| d.next_frame()).collect()
    }

    fn framed(body: &str) -> Vec<u8> {
        super::framed(body.as_bytes())
    }

    const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;

    fn code(frame: &Frame) -> i64 {
        match frame {
            Frame::Malformed { code, .. } => *code,
            Frame::Message(_) => 0,
        }
    }

    #[test]
    fn good_messages_pass_unchanged() {
        let mut bytes = framed(PING);
        bytes.extend(b"content-length: 2\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n");
        let mut d = Deframer::default();
        d.push(&bytes);
        assert_eq!(d.next_frame(), Some(Frame::Message(PING.into())));
        assert_eq!(d.next_frame(), None, "the second body has not arrived");
        d.push(b"{}");
        // `{}` is JSON but neither a request nor a response.
        assert_eq!(d.next_frame().map(|f| code(&f)), Some(-32600));
    }

    #[test]
    fn malformed_frames_get_their_error_and_the_next_message_still_arrives() {
        for (bad, expected) in [
            (framed("{\"jsonrpc\": \"2.0\", \"id\": 3,"), -32700),
            (
                b"Content-Length: 4\r\n\r\n\xff\xfe\xfd\xfc".to_vec(),
                -32700,
            ),
            (framed("[1, 2]"), -32600),
            (framed(r#"{"id": 1, "method": "x"}"#), -32600),
            (b"Content-Length: abc\r\n\r\n".to_vec(), -32700),
            (b"Content-Type: text/plain\r\n\r\n".to_vec(), -32700),
            (b"garbage\r\n\r\n".to_vec(), -32700),
            (b"xyz".to_vec(), -32700),
            (
                b"Content-Length: 99999999999999999999999\r\n\r\n".to_vec(),
                -32700,
            ),
        ] {
            let mut bytes = bad.clone();
            bytes.extend(framed(PING));
            let got = frames(&bytes);
            assert_eq!(got.len(), 2, "{:?}: {got:?}", String::from_utf8_lossy(&bad));
            assert_eq!(code(&got[0]), expected, "{got:?}");
            assert_eq!(got[1], Frame::Message(PING.into()));
        }
    }

    #[test]
    fn an_endless_header_resyncs_at_the_next_content_length() {
        let mut bytes = vec![b'x'; MAX_HEADER + 10];
        bytes.extend(framed(PING));
        let got = frames(&bytes);
        assert_eq!(code(&got[0]), -32700);
        assert_eq!(got.last(), Some(&Frame::Message(PING.into())));
    }

    #[test]
    fn an_oversized_body_is_skipped_without_being_held() {
        let mut d = Deframer::default();
        d.push(format!("Content-Length: {}\r\n\r\n", MAX_BODY + 1).as_bytes());
        assert_eq!(d.next_frame().map(|f| code(&f)), Some(-32700));
        for _ in 0..64 {
            d.push(&vec![b'a'; 1024 * 1024]);
            assert_eq!(d.next_frame(), None);
            assert!(d.buf.is_empty());
        }
        d.push(b"a");
        d.push(&framed(PING));
        assert_eq!(d.next_frame(), Some(Frame::Message(PING.into())));
    }

    #[test]
    fn the_error_response_is_a_frame_with_a_null_id() {
        let bytes = error_response(-32700, "a body that is not JSON");
        let got = frames(&bytes);
        let [Frame::Message(body)] = got.as_slice() else {
            panic!("{got:?}");
        };
        let value: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(value["id"], Value::Null);
        assert_eq!(value["error"]["code"], -32700);
    }

    proptest! {
        /// Whatever arrives, in whatever chunks: no panic, and the deframer never holds more
        /// than the header limit plus one body.
        #[test]
        fn any_bytes_in_any_chunks(bytes in proptest::collection::vec(any::<u8>(), 0..4096),
                                   cuts in proptest::collection::vec(0usize..4096, 0..8)) {
            let mut d = Deframer::default();
            let mut cuts = cuts;
            cuts.push(bytes.len());
            cuts.sort_unstable();
            let mut at = 0;
            for cut in cuts {
                let cut = cut.min(bytes.len());
                d.push(&bytes[at..cut.max(at)]);
                at = cut.max(at);
                while d.next_frame().is_some() {}
            }
            match d.state {
                State::Headers => prop_assert!(d.buf.len() <= MAX_HEADER),
                State::Body(len) => prop_assert!(d.buf.len() < len),
                State::Skip(_) => prop_assert!(d.buf.is_empty()),
            }
        }

        /// Good messages split at any points come out whole and in order.
        #[test]
        fn messages_survive_any_chunking(ids in proptest::collection::vec(0u32..1000, 1..6),
                                         chunk in 1usize..64) {
            let bodies: Vec<String> = ids
                .iter()
                .map(|id| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"m","params":"é"}}"#))
                .collect();
            let stream: Vec<u8> = bodies.iter().flat_map(|b| framed(b)).collect();
            let mut d = Deframer::default();
            let mut out = Vec::new();
            for piece in stream.chunks(chunk) {
                d.push(piece);
                while let Some(frame) = d.next_frame() {
                    out.push(frame);
                }
            }
            let expected: Vec<Frame> =
                bodies.into_iter().map(|b| Frame::Message(b.into_bytes())).collect();
            prop_assert_eq!(out, expected);
        }
    }
}
