"""``qapms.compat.jira.JIRA`` against the fake Jira: pycontribs' signatures and shapes."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_jira import FakeJira

import qapms
from qapms.compat.jira import JIRA, Issue, JIRAError, ResultList

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "jira_release_report.py"


def connect(fake: FakeJira) -> JIRA:
    return JIRA(fake.url, basic_auth=("qa@example.com", "s3cret-token"))


def test_deployment_is_read_from_server_info(fake_jira: FakeJira, fake_jira_dc: FakeJira) -> None:
    assert connect(fake_jira)._is_cloud
    dc = JIRA(fake_jira_dc.url, token_auth="pat-s3cret")
    assert not dc._is_cloud
    assert JIRA(fake_jira.url, options={"deployment": "cloud"}, get_server_info=False)


def test_issue_attribute_access(fake_jira: FakeJira) -> None:
    issue = connect(fake_jira).issue("PAY-6")
    assert isinstance(issue, Issue)
    assert issue.key == "PAY-6"
    assert issue.fields.summary == "Checkout case 6"
    assert issue.fields.status.name == "In QA"
    assert issue.fields.customfield_10010.value == "team-2"
    assert issue.raw["fields"]["summary"] == "Checkout case 6"
    assert issue.permalink() == f"{fake_jira.url}/browse/PAY-6"
    # No `fields` argument means every field, as in pycontribs.
    assert fake_jira.requests[-1].query["fields"] == ["*all"]
    # Empty fields come back as None, not as a missing attribute.
    fake_jira.issues["PAY-6"]["fields"]["assignee"] = None
    assert connect(fake_jira).issue("PAY-6").fields.assignee is None
    only = connect(fake_jira).issue("PAY-6", fields="summary,duedate")
    assert only.fields.duedate is None
    with pytest.raises(AttributeError):
        _ = only.fields.status


def test_search_issues_all_results_past_100(fake_jira: FakeJira) -> None:
    jira = connect(fake_jira)
    every = jira.search_issues("project = PAY", maxResults=False)
    assert isinstance(every, ResultList)
    assert len(every) == 250 and every.isLast and every.total == 250
    assert len(jira.search_issues("project = PAY", maxResults=0)) == 250


def test_search_issues_max_results_above_cloud_limit(fake_jira: FakeJira) -> None:
    found = connect(fake_jira).search_issues("project = PAY", maxResults=150)
    assert [i.key for i in found] == [f"PAY-{n}" for n in range(1, 151)]
    assert found.maxResults == 150 and not found.isLast


def test_search_issues_default_and_start_at(fake_jira: FakeJira) -> None:
    jira = connect(fake_jira)
    assert len(jira.search_issues("project = PAY")) == 50
    page = jira.search_issues("project = PAY", startAt=240, maxResults=50)
    assert [i.key for i in page] == [f"PAY-{n}" for n in range(241, 251)]
    raw = jira.search_issues("project = PAY", maxResults=3, json_result=True, fields="summary")
    assert isinstance(raw, dict)
    assert [i["key"] for i in raw["issues"]] == ["PAY-1", "PAY-2", "PAY-3"]
    assert set(raw["issues"][0]["fields"]) == {"summary"}


def test_errors_are_jira_errors(fake_jira: FakeJira) -> None:
    jira = connect(fake_jira)
    with pytest.raises(JIRAError) as info:
        jira.issue("PAY-4040")
    assert info.value.status_code == 404
    assert isinstance(info.value, qapms.QapmsError)
    assert isinstance(info.value.__cause__, qapms.NotFoundError)
    with pytest.raises(JIRAError):
        JIRA(fake_jira.url, oauth={"consumer_key": "x"})


def test_comment_worklog_transition(fake_jira: FakeJira) -> None:
    jira = connect(fake_jira)
    issue = jira.issue("PAY-2")
    comment = jira.add_comment(issue, "Looks good")
    assert comment.id and comment.raw["body"]["type"] == "doc"
    assert [c.id for c in jira.comments("PAY-2")] == [comment.id]

    log = jira.add_worklog("PAY-2", timeSpent="1h 30m", started=dt.datetime(2026, 11, 30, 8, 0))
    assert log.timeSpentSeconds == 5400
    assert log.started.startswith("2026-11-30T08:00:00")
    with pytest.raises(JIRAError, match="duration"):
        jira.add_worklog("PAY-2", timeSpent="soon")

    transitions = jira.transitions("PAY-2")
    assert isinstance(transitions, list) and isinstance(transitions[0], dict)
    first = transitions[0]
    assert jira.find_transitionid_by_name("PAY-2", first["name"]) == int(first["id"])
    jira.transition_issue("PAY-2", first["name"], comment="moving on", worklog="15m")
    assert fake_jira.transitioned[-1] == ("PAY-2", first["id"])
    assert fake_jira.worklogs["PAY-2"][-1]["timeSpentSeconds"] == 900


def test_create_issue_with_fields_dict(fake_jira: FakeJira) -> None:
    jira = connect(fake_jira)
    issue = jira.create_issue(
        fields={
            "project": {"key": "PAY"},
            "issuetype": {"name": "Bug"},
            "summary": "Refund fails",
            "description": "Steps to reproduce",
            "components": [{"name": "API"}],
        }
    )
    assert issue.key.startswith("PAY-") and issue.fields.summary == "Refund fails"
    sent = fake_jira.created[-1]["fields"]
    assert sent["components"] == [{"name": "API"}] and sent["issuetype"] == {"id": "10004"}
    quick = jira.create_issue(project="PAY", issuetype="Story", summary="s", prefetch=False)
    assert quick.key.startswith("PAY-")
    with pytest.raises(JIRAError, match="summary"):
        jira.create_issue(project="PAY", issuetype="Story")


def test_projects_fields_myself(fake_jira: FakeJira) -> None:
    jira = connect(fake_jira)
    assert jira.project("PAY").key == "PAY"
    assert jira.projects()[0].key == "PAY"
    with pytest.raises(JIRAError) as info:
        jira.project("NOPE")
    assert info.value.status_code == 404
    assert isinstance(jira.fields(), list)
    assert "accountId" in jira.myself()


def _run_example(fake: FakeJira, module_dir: Path | None) -> str:
    env = dict(os.environ)
    env.update(JIRA_URL=fake.url, JIRA_EMAIL="qa@example.com", JIRA_TOKEN="s3cret-token")
    source = EXAMPLE.read_text()
    if module_dir is not None:
        # The script as it was before migration: the one import line put back.
        source = source.replace("from qapms.compat.jira import JIRA", "from jira import JIRA")
    script = (module_dir or EXAMPLE.parent) / "report_under_test.py"
    script.write_text(source)
    try:
        done = subprocess.run(
            [sys.executable, str(script), "PAY"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        script.unlink()
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_example_runs_unchanged(fake_jira: FakeJira) -> None:
    out = _run_example(fake_jira, None)
    assert out.splitlines()[0] == "250 tickets in PAY"
    assert "In QA: 63" in out and "can move:" in out


@pytest.mark.skipif(
    importlib.util.find_spec("jira") is None, reason="pycontribs jira is not installed"
)
def test_example_prints_the_same_as_with_pycontribs(fake_jira: FakeJira, tmp_path: Path) -> None:
    ours = _run_example(fake_jira, None)
    theirs = _run_example(fake_jira, tmp_path)
    assert ours == theirs
