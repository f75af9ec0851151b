"""Import test of an installed qapms wheel, run by ``make test-wheels`` under each Python.

It checks what differs between interpreters for an abi3 extension: the module loads, classes
and exceptions are there, a sync call and an async twin run (the runtime, the GIL release and
pyo3-async-runtimes), a store opens and a JUnit report imports, and the pytest plugin's entry
point is registered.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path

REPORT = """<testsuite name="smoke"><testcase classname="a.B" name="ok"/>
<testcase classname="a.B" name="bad"><failure message="boom"/></testcase></testsuite>"""


def main() -> int:
    import qapms

    assert qapms.__version__
    assert issubclass(qapms.NotFoundError, qapms.QapmsError)
    rendered = qapms.SplunkClient(templates={"t": "index=app {x}"}).render("t", {"x": "1"})
    assert '"1"' in rendered.spl
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["QAPMS_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["QAPMS_CONFIG_DIR"] = str(Path(tmp) / "config")
        os.chdir(tmp)
        report = Path(tmp) / "junit.xml"
        report.write_text(REPORT)

        async def run() -> int:
            ws = await qapms.Workspace.async_open(user="smoke")
            summary = await ws.results.async_import_junit(report)
            ws.close()
            return summary.tests

        assert asyncio.run(run()) == 2
        with qapms.Workspace.open(user="smoke") as ws:
            assert dict(ws.store_info().tables)["test_runs"] == 1
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("qapms") == "qapms.pytest_plugin", plugins
    print(f"qapms {qapms.__version__} OK on Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
