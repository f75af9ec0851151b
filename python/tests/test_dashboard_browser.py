"""The dashboard in a real browser: Debian's chromium driven by playwright.

One `qapms-server` (QAPMS_SERVER_BIN) runs on a free loopback port for the whole module with
a signed-up admin, and one headless chromium with a new, empty profile drives it the way a
person would: it signs in through the login form, opens every persona view, compares what
the pages show with the JSON API, follows a drill-down, downloads a CSV export, and checks the
dark theme and keyboard focus. Screenshots go under pytest's temporary directory (the path is
printed, `-s` shows it) so a failing run leaves something to look at.

playwright is only the Python driver here: the browser is the system's `/usr/bin/chromium`
(`.ci/run` installs it); `playwright install` is never run. Without chromium the module is
skipped and says why.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium; "
        ".ci/run does it)",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402 - only once chromium is known to be there
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    expect,
    sync_playwright,
)

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
ADMIN = "ada"
PASSWORD = "a long admin password"
PERSONAS = ["qa", "pm", "po", "tech-lead", "qa-manager"]
TITLES = {
    "qa": "QA dashboard",
    "pm": "PM dashboard",
    "po": "PO dashboard",
    "tech-lead": "Tech Lead dashboard",
    "qa-manager": "QA Manager dashboard",
}


def server_bin() -> str:
    path = os.environ.get("QAPMS_SERVER_BIN")
    if not path or not Path(path).exists():
        pytest.fail("QAPMS_SERVER_BIN must point at a built qapms-server (make test sets it)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    token: str
    proc: subprocess.Popen[str]

    def api(self, path: str) -> Any:
        """GET a JSON API path with the admin's API token."""
        request = urllib.request.Request(
            self.base + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.load(r)


def run_admin(env: dict[str, str], cwd: Path, *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [server_bin(), *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("server")
    cwd, config_dir, data_dir = root / "work", root / "config", root / "data"
    for d in (cwd, config_dir, data_dir):
        d.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QAPMS_")}
    env.update(
        {
            "QAPMS_CONFIG_DIR": str(config_dir),
            "QAPMS_DATA_DIR": str(data_dir),
            "HOME": str(root),
        }
    )
    # A small generated history (the benchmark uses 100 QAs), so every panel has rows to show,
    # link from and export.
    run_admin(env, cwd, "seed", "--qas", "8", "--days", "90")
    run_admin(
        env,
        cwd,
        *("users", "add", ADMIN, "--role", "admin", "--password-stdin"),
        stdin=PASSWORD + "\n",
    )
    token = run_admin(env, cwd, "tokens", "create", "--user", ADMIN, "--name", "browser")
    token = token.strip().splitlines()[-1]
    port = free_port()
    proc = subprocess.Popen(
        [server_bin(), "--bind", f"127.0.0.1:{port}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=5) as r:
                    json.load(r)
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.1)
        yield Server(base=base, token=token, proc=proc)
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("screenshots")
    print(f"dashboard screenshots: {path}")
    return path


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@contextmanager
def new_context(playwright: Playwright, **options: Any) -> Iterator[BrowserContext]:
    """A fresh chromium with a new, empty profile; no state leaks between contexts."""
    with tempfile.TemporaryDirectory(prefix="qapms-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
            **options,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def anonymous(playwright: Playwright) -> Iterator[Page]:
    """A page in a browser that has not signed in."""
    with new_context(playwright) as context:
        yield first_page(context)


@pytest.fixture(scope="module")
def browser(playwright: Playwright, server: Server) -> Iterator[BrowserContext]:
    """One signed-in browser for the read-only checks (signing in is tested on its own)."""
    with new_context(playwright) as context:
        page = first_page(context)
        sign_in(page, server.base)
        page.close()
        yield context


def first_page(context: BrowserContext) -> Page:
    """The tab a persistent context opens with (or a new one)."""
    return context.pages[0] if context.pages else context.new_page()


def sign_in(page: Page, base: str, name: str = ADMIN, password: str = PASSWORD) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(base + "/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def watch_console(page: Page, expected_status: tuple[int, ...] = ()) -> list[str]:
    """Collects console errors (a CSP violation or a failing script shows up here) and failed
    responses, but for `/favicon.ico` (there is none; browsers ask anyway) and the statuses
    the test provokes on purpose."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A failed load is reported with its URL through `response` below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def on_response(response: Response) -> None:
        if (
            response.status >= 400
            and response.status not in expected_status
            and not response.url.endswith("/favicon.ico")
        ):
            errors.append(f"{response.status} {response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", on_response)
    return errors


def test_signs_in_through_the_login_form(anonymous: Page, server: Server, shots: Path) -> None:
    page = anonymous
    errors = watch_console(page, expected_status=(401,))  # the wrong password, below
    page.goto(server.base + "/dashboards/qa-manager")
    expect(page).to_have_url(server.base + "/login")
    page.screenshot(path=shots / "login.png", full_page=True)

    page.get_by_label("User name").fill(ADMIN)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    # The name is kept for the second try; the password is not.
    expect(page.get_by_label("User name")).to_have_value(ADMIN)
    expect(page.get_by_label("Password")).to_have_value("")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # An admin lands on the QA Manager view.
    expect(page).to_have_url(server.base + "/dashboards/qa-manager")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLES["qa-manager"])
    expect(page.locator(".who")).to_contain_text(ADMIN)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["qapms_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    page.screenshot(path=shots / "signed-in.png", full_page=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(server.base + "/login")
    page.goto(server.base + "/dashboards/qa")
    expect(page).to_have_url(server.base + "/login")
    assert errors == [], "\n".join(errors)


def count(key: str) -> Callable[[dict[str, Any]], int]:
    return lambda d: len(d[key])


def field(*path: str) -> Callable[[dict[str, Any]], int]:
    def get(d: dict[str, Any]) -> int:
        value: Any = d
        for key in path:
            value = value[key]
        return int(value)

    return get


# What each persona page shows in its headline figures (`data-testid="stat-…"`, raw value in
# `data-value`), and where the JSON API has the same number.
STATS: dict[str, dict[str, Callable[[dict[str, Any]], int]]] = {
    "qa": {
        "my-tickets-count": count("myTickets"),
        "tracked-today": field("tracked", "todaySeconds"),
        "tracked-week": field("tracked", "weekSeconds"),
        "tracked-period": field("tracked", "periodSeconds"),
        "recent-runs-count": count("recentRuns"),
        "flaky-count": count("flakyTests"),
    },
    "pm": {
        "verified-total": field("verifiedTotal"),
        "cycle-time-average": field("cycleTime", "averageSeconds"),
        "cycle-time-workflows": field("cycleTime", "workflows"),
        "blockers-count": count("blockers"),
        "bug-inflow-total": field("bugInflowTotal"),
    },
    "po": {
        "stories-count": count("stories"),
        "epics-count": count("epics"),
        "releases-count": count("releases"),
    },
    "tech-lead": {
        "clusters-count": count("clusters"),
        "clusters-new": lambda d: sum(1 for c in d["clusters"] if c["isNew"]),
        "flaky-count": count("flakyTests"),
        "systemic-count": count("systemic"),
        "anomalies-count": count("anomalies"),
        "integrations-count": count("integrations"),
    },
    "qa-manager": {
        "team-time-total": field("teamSeconds"),
        "alerts-count": count("alerts"),
        "portfolio-count": count("portfolio"),
    },
}


def api_dashboard(context: BrowserContext, base: str, persona: str, days: int) -> Any:
    """The JSON API's view, fetched with the browser's own session cookie."""
    response = context.request.get(f"{base}/api/v1/dashboards/{persona}?days={days}")
    assert response.status == 200, response.text()
    body = response.json()
    assert body["persona"] == persona
    assert body["filters"]["days"] == days
    return body["dashboard"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_view_opens(
    browser: BrowserContext, server: Server, shots: Path, persona: str
) -> None:
    page = browser.new_page()
    errors = watch_console(page)
    for days in (7, 30, 90):
        response = page.goto(f"{server.base}/dashboards/{persona}?days={days}")
        assert response is not None and response.status == 200
        expect(page.get_by_role("heading", level=1)).to_have_text(TITLES[persona])
        nav = page.get_by_role("navigation", name="Dashboards")
        expect(nav.locator("[aria-current=page]")).to_have_attribute(
            "href", f"/dashboards/{persona}"
        )
        expect(page.locator(".periods [aria-current=true]")).to_have_text(f"{days} days")
        expect(page.locator(".scope")).to_contain_text(f"last {days} days")
        data = api_dashboard(browser, server.base, persona, days)
        for stat, expected in STATS[persona].items():
            shown = page.get_by_test_id(f"stat-{stat}")
            expect(shown).to_have_count(1)
            value = expected(data)
            assert shown.get_attribute("data-value") == str(value), (persona, days, stat)
            if stat.endswith("-count") or stat.endswith("-new"):
                expect(shown).to_have_text(str(value))
    page.screenshot(path=shots / f"{persona}-90d.png", full_page=True)
    assert errors == [], "\n".join(errors)
    page.close()


def test_dark_theme_follows_the_system_and_the_toggle(
    playwright: Playwright, server: Server, shots: Path
) -> None:
    with new_context(playwright, color_scheme="dark") as context:
        page = first_page(context)
        sign_in(page, server.base)
        background = "getComputedStyle(document.body).backgroundColor"
        text = "getComputedStyle(document.body).color"
        # The system prefers dark: the page is dark without anything saved.
        assert page.evaluate(background) == "rgb(18, 18, 18)"
        assert page.evaluate(text) == "rgb(232, 232, 232)"
        page.screenshot(path=shots / "dark.png", full_page=True)
        toggle = page.locator("#theme-toggle")
        expect(toggle).to_have_text("Theme: auto")
        toggle.click()  # auto -> light
        expect(toggle).to_have_text("Theme: light")
        expect(toggle).to_have_attribute("aria-pressed", "true")
        assert page.evaluate(background) == "rgb(255, 255, 255)"
        toggle.click()  # light -> dark
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        # The choice is kept across pages (set before the first paint, from localStorage).
        page.reload()
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        assert page.evaluate(background) == "rgb(18, 18, 18)"


def test_keyboard_reaches_the_content_and_shows_focus(
    browser: BrowserContext, server: Server
) -> None:
    page = browser.new_page()
    page.goto(server.base + "/dashboards/qa-manager?days=90")
    # The first Tab lands on the skip link, which becomes visible.
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["x"] >= 0
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Tabbing on from the header walks the persona links in order.
    page.goto(server.base + "/dashboards/qa-manager?days=90")
    seen: list[str] = []
    for _ in range(12):
        page.keyboard.press("Tab")
        href = page.evaluate("document.activeElement.getAttribute('href')")
        if href:
            seen.append(href)
    expected = [f"/dashboards/{p}" for p in PERSONAS]
    assert [h for h in seen if h in expected] == expected
    page.close()


def table_cells(page: Page, table: str) -> list[list[str]]:
    """A table's body as the CSV should hold it: raw numbers (`data-value`), else the text."""
    return list(
        page.get_by_test_id(f"table-{table}").evaluate(
            """t => [...t.tBodies[0].rows].map(r => [...r.cells].map(
                c => c.dataset.value !== undefined ? c.dataset.value : c.innerText.trim()))"""
        )
    )


def test_team_time_table_matches_the_api(browser: BrowserContext, server: Server) -> None:
    page = browser.new_page()
    page.goto(server.base + "/dashboards/qa-manager?days=90")
    data = api_dashboard(browser, server.base, "qa-manager", 90)
    rows = table_cells(page, "team-time")
    assert rows, "the seeded store has team time"
    assert rows == [
        [t["activity"], t["step"], str(t["seconds"]), str(t["entries"])] for t in data["teamTime"]
    ]
    assert sum(int(r[2]) for r in rows) == data["teamSeconds"]
    page.close()


def test_csv_export_holds_the_table(browser: BrowserContext, server: Server) -> None:
    page = browser.new_page()
    page.goto(server.base + "/dashboards/qa-manager?days=90")
    link = page.get_by_test_id("table-team-time").locator("caption a.csv")
    expect(link).to_have_text("CSV")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    path = download.path()
    with open(path, newline="", encoding="utf-8") as f:
        records = list(csv.reader(f))
    headers = page.get_by_test_id("table-team-time").locator("thead th").all_inner_texts()
    assert records[0] == headers
    assert records[1:] == table_cells(page, "team-time")
    page.close()


@pytest.mark.parametrize("persona", ["tech-lead", "qa-manager"])
def test_drill_down_opens_the_detail_page(
    browser: BrowserContext, server: Server, shots: Path, persona: str
) -> None:
    page = browser.new_page()
    errors = watch_console(page)
    page.goto(f"{server.base}/dashboards/{persona}?days=90")
    links = page.locator("[data-testid^=table-] tbody td a")
    assert links.count() > 0, f"the seeded {persona} view links to nothing"
    link = links.first
    href = link.get_attribute("href")
    text = link.inner_text().strip()
    assert href and href.startswith("/")
    with page.expect_navigation():
        link.click()
    assert page.url == server.base + href
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_be_visible()
    expect(page.locator("main")).to_contain_text(text)
    page.screenshot(path=shots / f"{persona}-detail.png", full_page=True)
    assert errors == [], "\n".join(errors)
    page.close()
