"""The command's entry point: import the command line (a fifth of a second) with Ctrl-C handled.

The console script and ``python -m reportgen`` start here. Importing ``reportgen.cli`` loads click,
Jinja2, PyYAML and the rest; a Ctrl-C in that time would otherwise print a traceback. Python imports
the package's ``__init__`` and this module before ``main`` can catch one: they import nothing but
``sys`` (already loaded), so that window is as short as it can be.
"""

import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


def main() -> None:
    """Import the command line, then run it; a Ctrl-C during the import exits 130, as one after it."""
    try:
        from reportgen.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    run()
