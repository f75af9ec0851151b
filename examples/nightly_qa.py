"""A nightly QA script on qapms: import the CI's JUnit reports, send them to Testmo, and print
what needs attention (new failure clusters, flaky tests, open alerts).

It replaces a typical mix of ``requests`` calls against Testmo, the ``testmo`` Node CLI run
through ``subprocess`` and a hand-rolled flaky-test spreadsheet. Run it in a directory with a
``qapms.yaml`` (Testmo configured, or pass ``--no-testmo``):

    python examples/nightly_qa.py reports/*.xml --run-name "nightly 2026-01-05"

With ``--verify PAY-12`` it also walks the ticket through the built-in ``verify_ticket``
workflow, timing the work, the way a QA would step through it by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import qapms


def attention(ws: qapms.Workspace, run_id: str) -> list[str]:
    """Lines about what the run changed: new clusters, flaky tests and open alerts."""
    analysis = ws.patterns.analyze(run=run_id, persist=True)
    lines = [
        f"{analysis.runs} runs, {analysis.failures} failures in {len(analysis.clusters)} clusters"
    ]
    for cluster in analysis.clusters:
        if cluster.new_in_run:
            where = f" -> {cluster.ticket}" if cluster.ticket else ""
            lines.append(f"NEW {cluster.key} {cluster.label}: {cluster.template}{where}")
    for test in ws.patterns.flaky():
        low, high = test.score_interval
        lines.append(f"FLAKY {test.external_id} {test.score:.2f} [{low:.2f}, {high:.2f}]")
    for alert in ws.patterns.alerts(min_severity="medium"):
        lines.append(f"ALERT {alert.severity} {alert.title} ({alert.occurrences}x)")
    return lines


def verify(ws: qapms.Workspace, ticket: str) -> qapms.Workflow:
    """Walks `ticket` through `verify_ticket`, ticking every checklist item of each step."""
    workflow = ws.workflows.start("verify_ticket", ticket)
    while workflow.state == "in_progress" and workflow.active_step is not None:
        step = workflow.active_step
        for number, (_text, done) in enumerate(step.checklist, start=1):
            if not done:
                workflow = ws.workflows.tick(workflow, number)
        workflow = ws.workflows.add_evidence(workflow, f"{step.name}: checked by the nightly job")
        workflow = ws.workflows.step_done(workflow)
    return ws.workflows.complete(workflow)


async def testmo_cases(ws: qapms.Workspace) -> int:
    """Counts the automated Testmo cases, with the async twins."""
    return len([case async for case in ws.testmo.async_cases(automated=True)])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--run-name")
    parser.add_argument("--no-testmo", action="store_true")
    parser.add_argument("--verify", metavar="TICKET")
    args = parser.parse_args(argv)
    try:
        with qapms.Workspace.open() as ws:
            summary = ws.results.import_junit(args.reports, run_name=args.run_name)
            print(f"stored run {summary.run_id}: {summary.tests} tests, {summary.failed} failed")
            if not args.no_testmo:
                submitted = ws.testmo.submit_junit(args.reports, name=summary.run_name)
                print(f"Testmo automation run {submitted.id} ({submitted.failures} failed)")
                print(f"{asyncio.run(testmo_cases(ws))} automated cases in Testmo")
            for line in attention(ws, summary.run_id):
                print(line)
            if args.verify:
                with ws.timer(args.verify) as timer:
                    workflow = verify(ws, args.verify)
                print(f"{workflow.ticket}: {workflow.state}; timer entry {timer.entry}")
    except qapms.QapmsError as err:
        print(f"error ({err.code}): {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
