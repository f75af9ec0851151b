//! The admin commands through the real binary: `users add|passwd|disable|enable|list` with the
//! password on stdin (never argv), `tokens create|list|revoke`, and the refusal to serve on a
//! non-loopback address without users.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cwd")).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `qapms-server ARGS` with `stdin` and an environment of its own.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_qapms-server"))
            .args(args)
            .current_dir(self.path("cwd"))
            .env_remove("QAPMS_CONFIG")
            .env_remove("QAPMS_PROFILE")
            .env_remove("QAPMS_MASTER_KEY")
            .env_remove("QAPMS_KEY_PASSPHRASE")
            .env("HOME", self.dir.path())
            .env("QAPMS_CONFIG_DIR", self.path("config"))
            .env("QAPMS_DATA_DIR", self.path("data"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

#[test]
fn users_and_tokens_from_the_command_line() {
    let home = Home::new();
    let out = ok(&home.run(
        &[
            "users",
            "add",
            "alice",
            "--role",
            "qa_manager",
            "--team",
            "payments",
            "--password-stdin",
        ],
        "a long secret pw\n",
    ));
    assert!(out.contains("added user alice (qa_manager)"), "{out}");

    let failed = home.run(
        &[
            "users",
            "add",
            "bob",
            "--role",
            "wizard",
            "--password-stdin",
        ],
        "a long secret pw\n",
    );
    assert!(!failed.status.success());
    assert!(text(&failed.stderr).contains("unknown role `wizard`"));

    let weak = home.run(
        &["users", "add", "carol", "--role", "qa", "--password-stdin"],
        "short\n",
    );
    assert!(!weak.status.success());
    assert!(text(&weak.stderr).contains("at least 8 characters"));

    ok(&home.run(
        &["users", "passwd", "alice", "--password-stdin"],
        "another long pw\n",
    ));
    ok(&home.run(&["users", "disable", "alice"], ""));
    let list = ok(&home.run(&["users", "list"], ""));
    assert!(list.contains("alice"), "{list}");
    assert!(list.contains("payments"), "{list}");
    assert!(list.contains("disabled"), "{list}");
    assert!(!list.contains("carol"), "a refused user was added: {list}");
    ok(&home.run(&["users", "enable", "alice"], ""));
    assert!(ok(&home.run(&["users", "list"], "")).contains("active"));

    let created = ok(&home.run(&["tokens", "create", "--user", "alice", "--name", "ci"], ""));
    let token = created.lines().last().unwrap().trim().to_owned();
    assert!(token.starts_with("qapms_"), "{created}");
    let id = created.split_whitespace().nth(2).unwrap().to_owned();
    let list = ok(&home.run(&["tokens", "list"], ""));
    assert!(list.contains(&id) && list.contains("active"), "{list}");
    assert!(!list.contains(&token), "a listed token shows its value");
    ok(&home.run(&["tokens", "revoke", &id], ""));
    assert!(ok(&home.run(&["tokens", "list", "--user", "alice"], "")).contains("revoked"));

    let missing = home.run(
        &["users", "passwd", "nobody", "--password-stdin"],
        "whatever pw\n",
    );
    assert!(text(&missing.stderr).contains("no user named `nobody`"));
    assert_no_secret_in_logs(
        &home.path("data"),
        &["a long secret pw", "another long pw", &token],
    );
}

fn assert_no_secret_in_logs(dir: &Path, secrets: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir.join("logs")) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let Ok(content) = std::fs::read_to_string(&path) else {
            continue;
        };
        for secret in secrets {
            assert!(
                !content.contains(secret),
                "{} holds a secret",
                path.display()
            );
        }
    }
}

#[test]
fn public_bind_needs_a_user() {
    let home = Home::new();
    let refused = home.run(&["--bind", "0.0.0.0:0"], "");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("no users configured"), "{stderr}");
    assert!(
        stderr.contains("users add"),
        "the message says how to fix it: {stderr}"
    );
}
