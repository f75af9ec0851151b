"""``qapms.JiraClient`` and ``Workspace.jira`` against the fake Jira (official samples)."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import threading
import time
from pathlib import Path

import pytest
from conftest import Home
from fake_jira import FakeJira

import qapms


def cloud(fake: FakeJira) -> qapms.JiraClient:
    return qapms.JiraClient(fake.url, email="qa@example.com", api_token="s3cret-token")


def test_issue_has_typed_fields(fake_jira: FakeJira) -> None:
    issue = cloud(fake_jira).issue("PAY-5")
    assert issue.key == "PAY-5"
    assert issue.summary == "Checkout case 5"
    assert issue.status == "In Progress"
    assert issue.status_category == "indeterminate"
    assert issue.issue_type == "Story"
    assert issue.labels == ["checkout", "batch-0"]
    assert isinstance(issue.updated, dt.datetime) and issue.updated.tzinfo is not None
    assert issue.url == f"{fake_jira.url}/browse/PAY-5"
    assert "PAY-5" in repr(issue)
    # Only the fields qapms shows were requested.
    sent = fake_jira.requests[-1].query["fields"][0].split(",")
    assert "summary" in sent and "*all" not in sent


def test_custom_fields_and_raw(fake_jira: FakeJira) -> None:
    issue = cloud(fake_jira).issue("PAY-8", fields=["summary", "customfield_10010"])
    assert issue.field("customfield_10010") == {"value": "team-0"}
    assert issue.field("summary") == "Checkout case 8"
    assert issue.field("not_fetched") is None
    raw = issue.raw()
    assert raw["key"] == "PAY-8" and raw["fields"]["summary"] == "Checkout case 8"


def test_unknown_issue_is_not_found(fake_jira: FakeJira) -> None:
    with pytest.raises(qapms.NotFoundError) as info:
        cloud(fake_jira).issue("PAY-9999")
    assert info.value.code == "NOT_FOUND"
    assert info.value.status == 404


def test_bad_key_is_invalid_input(fake_jira: FakeJira) -> None:
    with pytest.raises(qapms.InvalidInputError):
        cloud(fake_jira).issue("not a key")


def test_wrong_credentials_are_an_auth_error(fake_jira: FakeJira) -> None:
    client = qapms.JiraClient(
        fake_jira.url, email="qa@example.com", api_token="tok-9f3e-do-not-leak"
    )
    with pytest.raises(qapms.AuthError) as info:
        client.issue("PAY-1")
    assert "tok-9f3e" not in str(info.value)
    assert "status" in str(info.value) and info.value.status == 401


def test_search_pages_past_cloud_limit(fake_jira: FakeJira) -> None:
    issues = list(cloud(fake_jira).search("project = PAY", page_size=100))
    assert [i.key for i in issues] == [f"PAY-{n}" for n in range(1, 251)]
    pages = [r for r in fake_jira.requests if r.path.endswith("/search/jql")]
    assert len(pages) == 3
    assert pages[1].body["nextPageToken"] == "100"


def test_search_is_lazy_and_can_be_abandoned(fake_jira: FakeJira) -> None:
    iterator = cloud(fake_jira).search("project = PAY", page_size=10)
    first = next(iterator)
    assert first.key == "PAY-1"
    del iterator
    time.sleep(0.3)
    pages = [r for r in fake_jira.requests if r.path.endswith("/search/jql")]
    # One page consumed plus at most the pages fetched ahead (and one in flight).
    assert len(pages) <= 4


def test_search_filters_and_fields(fake_jira: FakeJira) -> None:
    done = list(cloud(fake_jira).search('project = PAY AND status = "Done"', fields=["summary"]))
    assert len(done) == len(fake_jira.matching('project = PAY AND status = "Done"')) > 0
    assert all(i.status is None for i in done)  # status was not fetched
    assert all(i.summary for i in done)


def test_search_error_raises_from_iterator(fake_jira: FakeJira) -> None:
    iterator = cloud(fake_jira).search("project = PAY", page_size=100)
    assert next(iterator).key == "PAY-1"
    fake_jira.fail_next(403, body={"errorMessages": ["no permission"], "errors": {}})
    with pytest.raises(qapms.QapmsError):
        list(iterator)


def test_rate_limit_is_retried_after_retry_after(fake_jira: FakeJira) -> None:
    fake_jira.fail_next(429, {"Retry-After": "1"})
    started = time.monotonic()
    issue = cloud(fake_jira).issue("PAY-3")
    assert issue.key == "PAY-3"
    assert time.monotonic() - started >= 0.9


def test_data_center_offset_paging(fake_jira_dc: FakeJira) -> None:
    client = qapms.JiraClient(fake_jira_dc.url, token="pat-s3cret", deployment="data_center")
    keys = [i.key for i in client.search("project = PAY", page_size=50)]
    assert sorted(keys, key=lambda k: int(k.split("-")[1])) == [f"PAY-{n}" for n in range(1, 251)]
    assert len(keys) == len(set(keys))
    assert all(r.path.startswith("/rest/api/2/") for r in fake_jira_dc.requests)


def test_comments_transitions_worklogs(fake_jira: FakeJira) -> None:
    client = cloud(fake_jira)
    comment = client.add_comment("PAY-2", "Verified on **staging**")
    assert comment.body["type"] == "doc"  # ADF on Cloud
    assert [c.id for c in client.comments("PAY-2")] == [comment.id]

    transitions = client.transitions("PAY-2")
    assert transitions and transitions[0].name
    chosen = transitions[0]
    assert client.transition("PAY-2", chosen.name.upper()) == chosen.id
    assert fake_jira.transitioned == [("PAY-2", chosen.id)]
    with pytest.raises(qapms.InvalidInputError, match="available"):
        client.transition("PAY-2", "Teleport")

    started = dt.datetime(2026, 11, 30, 9, 15, tzinfo=dt.timezone.utc)
    log = client.add_worklog("PAY-2", 1800, started=started, comment="regression pass")
    assert log.seconds == 1800
    body = [r.body for r in fake_jira.requests if r.path.endswith("/worklog")][-1]
    assert body["started"] == "2026-11-30T09:15:00.000+0000"
    with pytest.raises(qapms.InvalidInputError):
        client.add_worklog("PAY-2", 30)


def test_create_issue_checks_createmeta(fake_jira: FakeJira) -> None:
    client = cloud(fake_jira)
    created = client.create_issue("PAY", "Story", "New story", description="Some *text*")
    assert created.key.startswith("PAY-")
    assert fake_jira.created[-1]["fields"]["issuetype"] == {"id": "10001"}
    with pytest.raises(qapms.InvalidInputError, match="components"):
        client.create_issue("PAY", "Bug", "Missing component")
    client.create_issue("PAY", "Bug", "With component", fields={"components": [{"name": "API"}]})
    with pytest.raises(TypeError, match="JSON-compatible"):
        client.create_issue("PAY", "Story", "x", fields={"bad": object()})


def test_projects_fields_myself(fake_jira: FakeJira) -> None:
    client = cloud(fake_jira)
    assert client.projects()[0].key == "PAY"
    assert isinstance(client.fields(), list)
    assert client.myself()["accountId"]
    assert client.metrics()


def test_async_calls(fake_jira: FakeJira) -> None:
    client = cloud(fake_jira)

    async def main() -> tuple[str, list[str], str]:
        issue = await client.async_issue("PAY-5")
        keys = [i.key async for i in client.async_search("project = PAY")]
        comment = await client.async_add_comment("PAY-5", "async hello")
        return issue.key, keys, comment.id

    key, keys, comment_id = asyncio.run(main())
    assert key == "PAY-5"
    assert len(keys) == 250
    assert comment_id


def test_wrong_argument_types_name_the_argument(fake_jira: FakeJira) -> None:
    client = cloud(fake_jira)
    with pytest.raises(TypeError, match="key"):
        client.issue(12)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        qapms.JiraClient(fake_jira.url, email="qa@example.com")
    with pytest.raises(ValueError, match="deployment"):
        qapms.JiraClient(fake_jira.url, deployment="moon")
    with pytest.raises((ValueError, qapms.InvalidInputError)):
        client.issue("PAY-1\x00")


def test_ctrl_c_interrupts_a_waiting_call(fake_jira: FakeJira) -> None:
    # The fake asks for a 30 s pause; SIGINT must end the wait long before that.
    fake_jira.fail_next(429, {"Retry-After": "30"})

    def interrupt_once_waiting() -> None:
        # Only once the 429 has been answered is the call in its wait; a fixed delay could
        # land earlier on a loaded machine, outside the call.
        deadline = time.monotonic() + 20
        while not fake_jira.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        signal.raise_signal(signal.SIGINT)

    client = cloud(fake_jira)
    interrupter = threading.Thread(target=interrupt_once_waiting)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        interrupter.start()
        client.issue("PAY-1")
    interrupter.join()
    assert fake_jira.requests, "the call reached the fake before the interrupt"
    assert time.monotonic() - started < 25


def test_workspace_jira_from_config(
    fake_jira: FakeJira, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = home.cwd / "qapms.yaml"
    config.write_text(
        f"""
integrations:
  jira:
    base_url: {fake_jira.url}
    deployment: cloud
    projects: [PAY]
    auth:
      method: basic
      email: qa@example.com
      api_token: ${{JIRA_TOKEN}}
"""
    )
    for k, v in home.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("JIRA_TOKEN", "s3cret-token")
    monkeypatch.chdir(home.cwd)
    with qapms.Workspace.open(config=Path(config)) as ws:
        assert ws.jira is ws.jira  # one client, one rate limiter
        assert ws.jira.issue("PAY-1").key == "PAY-1"


def test_workspace_without_jira_says_so(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in home.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(home.cwd)
    with (
        qapms.Workspace.open() as ws,
        pytest.raises(qapms.ConfigError, match=r"integrations\.jira"),
    ):
        _ = ws.jira
