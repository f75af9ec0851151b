"""A release-readiness report, as QA teams write it against pycontribs ``jira``.

Migrated to qapms by changing one import: the script was written for

    from jira import JIRA

and runs unchanged on qapms with the line below. It lists every open ticket of a project by
status (all of them: no silent cut at 100 on Cloud), comments on the first blocker and prints
the transitions a ticket offers.

    JIRA_URL=https://acme.atlassian.net JIRA_EMAIL=qa@acme.test JIRA_TOKEN=... \\
        python examples/jira_release_report.py PAY
"""

from __future__ import annotations

import os
import sys
from collections import Counter

from qapms.compat.jira import JIRA


def report(jira: JIRA, project: str) -> list[str]:
    """The report's lines, in a stable order."""
    issues = jira.search_issues(
        f"project = {project}", maxResults=False, fields="summary,status,labels"
    )
    lines = [f"{len(issues)} tickets in {project}"]
    by_status = Counter(issue.fields.status.name for issue in issues)
    lines += [f"  {status}: {count}" for status, count in sorted(by_status.items())]
    in_qa = [i for i in issues if i.fields.status.name == "In QA"]
    for issue in in_qa[:3]:
        lines.append(f"  in QA: {issue.key} {issue.fields.summary} {sorted(issue.fields.labels)}")
    if in_qa:
        first = jira.issue(in_qa[0].key, fields="summary,status")
        jira.add_comment(first, "Release check: still in QA")
        names = sorted(t["name"] for t in jira.transitions(first))
        lines.append(f"  {first.key} can move: {', '.join(names)}")
    return lines


def main() -> int:
    project = sys.argv[1] if len(sys.argv) > 1 else "PAY"
    jira = JIRA(
        os.environ["JIRA_URL"],
        basic_auth=(os.environ["JIRA_EMAIL"], os.environ["JIRA_TOKEN"]),
    )
    for line in report(jira, project):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
