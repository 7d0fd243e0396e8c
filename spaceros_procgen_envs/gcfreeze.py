"""Keep the cyclic garbage collector's full passes out of the step loop.

A process that has imported MuJoCo, Gymnasium and trimesh and built a batch tracks about
100 000 container objects (functions, dicts, tuples of the imported modules, the worlds). One
full (generation 2) collection walks every one of them: 30 to 45 ms on a 2-core machine, the
time of 60 to 100 steps of 16 light envs. The first one comes a few hundred steps after a batch
is built, because building it leaves thousands of new survivors pending.

Those objects live as long as the batch, so :func:`hold` moves everything alive to the
collector's permanent generation (``gc.freeze``) once a batch is built, and :func:`release`
gives it back when the batch closes. Garbage in reference cycles (trimesh's meshes hold
themselves through their caches) is freed only by a collection, and a freeze would keep it:
a process that built and closed batch after batch grew by about 115 MB per 64 ingenuity
worlds. So every freeze follows a collection: :func:`hold` collects the garbage of the build
before freezing, the last batch to close collects at once, and while other batches stay open
the heap is frozen again at the next :func:`settle` (a batch's ``reset``) or :func:`hold`,
after a collection, so the garbage of the closed batch is freed rather than frozen. The freeze
is process-wide: objects that exist when a batch is built are not scanned for cycles while it
lives (reference counting frees them as usual).
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_holders = 0
_refreeze = False  # a batch closed while others live: collect and freeze at the next settle


def hold() -> None:
    """A batch is built: collect the garbage, then freeze every object alive (``gc.freeze``)."""
    global _holders, _refreeze
    with _lock:
        _holders += 1
        gc.collect()
        _refreeze = False
        gc.freeze()


def release() -> None:
    """A batch closed: unfreeze, and free its cyclic garbage (now when it was the last batch,
    else at the next :func:`settle` or :func:`hold`, before the heap is frozen again)."""
    global _holders, _refreeze
    with _lock:
        if _holders == 0:
            return
        _holders -= 1
        gc.unfreeze()
        if _holders:
            _refreeze = True
        else:
            gc.collect()


def settle() -> None:
    """At a reset of an open batch: if one closed since, collect, then freeze again."""
    global _refreeze
    with _lock:
        if _refreeze:
            gc.collect()
            _refreeze = False
            gc.freeze()


def holders() -> int:
    """Batches open in this process that froze the heap."""
    return _holders
