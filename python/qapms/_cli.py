"""Entry point of the ``qapms`` console script.

The commands are written in Rust (qapms-py) so that the CLI, the Python API and the other
front-ends share one implementation; this shim only hands over ``sys.argv``.
"""

import signal
import sys

from qapms._qapms import run_cli


def main() -> None:
    """Run the ``qapms`` command line and exit with its status."""
    # The Rust code runs without the GIL, where Python's own SIGINT handler cannot interrupt
    # it; the default action makes Ctrl-C stop the command at once, as a native CLI would.
    # Store writes are transactional, so an interrupted command leaves nothing half-written.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # Arguments that are not valid UTF-8 reach Python as lone surrogates, which cannot cross
    # into Rust; each bad byte becomes U+FFFD instead, so the command sees (and can reject)
    # the text rather than the user seeing a traceback.
    argv = [a.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for a in sys.argv]
    sys.exit(run_cli(argv))


if __name__ == "__main__":
    main()
