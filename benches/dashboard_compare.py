"""The 90-day QA Manager dashboard, side by side in one run: qapms-server against the same page
written in FastAPI (``benches/fastapi_dash``) under uvicorn with 2 workers, over one store.

What it does:

1. ``qapms-server seed --qas 100 --days 90`` writes a fresh SQLite store (about 180,000 time
   entries, plus runs and results) into a temporary data directory; an admin user and an API
   token are made with the admin commands.
2. The release ``qapms-server`` serves that store; the script signs in (``POST
   /api/v1/sessions``) for a session cookie. uvicorn serves the FastAPI app over the same file
   (read-only), with 2 workers.
3. ``wrk`` (Debian's package) drives each target with 100 connections for ``--duration``
   seconds, ``--runs`` times, alternating the sides so machine noise hits both alike, and
   waiting after each side until its processes are idle (a slow server keeps working through
   queued requests after wrk stops):
   - the HTML page ``/dashboards/qa-manager?days=90`` on qapms (session cookie: auth, CSRF
     layer, access log, metrics all on) and ``/dashboards/qa-manager?days=90`` on FastAPI;
   - the JSON endpoint ``/api/v1/dashboards/qa-manager?days=90`` on qapms (API token), and
     ``/api/v1/health`` for the cheapest authenticated-path-free request.
   Every run must answer only 2xx; the script stops otherwise.
4. The qapms process's RSS is sampled from ``/proc`` every 50 ms during its page and JSON runs
   (the peak is reported), and the FastAPI side's (master + workers) likewise.
5. Largest contentful paint of the 90-day page: headless Debian chromium (playwright, never
   ``playwright install``), a new empty profile, signed in, then ``--lcp-runs`` fresh page loads
   each read through a ``PerformanceObserver`` for ``largest-contentful-paint``.

It prints a Markdown table of medians and the ratios. Usage (from the repository root)::

    cargo build --release -p qapms-server
    .venv/bin/python -m pip install -r benches/requirements.txt   # fastapi, uvicorn
    apt-get install -y wrk chromium
    .venv/bin/python benches/dashboard_compare.py [--runs 3] [--duration 10] [--connections 100]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = "/dashboards/qa-manager?days=90"
JSON_API = "/api/v1/dashboards/qa-manager?days=90"
ADMIN = "bench"
PASSWORD = "a long benchmark password"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                r.read()
            return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{proc.args!r} exited with {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer in {timeout} s") from None
            time.sleep(0.1)


@dataclass
class Env:
    """An isolated qapms home with a seeded store."""

    root: Path
    server_bin: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> Path:
        return self.root / "data" / "qapms.db"

    def run(self, *args: str, stdin: str = "") -> str:
        result = subprocess.run(
            [self.server_bin, *args],
            cwd=self.root / "work",
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"qapms-server {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout


def make_env(root: Path, server_bin: str, qas: int, days: int) -> Env:
    for d in ("work", "config", "data"):
        (root / d).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QAPMS_")}
    env.update(
        QAPMS_CONFIG_DIR=str(root / "config"),
        QAPMS_DATA_DIR=str(root / "data"),
        HOME=str(root),
        # The access log stays on (it is part of what is measured) but goes to a file.
        RUST_LOG="info",
    )
    e = Env(root=root, server_bin=server_bin, env=env)
    start = time.perf_counter()
    e.run("seed", "--qas", str(qas), "--days", str(days))
    print(f"seeded {qas} QAs x {days} days in {time.perf_counter() - start:.1f} s", flush=True)
    e.run("users", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    return e


@dataclass
class Wrk:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_latency(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(f"cannot read the latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(url: str, headers: list[str], connections: int, duration: int) -> Wrk:
    # A 30 s socket timeout: the FastAPI page's slowest answers under 100 clients pass 10 s, and
    # a timeout would stop the run; they count in its latency instead.
    args = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "30s"]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw failures against {url}:\n{out}")
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    total = re.search(r"^\s+(\d+) requests in", out, re.M)
    if not (rps and total and "50" in lat and "99" in lat):
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    return Wrk(
        rps=float(rps.group(1)),
        p50_ms=parse_latency(lat["50"]),
        p99_ms=parse_latency(lat["99"]),
        requests=int(total.group(1)),
    )


def proc_texts(pids: list[int], name: str) -> Iterator[str]:
    """`/proc/PID/<name>` of each process still running."""
    for pid in pids:
        try:
            yield Path(f"/proc/{pid}/{name}").read_text()
        except OSError:
            continue


def rss_kib(pids: list[int]) -> int:
    total = 0
    for status in proc_texts(pids, "status"):
        m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(m.group(1)) if m else 0
    return total


def family(pid: int) -> list[int]:
    """`pid` and its children (uvicorn's master and its workers)."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        pids += family(int(child))
    return pids


def cpu_ticks(pids: list[int]) -> int:
    """User plus system CPU of `pids` so far, in clock ticks (`/proc/PID/stat`)."""
    total = 0
    for stat in proc_texts(pids, "stat"):
        fields = stat.rsplit(")", 1)[-1].split()
        total += int(fields[11]) + int(fields[12])
    return total


def settle(pid: int, limit: float = 60) -> None:
    """Waits until `pid` and its children are idle (under 5% of a core over half a second).

    When wrk stops, a server slower than its clients still holds their queued requests: the
    FastAPI side works through them for seconds afterwards, and would share the cores with the
    next run of the other side.
    """
    deadline = time.monotonic() + limit
    before = cpu_ticks(family(pid))
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_ticks(family(pid))
        # Clock ticks are 10 ms: under 3 ticks in 0.5 s is under 5% of a core.
        if now - before < 3:
            return
        before = now


@contextmanager
def peak_rss(pid: int) -> Iterator[list[int]]:
    """Samples the RSS of `pid` and its children every 50 ms; yields [peak KiB]."""
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(family(pid)))
            stop.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def sign_in(base: str) -> str:
    """A session cookie for the admin, through the JSON sign-in."""
    body = json.dumps({"name": ADMIN, "password": PASSWORD}).encode()
    request = urllib.request.Request(
        base + "/api/v1/sessions",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as r:
        cookie = r.headers["Set-Cookie"].split(";", 1)[0]
    return str(cookie)


def get(url: str, headers: dict[str, str]) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as r:
        return bytes(r.read())


def lcp_ms(base: str, runs: int, cookie: str | None) -> list[float]:
    """Largest contentful paint of the page, in fresh page loads of one signed-in browser."""
    from playwright.sync_api import sync_playwright

    script = """() => new Promise((resolve) => {
        new PerformanceObserver((list) => {
            const entries = list.getEntries();
            resolve(entries[entries.length - 1].startTime);
        }).observe({type: 'largest-contentful-paint', buffered: true});
    })"""
    out = []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        if cookie:
            name, value = cookie.split("=", 1)
            context.add_cookies([{"name": name, "value": value, "url": base}])
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(base + PAGE)  # warm-up: the first load also compiles the CSS and scripts
        for _ in range(runs):
            fresh = context.new_page()
            fresh.goto(base + PAGE, wait_until="load")
            if "/login" in fresh.url:
                raise SystemExit("the LCP browser is not signed in")
            out.append(float(fresh.evaluate(script)))
            fresh.close()
        context.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--server-bin",
        default=str(
            Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "qapms-server"
        ),
    )
    parser.add_argument("--qas", type=int, default=100)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--lcp-runs", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="seed into this directory and keep it")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    if not Path(args.server_bin).exists():
        raise SystemExit(f"{args.server_bin} is missing (cargo build --release -p qapms-server)")

    with tempfile.TemporaryDirectory(prefix="qapms-dash-bench-") as tmp:
        root = args.keep or Path(tmp)
        e = make_env(root, args.server_bin, args.qas, args.days)
        token = e.run("tokens", "create", "--user", ADMIN, "--name", "bench").strip()
        token = token.splitlines()[-1]
        run_bench(e, token, args)


def run_bench(e: Env, token: str, args: argparse.Namespace) -> None:
    qport, fport = free_port(), free_port()
    qbase, fbase = f"http://127.0.0.1:{qport}", f"http://127.0.0.1:{fport}"
    log = open(e.root / "server.log", "w")  # noqa: SIM115 - closed in finally below
    qapms = subprocess.Popen(
        [e.server_bin, "--bind", f"127.0.0.1:{qport}", "--log-format", "json"],
        cwd=e.root / "work",
        env=e.env,
        stdout=log,
        stderr=log,
    )
    fenv = dict(e.env, QAPMS_BENCH_DB=str(e.db))
    fastapi = subprocess.Popen(
        [
            sys.executable,
            *("-m", "uvicorn", "fastapi_dash.app:app"),
            *("--host", "127.0.0.1", "--port", str(fport), "--workers", "2"),
            *("--no-access-log", "--log-level", "warning"),
        ],
        cwd=ROOT / "benches",
        env=fenv,
    )
    try:
        wait_for(qbase + "/api/v1/health", qapms)
        wait_for(fbase + "/health", fastapi)
        cookie = sign_in(qbase)
        qpage = get(qbase + PAGE, {"Cookie": cookie}).decode()
        if "QA Manager" not in qpage or "/login" in qpage[:200]:
            raise SystemExit("the qapms page did not render signed in")
        get(fbase + PAGE, {})
        check_same_numbers(
            json.loads(get(qbase + JSON_API, {"Authorization": f"Bearer {token}"})),
            json.loads(get(fbase + JSON_API, {})),
        )

        results: dict[str, list[Wrk]] = {}
        rss: dict[str, list[int]] = {"qapms": [], "fastapi": []}
        c, d = args.connections, args.duration
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", flush=True)
            with peak_rss(qapms.pid) as peak:
                results.setdefault("qapms page", []).append(
                    wrk(qbase + PAGE, [f"Cookie: {cookie}"], c, d)
                )
                results.setdefault("qapms JSON (token)", []).append(
                    wrk(qbase + JSON_API, [f"Authorization: Bearer {token}"], c, d)
                )
            rss["qapms"].append(peak[0])
            settle(qapms.pid)
            with peak_rss(fastapi.pid) as peak:
                results.setdefault("FastAPI page", []).append(wrk(fbase + PAGE, [], c, d))
            rss["fastapi"].append(peak[0])
            settle(fastapi.pid)
        lcp = lcp_ms(qbase, args.lcp_runs, cookie)
        flcp = lcp_ms(fbase, args.lcp_runs, None)
        report(results, rss, lcp, flcp, args)
    finally:
        for proc in (qapms, fastapi):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


COMPARED = ["teamSeconds", "teamTime", "timeByDay", "estimateAccuracy", "trends", "portfolio"]


def check_same_numbers(qapms: dict[str, object], fastapi: dict[str, object]) -> None:
    """Both sides must compute the same figures, or the comparison is not of the same page."""
    q = qapms.get("dashboard", qapms)
    assert isinstance(q, dict)
    for key in COMPARED:
        if q.get(key) != fastapi.get(key):
            raise SystemExit(
                f"qapms and FastAPI disagree on {key}:\n"
                f"qapms:   {json.dumps(q.get(key))[:600]}\n"
                f"FastAPI: {json.dumps(fastapi.get(key))[:600]}"
            )
    alerts = len(q.get("alerts") or [])
    if alerts != len(fastapi.get("alerts") or []):  # type: ignore[arg-type]
        raise SystemExit("qapms and FastAPI disagree on the open alerts")
    print(f"both sides agree on {', '.join(COMPARED)} and {alerts} alerts", flush=True)


def report(
    results: dict[str, list[Wrk]],
    rss: dict[str, list[int]],
    lcp: list[float],
    flcp: list[float],
    args: argparse.Namespace,
) -> None:
    med = statistics.median
    print()
    print(
        f"{args.connections} connections, {args.duration} s x {args.runs} runs each "
        "(medians of the runs)"
    )
    print()
    print("| target | req/s | p50 (ms) | p99 (ms) | runs' p99 (ms) |")
    print("|---|---:|---:|---:|---|")
    for name, runs in results.items():
        p99s = ", ".join(f"{r.p99_ms:.2f}" for r in runs)
        print(
            f"| {name} | {med(r.rps for r in runs):,.0f} | {med(r.p50_ms for r in runs):.2f} "
            f"| {med(r.p99_ms for r in runs):.2f} | {p99s} |"
        )
    q = med(r.rps for r in results["qapms page"])
    f = med(r.rps for r in results["FastAPI page"])
    print()
    print(f"page req/s ratio qapms / FastAPI: {q / f:.1f}x")
    print(
        f"peak RSS under load: qapms {med(rss['qapms']) / 1024:.1f} MiB (runs: "
        + ", ".join(f"{v / 1024:.1f}" for v in rss["qapms"])
        + f"), FastAPI master + 2 workers {med(rss['fastapi']) / 1024:.1f} MiB"
    )
    print(
        f"LCP of the 90-day page, median of {len(lcp)} loads: qapms {med(lcp):.0f} ms "
        f"(min {min(lcp):.0f}, max {max(lcp):.0f}), FastAPI {med(flcp):.0f} ms"
    )


if __name__ == "__main__":
    main()
