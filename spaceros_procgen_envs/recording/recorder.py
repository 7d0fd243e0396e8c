"""Record a vector env (any backend) into a rosbag2 bag and a Minari dataset.

Example::

    env = gymnasium.make_vec("spaceros/perseverance", num_envs=4,
                             vectorization_mode="vector_entry_point", seed=0)
    env = RecordingVectorEnv(env, "runs/demo")      # runs/demo must not hold a recording
    env.reset(seed=1)
    for _ in range(100):
        env.step(env.action_space.sample())
    env.close()                                      # bag, dataset and manifest complete
    # replay.py runs/demo   (every observation again, bit for bit)
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time as wallclock
from typing import Any

import gymnasium as gym
import numpy as np

from ..registry import get_task
from . import paths
from .bag import BagWriter
from .dataset import DatasetWriter, env_spec
from .episodes import EpisodeBook
from .manifest import FORMAT, write_manifest


def package_version() -> str:
    from .. import __version__

    return __version__


class Recorder:
    """Writes what a vector env does, batch step by batch step (see :mod:`.paths`).

    Args:
        env: a ``SpaceRosVectorEnv`` (unwrapped), before its first reset.
        path: the recording directory (see :func:`~.paths.check_record_path`).
        force: replace an earlier recording at ``path``.
        make_kwargs: the keywords that rebuild ``env`` (``seed``, ``domain``,
            ``max_episode_steps``, ``camera_resolution``, task options); default: those of
            ``env.spec`` (set by ``gymnasium.make_vec``).
        camera_rate_hz: rate of the camera topics in the bag (``_visual`` tasks).
        bag, dataset: write the rosbag2 bag / the Minari dataset.
        reserve_bytes: free disk space kept for closing; below it the recording stops
            (:class:`~.paths.RecordingError` from ``step``) with everything before it kept.
        background: write the dataset's episodes in a process of their own (see
            :class:`~.dataset.DatasetWriter`).

    Raises:
        RecordingPathError: ``path`` cannot take a recording.
        RecordingError: minari or rosbags missing.
    """

    def __init__(self, env, path: str | os.PathLike, *, force: bool = False,
                 make_kwargs: dict | None = None, camera_rate_hz: float = 10.0,
                 bag: bool = True, dataset: bool = True, reserve_bytes: int = 4 << 20,
                 background: bool = True):
        self.env, self.path = env, paths.check_record_path(path, force)
        self.reserve_bytes = int(reserve_bytes)
        kwargs = dict(make_kwargs if make_kwargs is not None else _spec_kwargs(env))
        self.task = env.task_name + ("_visual" if env.cameras else "")
        self.num_envs, seed = env.num_envs, int(kwargs.get("seed", 42))
        spec = get_task(self.task)
        self.domain = spec.resolve_domain(kwargs.get("domain")).name
        self.world_seeds = [seed + i for i in range(self.num_envs)]
        assets = [{name: req.key for name, req in spec.asset_requests(s, self.domain).items()}
                  for s in self.world_seeds]
        self.dt_ns = int(round(env.dt * 1e9))
        self.camera_every = max(1, round(1.0 / (camera_rate_hz * env.dt)))
        self.time, self.failed, self.closed, self.close_error = 0, None, False, None
        self.manifest = {
            "format": FORMAT, "package_version": package_version(), "task": self.task,
            "domain": self.domain, "num_envs": self.num_envs, "make_kwargs": _jsonable(kwargs),
            "backend": getattr(env, "backend_name", None), "dt_s": env.dt,
            "camera_rate_hz": 1.0 / (self.camera_every * env.dt),
            "world_seeds": self.world_seeds, "asset_keys": assets, "resets": [],
            "steps": 0, "episodes": 0, "complete": False, "stopped": None,
            "bag": paths.BAG_DIR if bag else None,
            "dataset_id": paths.dataset_id(self.task) if dataset else None,
            "minari_datasets_path": paths.MINARI_DIR if dataset else None,
            "started_unix_s": wallclock.time()}
        self._open(kwargs, bag, dataset, force, assets, background)

    def _open(self, kwargs: dict, bag: bool, dataset: bool, force: bool, assets: list,
              background: bool) -> None:
        env = self.env
        paths.prepare(self.path, force)
        self.guard = paths.DiskGuard(self.path, self.reserve_bytes)
        write_manifest(self.path, self.manifest)
        self.bag = None
        if bag:
            state = env.robot_state_arrays(ee=False)
            names = [n.removeprefix(state.get("prefix", "")) for n in state["joint_names"]]
            self.bag = BagWriter(paths.bag_dir(self.path), self.num_envs,
                                 env.single_action_space.shape[0], names,
                                 dict(env.cameras), self.guard)
        writer = None
        if dataset:
            writer = DatasetWriter(
                self.path, self.task, env.single_observation_space, env.single_action_space,
                env_spec(self.task, kwargs),
                {"description": f"{self.num_envs} x {self.task} ({self.domain}) recorded by "
                                "spaceros_procgen_envs"}, background=background)
        meta = {"task": self.task, "domain": self.domain, "package_version": package_version()}
        self.book = EpisodeBook(self.num_envs, writer, self.guard, meta, [
            {"world_seed": seed, "asset_keys": json.dumps(keys, sort_keys=True)}
            for seed, keys in zip(self.world_seeds, assets)])

    # --- events -------------------------------------------------------------------------------
    def on_reset(self, seed, options: dict | None, obs: dict[str, np.ndarray]) -> None:
        """After ``env.reset(seed=seed, options=options)`` returned ``obs``."""
        mask = np.ones(self.num_envs, bool) if not options or "reset_mask" not in options \
            else np.asarray(options["reset_mask"], bool)
        seeds = _env_seeds(seed, self.num_envs)
        self._guarded(self._reset, mask, seeds, obs)

    def _reset(self, mask, seeds, obs) -> None:
        self.manifest["resets"].append({"time": self.time, "envs": np.flatnonzero(mask).tolist(),
                                        "seeds": [seeds[i] for i in np.flatnonzero(mask)]})
        self.book.on_reset(self.time, obs, mask, seeds)
        if self.bag is not None:
            self.bag.write_state(self.time * self.dt_ns, np.flatnonzero(mask),
                                 self.env.robot_state_arrays(ee=False))
        write_manifest(self.path, self.manifest)

    def on_step(self, actions: np.ndarray, obs, rewards, terminated, truncated, info) -> None:
        """After ``env.step(actions)`` (``actions`` as the env applied them: clipped)."""
        if not self.book.frames:
            raise paths.RecordingError("reset the env before stepping it: a recording starts "
                                       "with a reset")
        self._guarded(self._step, actions, obs, rewards, terminated, truncated, info)

    def _step(self, actions, obs, rewards, terminated, truncated, info) -> None:
        self.time += 1
        self.book.on_step(self.time, actions, obs, rewards, terminated, truncated, info)
        if self.bag is not None:
            stamp = self.time * self.dt_ns
            self.bag.write_step(stamp, actions, rewards, terminated, truncated,
                                self.env.robot_state_arrays(ee=False))
            if self.env.cameras and self.time % self.camera_every == 0:
                self.bag.write_cameras(stamp, obs)
        self.guard.check(self.book.pending_bytes + (0 if self.bag is None else
                                                    self.bag.pending_bytes))

    def _guarded(self, fn, *args) -> None:
        if self.failed is not None or self.closed:
            return
        try:
            fn(*args)
        except (paths.RecordingError, OSError) as exc:
            reason = str(exc) if isinstance(exc, paths.RecordingError) else \
                f"writing {self.path} failed ({exc}): recording stopped, everything before kept"
            self.failed = paths.RecordingError(reason)
            self.close()
            raise self.failed from None

    # --- end ----------------------------------------------------------------------------------
    @property
    def bytes_written(self) -> int:
        """Bytes written so far (bag messages and dataset chunks, approximately)."""
        return self.guard.written

    def summary(self) -> str:
        """One line: what was recorded and where to find it."""
        where = [f"bag {paths.bag_dir(self.path)}"] if self.bag is not None else []
        if self.book.writer is not None:
            where.append(f"Minari {paths.dataset_id(self.task)} in MINARI_DATASETS_PATH="
                         f"{paths.minari_root(self.path)}")
        state = "" if self.failed is None and self.close_error is None else \
            f" (stopped early: {self.failed or self.close_error})"
        return (f"recording: {self.time} steps x {self.num_envs} envs, "
                f"{self.book.episodes_written} episodes{state} -> {', '.join(where)}")

    def close(self) -> None:
        """Write what is left: open episodes (ended as ``interrupted``), the bag's index and
        the manifest. Idempotent; never raises: a part that cannot be finished is kept in
        :attr:`close_error` (and the manifest says ``complete: false``), the others still are."""
        if self.closed:
            return
        self.closed = True
        errors = []
        self.manifest.update(steps=self.time, stopped=None if self.failed is None else
                             str(self.failed))
        try:  # first, while there is room: the steps and resets, for readers and replay.py
            write_manifest(self.path, self.manifest)
        except OSError as exc:
            errors.append(str(exc))
        for part in (*(() if self.bag is None else (self.bag.close,)), self.book.close):
            try:
                part()
            except (paths.RecordingError, OSError) as exc:
                errors.append(str(exc))
        self.manifest.update(steps=self.time, episodes=self.book.episodes_written,
                             complete=not errors and self.failed is None,
                             stopped=None if self.failed is None else str(self.failed))
        try:
            write_manifest(self.path, self.manifest)
        except OSError as exc:
            errors.append(str(exc))
        self.close_error = "; ".join(errors) or None


class RecordingVectorEnv(gym.vector.VectorWrapper):
    """A vector env that records itself (see :class:`Recorder` for the arguments).

    Attribute reads it does not define go to the wrapped env (``cameras``, ``dt``,
    ``robot_states``, ``envs``...), so the ROS node drives it like the env itself.
    """

    def __init__(self, env, path: str | os.PathLike, report: bool = False,
                 **recorder_kwargs: Any):
        super().__init__(env)
        self.recorder = Recorder(env.unwrapped, path, **recorder_kwargs)
        self._report = report  # print Recorder.summary() on stderr at close

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.env, name)

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.recorder.on_reset(seed, options, obs)
        return obs, info

    def step(self, actions):
        applied = np.clip(np.asarray(actions, np.float32), -1.0, 1.0)
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        self.recorder.on_step(applied, obs, rewards, terminated, truncated, info)
        return obs, rewards, terminated, truncated, info

    def close(self, **kwargs) -> None:
        try:
            self.recorder.close()
            if self._report:
                print(self.recorder.summary(), file=sys.stderr, flush=True)
        finally:
            self.env.close(**kwargs)


def for_node(env, cfg) -> RecordingVectorEnv:
    """The ROS node's env recording itself into ``cfg.record`` (a ``NodeCfg``); wrap before
    the node's first reset."""
    kwargs = {"seed": cfg.seed, "domain": cfg.domain or None,
              "camera_resolution": [cfg.camera_width, cfg.camera_height]}
    return RecordingVectorEnv(env, cfg.record, report=True, force=cfg.record_force,
                              make_kwargs=kwargs, camera_rate_hz=cfg.camera_rate_hz)


def require_dependencies() -> None:
    """Fail early, naming the extra to install, when rosbags, minari or h5py is missing."""
    for module in ("rosbags", "minari", "h5py"):
        if importlib.util.find_spec(module) is None:
            raise paths.RecordingError(f"--record needs {module}: pip install "
                                       "'spaceros_procgen_envs[record]'")


def _env_seeds(seed, num_envs: int) -> list[int | None]:
    if seed is None or isinstance(seed, (int, np.integer)):
        return [None if seed is None else int(seed) + i for i in range(num_envs)]
    return [None if s is None else int(s) for s in seed]


def _spec_kwargs(env) -> dict:
    spec = getattr(env, "spec", None)
    kwargs = dict(spec.kwargs) if spec is not None else {}
    for key in ("num_envs", "task", "backend", "copy", "progress", "render_mode",
                "vectorization_mode", "workers", "start_method", "ray_address", "ray_num_cpus"):
        kwargs.pop(key, None)
    return kwargs


def _jsonable(kwargs: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}
