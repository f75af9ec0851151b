"""``ws.postman``, ``ws.testmo``, ``ws.splunk`` and ``ws.grafana`` against loopback fakes that
answer from the official contracts' samples: sync and async calls, batched iterators, typed
records, and errors with their attributes."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import fake_http
import pytest
from conftest import Home
from fake_grafana import TOKEN as GRAFANA_TOKEN
from fake_grafana import FakeGrafana
from fake_postman import API_KEY, FakePostman
from fake_splunk import TOKEN as SPLUNK_TOKEN
from fake_splunk import FakeSplunk
from fake_testmo import TOKEN as TESTMO_TOKEN
from fake_testmo import FakeTestmo

import qapms

JUNIT = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="pytest">
<testsuite name="pytest" tests="3">
  <testcase classname="tests.test_pay.TestLogin" name="test_ok" time="0.12"/>
  <testcase classname="tests.test_pay.TestLogin" name="test_bad" time="0.3">
    <failure message="AssertionError: 500">trace line</failure>
  </testcase>
  <testcase classname="tests.test_pay" name="test_skip"><skipped message="later"/></testcase>
</testsuite>
</testsuites>
"""


def postman(fake: FakePostman) -> qapms.PostmanClient:
    return qapms.PostmanClient(fake.url, api_key=API_KEY, pace_lists=False)


def make_testmo(fake: FakeTestmo) -> qapms.TestmoClient:
    return qapms.TestmoClient(fake.url, token=TESTMO_TOKEN, project=1)


# ---- Postman -----------------------------------------------------------------------------------


def test_postman_lists_every_collection_across_pages_in_batches(fake_postman: FakePostman) -> None:
    it = postman(fake_postman).collections()
    assert isinstance(it, qapms.ResultIterator)
    first = it.next_batch()
    assert 0 < len(first) <= 100, "a batch is at most one page"
    rest = list(it)
    names = [c.name for c in first + rest]
    assert names == [f"Checkout API {n}" for n in range(250)]
    assert it.next_batch() == []
    pages = fake_postman.calls("GET", "/collections")
    assert [p.arg("offset") for p in pages] == ["0", "100", "200"]
    c = first[0]
    assert isinstance(c, qapms.PostmanCollectionSummary)
    assert c.uid == "892436-" + c.id and isinstance(c.updated_at, dt.datetime)
    assert repr(c).startswith("PostmanCollectionSummary(id=")


def test_postman_collection_requests_and_workspaces(fake_postman: FakePostman) -> None:
    client = postman(fake_postman)
    summary = next(iter(client.collections(name="Checkout API 7")))
    collection = client.collection(summary.uid or summary.id)
    assert collection.name == "Checkout API 7"
    requests = collection.requests()
    assert requests and all(isinstance(r, qapms.PostmanRequest) for r in requests)
    assert all(r.method.isupper() and r.collection == "Checkout API 7" for r in requests)
    workspaces = client.workspaces()
    assert len(workspaces) == 5, "every cursor page was followed"
    assert workspaces[0].kind == "personal"
    me = client.me()
    assert me.username == "taylor-lee" and me.id == 12345678


def test_postman_environment_never_hands_over_secrets(fake_postman: FakePostman) -> None:
    env = postman(fake_postman).environment("5daabc50-8451-43f6-922d-96b403b4f28e")
    assert "apiKey" in env.secret_keys
    assert "apiKey" not in env.values
    assert env.values["collectionId"] == "12ece9e1-2abf-4edc-8e34-de66e74114d2"


def test_postman_errors_are_typed(fake_postman: FakePostman) -> None:
    with pytest.raises(qapms.NotFoundError) as info:
        postman(fake_postman).collection("nope")
    assert info.value.status == 404 and info.value.code == "NOT_FOUND"
    bad = qapms.PostmanClient(fake_postman.url, api_key="PMAK-wrong", pace_lists=False)
    with pytest.raises(qapms.AuthError):
        bad.me()
    assert not bad.health() and bad.health().health == "unauthorized"
    assert postman(fake_postman).health().health == "ok"


def test_postman_retries_a_429_with_retry_after(fake_postman: FakePostman) -> None:
    fake_postman.fail_next(429, {"error": "rateLimited"}, {"Retry-After": "1"})
    assert postman(fake_postman).me().username == "taylor-lee"
    assert len(fake_postman.calls("GET", "/me")) == 2


def test_postman_async_twins(fake_postman: FakePostman) -> None:
    async def main() -> tuple[int, str]:
        client = postman(fake_postman)
        names = [c.name async for c in client.async_collections()]
        me = await client.async_me()
        return len(names), me.username or ""

    assert asyncio.run(main()) == (250, "taylor-lee")


def test_postman_requests_of_every_collection() -> None:
    small = FakePostman(collection_count=3, auth_header=API_KEY, auth_header_name="X-API-Key")
    serving = fake_http.serve(small)
    fake = next(serving)
    try:
        client = postman(fake)
        requests = list(client.requests())
        assert {r.collection for r in requests} == {
            "Checkout API 0",
            "Checkout API 1",
            "Checkout API 2",
        }

        async def main() -> int:
            return len(await client.async_requests())

        assert asyncio.run(main()) == len(requests)
    finally:
        serving.close()


def test_postman_collection_file(tmp_path: Path) -> None:
    from fake_http import contracts_dir

    path = contracts_dir() / "postman" / "samples" / "collection-v2.1-example-httpbin.json"
    collection = qapms.read_collection(path)
    assert collection.requests(), "the sample has requests"
    with pytest.raises(qapms.QapmsError):
        qapms.read_collection(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v1.0.0/"}}'
    )
    with pytest.raises(qapms.QapmsError):
        qapms.read_collection(bad)


def test_workspace_postman_from_config(
    fake_postman: FakePostman, in_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMAN_KEY", API_KEY)
    (in_home.cwd / "qapms.yaml").write_text(
        f"integrations:\n  postman:\n    base_url: {fake_postman.url}\n"
        "    api_key: ${POSTMAN_KEY}\n"
    )
    with qapms.Workspace.open() as ws:
        assert ws.postman is ws.postman
        assert ws.postman.me().username == "taylor-lee"


# ---- Testmo ------------------------------------------------------------------------------------


def test_testmo_cases_page_until_the_end_with_filters(fake_testmo: FakeTestmo) -> None:
    client = make_testmo(fake_testmo)
    cases = list(client.cases())
    assert [c.id for c in cases] == [1000 + n for n in range(230)]
    assert len(fake_testmo.calls("GET", "/api/v1/projects/1/cases")) == 3
    automated = list(client.cases(automated=True))
    assert automated and all(c.has_automation for c in automated)
    folder = list(client.cases(folder=11))
    assert folder and {c.folder_id for c in folder} == {11}
    assert "TestmoCase(id=1000" in repr(cases[0])
    assert [p.name for p in client.projects()] == ["Checkout"]
    assert [f.name for f in client.folders()] == ["Folder 0", "Folder 1", "Folder 2"]
    assert [r.id for r in client.runs(closed=False)] == [41, 42]
    assert len(list(client.run_results(41))) == 6  # case 1000 has a retest
    assert client.user().name == "Quinn QA"


def test_testmo_without_a_project_says_so(fake_testmo: FakeTestmo) -> None:
    client = qapms.TestmoClient(fake_testmo.url, token=TESTMO_TOKEN)
    with pytest.raises(qapms.InvalidInputError, match="project"):
        client.cases()
    with pytest.raises(qapms.NotFoundError):
        list(client.cases(project=99))


def test_submit_junit_drives_the_automation_lifecycle(
    fake_testmo: FakeTestmo, tmp_path: Path
) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT)
    seen: list[tuple[int, int]] = []
    run = make_testmo(fake_testmo).submit_junit(
        [report],
        name="CI 1234",
        source="backend",
        tags=["nightly"],
        progress=lambda d, t: seen.append((d, t)),
    )
    assert isinstance(run, qapms.TestmoSubmittedRun)
    assert (run.tests, run.failures) == (3, 1)
    stored = fake_testmo.runs[int(run.id)]
    assert stored["is_completed"] and stored["tags"] == ["nightly"]
    assert {t["status"] for t in stored["tests"]} == {"passed", "failed", "skipped"}
    assert seen and seen[-1] == (3, 3)


def test_submit_junit_bad_input(fake_testmo: FakeTestmo, tmp_path: Path) -> None:
    client = make_testmo(fake_testmo)
    with pytest.raises(qapms.InvalidInputError):
        client.submit_junit([], name="x")
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuite>\n<testcase name='a'>\n</testsuite>")
    with pytest.raises(qapms.InvalidInputError, match=r"broken\.xml"):
        client.submit_junit([broken], name="x")
    assert not fake_testmo.runs, "nothing reached Testmo"
    with pytest.raises(qapms.InvalidInputError, match="NUL"):
        client.submit_junit([broken], name="a\0b")
    with pytest.raises(TypeError):
        client.submit_junit([broken], name=12)  # type: ignore[arg-type]


def test_testmo_async_submit_and_list(fake_testmo: FakeTestmo, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT)

    async def main() -> tuple[int, int]:
        client = make_testmo(fake_testmo)
        run = await client.async_submit_junit([report], name="async run")
        cases = [c async for c in client.async_cases()]
        return run.tests, len(cases)

    assert asyncio.run(main()) == (3, 230)


def test_testmo_errors_carry_status_and_retry_after(fake_testmo: FakeTestmo) -> None:
    client = qapms.TestmoClient(fake_testmo.url, token="wrong", project=1)
    with pytest.raises(qapms.AuthError) as info:
        client.user()
    assert info.value.status == 401
    for _ in range(4):
        fake_testmo.fail_next(429, {"message": "Too Many Attempts."}, {"Retry-After": "1"})
    with pytest.raises(qapms.RateLimitedError) as limited:
        make_testmo(fake_testmo).user()
    assert limited.value.retry_after == 1.0 and limited.value.temporary
    assert limited.value.status == 429


# ---- Splunk ------------------------------------------------------------------------------------


def splunk(fake: FakeSplunk) -> qapms.SplunkClient:
    return qapms.SplunkClient(
        fake.url,
        token=SPLUNK_TOKEN,
        templates={"errors": "index=app sourcetype=api {ticket} | stats count by status"},
    )


def test_splunk_search_polls_then_pages_rows_as_dicts(fake_splunk: FakeSplunk) -> None:
    rows = list(
        splunk(fake_splunk).search("index=_internal | stats sum(kb) by series", earliest="-24h")
    )
    assert len(rows) == 1200
    assert rows[0]["series"] == "twitter" and rows[0]["tag"] == ["checkout", "shard-0"]
    assert [r["n"] for r in rows[:3]] == ["0", "1", "2"]
    job = next(iter(fake_splunk.jobs.values()))
    assert job["polls"] >= 2, "the job was polled until done"
    assert job["form"]["earliest_time"] == ["-24h"]


def test_splunk_export_streams_final_rows(fake_splunk: FakeSplunk) -> None:
    rows = list(splunk(fake_splunk).export("index=_internal | stats count by host"))
    assert rows and all("host" in r for r in rows)


def test_splunk_templates_render_without_a_connection() -> None:
    manual = qapms.SplunkClient(templates={"errors": "index=app {ticket} | stats count"})
    assert manual.mode == "manual"
    rendered = manual.render("errors", {"ticket": 'PAY-12" OR 1=1'}, earliest="-7d")
    assert '"PAY-12\\" OR 1=1"' in rendered.spl, "values are quoted, never spliced"
    assert str(rendered) == rendered.pasteable and "-7d" in rendered.pasteable
    assert manual.template_parameters("errors") == ["ticket"]
    with pytest.raises(qapms.InvalidInputError):
        manual.render("errors")
    with pytest.raises(qapms.ConfigError, match="manual"):
        manual.search("index=app")


def test_splunk_async_and_errors(fake_splunk: FakeSplunk) -> None:
    async def main() -> int:
        return len([r async for r in splunk(fake_splunk).async_search("index=app")])

    assert asyncio.run(main()) == 1200
    bad = qapms.SplunkClient(fake_splunk.url, token="nope")
    with pytest.raises(qapms.AuthError):
        list(bad.search("index=app"))
    assert splunk(fake_splunk).server_info()["version"] == "9.2.1"
    with pytest.raises(TypeError):
        qapms.SplunkClient(fake_splunk.url, token="a", username="b", password="c")


# ---- Grafana -----------------------------------------------------------------------------------


def grafana(fake: FakeGrafana) -> qapms.GrafanaClient:
    return qapms.GrafanaClient(fake.url, token=GRAFANA_TOKEN)


def test_grafana_dashboards_and_annotations(fake_grafana: FakeGrafana) -> None:
    client = grafana(fake_grafana)
    hits = client.dashboards("production")
    assert [h.uid for h in hits] == ["cIBgcSjkk"]
    board = client.dashboard("cIBgcSjkk")
    assert board.title == "Production Overview"
    assert (4, "Latency") in board.panels, "panels inside rows are listed"
    start = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.timezone.utc)
    new_id = client.annotate(
        "qapms run 42", time=start, tags=["qapms", "ci"], dashboard="cIBgcSjkk", panel=2
    )
    listed = client.annotations(tags=["qapms"])
    assert [a.id for a in listed] == [new_id]
    assert listed[0].time == start and listed[0].tags == ["qapms", "ci"]
    with pytest.raises(qapms.InvalidInputError):
        client.annotate("bad", time=start, time_end=start - dt.timedelta(minutes=1))
    with pytest.raises(qapms.NotFoundError):
        client.dashboard("missing")


def test_grafana_query_decodes_frames(fake_grafana: FakeGrafana) -> None:
    start = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.timezone.utc)
    series = grafana(fake_grafana).query(
        "prom-uid",
        {"A": {"expr": "rate(errors_total[5m])"}},
        start=start,
        end=start + dt.timedelta(minutes=5),
    )
    assert len(series) == 1
    s = series[0]
    assert s.labels == {"service": "checkout"} and len(s) == 5
    assert s.values[2] is None and s.values[0] == 0.5
    assert s.timestamps[0] == start
    with pytest.raises(TypeError):
        grafana(fake_grafana).query(
            "x", ["not", "a", "dict"], start=start, end=start + dt.timedelta(1)
        )  # type: ignore[arg-type]


def test_grafana_async_and_health(fake_grafana: FakeGrafana) -> None:
    async def main() -> tuple[str, int]:
        client = grafana(fake_grafana)
        health = await client.async_health()
        hits = await client.async_dashboards()
        return health.health, len(hits)

    health, hits = asyncio.run(main())
    assert health == "ok" and hits >= 2
    assert qapms.GrafanaClient(fake_grafana.url, token="nope").health().health == "unauthorized"


def test_workspace_integrations_from_config(
    fake_testmo: FakeTestmo,
    fake_grafana: FakeGrafana,
    fake_splunk: FakeSplunk,
    in_home: Home,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TESTMO_TOKEN", TESTMO_TOKEN)
    monkeypatch.setenv("GRAFANA_TOKEN", GRAFANA_TOKEN)
    monkeypatch.setenv("SPLUNK_TOKEN", SPLUNK_TOKEN)
    (in_home.cwd / "qapms.yaml").write_text(
        f"""
integrations:
  testmo:
    base_url: {fake_testmo.url}
    token: ${{TESTMO_TOKEN}}
    projects: [1]
  grafana:
    base_url: {fake_grafana.url}
    token: ${{GRAFANA_TOKEN}}
  splunk:
    mode: rest
    base_url: {fake_splunk.url}
    auth:
      method: token
      token: ${{SPLUNK_TOKEN}}
    templates:
      errors:
        spl: "index=app {{ticket}}"
"""
    )
    with qapms.Workspace.open() as ws:
        assert ws.testmo.default_project == 1
        assert len(list(ws.testmo.cases())) == 230
        assert ws.grafana.health()
        assert ws.splunk.mode == "rest" and ws.splunk.templates() == ["errors"]
        with pytest.raises(qapms.ConfigError, match="postman"):
            _ = ws.postman


def test_the_nightly_example_runs_end_to_end(
    fake_testmo: FakeTestmo, in_home: Home, tmp_path: Path
) -> None:
    import subprocess
    import sys

    (in_home.cwd / "qapms.yaml").write_text(
        f"integrations:\n  testmo:\n    base_url: {fake_testmo.url}\n"
        "    token: ${TESTMO_TOKEN}\n    projects: [1]\n"
    )
    report = in_home.cwd / "junit.xml"
    report.write_text(JUNIT)
    example = Path(__file__).resolve().parents[2] / "examples" / "nightly_qa.py"
    env = {**in_home.env, "TESTMO_TOKEN": TESTMO_TOKEN, "QAPMS_USER": "quinn"}
    done = subprocess.run(
        [sys.executable, str(example), "junit.xml", "--run-name", "nightly", "--verify", "PAY-12"],
        cwd=in_home.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "stored run" in out and "3 tests, 1 failed" in out
    assert "Testmo automation run" in out and "115 automated cases in Testmo" in out
    assert "NEW " in out, out
    assert "PAY-12: completed" in out
    assert len(fake_testmo.runs) == 1
