"""The asset generator pool: forked worker processes that never outlive their parent.

* Each worker asks the kernel to SIGKILL it when its parent dies (Linux
  ``PR_SET_PDEATHSIG``), so a parent killed outright (``kill -9``, a crash) leaves no orphan.
* While the pool runs in the main thread, SIGTERM and SIGHUP to the parent (``kill <pid>``
  from a supervisor, or a closed terminal) stop, kill and reap every worker first; then the
  signal takes its previous course (by default the process dies by it).
* Ctrl-C raises ``KeyboardInterrupt`` in the parent (workers ignore SIGINT), which stops
  the pool the same way.

Example::

    with guarded(make_pool(2)) as pool:
        results = [f.result() for f in [pool.submit(pow, 2, 10)]]
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from . import cache

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # linux/prctl.h
TERM_WAIT_S = 0.3  # after SIGTERM, before SIGKILL (workers keep SIGTERM's default: instant)
KILL_WAIT_S = 0.5
REAP_WAIT_S = 0.5  # for the pool's own thread, which may be reaping a worker


class _Stopped(BaseException):
    """Raised in the main thread by a stop signal while the pool runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def make_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes set up by :func:`worker_init`."""
    context = mp_context()
    forked = context is not None and context.get_start_method() == "fork"
    return ProcessPoolExecutor(workers, mp_context=context, initializer=worker_init,
                               initargs=(os.getpid() if forked else None,))


def worker_init(parent_pid: int | None = None) -> None:
    """In a worker: die with the parent; leave SIGINT and SIGTERM to it.

    Args:
        parent_pid: the pid the worker was forked from (None: forkserver, whose server
            process is the parent and exits with ours).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    # A forked worker inherits the parent's Python handlers (after ray.init() SIGTERM raises
    # SystemExit, which the pool's worker loop catches): back to the default, instant death.
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    _die_with_parent()
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the request above took effect


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no prctl: the parent's abort is then the only guard


def mp_context():
    """``fork`` on Linux (workers start in ms and inherit the imported generators), but
    only while this process runs no other Python thread: forking a threaded process can
    deadlock a child on a lock held by another thread, so then ``forkserver``. (With native
    threads alive, see :mod:`..forksafe`, the pipeline makes no pool at all.)"""
    methods = multiprocessing.get_all_start_methods()
    if not sys.platform.startswith("linux") or "fork" not in methods:
        return None
    if threading.active_count() == 1 or "forkserver" not in methods:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver")


@contextlib.contextmanager
def guarded(pool: ProcessPoolExecutor) -> Iterator[ProcessPoolExecutor]:
    """Use ``pool`` inside; shut it down after, or abort it on any exception or stop signal.

    A stop signal (SIGTERM, SIGHUP) in the block aborts the pool, then is delivered again to
    the handler that was there before (the default ends the process by that signal; a Python
    handler runs, then ``SystemExit(128 + signal)`` ends the block).
    """
    previous = _catch_stop_signals()
    try:
        yield pool
    except _Stopped as stop:
        abort(pool)
        _restore(previous)
        signal.raise_signal(stop.signum)  # its former handler, now back, takes it
        raise SystemExit(128 + stop.signum) from None
    except BaseException:
        abort(pool)
        raise
    finally:
        _restore(previous)
    pool.shutdown()


def _catch_stop_signals() -> dict:
    """Route SIGTERM/SIGHUP to :class:`_Stopped` (main thread only: Python's rule); once."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    raised = []

    def stop(signum, frame):
        if not raised:  # a second signal must not interrupt the abort of the first
            raised.append(signum)
            raise _Stopped(signum)

    previous = {}
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # an ignored signal stays ignored
            previous[signum] = signal.signal(signum, stop)
    return previous


def _restore(previous: dict) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    previous.clear()


def abort(pool: ProcessPoolExecutor) -> None:
    """Stop the pool now: cancel queued work, terminate workers, remove their temp files.

    The pool's own thread reaps dead workers too, so a worker reaped there fails our
    ``waitpid`` (ECHILD) and reads as alive until that thread records its exit code. So
    exits are read from the sentinels (closed at exit, whoever reaps), and the pool's
    thread is let finish: on return every worker is reaped and reported dead.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
    pool.shutdown(wait=False, cancel_futures=True)
    running = still_running(processes, timeout_s=0.0)
    for process in running:
        process.terminate()
    running = still_running(running, timeout_s=TERM_WAIT_S)
    for process in running:
        process.kill()
    still_running(running, timeout_s=KILL_WAIT_S)
    if manager is not None:
        manager.join(timeout=REAP_WAIT_S)
    for process in processes:
        process.join(timeout=0)  # reap those the pool's thread did not
    directory = cache.cache_dir()
    for process in processes:
        for temp in directory.glob(f".*.{process.pid}.*{cache.TEMP_SUFFIX}"):
            temp.unlink(missing_ok=True)


def still_running(processes: list, timeout_s: float) -> list:
    """Those of ``processes`` that have not exited after up to ``timeout_s`` s (no reaping)."""
    deadline = time.monotonic() + timeout_s
    running = list(processes)
    while running:
        ended = multiprocessing.connection.wait([p.sentinel for p in running],
                                                max(0.0, deadline - time.monotonic()))
        running = [p for p in running if p.sentinel not in ended]
        if not ended:
            break
    return running
