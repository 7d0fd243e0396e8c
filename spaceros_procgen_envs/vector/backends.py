"""Backends that run the :class:`~.batch_slice.BatchSlice` objects of a batch, and the
factory that picks one.

* ``sync``: one slice, one ``mujoco.batch.Batch`` on the caller's thread (the baseline);
* ``thread``: one slice, one Batch on MuJoCo's own pool of every core;
* ``process``: one slice per worker process, buffers in shared memory (:mod:`.process`);
* ``ray``: one slice per Ray actor, on this machine or a cluster (:mod:`.ray_backend`).

The interface they share is :class:`~.protocol.Backend`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import unknown_name
from ..world import SimEnv
from .batch import EnvFactory, Layout, allocate
from .batch_slice import make_slice
from .protocol import BACKENDS, Backend, RemoteTraceback, State, WorkerError, available_cores

__all__ = ["BACKENDS", "Backend", "InProcessBackend", "RemoteTraceback", "State", "WorkerError",
           "available_cores", "make_backend"]


class InProcessBackend(Backend):
    """Every env of the batch in one in-process slice: one ``mujoco.batch.Batch`` on
    ``workers`` MuJoCo threads (1 = the caller's thread only, ``sync``).

    Args:
        envs: every env of the batch, in order.
        workers: MuJoCo threads (and render threads of a ``_visual`` task).
        name: ``sync`` or ``thread``.
    """

    def __init__(self, envs: list[SimEnv], workers: int, name: str = "thread"):
        self.name = name
        self.layout = Layout.of(envs[0])
        self.out = allocate(len(envs), self.layout.observation_space, self.layout.info_keys)
        self.ranges = [(0, len(envs))]
        self.slices = [make_slice(envs, workers)]
        self._actions: np.ndarray | None = None

    @property
    def envs(self) -> list[SimEnv]:
        return list(self.slices[0].envs)

    def _step_async(self, actions: np.ndarray) -> None:
        self._actions = actions  # the step runs in step_wait, on MuJoCo's threads

    def _step_wait(self) -> None:
        actions, self._actions = self._actions, None
        self.slices[0].step(actions, self.out)

    def _reset(self, seeds: list[int | None], mask: np.ndarray | None) -> None:
        self.slices[0].reset(self.out, seeds, mask)

    def _robot_state_arrays(self, ee: bool) -> dict[str, Any]:
        return self.slices[0].robot_state_arrays(ee)

    def _views(self, width: int, height: int) -> list[np.ndarray]:
        return self.slices[0].views(width, height)

    def _close(self) -> None:
        self.slices[0].close()


def make_backend(name: str, factory: EnvFactory, num_envs: int, workers: int | None = None,
                 progress: bool | None = None, **options: Any) -> Backend:
    """Build backend ``name`` running ``num_envs`` envs of ``factory``.

    Args:
        name: one of :data:`BACKENDS`; unknown names list the real ones.
        factory: how to build any slice of the batch.
        num_envs: batch size.
        workers: threads / processes / actors (default: the usable cores, or for Ray one
            actor per node, on all of its CPUs); ignored by ``sync``.
        progress: asset-generation progress bar (None: only on a terminal).
        options: ``start_method`` for ``process``; ``ray_address``, ``ray_num_cpus`` for ``ray``.

    Raises:
        UnknownNameError: for an unknown backend name.
        ValueError: for an option the backend does not take, or ``workers < 1``.
    """
    if name not in BACKENDS:
        raise unknown_name("backend", name, BACKENDS)
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    takes = {"process": {"start_method"}, "ray": {"ray_address", "ray_num_cpus"}}.get(name, set())
    unused = sorted(key for key, value in options.items() if value is not None and key not in takes)
    if unused:
        raise ValueError(f"{', '.join(unused)} do(es) not apply to backend={name!r}; "
                         f"it takes {sorted(takes) or 'no options'}")
    options = {key: value for key, value in options.items() if value is not None}
    if name == "ray":  # fail fast (Ray missing, cluster not answering) before any asset work,
        # but start Ray after it: Ray's threads would make the asset pool a fork server, which
        # re-runs the user's script in each worker (a script without a main guard then fails)
        from .ray_backend import check_reachable

        check_reachable(options.get("ray_address"))
    # Assets of the worlds not cached yet first, on all cores with a progress bar: remote
    # workers then only load the caches (a warm start loads no asset at all).
    assets = factory.prepare(num_envs, progress)
    if name in ("sync", "thread"):
        envs = factory.build(0, num_envs, assets)
        return InProcessBackend(envs, 1 if name == "sync" else workers or available_cores(), name)
    del assets
    if name == "process":
        from .process import ProcessBackend

        return ProcessBackend(factory, num_envs, workers or available_cores(), **options)
    from .ray_backend import RayBackend

    return RayBackend(factory, num_envs, workers, **options)
