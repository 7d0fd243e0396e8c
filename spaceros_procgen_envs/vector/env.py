"""``SpaceRosVectorEnv``: the native batched ``gymnasium.vector.VectorEnv`` of every task.

Created by ``gymnasium.make_vec("spaceros/<task>", num_envs=N,
vectorization_mode="vector_entry_point", backend="thread", seed=0)``; ``backend`` picks
how the envs run (:mod:`.backends`), ``autoreset_mode`` when finished episodes restart
(:mod:`.autoreset`).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from . import autoreset

from .. import gcfreeze
from ..errors import unknown_name
from ..registry import full_name, get_task
from ..sim.cameras import DEFAULT_RESOLUTION, check_resolution
from ..sim.jit import njit
from ..world import SimEnv
from .backends import BACKENDS, Backend, make_backend
from .batch import EnvFactory, obs_views


class SpaceRosVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` procedural worlds of one task, stepped as one batch.

    Args:
        num_envs: number of envs; env ``i`` is built from world seed ``seed + i``.
        task: registered task name; ``<task>_visual`` (the ``spaceros/<task>_visual`` ids) adds
            the robot's cameras to the observations.
        seed: base seed of the procedural worlds (terrain, rocks, ...).
        domain: domain name, or None for the task's default.
        backend: ``sync`` (one after another), ``thread`` (one slice per core, in threads),
            ``process`` (one slice per worker process, shared memory) or ``ray`` (one slice
            per Ray actor); all give the same numbers for the same seed and actions.
        workers: slices, i.e. threads / processes / actors (default: the usable cores; for
            ``ray`` one actor per node, on all of its CPUs); ignored by ``sync``.
        copy: return copies of the observation buffers (False: views overwritten next step).
        camera_resolution: (width, height) of the camera images of a ``_visual`` task.
        render_mode: None, or ``"rgb_array"``: :meth:`render` returns one picture per env
            (a camera following the robot, shadows on; what ``--video`` tiles).
        render_size: (width, height) of those pictures.
        progress: asset-generation progress bar (None: only on a terminal).
        max_episode_steps: truncate episodes after this many steps (None: the task's time limit).
        start_method: ``process`` only: ``fork``, ``forkserver`` or ``spawn`` (None: ``fork``
            while this process runs a single thread, else ``forkserver``).
        ray_address: ``ray`` only: a cluster to join (``"auto"``, ``"host:port"``); None starts
            a local Ray unless one is initialised already.
        ray_num_cpus: ``ray`` only: CPUs reserved for each actor, and its MuJoCo threads
            (default: 1 when ``workers`` is given, else all of its node's).
        autoreset_mode: ``gymnasium.vector.AutoresetMode`` or its value, as Gymnasium's
            ``SyncVectorEnv``: ``next_step`` (default: the step after an episode ends returns the
            first observation, reward 0), ``same_step`` (the ending step returns the next
            episode's first observation; the last one is ``info["final_obs"]``, its info
            ``info["final_info"]``) or ``disabled`` (reset finished envs yourself with
            ``reset(options={"reset_mask": mask})``).
        task_options: forwarded to the task class (an unknown keyword is refused, naming the
            accepted ones).

    Observations are a dict of arrays with a leading ``num_envs`` axis: float32 state keys and,
    for ``_visual`` tasks, ``camera_<name>_rgb`` (uint8, (H, W, 3)) and ``camera_<name>_depth``
    (float32 metres along the optical axis, (H, W)) per camera. Cameras render on the CPU
    through MuJoCo's renderer, offscreen through EGL or OSMesa (``spaceros_procgen_envs.gl``),
    one GL context per render thread, in every backend. ``info``
    holds ``reward/<term>`` (weighted), ``is_success``, ``diverged`` and
    ``worker_restarted`` arrays (the last True for envs whose Ray actor died and was
    replaced, and therefore rebuilt and reset, in this step).

    :meth:`step` is :meth:`step_async` then :meth:`step_wait`; call them yourself to compute
    something while the workers step. :meth:`robot_states` reads every env's robot, in the
    workers for ``process`` and ``ray``; :attr:`envs` (the in-process ``SimEnv`` objects)
    exists for ``sync`` and ``thread`` only.

    Example:
        >>> import gymnasium, spaceros_procgen_envs  # doctest: +SKIP
        >>> env = gymnasium.make_vec("spaceros/perseverance", num_envs=4,
        ...     vectorization_mode="vector_entry_point", backend="process")
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> env.robot_states()[0]["base_xyz"]  # env 0's rover position, m
        >>> env.close()
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["rgb_array"],
                "render_fps": 50}

    def __init__(self, num_envs: int = 1, task: str = "perseverance", seed: int = 42,
                 domain: str | None = None, backend: str = "thread", workers: int | None = None,
                 copy: bool = True, progress: bool | None = None, render_mode: str | None = None,
                 max_episode_steps: int | None = None, start_method: str | None = None,
                 ray_address: str | None = None, ray_num_cpus: float | None = None,
                 camera_resolution: tuple[int, int] = DEFAULT_RESOLUTION,
                 render_size: tuple[int, int] = (320, 240),
                 autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
                 **task_options: Any):
        self.autoreset_mode = autoreset.check_mode(autoreset_mode)
        if backend not in BACKENDS:
            raise unknown_name("backend", backend, BACKENDS)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        camera_resolution = check_resolution(camera_resolution)
        self.render_mode, self._render_size = render_mode, check_resolution(render_size)
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if max_episode_steps is not None and int(max_episode_steps) < 1:
            raise ValueError(f"max_episode_steps must be >= 1 or None, got {max_episode_steps}")
        spec = get_task(task)
        autoreset.check_task_options(spec, task_options, type(self).__init__)
        spec.resolve_domain(domain)  # a bad domain fails here, before any worker starts
        factory = EnvFactory(full_name(task), int(seed), domain, max_episode_steps,
                             dict(task_options), camera_resolution)
        self._closed = True  # until the backend exists
        self._backend = make_backend(backend, factory, int(num_envs), workers, progress,
                                     start_method=start_method, ray_address=ray_address,
                                     ray_num_cpus=ray_num_cpus)
        self._closed = False
        gcfreeze.hold()  # no 30-45 ms full collection of the built worlds mid-rollout
        layout = self._backend.layout
        self.num_envs, self.task_name, self.backend_name = int(num_envs), spec.name, backend
        self.single_observation_space = layout.observation_space
        self.single_action_space = gym.spaces.Box(-1.0, 1.0, (spec.action_dim,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.dt = layout.dt
        self.cameras = dict(layout.cameras)  # name -> vertical field of view, deg (_visual)
        self._copy = copy
        self._out = self._backend.out
        self._info_keys = tuple(self._out.info_keys)
        self._bool_info = {"is_success", "diverged",
                           *(k for k in self._info_keys if k.startswith("stage/"))}
        self._bool_cols = [k for k, key in enumerate(self._info_keys) if key in self._bool_info]
        self._masked_info = tuple(f"_{key}" for key in self._info_keys)
        self._all = np.ones(self.num_envs, bool)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self._ended = np.zeros(self.num_envs, bool)  # episode ended at the last step
        self._env_seeds = np.arange(self.num_envs, dtype=np.int64) + int(seed)  # world seeds

    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None):
        """Reset all envs (or those in ``options["reset_mask"]``, a (num_envs,) bool array);
        env i gets ``seed + i``. Masked envs keep their running episodes."""
        super().reset(seed=None)
        gcfreeze.settle()
        seeds = self._seeds(seed)
        mask = None if not options or "reset_mask" not in options else \
            autoreset.check_mask(options["reset_mask"], self.num_envs)
        restarted = self._backend.reset(seeds, mask)
        self._ended[self._all if mask is None else mask] = False
        info = autoreset.env_seed_info(self._env_seeds, self._all if mask is None else mask)
        if restarted is not None and restarted.any():
            info.update(worker_restarted=restarted, _worker_restarted=self._all.copy())
        return self._observations(), info

    def step(self, actions):
        """One agent step of every env (finished episodes restart as ``autoreset_mode`` says)."""
        self.step_async(actions)
        return self.step_wait()

    def step_async(self, actions) -> None:
        """Check ``actions`` and start a step of every env; :meth:`step_wait` returns it.

        Raises:
            ValueError: wrong shape, or NaN/inf (naming the env).
            gymnasium.error.AlreadyPendingCallError: a step is already pending.
            ProcgenError: ``autoreset_mode`` DISABLED and an ended env was not reset.
        """
        checked = self._check(actions)
        if self.autoreset_mode is AutoresetMode.DISABLED:
            autoreset.require_reset(self._ended)
        self._backend.step_async(checked)

    def step_wait(self):
        """Finish the step started by :meth:`step_async`: ``(obs, rewards, terminated,
        truncated, info)`` as Gymnasium's ``VectorEnv.step`` returns them."""
        restarted = self._backend.step_wait()
        out = self._out
        info = self._step_info(out.info_flat)
        info["worker_restarted"] = np.zeros(self.num_envs, bool) if restarted is None \
            else restarted.copy()
        restarted_now = self._ended.copy()  # NEXT_STEP: restarted in this step, no step info
        valid = ~restarted_now  # one mask array, shared by the step's info keys
        for key in self._masked_info:
            info[key] = valid
        info["_worker_restarted"] = self._all.copy()
        if restarted_now.any():
            info.update(autoreset.env_seed_info(self._env_seeds, restarted_now))
        obs, rewards = self._observations(), out.rewards.copy()
        terminated, truncated = out.terminated.copy(), out.truncated.copy()
        self._ended = terminated | truncated
        if self.autoreset_mode is AutoresetMode.SAME_STEP and self._ended.any():
            obs = self._reset_same_step(obs, info)
        return obs, rewards, terminated, truncated, info

    def _step_info(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """The info columns as (num_envs,) arrays: one float64 copy of every column (each key a
        contiguous row of it), one bool copy of the flag columns."""
        rows = np.array(flat.T, np.float64, order="C")  # (K, n)
        info = dict(zip(self._info_keys, rows))
        for k, flag in zip(self._bool_cols, rows[self._bool_cols].astype(bool)):
            info[self._info_keys[k]] = flag
        return info

    def _reset_same_step(self, obs: dict[str, np.ndarray], info: dict[str, np.ndarray]
                         ) -> dict[str, np.ndarray]:
        """SAME_STEP: move the ended envs' last observation and info into ``final_obs`` /
        ``final_info`` (Gymnasium's layout), reset them and return the new observations."""
        ended = self._ended
        autoreset.add_final(info, obs, ended)
        restarted = self._backend.reset([None] * self.num_envs, ended)
        if restarted is not None:
            info["worker_restarted"] |= restarted
        info.update(autoreset.env_seed_info(self._env_seeds, ended))
        self._ended = np.zeros(self.num_envs, bool)
        return self._observations()

    def render(self) -> tuple[np.ndarray, ...] | None:
        """With ``render_mode="rgb_array"``: one (H, W, 3) uint8 picture per env of
        ``render_size``, rendered where the env lives (any backend); else None."""
        if self.render_mode != "rgb_array":
            return None
        return tuple(self._backend.views(*self._render_size))

    def robot_states(self) -> list[dict[str, Any]]:
        """Every env's robot now, computed where the env lives (any backend).

        Returns:
            One dict per env: ``joint_names`` (MuJoCo names, starting with ``prefix``),
            ``position`` (rad | m), ``velocity`` (rad/s | m/s), ``effort`` (N m | N) arrays in
            that order, ``base_xyz`` (m) and ``base_wxyz`` (unit quaternion) in the world frame,
            ``sim_time_s``; manipulators add ``ee_xyz`` / ``ee_wxyz`` (end-effector site).
        """
        return self._backend.robot_states()

    def robot_state_arrays(self, ee: bool = True) -> dict[str, Any]:
        """:meth:`robot_states` as ``(num_envs, ...)`` arrays under the same keys (one copy of
        ``joint_names`` and ``prefix``): what the recorder and batched publishers read.
        ``ee=False`` leaves out ``ee_xyz`` / ``ee_wxyz``."""
        return self._backend.robot_state_arrays(ee)

    def close_extras(self, **kwargs) -> None:
        if not self._closed:
            self._backend.close()
            self._closed = True
            gcfreeze.release()

    @property
    def envs(self) -> list[SimEnv]:
        """The in-process worlds of ``sync`` and ``thread`` (for inspection and tests).

        Raises:
            ProcgenError: for ``process`` and ``ray``, whose envs live in their workers.
        """
        return self._backend.envs

    @property
    def backend(self) -> Backend:
        """The object running the slices (``ranges``; ``processes`` for ``process``,
        ``actors`` and ``restarts`` for ``ray``)."""
        return self._backend

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
        clipped = np.empty_like(arr)
        if not clip_finite(arr, clipped):
            bad = ~np.isfinite(arr).all(axis=1)
            raise ValueError(f"actions contain NaN or inf for env {int(np.argmax(bad))} "
                             f"(envs {np.flatnonzero(bad).tolist()})")
        return clipped

    def _observations(self) -> dict[str, np.ndarray]:
        flat = self._out.obs_flat
        if not np.isfinite(flat).all():  # NaN never reaches an observation (one check per batch)
            np.nan_to_num(flat, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        if not self._copy:
            return dict(self._out.obs)
        return obs_views(flat.copy(), self.single_observation_space, self._out.images.copy())


@njit
def clip_finite(actions: np.ndarray, out: np.ndarray) -> bool:
    """``actions`` (n, A) clipped to [-1, 1] into ``out``; False (``out`` unfinished) at the
    first NaN or inf."""
    for i in range(actions.shape[0]):
        for j in range(actions.shape[1]):
            a = actions[i, j]
            if not math.isfinite(a):
                return False
            out[i, j] = min(max(a, -1.0), 1.0)
    return True
