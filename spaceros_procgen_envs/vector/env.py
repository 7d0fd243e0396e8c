"""``SpaceRosVectorEnv``: the native batched ``gymnasium.vector.VectorEnv`` of every task.

Created by ``gymnasium.make_vec("spaceros/<task>", num_envs=N,
vectorization_mode="vector_entry_point", backend="thread", seed=0)``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from ..assets.pipeline import generate_assets
from ..errors import unknown_name
from ..registry import get_task
from ..sim.core import SimEnv
from .backends import BACKENDS, make_backend
from .batch import allocate, obs_views


class SpaceRosVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` procedural worlds of one task, stepped as one batch.

    Args:
        num_envs: number of envs; env ``i`` is built from world seed ``seed + i``.
        task: registered task name.
        seed: base seed of the procedural worlds (terrain, rocks, ...).
        domain: domain name, or None for the task's default.
        backend: ``sync`` (one after another) or ``thread`` (one slice per core).
        workers: slices/threads for ``thread`` (default: the usable cores).
        copy: return copies of the observation buffers (False: views overwritten next step).
        progress: asset-generation progress bar (None: only on a terminal).
        task_options: forwarded to the task class.

    Observations are a dict of float32 arrays with a leading ``num_envs`` axis; ``info``
    holds ``reward/<term>`` (weighted), ``is_success`` and ``diverged`` arrays.

    Example:
        >>> import gymnasium, spaceros_procgen_envs  # doctest: +SKIP
        >>> env = gymnasium.make_vec("spaceros/perseverance", num_envs=4,
        ...     vectorization_mode="vector_entry_point", backend="thread")
        >>> obs, info = env.reset(seed=0)
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, task: str = "perseverance", seed: int = 42,
                 domain: str | None = None, backend: str = "thread", workers: int | None = None,
                 copy: bool = True, progress: bool | None = None, render_mode: str | None = None,
                 **task_options: Any):
        if backend not in BACKENDS:
            raise unknown_name("backend", backend, BACKENDS)
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r} is not supported by the vector env; "
                             "use gymnasium.make for a rendered single env")
        spec = get_task(task)
        assets, _ = generate_assets(spec, num_envs, seed, domain, progress=progress)
        envs = [SimEnv(spec.name, assets[i], seed + i, domain, **task_options)
                for i in range(num_envs)]
        self.num_envs, self.task_name, self.backend_name = num_envs, spec.name, backend
        self.single_observation_space = envs[0].observation_space
        self.single_action_space = gym.spaces.Box(-1.0, 1.0, (spec.action_dim,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.dt = envs[0].dt
        self._copy = copy
        self._out = allocate(num_envs, self.single_observation_space, envs[0].info_keys)
        self._bool_info = {"is_success", "diverged"}
        self._backend = make_backend(backend, envs, self._out, workers)
        self._closed = False

    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None):
        """Reset all envs (or those in ``options["reset_mask"]``); env i gets ``seed + i``."""
        super().reset(seed=None)
        seeds = self._seeds(seed)
        mask = None if not options or "reset_mask" not in options else \
            np.asarray(options["reset_mask"], bool)
        self._backend.reset(seeds, mask)
        return self._observations(), {}

    def step(self, actions):
        """One agent step of every env (NEXT_STEP autoreset)."""
        actions = self._check(actions)
        self._backend.step(actions)
        out = self._out
        info = {key: out.info_flat[:, k].astype(bool if key in self._bool_info else np.float64)
                for k, key in enumerate(out.info_keys)}
        info.update({f"_{key}": np.ones(self.num_envs, bool) for key in out.info_keys})
        return (self._observations(), out.rewards.copy(), out.terminated.copy(),
                out.truncated.copy(), info)

    def close_extras(self, **kwargs) -> None:
        if not self._closed:
            self._backend.close()
            self._closed = True

    @property
    def envs(self) -> list[SimEnv]:
        """The in-process worlds (for inspection and tests)."""
        return self._backend.envs

    def _seeds(self, seed) -> list[int | None]:
        if seed is None or isinstance(seed, (int, np.integer)):
            return [None if seed is None else int(seed) + i for i in range(self.num_envs)]
        if len(seed) != self.num_envs:
            raise ValueError(f"seed list must have {self.num_envs} entries, got {len(seed)}")
        return list(seed)

    def _check(self, actions) -> np.ndarray:
        dim = self.single_action_space.shape[0]
        arr = np.asarray(actions, dtype=np.float32)
        if arr.shape != (self.num_envs, dim):
            raise ValueError(f"actions must have shape ({self.num_envs}, {dim}), got {arr.shape}")
        bad = ~np.isfinite(arr).all(axis=1)
        if bad.any():
            raise ValueError(f"actions contain NaN or inf for env {int(np.argmax(bad))} "
                             f"(envs {np.flatnonzero(bad).tolist()})")
        return np.clip(arr, -1.0, 1.0)

    def _observations(self) -> dict[str, np.ndarray]:
        flat = self._out.obs_flat
        if not np.isfinite(flat).all():  # NaN never reaches an observation (one check per batch)
            np.nan_to_num(flat, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        if not self._copy:
            return dict(self._out.obs)
        return obs_views(flat.copy(), self.single_observation_space)
