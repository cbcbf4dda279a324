"""Ctrl-C and SIGTERM in the command line, including inside C code that calls back into Python.

The command line turns SIGINT into ``KeyboardInterrupt`` (exit 130) and SIGTERM into
``Terminated`` (a ``SystemExit(143)``); either unwinds the command, so partial outputs are
removed, unless the command catches it (``receive`` ends its stream and keeps the file: it calls
``caught()``). soundfile reads and writes file objects through C callbacks (cffi), and an
exception raised inside a callback, as a signal handler's is when the signal lands while one
runs, is printed as "ignored" and dropped: the C call goes on with a short read or write, and
returns as if nothing happened or fails with an error of its own. ``raise_dropped()`` wraps such
calls: a signal received during the call whose exception did not come out of it (and was not
caught) is raised again in its place. In ``deferred()`` a signal waits for the end of the block.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

INTERRUPTED, TERMINATED = 130, 143  # exit statuses: 128 + SIGINT, 128 + SIGTERM


class Terminated(SystemExit):
    """SIGTERM's exception: exit status 143 unless caught."""


STOPS = (KeyboardInterrupt, Terminated)  # what the handlers raise

_received = 0        # signals whose exception was raised while ``handled()`` is active
_caught = 0          # ``_received`` when a caller last caught one
_last: int | None = None
_deferring = False   # in ``deferred()``: a signal is held in ``_held``
_held: int | None = None


def _exception(signum: int) -> BaseException:
    return Terminated(TERMINATED) if signum == signal.SIGTERM else KeyboardInterrupt()


def _on_signal(signum, frame) -> None:
    global _received, _last, _held
    if _deferring:
        _held = signum
        return
    _received, _last = _received + 1, signum
    sys.unraisablehook = lambda unraisable: None  # a dropped exception's report: we exit anyway
    raise _exception(signum)


@contextmanager
def handled() -> Iterator[None]:
    """SIGINT and SIGTERM raise their exceptions in this block (from the main thread only; in
    other threads, a no-op). The previous handlers and ``sys.unraisablehook`` come back after."""
    previous, hook = {}, sys.unraisablehook
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _on_signal)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = hook


def caught() -> None:
    """The caller caught the last signal's exception and acted on it: ``raise_dropped()`` does
    not raise it again."""
    global _caught
    _caught = _received


@contextmanager
def deferred() -> Iterator[None]:
    """A signal that arrives in this block (in the main thread) raises its exception at the end
    of the block, so that nothing in it is cut short (not nested)."""
    global _deferring, _held
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferring = True
    try:
        yield
    finally:
        _deferring = False
        signum, _held = _held, None
        if signum is not None:
            _on_signal(signum, None)


@contextmanager
def raise_dropped() -> Iterator[None]:
    """Around a C call that may call back into Python: if a signal arrived during it and the
    call still returned, or failed with an error of its own (the short write's), the signal's
    exception was dropped in a callback; raise it now."""
    before = _received
    try:
        yield
    except Exception:
        if _dropped(before):
            raise _exception(_last) from None
        raise
    if _dropped(before):
        raise _exception(_last)


def _dropped(before: int) -> bool:
    return _received > max(before, _caught)
