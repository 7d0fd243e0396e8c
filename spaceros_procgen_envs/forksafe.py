"""Whether this process may still ``fork``: native threads do not survive it.

MuJoCo's batch thread pool (a ``mujoco.batch.Batch`` on more than one thread) and the GL
driver's threads are invisible to :mod:`threading`; a forked child that needs a lock or a
thread of theirs hangs. Their owners register here, and the pools that fork ask first.
"""

from __future__ import annotations

import threading
import weakref

_OWNERS: weakref.WeakSet = weakref.WeakSet()


def native_threads(owner: object) -> None:
    """Record that ``owner`` runs native threads for as long as it lives."""
    _OWNERS.add(owner)


def native_threads_alive() -> bool:
    """True while a registered owner of native threads lives (no fork then, nor forkserver:
    a fork server forks from this process too)."""
    return len(_OWNERS) > 0


def fork_is_safe() -> bool:
    """True while this process runs one Python thread and no registered native threads."""
    return threading.active_count() == 1 and not native_threads_alive()
