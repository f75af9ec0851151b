//! Malformed JSON-RPC against the real `qapms-lsp` binary over stdio (issue 8, "Bad input"):
//! broken `Content-Length` headers, bodies that are not JSON or not UTF-8, unknown methods and
//! params of the wrong type. Each one is answered with the JSON-RPC error the protocol names
//! (or, for a notification, ignored), the process never exits on its own, and it keeps
//! answering well-formed requests afterwards, in order.

#![expect(
    clippy::unwrap_used,
    reason = "a test harness: a failed unwrap is a failed test"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
/// Answers come within this, or the test fails (a hung server is a failure too).
const WAIT: Duration = Duration::from_secs(20);

struct Server {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
}

impl Server {
    fn start() -> Self {
        // An empty qapms home: nothing configured, nothing read from the developer's.
        let home = std::env::temp_dir().join(format!(
            "qapms-lsp-robustness-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&home).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_qapms-lsp"))
            .current_dir(&home)
            .env("QAPMS_CONFIG_DIR", home.join("config"))
            .env("QAPMS_DATA_DIR", home.join("data"))
            .env_remove("QAPMS_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        length = v.parse::<usize>().ok();
                    }
                }
                // The server's own framing must always be right.
                let mut body = vec![0; length.expect("the server sent a frame without a length")];
                reader.read_exact(&mut body).unwrap();
                let message: Value =
                    serde_json::from_slice(&body).expect("the server sent invalid JSON");
                if tx.send(message).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            stdin,
            messages,
        }
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    /// `body` framed with its true length.
    fn frame(&mut self, body: &[u8]) {
        let mut bytes = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes);
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        self.raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    /// The next response (a message without a method), skipping notifications; `None` if
    /// none comes within `wait`.
    fn response(&self, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(m) if m.get("method").is_some() => {
                    // A request from the server (progress tokens, configuration) needs no
                    // answer for this test; notifications are logs and diagnostics.
                }
                Ok(m) => return Some(m),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Responses until the one with `id`, which is returned; errors with a null id (for
    /// frames that had no readable id) are collected in `stray`.
    fn answer(&self, id: i64, stray: &mut Vec<Value>) -> Value {
        loop {
            let message = self
                .response(WAIT)
                .unwrap_or_else(|| panic!("no answer to request {id}: the server hung or died"));
            if message["id"] == id {
                return message;
            }
            assert!(
                message["id"].is_null(),
                "an answer to another request: {message}"
            );
            stray.push(message);
        }
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// A well-formed request that always has an answer: hover on a document never opened.
    fn probe(&mut self, id: i64) -> Value {
        self.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/hover",
            "params": {"textDocument": {"uri": "file:///nowhere/notes.md"},
                       "position": {"line": 0, "character": 0}}}),
        );
        let mut stray = Vec::new();
        let answer = self.answer(id, &mut stray);
        assert!(stray.is_empty(), "{stray:?}");
        answer
    }
}

fn error_code(message: &Value) -> i64 {
    message["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {message}"))
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one conversation with the server, each malformed message followed by its check"
)]
fn malformed_json_rpc_is_answered_or_ignored_and_the_server_keeps_serving() {
    let mut server = Server::start();
    server.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"capabilities": {}}}));
    let mut stray = Vec::new();
    let init = server.answer(1, &mut stray);
    assert_eq!(init["result"]["serverInfo"]["name"], "qapms-lsp");
    server.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    assert!(server.probe(2)["result"].is_null());

    // A body that is not JSON, with a right length: a parse error with a null id.
    server.frame(b"{\"jsonrpc\": \"2.0\", \"id\": 3,");
    let parse = server
        .response(WAIT)
        .expect("an answer to a body that is not JSON");
    assert_eq!(error_code(&parse), PARSE_ERROR, "{parse}");
    assert!(parse["id"].is_null());
    assert!(server.probe(4)["result"].is_null());

    // Bytes that are not UTF-8.
    server.frame(b"\xff\xfe\xfd\xfc");
    let bad = server
        .response(WAIT)
        .expect("an answer to a body that is not UTF-8");
    assert_eq!(error_code(&bad), PARSE_ERROR, "{bad}");
    assert!(server.probe(5)["result"].is_null());

    // JSON that is not a JSON-RPC message: an array, a number, a message without `jsonrpc`.
    for (body, id) in [("[1, 2]", 6), ("42", 7)] {
        server.frame(body.as_bytes());
        let answer = server.response(WAIT).expect("an answer to a non-message");
        assert!(
            [PARSE_ERROR, INVALID_REQUEST].contains(&error_code(&answer)),
            "{body}: {answer}"
        );
        assert!(server.probe(id)["result"].is_null());
    }

    // Broken headers: a length that is not a number, a header block without a length. The
    // frame cannot be read; the server says so (or drops it) and finds the next frame.
    server.raw(b"Content-Length: twelve\r\n\r\n{\"oops\": 1}");
    server.raw(b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}");
    stray.clear();
    let after_headers = {
        server.send(
            &json!({"jsonrpc": "2.0", "id": 8, "method": "textDocument/hover",
            "params": {"textDocument": {"uri": "file:///nowhere/notes.md"},
                       "position": {"line": 0, "character": 0}}}),
        );
        server.answer(8, &mut stray)
    };
    assert!(after_headers["result"].is_null(), "{after_headers}");
    for s in &stray {
        assert!(
            [PARSE_ERROR, INVALID_REQUEST].contains(&error_code(s)),
            "{s}"
        );
    }

    // A length shorter than the body: the first bytes are an unreadable frame, the rest is
    // noise before the next header.
    server
        .raw(b"Content-Length: 10\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":90,\"method\":\"shutdown\"}");
    stray.clear();
    server.send(
        &json!({"jsonrpc": "2.0", "id": 9, "method": "textDocument/hover",
        "params": {"textDocument": {"uri": "file:///nowhere/notes.md"},
                   "position": {"line": 0, "character": 0}}}),
    );
    let after_short = server.answer(9, &mut stray);
    assert!(after_short["result"].is_null(), "{after_short}");
    assert!(
        stray.iter().all(|s| error_code(s) == PARSE_ERROR),
        "{stray:?}"
    );

    // An unknown request: method not found, with its id. Unknown notifications are ignored.
    server.send(
        &json!({"jsonrpc": "2.0", "id": 10, "method": "qapms/noSuchThing",
        "params": {}}),
    );
    stray.clear();
    let unknown = server.answer(10, &mut stray);
    assert_eq!(error_code(&unknown), METHOD_NOT_FOUND, "{unknown}");
    server.send(&json!({"jsonrpc": "2.0", "method": "qapms/noSuchNotification", "params": {}}));
    server.send(&json!({"jsonrpc": "2.0", "method": "$/setTrace", "params": {"value": 3}}));
    assert!(server.probe(11)["result"].is_null());

    // Params of the wrong type, or missing: invalid params, with the id.
    for (id, params) in [
        (
            12,
            json!({"textDocument": {"uri": "file:///x.md"}, "position": "start"}),
        ),
        (
            13,
            json!({"textDocument": 7, "position": {"line": -1, "character": "a"}}),
        ),
        (14, json!([1, 2, 3])),
        (15, Value::Null),
    ] {
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/hover"});
        if !params.is_null() {
            message["params"] = params;
        }
        server.send(&message);
        stray.clear();
        let answer = server.answer(id, &mut stray);
        assert_eq!(error_code(&answer), INVALID_PARAMS, "{id}: {answer}");
        assert!(stray.is_empty(), "{stray:?}");
    }
    // A notification with bad params is dropped without an answer, and changes nothing.
    server.send(&json!({"jsonrpc": "2.0", "method": "textDocument/didOpen",
        "params": {"textDocument": "not an object"}}));
    server.send(
        &json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
        "params": {"textDocument": {"uri": "file:///nowhere/notes.md", "version": "v2"},
                   "contentChanges": 5}}),
    );
    // A request id of an unusual but legal type (a string) is echoed as is.
    server.send(&json!({"jsonrpc": "2.0", "id": "sixteen", "method": "qapms/nope"}));
    let string_id = server.response(WAIT).unwrap();
    assert_eq!(string_id["id"], "sixteen", "{string_id}");
    assert_eq!(error_code(&string_id), METHOD_NOT_FOUND);

    // Still serving, in order: a document opened now is hovered and completed normally.
    server.send(
        &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": "file:///work/qapms.yaml", "languageId": "yaml", "version": 1,
                         "text": "logging:\n  retention_days: 40\n"}}}),
    );
    server.send(
        &json!({"jsonrpc": "2.0", "id": 17, "method": "textDocument/hover",
        "params": {"textDocument": {"uri": "file:///work/qapms.yaml"},
                   "position": {"line": 1, "character": 3}}}),
    );
    stray.clear();
    let hover = server.answer(17, &mut stray);
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{hover}"
    );
    assert!(server.alive(), "the server exited");

    server.send(&json!({"jsonrpc": "2.0", "id": 18, "method": "shutdown"}));
    let shutdown = server.answer(18, &mut stray);
    assert!(shutdown.get("error").is_none(), "{shutdown}");
    server.send(&json!({"jsonrpc": "2.0", "method": "exit"}));
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        #[expect(
            clippy::disallowed_methods,
            reason = "a plain thread polls a child process; there is no async runtime here"
        )]
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}
