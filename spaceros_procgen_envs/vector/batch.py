"""What a batch is made of, wherever its slices run: the buffers a slice writes into
(:class:`Buffers`, views of the whole batch or of shared memory), the :class:`Layout` every env
shares, and the :class:`EnvFactory` that builds any slice the same way in any process or actor.
Because each slice owns whole envs and is built by the same factory, every backend gives the
same numbers. The slice itself is :class:`~.batch_slice.BatchSlice`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from ..assets.types import Asset
from ..sim.cameras import DEFAULT_RESOLUTION
from ..registry import generate_assets, get_task
from ..sim.world_cache import WorldStore
from ..world import SimEnv, build_cached


@dataclass
class Buffers:
    """Batch arrays one slice writes into (views of the whole batch, or shared memory).

    Observations live in one (n, D) float32 block (the state, then the depth images of a
    ``_visual`` task) and one (n, P) uint8 block (its RGB images; P = 0 without cameras);
    ``obs`` holds per-key views of both. Info values live in one (n, K) float64 block. So a step
    writes a few rows per env and a batch is checked and copied in one call per block.
    """

    obs_flat: np.ndarray      # (n, D) float32, the float32 keys in ``obs`` order
    obs: dict[str, np.ndarray]
    rewards: np.ndarray       # (n,) float64
    terminated: np.ndarray    # (n,) bool
    truncated: np.ndarray     # (n,) bool
    info_flat: np.ndarray     # (n, K) float64, columns in ``info_keys`` order
    info_keys: tuple[str, ...]
    images: np.ndarray        # (n, P) uint8, the uint8 keys in ``obs`` order

    def view(self, start: int, stop: int) -> Buffers:
        return Buffers(self.obs_flat[start:stop], {k: v[start:stop] for k, v in self.obs.items()},
                       self.rewards[start:stop], self.terminated[start:stop],
                       self.truncated[start:stop], self.info_flat[start:stop], self.info_keys,
                       self.images[start:stop])

    def arrays(self) -> tuple[np.ndarray, ...]:
        """``(obs_flat, info_flat, rewards, terminated, truncated, images)``, the order
        :meth:`write` takes."""
        return (self.obs_flat, self.info_flat, self.rewards, self.terminated, self.truncated,
                self.images)

    def write(self, arrays: tuple[np.ndarray, ...]) -> None:
        """Copy :meth:`arrays` of another buffer of the same size (a remote slice) into this one."""
        for mine, theirs in zip(self.arrays(), arrays):
            mine[...] = theirs


@dataclass(frozen=True)
class Layout:
    """What every env of a batch shares: spaces, info columns, time step.

    Workers report it after building their slice, so the parent never builds an env itself.
    """

    observation_space: gym.spaces.Dict
    info_keys: tuple[str, ...]
    action_dim: int
    dt: float  # s of sim time per agent step
    cameras: tuple[tuple[str, float], ...] = ()  # (name, vertical field of view deg) in order

    @classmethod
    def of(cls, env: SimEnv) -> Layout:
        cameras = () if env.cameras is None else tuple(zip(env.cameras.names,
                                                           env.cameras.fovy_deg))
        return cls(env.observation_space, env.batch_info_keys, env.action_dim, env.dt, cameras)

    @property
    def obs_size(self) -> int:
        """Floats per env in the float32 block."""
        return block_size(self.observation_space, np.float32)

    @property
    def image_size(self) -> int:
        """Bytes per env in the uint8 (RGB image) block."""
        return block_size(self.observation_space, np.uint8)


@dataclass(frozen=True)
class Prepared:
    """What :meth:`EnvFactory.prepare` found: the batch's world-cache entries, and by env
    index the assets of the envs whose world must be built."""

    store: WorldStore
    assets: dict[int, dict[str, Asset]]


@dataclass(frozen=True)
class EnvFactory:
    """Builds envs ``[start, stop)`` of a batch the same way in any process or actor.

    Args:
        task: registered task name (``<task>_visual`` for camera observations).
        seed: base world seed; env ``i`` is built from ``seed + i``.
        domain: domain name, or None for the task's default.
        max_episode_steps: truncate episodes after this many agent steps (None: the task's
            ``time_limit_s``).
        task_options: forwarded to the task class (must pickle for process and ray).
        camera_resolution: (width, height) of the camera images of a ``_visual`` task.
    """

    task: str
    seed: int
    domain: str | None = None
    max_episode_steps: int | None = None
    task_options: dict[str, Any] = field(default_factory=dict)
    camera_resolution: tuple[int, int] = DEFAULT_RESOLUTION

    def world_store(self, start: int, stop: int) -> WorldStore:
        """The compiled-world cache entries of envs ``start..stop-1``."""
        spec = get_task(self.task)
        keys = [{name: request.key for name, request in
                 spec.asset_requests(self.seed + i, self.domain).items()}
                for i in range(start, stop)]
        return WorldStore(self.task, spec.resolve_domain(self.domain).name, keys,
                          self.task_options)

    def prepare(self, num_envs: int, progress: bool | None = None) -> Prepared:
        """Look the batch's worlds up in the cache and generate, on all cores, the assets of
        the envs whose world is not cached (none when every world is: then nothing is loaded).
        :meth:`build` takes the result, so the keys are computed once."""
        store, assets = self.world_store(0, num_envs), {}
        for first, last in _runs(store.missing()):
            made, _ = generate_assets(self.task, last - first, self.seed + first, self.domain,
                                      progress=progress)
            assets.update(enumerate(made, first))
        return Prepared(store, assets)

    def build(self, start: int, stop: int,
              assets: Prepared | list[dict[str, Asset]] | None = None) -> list[SimEnv]:
        """SimEnvs ``start..stop-1``, from the compiled-world cache where it has them. A world
        that must be built takes its assets from ``assets`` (:meth:`prepare`'s result, or a
        list for envs ``start..stop-1``), else from the asset cache (generated in-process if
        missing, so a worker never starts a pool)."""
        if isinstance(assets, Prepared):
            store, given = assets.store.sliced(start, stop), assets.assets
        else:
            store, given = self.world_store(start, stop), dict(enumerate(assets or [], start))

        def get_assets(indices: list[int]) -> list[dict[str, Asset]]:
            found = {i: given[start + i] for i in indices if start + i in given}
            for first, last in _runs([i for i in indices if i not in found]):
                made, _ = generate_assets(self.task, last - first, self.seed + start + first,
                                          self.domain, workers=1, progress=False)
                found.update(enumerate(made, first))
            return [found[i] for i in indices]

        envs = build_cached(self.task, self.seed + start, store, get_assets, self.domain,
                            self.camera_resolution, **self.task_options)
        if self.max_episode_steps is not None:
            for env in envs:
                env.max_steps = int(self.max_episode_steps)
        return envs


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted ``indices`` as contiguous (first, stop) runs: [0, 1, 2, 5] -> [(0, 3), (5, 6)]."""
    runs: list[tuple[int, int]] = []
    for i in sorted(indices):
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def block_size(observation_space: gym.spaces.Dict, dtype) -> int:
    """Elements per env of the keys of ``dtype`` (their block's row length)."""
    return sum(int(np.prod(space.shape)) for space in observation_space.values()
               if space.dtype == dtype)


def obs_views(flat: np.ndarray, observation_space: gym.spaces.Dict,
              images: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-key (n, *shape) views into the (n, D) float32 block and the (n, P) uint8 block,
    in the space's key order (each key takes the next elements of its dtype's block)."""
    blocks = {np.dtype(np.float32): flat, np.dtype(np.uint8): images}
    n = len(flat)
    return {key: blocks[dtype][:, start:stop].reshape(n, *shape)
            for key, dtype, start, stop, shape in _layout(observation_space)}


_LAYOUTS: dict[int, tuple] = {}


def _layout(observation_space: gym.spaces.Dict) -> tuple:
    """(key, dtype, start, stop, shape) of every key in its dtype's block (computed once)."""
    entry = _LAYOUTS.get(id(observation_space))
    if entry is None or entry[0] is not observation_space:
        offsets, plan = {np.dtype(np.float32): 0, np.dtype(np.uint8): 0}, []
        for key, space in observation_space.items():
            size, start = int(np.prod(space.shape)), offsets[space.dtype]
            plan.append((key, space.dtype, start, start + size, space.shape))
            offsets[space.dtype] += size
        entry = _LAYOUTS[id(observation_space)] = (observation_space, tuple(plan))
    return entry[1]


def allocate(num_envs: int, observation_space: gym.spaces.Dict,
             info_keys: tuple[str, ...]) -> Buffers:
    """Zeroed buffers for ``num_envs`` envs with this observation space and info keys."""
    if any(space.dtype not in (np.float32, np.uint8) for space in observation_space.values()):
        raise TypeError("every observation must be float32 (state, depth) or uint8 (images)")
    flat = np.zeros((num_envs, block_size(observation_space, np.float32)), np.float32)
    images = np.zeros((num_envs, block_size(observation_space, np.uint8)), np.uint8)
    return Buffers(flat, obs_views(flat, observation_space, images), np.zeros(num_envs),
                   np.zeros(num_envs, bool), np.zeros(num_envs, bool),
                   np.zeros((num_envs, len(info_keys))), tuple(info_keys), images)


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (start, stop) ranges covering ``range(n)``, sizes within one."""
    parts = max(1, min(parts, n))
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
