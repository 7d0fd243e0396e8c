"""Many worlds of one task as one ``mujoco.batch.Batch``: the arrays batched task logic reads.

Every world of a task compiles to the same MjData layout (fixed collision-piece counts, padded
mesh faces, see :func:`~..world.build_worlds`), so one Batch runs them all on MuJoCo's own thread
pool, each on its own procedural model (``set_models``). :class:`BatchView` binds the fields the
controllers, observations and rewards read as live ``(n, ...)`` arrays.

Timing: state fields (``qpos``, ``qvel``, ``ctrl``, ``time``) are the current state; derived
fields (``xpos``, ``site_xpos``, ``sensordata``, ...) describe the start of the last substep,
exactly as ``data.xpos`` after ``mj_step``.

Example::

    view = BatchView([env.model for env in envs], nthread=2)
    view.ctrl[:] = 0.0
    view.step()
    view.xpos[:, body_id]          # (n, 3) m, world frame
"""

from __future__ import annotations

import math

import mujoco
import numpy as np
from mujoco.batch import Batch, SimulationError

from .. import forksafe
from .jit import njit
from .robots.base import control_substeps

# Fields most tasks read; others bind on first use through :meth:`BatchView.field`.
_FIELDS = ("qpos", "qvel", "ctrl", "time", "xpos", "xquat", "xmat", "site_xpos", "site_xmat",
           "sensordata", "qfrc_actuator")
_BAD_STATE = [int(w) for w in (mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL,
                                 mujoco.mjtWarning.mjWARN_BADQACC)]
_BAD_SLICE = slice(_BAD_STATE[0], _BAD_STATE[-1] + 1)
if _BAD_STATE != list(range(_BAD_SLICE.start, _BAD_SLICE.stop)):  # one strided view, no gather
    raise RuntimeError(f"MuJoCo's bad-state warnings are not consecutive: {_BAD_STATE}")
_INTEGRATION = mujoco.mjtState.mjSTATE_INTEGRATION


class BatchView:
    """``len(models)`` worlds in one Batch, with their fields as ``(n, ...)`` arrays.

    Args:
        models: one compiled world per env, all with one MjData layout.
        nthread: MuJoCo's threads (1: in the caller's thread only).
        persistent: keep one MjData per world (rendering reads whole worlds).

    Attributes:
        n, models, model (``models[0]``: ids and addresses, the same in every world), batch,
        substeps (``mj_step`` calls per agent step), dt (s of sim time per agent step),
        const (per-env constants, ``(n, ...)``, filled by the slice) and episode (per-env
        episode state, ``(n, ...)``, which tasks read and update explicitly).
    """

    def __init__(self, models: list[mujoco.MjModel], nthread: int = 1, persistent: bool = False):
        self.models, self.model, self.n = list(models), models[0], len(models)
        self.batch = Batch(self.model, self.n, nthread=nthread, persistent=persistent)
        if self.batch.nthread > 1:
            forksafe.native_threads(self.batch)  # its pool's threads would not survive a fork
        if self.n > 1 or persistent:
            self.batch.set_models(self.models)
        self._bound: dict[str, np.ndarray] = {}
        for name in _FIELDS:
            setattr(self, name, self.field(name))
        self.substeps = control_substeps(self.model)
        self.dt = self.substeps * self.model.opt.timestep
        self.const: dict[str, np.ndarray] = {}
        self.episode: dict[str, np.ndarray] = {}
        self._memo: dict[str, np.ndarray] = {}
        self._bad_counts = self.batch.warning[:, _BAD_SLICE, 1]  # (n, 3) live counts
        self._warnings = self._bad_counts.sum(axis=1).astype(np.int64)  # bad-state warnings so far

    def field(self, name: str) -> np.ndarray:
        """The live ``(n, ...)`` array of MjData field ``name`` (bound once)."""
        if name not in self._bound:
            self._bound[name] = self.batch.bind(name)
        return self._bound[name]

    def memo(self, key: str, compute) -> np.ndarray:
        """``compute()``, evaluated once per state: the observations and the reward terms of a
        step share it (forgotten by :meth:`step` and :meth:`forward`)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def forget(self) -> None:
        """Drop every :meth:`memo` (the state changed outside :meth:`step` and :meth:`forward`)."""
        self._memo.clear()

    def step(self, ids: np.ndarray | None = None) -> np.ndarray:
        """One agent step (``substeps`` x ``mj_step``) of the worlds ``ids`` (all when None).

        Returns:
            A (n,) bool mask of the worlds that diverged: MuJoCo warned of a bad qpos, qvel or
            qacc (and reset the world itself), raised an error, or left a non-finite velocity.
        """
        self._memo.clear()
        failed = np.zeros(self.n, bool)
        try:
            self.batch.step(ids, nstep=self.substeps)
        except SimulationError as error:  # those worlds kept their state from before the call
            failed[error.ids] = True
        _mark_diverged(self._bad_counts, self._warnings, self.qvel, failed)
        return failed

    def forward(self, ids: np.ndarray) -> None:
        """Recompute the derived fields of worlds ``ids`` at their state (after resets)."""
        self._memo.clear()
        self.batch.forward(np.asarray(ids, np.int32))

    def set_state(self, i: int, data: mujoco.MjData) -> None:
        """Make world ``i``'s state that of ``data`` (of ``models[i]``); run :meth:`forward` after."""
        mujoco.mj_getState(self.models[i], data, self.batch.state[i], _INTEGRATION)

    def get_data(self, i: int, data: mujoco.MjData) -> mujoco.MjData:
        """World ``i`` into ``data``: its whole MjData in a persistent batch, else its state with
        the derived fields recomputed (``mj_forward``)."""
        self.batch.get_data(i, data)
        if not self.batch.persistent:
            mujoco.mj_forward(self.models[i], data)
        return data

    def jac(self, site_body: np.ndarray | int, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Translational and rotational Jacobians (n, 3, nv) each of world ``points`` (n, 3) on
        body ``site_body`` (an id, or one per world), at the current state."""
        return self.batch.jac(site_body, points)


@njit
def _mark_diverged(bad_counts, seen, qvel, failed):
    """Set ``failed`` (n,) where a world's bad-state warnings (``bad_counts`` (n, 3)) rose past
    ``seen`` (n,), which is brought up to date, or where a velocity is not finite."""
    for i in range(bad_counts.shape[0]):
        total = 0
        for k in range(bad_counts.shape[1]):
            total += bad_counts[i, k]
        if total > seen[i]:
            failed[i] = True
        seen[i] = total
        for j in range(qvel.shape[1]):
            if not math.isfinite(qvel[i, j]):
                failed[i] = True
                break
