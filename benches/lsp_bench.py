"""Measures qapms-lsp through the real binary over stdio, and redhat's yaml-language-server on
the same `qapms.yaml` edits.

Workspace: a store with 10,000 tickets and 100,000 test results (1,000 tests x 100 runs,
imported with `qapms import junit`; the tickets are written straight into the SQLite store,
as sync would, since sync is not in the CLI yet), and a generated 10,000-line `qapms.yaml`.
Jira points at a closed port: every answer must come from the store.

Measured (each a latency from sending the request to its reply, in ms):
- cold start: spawn to the first `publishDiagnostics` of the 10,000-line config;
- hover on a key, warm (500 requests on random cached keys);
- hover right after an edit (a `didChange`, then the hover, 200 times);
- completion of `PAY-<digits>` warm (200 requests);
- config diagnostics after an edit: `didChange` to the `publishDiagnostics` of that version
  (50 edits), for qapms-lsp and for yaml-language-server given the generated JSON Schema;
- the server's peak RSS (VmHWM).

Usage:
    python benches/lsp_bench.py --bin target/release/qapms-lsp --qapms .venv/bin/qapms \
        [--yaml-ls node_modules/.bin/yaml-language-server]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty, Queue
from typing import Any

TICKETS = 10_000
TESTS = 1_000
RUNS = 100


class Server:
    """A language server over stdio, spoken to in raw JSON-RPC."""

    def __init__(self, cmd: list[str], env: dict[str, str], settings: Any = None) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.settings = settings
        self.next_id = 0
        self.replies: dict[int, Queue[tuple[float, Any]]] = {}
        self.notes: Queue[tuple[float, dict[str, Any]]] = Queue()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(out.read(length))
            at = time.perf_counter()
            if "id" in message and "method" in message:
                self._answer(message)
            elif "id" in message:
                self.replies.setdefault(message["id"], Queue()).put((at, message))
            else:
                self.notes.put((at, message))

    def _answer(self, request: dict[str, Any]) -> None:
        result: Any = None
        if request["method"] == "workspace/configuration":
            result = [self.settings for _ in request["params"]["items"]]
        self._write({"jsonrpc": "2.0", "id": request["id"], "result": result})

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        with self.lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any) -> tuple[float, Any]:
        """Sends a request; returns (latency in ms, result)."""
        self.next_id += 1
        rid = self.next_id
        self.replies.setdefault(rid, Queue())
        sent = time.perf_counter()
        self._write({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        at, reply = self.replies[rid].get(timeout=60)
        return (at - sent) * 1000, reply.get("result")

    def wait_note(self, pred: Any, timeout: float = 60) -> tuple[float, dict[str, Any]]:
        deadline = time.perf_counter() + timeout
        while True:
            try:
                at, note = self.notes.get(timeout=max(0.0, deadline - time.perf_counter()))
            except Empty:
                raise TimeoutError("no matching notification") from None
            if pred(note):
                return at, note

    def drain(self) -> None:
        while not self.notes.empty():
            self.notes.get_nowait()

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


def generate_config(jira_url: str) -> str:
    lines = [
        "integrations:",
        "  jira:",
        f"    base_url: {jira_url}",
        "    deployment: cloud",
        "    projects: [PAY]",
        "    timeout: 1s",
        "    auth:",
        "      method: basic",
        "      email: qa@example.com",
        "      api_token: ${JIRA_TOKEN}",
        "workflows:",
    ]
    n = 0
    while len(lines) < 10_000:
        n += 1
        lines += [
            f"  wf_{n:04}:",
            f"    description: Workflow {n}",
            "    steps:",
            "      - name: prepare",
            "        estimate: 10m",
            "      - name: verify",
            "        estimate: 5m",
        ]
    return "\n".join(lines) + "\n"


def junit(run: int) -> str:
    cases = []
    for t in range(TESTS):
        failed = (t % 10 == 0 and run % 3 == 0) or (t % 97 == 0 and run > 90)
        failure = (
            f'<failure message="Timeout after 30s in step {t % 7}">trace</failure>'
            if failed
            else ""
        )
        ticket = f"PAY-{t * 7 % TICKETS + 1}"
        cases.append(
            f'<testcase classname="tests.test_suite{t // 100}" name="test_{t}" '
            f'file="tests/test_suite{t // 100}.py" time="0.01">'
            f'<properties><property name="ticket" value="{ticket}"/></properties>{failure}'
            "</testcase>"
        )
    return (
        '<?xml version="1.0"?><testsuites><testsuite name="pytest">'
        + "".join(cases)
        + "</testsuite></testsuites>"
    )


def seed(qapms: str, work: Path, env: dict[str, str], data: Path) -> None:
    for run in range(RUNS):
        report = work / "report.xml"
        report.write_text(junit(run))
        subprocess.run(
            [qapms, "import", "junit", "--run-name", "nightly", str(report)],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
        )
    now = int(time.time() * 1e6)
    db = sqlite3.connect(data / "qapms.db")
    statuses = [("To Do", "to_do"), ("In Progress", "in_progress"), ("Done", "done")]
    rows = []
    for n in range(1, TICKETS + 1):
        status, category = statuses[n % 3]
        raw = {"key": f"PAY-{n}", "fields": {"summary": f"Checkout case {n}"}}
        rows.append(
            (
                f"PAY-{n}",
                "PAY",
                n,
                f"Checkout case {n} in the payment flow",
                status,
                category,
                "Bug" if n % 4 == 0 else "Story",
                "Medium",
                f"user{n % 20}",
                '["checkout"]',
                "[]",
                '["2.4"]',
                now - n * 1_000_000,
                f"https://jira.example/browse/PAY-{n}",
                json.dumps(raw),
                now,
            )
        )
    db.executemany(
        "INSERT INTO tickets (key, project, number, summary, status, status_category, "
        "issue_type, priority, assignee, labels, components, fix_versions, updated, url, raw, "
        "synced_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    db.commit()
    db.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> str:
    return (
        f"| {name} | {len(values)} | {statistics.median(values):.2f} | "
        f"{pct(values, 0.9):.2f} | {pct(values, 0.99):.2f} | {max(values):.2f} |"
    )


def initialize(server: Server, root: Path, options: Any) -> None:
    server.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": "work"}],
            "capabilities": {"workspace": {"configuration": True}},
            "initializationOptions": options,
        },
    )
    server.notify("initialized", {})


def open_doc(server: Server, path: Path, text: str, language: str) -> str:
    uri = path.as_uri()
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
    )
    return uri


def config_edits(server: Server, uri: str, text: str, edits: int) -> list[float]:
    """didChange to the publishDiagnostics of that version, `edits` times."""
    times = []
    for version in range(2, edits + 2):
        edited = text.replace("estimate: 10m", f"estimate: {version}m", 1)
        server.drain()
        sent = time.perf_counter()
        server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"text": edited}],
            },
        )
        at, _ = server.wait_note(
            lambda n, v=version: (
                n.get("method") == "textDocument/publishDiagnostics"
                and n["params"]["uri"] == uri
                and n["params"].get("version", v) == v
            )
        )
        times.append((at - sent) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--qapms", required=True)
    parser.add_argument("--yaml-ls")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qapms-lsp-bench-"))
    work, config, data = tmp / "work", tmp / "config", tmp / "data"
    for d in (work, config, data):
        d.mkdir()
    env = dict(os.environ)
    env.update({"QAPMS_CONFIG_DIR": str(config), "QAPMS_DATA_DIR": str(data), "JIRA_TOKEN": "x"})
    # Seed with the config's Jira part only (the import needs no workflows).
    config_text = generate_config("http://127.0.0.1:9")
    (work / "qapms.yaml").write_text(config_text)
    t0 = time.perf_counter()
    seed(args.qapms, work, env, data)
    print(
        f"seeded {TICKETS} tickets and {TESTS * RUNS} results in {time.perf_counter() - t0:.0f} s"
    )

    rows = []
    server = Server([args.bin], env)
    initialize(server, work, {})
    config_uri = open_doc(server, work / "qapms.yaml", config_text, "yaml")
    at, first = server.wait_note(lambda n: n.get("method") == "textDocument/publishDiagnostics")
    cold = (at - server.started) * 1000
    assert first["params"]["diagnostics"] == [], first
    # Wait until the store is loaded (the summary log line).
    server.wait_note(
        lambda n: (
            n.get("method") == "window/logMessage" and n["params"]["message"].startswith("qapms: ")
        )
    )
    rng = random.Random(7)
    lines = [f"- PAY-{rng.randint(1, TICKETS)} needs a look" for _ in range(200)]
    md_text = "\n".join(lines) + "\n"
    md_uri = open_doc(server, work / "notes.md", md_text, "markdown")

    def hover(line: int) -> float:
        ms, result = server.request(
            "textDocument/hover",
            {"textDocument": {"uri": md_uri}, "position": {"line": line, "character": 4}},
        )
        assert result is not None, "hover found nothing"
        return ms

    for i in range(20):
        hover(i)
    warm = [hover(rng.randrange(200)) for _ in range(500)]
    after_edit = []
    for version in range(2, 202):
        line = rng.randrange(200)
        lines[line] = f"- PAY-{rng.randint(1, TICKETS)} edited {version}"
        md_text = "\n".join(lines) + "\n"
        server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": md_uri, "version": version},
                "contentChanges": [{"text": md_text}],
            },
        )
        after_edit.append(hover(line))
    comp_uri = open_doc(server, work / "todo.md", "see PAY-12\n", "markdown")
    completion = []
    for _ in range(200):
        ms, result = server.request(
            "textDocument/completion",
            {"textDocument": {"uri": comp_uri}, "position": {"line": 0, "character": 10}},
        )
        assert result, "no completion"
        completion.append(ms)
    diags = config_edits(server, config_uri, config_text, 50)
    rss = server.peak_rss_mb()
    server.stop()
    rows += [
        summary("qapms-lsp hover, warm", warm),
        summary("qapms-lsp hover right after an edit", after_edit),
        summary("qapms-lsp completion `PAY-12`, warm", completion),
        summary("qapms-lsp config diagnostics after an edit (10,000 lines)", diags),
    ]
    print(f"cold start to first diagnostics: {cold:.1f} ms; peak RSS {rss:.1f} MB")

    if args.yaml_ls:
        schema = work / "qapms.schema.json"
        out = subprocess.run(
            [args.qapms, "config", "schema"], env=env, cwd=work, capture_output=True, text=True
        )
        schema.write_text(out.stdout)
        settings = {
            "validate": True,
            "schemas": {schema.as_uri(): ["qapms.yaml"]},
            "hover": True,
            "completion": True,
        }
        ys = Server([args.yaml_ls, "--stdio"], env, settings)
        initialize(ys, work, {})
        ys.notify("workspace/didChangeConfiguration", {"settings": {"yaml": settings}})
        ys.settings = settings
        uri = open_doc(ys, work / "qapms.yaml", config_text, "yaml")
        at, _ = ys.wait_note(lambda n: n.get("method") == "textDocument/publishDiagnostics")
        ys_cold = (at - ys.started) * 1000
        ys_diags = config_edits(ys, uri, config_text, 50)
        ys_rss = ys.peak_rss_mb()
        ys.stop()
        rows.append(summary("yaml-language-server diagnostics after an edit", ys_diags))
        print(f"yaml-language-server: first diagnostics {ys_cold:.1f} ms; peak RSS {ys_rss:.1f} MB")
    print("| measure | n | median | p90 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
