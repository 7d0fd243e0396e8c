"""Backends that run the :class:`~.batch.EnvSlice` objects of a batch.

* ``sync``: one slice, stepped in the caller's thread (the baseline);
* ``thread``: one slice per core, stepped in a thread pool. ``mujoco.mj_step`` releases
  the GIL, so the physics of different slices runs in parallel;
* ``process``: one slice per worker process, buffers in shared memory (:mod:`.process`);
* ``ray``: one slice per Ray actor, on this machine or a cluster (:mod:`.ray_backend`).

Every backend has the same small interface, :class:`Backend`: ``layout`` and ``out`` (the
batch buffers the vector env reads), ``reset``, ``step_async`` / ``step_wait`` guarded by a
:class:`State` that refuses a second ``step_async`` before ``step_wait``, ``robot_states``
and ``close``.
"""

from __future__ import annotations

import enum
import os
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import Any

import numpy as np
from gymnasium.error import AlreadyPendingCallError, ClosedEnvironmentError, NoAsyncCallError

from ..errors import ProcgenError, unknown_name
from ..sim.core import SimEnv
from .batch import Buffers, EnvFactory, EnvSlice, Layout, allocate, make_slice, split

BACKENDS = ("sync", "thread", "process", "ray")


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class WorkerError(ProcgenError, RuntimeError):
    """A worker process or Ray actor failed or died; the batch cannot go on.

    Attributes:
        index: the worker's index (it runs envs ``ranges[index]``).
        exitcode: the process exit code (negative: killed by that signal), if it died.
        remote_traceback: the traceback text from the worker, if it raised.
    """

    def __init__(self, message: str, index: int, exitcode: int | None = None,
                 remote_traceback: str | None = None):
        super().__init__(message)
        self.index, self.exitcode, self.remote_traceback = index, exitcode, remote_traceback


class RemoteTraceback(Exception):
    """Chained as the ``__cause__`` of a :class:`WorkerError`, so the worker's traceback
    prints under the parent's (``concurrent.futures`` does the same)."""

    def __str__(self) -> str:
        return f'\n"""\n{self.args[0]}"""'


class State(enum.Enum):
    IDLE = "idle"
    STEPPING = "waiting for step_wait"
    CLOSED = "closed"


class Backend:
    """The interface the vector env drives; subclasses implement the ``_``-methods.

    Attributes:
        name: the backend name (one of :data:`BACKENDS`).
        layout: spaces, info keys and dt shared by every env.
        out: the batch buffers ``reset`` and ``step_wait`` leave the results in.
        ranges: ``(start, stop)`` of the envs each slice / worker owns.
    """

    name: str
    layout: Layout
    out: Buffers
    ranges: list[tuple[int, int]]
    state: State = State.IDLE

    def step_async(self, actions: np.ndarray) -> None:
        """Start one step of every env with ``actions`` (checked and clipped, float32)."""
        self._require_idle("step_async")
        self._step_async(actions)
        self.state = State.STEPPING

    def step_wait(self) -> np.ndarray | None:
        """Finish the step started by :meth:`step_async`; the results are in :attr:`out`.

        Returns:
            A (num_envs,) bool mask of envs whose worker was restarted this step, or None.
        """
        if self.state is not State.STEPPING:
            self._require_open("step_wait")
            raise NoAsyncCallError("step_wait called without a pending step_async", "step")
        try:
            restarted = self._step_wait()
        except Exception:
            if self.state is State.STEPPING:  # the step is over, though it failed
                self.state = State.IDLE
            raise  # Ctrl-C (not an Exception) leaves the step pending: call step_wait again
        self.state = State.IDLE
        return restarted

    def reset(self, seeds: list[int | None], mask: np.ndarray | None) -> np.ndarray | None:
        """Reset the envs where ``mask`` (all when None), env i with ``seeds[i]``.

        Returns:
            Like :meth:`step_wait`, the envs whose worker was restarted, or None.
        """
        self._require_idle("reset")
        return self._reset(seeds, mask)

    def robot_states(self) -> list[dict[str, Any]]:
        """Per env, its robot's joints and base pose (see ``SpaceRosVectorEnv.robot_states``)."""
        self._require_idle("robot_states")
        return self._robot_states()

    def views(self, width: int, height: int) -> list[np.ndarray]:
        """Per env, a (height, width, 3) uint8 picture of its robot, rendered where it lives."""
        self._require_idle("render")
        return self._views(width, height)

    def close(self) -> None:
        """Stop every worker and free the buffers; safe to call twice."""
        if self.state is not State.CLOSED:
            self.state = State.CLOSED
            self._close()

    @property
    def envs(self) -> list[SimEnv]:
        raise ProcgenError(f"the {self.name} backend keeps its envs in its workers, not in this "
                           "process; use robot_states() for their robots, or backend='thread' "
                           "for in-process SimEnv objects")

    def _require_open(self, call: str) -> None:
        if self.state is State.CLOSED:
            raise ClosedEnvironmentError(f"{call}: the {self.name} backend is closed"
                                         f"{getattr(self, 'closed_because', '')}")

    def _require_idle(self, call: str) -> None:
        self._require_open(call)
        if self.state is State.STEPPING:
            raise AlreadyPendingCallError(
                f"{call}: a step_async is pending; call step_wait first", "step")

    def _step_async(self, actions: np.ndarray) -> None:
        raise NotImplementedError

    def _step_wait(self) -> np.ndarray | None:
        raise NotImplementedError

    def _reset(self, seeds: list[int | None], mask: np.ndarray | None) -> np.ndarray | None:
        raise NotImplementedError

    def _robot_states(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _views(self, width: int, height: int) -> list[np.ndarray]:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class InProcessBackend(Backend):
    """Slices of in-process envs, stepped in ``workers`` threads (1 = no threads at all).

    Args:
        envs: every env of the batch, in order.
        workers: number of slices / threads.
        name: ``sync`` or ``thread``.
    """

    def __init__(self, envs: list[SimEnv], workers: int, name: str = "thread"):
        self.name = name
        self.layout = Layout.of(envs[0])
        self.out = allocate(len(envs), self.layout.observation_space, self.layout.info_keys)
        if envs[0].task.BATCHED:  # one Batch on MuJoCo's own pool of ``workers`` threads
            self.ranges = [(0, len(envs))]
            self.slices = [make_slice(envs, workers)]
        else:
            self.ranges = split(len(envs), workers)
            self.slices = [EnvSlice(envs[a:b]) for a, b in self.ranges]
        self.outs = [self.out.view(a, b) for a, b in self.ranges]
        self.pool = ThreadPoolExecutor(len(self.slices) - 1, thread_name_prefix="spaceros-step") \
            if len(self.slices) > 1 else None
        self._pending: list[Future] = []
        self._actions: np.ndarray | None = None

    @property
    def envs(self) -> list[SimEnv]:
        return [env for piece in self.slices for env in piece.envs]

    def _step_async(self, actions: np.ndarray) -> None:
        self._actions = actions
        if self.pool is None:
            return  # sync: the work happens in step_wait
        # The controllers run here (Python, GIL), then every slice's physics runs in its own
        # thread (MuJoCo releases the GIL), and rewards/observations in step_wait: the threads
        # never contend for the GIL, so light tasks are not slower than sync.
        for piece, (a, b) in zip(self.slices, self.ranges):
            piece.begin(actions[a:b])
        self._pending = [self.pool.submit(piece.physics) for piece in self.slices[1:]]

    def _step_wait(self) -> None:
        actions, self._actions = self._actions, None
        if self.pool is None:
            self.slices[0].step(actions, self.outs[0])
            return None
        errors = []
        try:  # slice 0's physics runs in this thread while the pool runs the others
            self.slices[0].physics()
        except Exception as exc:  # noqa: BLE001  (re-raised below, after the others finish)
            errors.append(exc)
        futures_wait(self._pending)  # every slice done before anything is raised
        errors += [future.exception() for future in self._pending]
        self._pending = []
        for error in errors:
            if error is not None:
                raise error
        pending = []
        for piece, (a, b), view in zip(self.slices, self.ranges, self.outs):
            piece.finish(actions[a:b], view)
            pending.append(piece.render(view))  # cameras: slices render in parallel threads
        for render in pending:
            piece.render_wait(render)
        return None

    def _reset(self, seeds: list[int | None], mask: np.ndarray | None) -> None:
        for piece, (a, b), view in zip(self.slices, self.ranges, self.outs):
            piece.reset(view, seeds[a:b], None if mask is None else mask[a:b])

    def _robot_states(self) -> list[dict[str, Any]]:
        return [state for piece in self.slices for state in piece.robot_states()]

    def _views(self, width: int, height: int) -> list[np.ndarray]:
        pending = [piece.views_async(width, height) for piece in self.slices]  # in parallel
        return [frame for future in pending for frame in future.result()]

    def _close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        for piece in self.slices:
            piece.close()


def make_backend(name: str, factory: EnvFactory, num_envs: int, workers: int | None = None,
                 progress: bool | None = None, **options: Any) -> Backend:
    """Build backend ``name`` running ``num_envs`` envs of ``factory``.

    Args:
        name: one of :data:`BACKENDS`; unknown names list the real ones.
        factory: how to build any slice of the batch.
        num_envs: batch size.
        workers: threads / processes / actors (default: the usable cores, or for Ray the
            cluster's CPUs divided by ``ray_num_cpus``); ignored by ``sync``.
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
    if name == "ray":  # fail fast (Ray missing, cluster not answering) before any asset work
        from .ray_backend import connect

        connect(options.get("ray_address"))
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
