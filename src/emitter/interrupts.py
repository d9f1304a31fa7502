"""SIGINT and SIGTERM: one behaviour for both.

The CLI (``signals_raise``) turns either signal into an exception raised where the program is
(``Interrupted``, or its subclass ``Terminated`` for SIGTERM), so ``finally`` blocks clean up;
its boundary then prints ``interrupted`` and exits 130 (SIGINT) or 143 (SIGTERM): 128 plus the
signal number, the shell's convention, so a caller can tell which one stopped it. (Neither is a
``KeyboardInterrupt``: typer would turn that into a silent exit 130.)

During a commit both are held (``held``): a signal that arrives is taken back at the commit
point, the commit is rolled back, and only then is the signal delivered again (``deliver``),
so the tree is never left between old and new.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

HELD = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """SIGINT arrived (a ``BaseException``: no ``except Exception`` swallows it)."""

    exit_code = 128 + signal.SIGINT
    message = "interrupted"


class Terminated(Interrupted):
    """SIGTERM arrived."""

    exit_code = 128 + signal.SIGTERM
    message = "interrupted (SIGTERM)"


def _raise(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
    raise Terminated() if signum == signal.SIGTERM else Interrupted()


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Make SIGINT and SIGTERM raise ``Interrupted``/``Terminated`` (SIGTERM's default would
    end the process with no cleanup at all)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (the CLI called from a worker thread)
        return
    previous = {signum: signal.signal(signum, _raise) for signum in HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Held:
    """The signals held back by ``held``; ``take`` removes a pending one and names it."""

    def take(self) -> int | None:
        taken = signal.sigtimedwait(HELD, 0)
        return taken.si_signo if taken is not None else None


@contextlib.contextmanager
def held() -> Iterator[Held]:
    """Block SIGINT and SIGTERM; on exit, unblock (any still pending then arrives as usual)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
    try:
        yield Held()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def deliver(signum: int) -> None:
    """Deliver a signal ``take`` held back, to whatever handler is installed; if that handler
    returns, the interrupted operation still must not look finished."""
    signal.raise_signal(signum)
    raise KeyboardInterrupt
