//! End-to-end: the server in-process over duplex pipes, spoken to in raw JSON-RPC.

#![expect(
    clippy::unwrap_used,
    reason = "a test harness: a failed unwrap is a failed test"
)]

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

struct Client {
    writer: DuplexStream,
    reader: BufReader<DuplexStream>,
}

impl Client {
    fn start() -> Self {
        let (client_write, server_read) = tokio::io::duplex(1 << 16);
        let (server_write, client_read) = tokio::io::duplex(1 << 16);
        tokio::spawn(qapms_lsp::run(server_read, server_write));
        Self {
            writer: client_write,
            reader: BufReader::new(client_read),
        }
    }

    async fn send(&mut self, message: Value) {
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.writer.write_all(frame.as_bytes()).await.unwrap();
    }

    async fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// Reads messages until one satisfies `pred`, skipping logs and other notifications.
    async fn receive_until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self.receive().await;
            if pred(&message) {
                return message;
            }
        }
    }

    async fn initialize(&mut self) {
        self.send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"capabilities": {}}}))
            .await;
        let reply = self.receive_until(|m| m["id"] == 1).await;
        assert_eq!(reply["result"]["serverInfo"]["name"], "qapms-lsp");
        self.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
            .await;
    }
}

fn is_diagnostics(m: &Value) -> bool {
    m["method"] == "textDocument/publishDiagnostics"
}

#[tokio::test]
async fn config_errors_become_diagnostics_with_ranges() {
    let mut client = Client::start();
    client.initialize().await;
    let uri = "file:///project/qapms.yaml";
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                "text": "logging:\n  level: info\n  retention_dayz: 40\n"}}}),
        )
        .await;
    let published = client.receive_until(is_diagnostics).await;
    let diagnostics = published["params"]["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{published}");
    let d = &diagnostics[0];
    assert_eq!(d["range"]["start"], json!({"line": 2, "character": 2}));
    assert!(
        d["message"].as_str().unwrap().contains("retention_days"),
        "{d}"
    );
    assert_eq!(d["severity"], 1);

    // Fixing the key clears the diagnostics; an out-of-order older version is ignored.
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": 3},
            "contentChanges": [{"text": "logging:\n  level: info\n  retention_days: 40\n"}]}}),
        )
        .await;
    // (A publish for version 1 may still arrive first: the workspace finished loading.)
    let published = client
        .receive_until(|m| is_diagnostics(m) && m["params"]["version"] == 3)
        .await;
    assert_eq!(published["params"]["diagnostics"], json!([]));
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [{"text": "garbage: ["}]}}),
        )
        .await;
    client
        .send(json!({"jsonrpc": "2.0", "id": 9, "method": "shutdown"}))
        .await;
    // The server may publish again (when its workspace has loaded), but only for version 3.
    loop {
        let reply = client
            .receive_until(|m| m["id"] == 9 || is_diagnostics(m))
            .await;
        if reply["id"] == 9 {
            break;
        }
        assert_eq!(
            reply["params"]["version"], 3,
            "stale version published: {reply}"
        );
    }
}

#[tokio::test]
async fn other_files_get_no_diagnostics_and_unknown_methods_get_errors() {
    let mut client = Client::start();
    client.initialize().await;
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": "file:///p/test_login.py", "languageId": "python",
                "version": 1, "text": "def test_x():\n    pass\n"}}}),
        )
        .await;
    client
        .send(json!({"jsonrpc": "2.0", "id": 2, "method": "qapms/noSuchMethod", "params": {}}))
        .await;
    let reply = client
        .receive_until(|m| m["id"] == 2 || is_diagnostics(m))
        .await;
    assert_eq!(
        reply["id"], 2,
        "no diagnostics for a non-config file: {reply}"
    );
    assert_eq!(reply["error"]["code"], -32601);
}
