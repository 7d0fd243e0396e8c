"""Backends that run the :class:`~.batch.EnvSlice` objects of a batch.

* ``sync``: one slice, stepped in the caller's thread (the baseline);
* ``thread``: one slice per core, stepped in a thread pool. ``mujoco.mj_step`` releases
  the GIL, so the physics of different slices runs in parallel.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import unknown_name
from ..sim.core import SimEnv
from .batch import Buffers, EnvSlice, split

BACKENDS = ("sync", "thread")
SWITCH_INTERVAL_S = 2e-4


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class InProcessBackend:
    """Slices of in-process envs, stepped in ``workers`` threads (1 = no threads at all).

    Args:
        envs: every env of the batch, in order.
        out: the batch buffers; each slice writes into its own rows.
        workers: number of slices / threads.
    """

    def __init__(self, envs: list[SimEnv], out: Buffers, workers: int):
        self.ranges = split(len(envs), workers)
        self.slices = [EnvSlice(envs[a:b]) for a, b in self.ranges]
        self.views = [out.view(a, b) for a, b in self.ranges]
        self.pool = ThreadPoolExecutor(len(self.slices), thread_name_prefix="spaceros-step") \
            if len(self.slices) > 1 else None

    @property
    def envs(self) -> list[SimEnv]:
        return [env for piece in self.slices for env in piece.envs]

    def _run(self, method: str, per_slice_args: list[tuple]) -> None:
        calls = [getattr(piece, method) for piece in self.slices]
        if self.pool is None:
            for call, args in zip(calls, per_slice_args):
                call(*args)
            return
        # Python's default 5 ms GIL switch interval makes a thread coming back from mj_step wait
        # for the other's whole Python stretch; a short interval interleaves them finely.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        try:
            futures = [self.pool.submit(call, *args) for call, args in zip(calls, per_slice_args)]
            for future in futures:
                future.result()
        finally:
            sys.setswitchinterval(interval)

    def step(self, actions: np.ndarray) -> None:
        self._run("step", [(actions[a:b], view) for (a, b), view in zip(self.ranges, self.views)])

    def reset(self, seeds: list[int | None], mask: np.ndarray | None) -> None:
        self._run("reset", [(view, seeds[a:b], None if mask is None else mask[a:b])
                            for (a, b), view in zip(self.ranges, self.views)])

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None
        for piece in self.slices:
            piece.close()


def make_backend(name: str, envs: list[SimEnv], out: Buffers, workers: int | None):
    """Build backend ``name`` over ``envs``; unknown names list the real ones."""
    if name == "sync":
        return InProcessBackend(envs, out, 1)
    if name == "thread":
        return InProcessBackend(envs, out, workers or available_cores())
    raise unknown_name("backend", name, BACKENDS)
