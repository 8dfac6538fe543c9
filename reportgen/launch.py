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
    sys.unraisablehook = deliver_interrupts
    try:
        from reportgen.cli import main as run
    except BaseException as exc:
        if not by_interrupt(exc):
            raise
        sys.stderr.write("interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    run()


def by_interrupt(exc: BaseException) -> bool:
    """Return whether ``exc`` is a Ctrl-C, or an error raised because of one.

    Python 3.11 wraps what a hook of class creation raises (the ``__set_name__`` of each dataclass
    field) in a RuntimeError, caused by it: a Ctrl-C that lands there while a module is imported ends as
    that error, and printed a traceback.
    """
    cause: BaseException | None = exc
    for _ in range(100):  # a chain of causes is short; a cycle is not followed for ever
        if cause is None:
            return False
        if isinstance(cause, KeyboardInterrupt):
            return True
        cause = cause.__cause__
    return False


def deliver_interrupts(unraisable: "sys.UnraisableHookArgs") -> None:
    """Deliver again a Ctrl-C that Python would drop, and report anything else as Python does.

    A KeyboardInterrupt raised while Python runs a callback it cannot raise from (a weak reference's,
    as the import system's module locks have, or a ``__del__``) is printed as "Exception ignored" and
    lost: the command went on as if no Ctrl-C had come. It arrives again instead, as a Ctrl-C does, once
    the main thread is out of the callback: from another thread, which runs when this one lets it (raised
    from here, it would be dropped again). Should it land in such a callback again, it comes back here.
    """
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        import _thread  # built in: nothing is read from disk

        try:
            _thread.start_new_thread(_thread.interrupt_main, ())
            return
        except RuntimeError:  # no new thread while Python shuts down: it was ending anyway
            pass
    sys.__unraisablehook__(unraisable)
