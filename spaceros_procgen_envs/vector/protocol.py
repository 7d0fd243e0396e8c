"""What every backend shares: the names, the :class:`Backend` interface the vector env drives,
its call-order :class:`State`, and the errors a worker ships home.

Every backend has the same small interface, :class:`Backend`: ``layout`` and ``out`` (the
batch buffers the vector env reads), ``reset``, ``step_async`` / ``step_wait`` guarded by a
:class:`State` that refuses a second ``step_async`` before ``step_wait``, ``robot_states``
and ``close``.
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium.error import AlreadyPendingCallError, ClosedEnvironmentError, NoAsyncCallError

from ..errors import ProcgenError
from ..world import SimEnv
from .batch import Buffers, Layout

BACKENDS = ("sync", "thread", "process", "ray")
# After each reply a worker (a ``process`` worker, a ``ray`` actor's step channel) polls for its
# next command this long, yielding its core to any other runnable process between polls, before
# it blocks: a worker that slept between two steps wakes 50 to 100 us late and runs its next step
# 30 to 40 % slower on cold caches (32 ingenuity envs, one worker, 2 cores). 2 ms covers the
# parent's own share of a step and a small policy's action.
SPIN_S = 0.002


def spin(ready: Callable[[], bool]) -> None:
    """Poll ``ready()`` for up to :data:`SPIN_S`, yielding the core between polls; the caller
    then blocks on what it was waiting for (at once, when ``ready()`` came true)."""
    deadline = time.perf_counter() + SPIN_S
    while not ready() and time.perf_counter() < deadline:
        os.sched_yield()


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


STATE_ARRAYS = ("position", "velocity", "effort", "base_xyz", "base_wxyz", "sim_time_s",
                "ee_xyz", "ee_wxyz")  # per-env rows of a robot-state dict; the rest is shared


def join_states(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The robot-state arrays of consecutive slices as one batch (rows in slice order)."""
    if len(parts) == 1:
        return parts[0]
    joined = dict(parts[0])
    for key in STATE_ARRAYS:
        if key in joined:
            joined[key] = np.concatenate([part[key] for part in parts])
    return joined


def states_per_env(arrays: dict[str, Any]) -> list[dict[str, Any]]:
    """Robot-state arrays (``joint_names``, ``prefix``, then ``(n, ...)`` rows: ``position``,
    ``velocity``, ``effort``, ``base_xyz``, ``base_wxyz``, ``sim_time_s``, manipulators'
    ``ee_xyz`` / ``ee_wxyz``) as one dict per env."""
    rows = [key for key in STATE_ARRAYS if key in arrays]
    shared = {key: value for key, value in arrays.items() if key not in rows}
    n = len(arrays["sim_time_s"])
    states = [{**shared, **{key: arrays[key][i] for key in rows}} for i in range(n)]
    for state in states:
        state["sim_time_s"] = float(state["sim_time_s"])
    return states


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
        return states_per_env(self.robot_state_arrays())

    def robot_state_arrays(self, ee: bool = True) -> dict[str, Any]:
        """Every env's robot as ``(num_envs, ...)`` arrays (see :func:`states_per_env`);
        ``ee=False`` leaves out a manipulator's end-effector pose."""
        self._require_idle("robot_states")
        return self._robot_state_arrays(ee)

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

    def _robot_state_arrays(self, ee: bool) -> dict[str, Any]:
        raise NotImplementedError

    def _views(self, width: int, height: int) -> list[np.ndarray]:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError
