"""The env core: one simulated world, a task's MuJoCo model and data, stepped at the agent rate.

It sits above ``tasks/`` (it looks the task up in the registry) and below the adapters (the
vector env, Gymnasium, PettingZoo, ROS); ``sim/`` under it knows no task.

:class:`SimEnv` is one world: its task object, compiled model and a scratch ``MjData``. A
slice of them runs as one ``mujoco.batch.Batch`` (:class:`~.vector.batch_slice.BatchSlice`),
which uses each world's data for its resets and for drawing its cameras; :attr:`SimEnv.live`
reads its state from the batch. :meth:`SimEnv.step` steps one world alone with the task's
per-env logic, the reference the batched logic is checked against. :func:`build_worlds` and
:func:`build_cached` make the worlds of a batch (the second through the compiled-world cache,
:mod:`.sim.world_cache`).
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from .assets.types import Asset
from .registry import get_task, is_visual
from .sim import cameras as cams
from .sim import scene
from .sim.robots.base import CONTROL_HZ, control_substeps
from .sim.world_cache import WorldStore

LOAD_THREADS = 8  # at most, threads loading cached models (capped by the usable cores)

# When the state blows up (bad qpos, qvel or qacc) MuJoCo counts a warning and resets the data
# itself, which sends data.time back to 0: a step that ends earlier than it began diverged.


def check_action(action, dim: int, env_index: int | None = None) -> np.ndarray:
    """Return ``action`` as float32 clipped to [-1, 1]; refuse wrong shapes and NaN/inf.

    Raises:
        ValueError: naming the expected shape, or the env index holding a non-finite value.
    """
    arr = np.asarray(action, dtype=np.float32)
    where = "" if env_index is None else f" for env {env_index}"
    if arr.shape != (dim,):
        raise ValueError(f"action{where} must have shape ({dim},), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"action{where} contains NaN or inf: {arr.tolist()}")
    return np.clip(arr, -1.0, 1.0)


class WorldDraft:
    """One env's task object and its world as an uncompiled ``MjSpec`` (cameras added for
    ``_visual`` tasks): what :func:`build_worlds` pads to one layout before compiling."""

    # Set when the world comes compiled (:meth:`compiled`): its model and the task's state space.
    model: mujoco.MjModel | None = None
    state_space: gym.spaces.Dict | None = None

    def __init__(self, task: str, assets: dict[str, Asset], domain: str | None = None,
                 **task_options):
        self.spec = get_task(task)
        self.domain = self.spec.resolve_domain(domain)
        self.task = self.spec.task_class()(self.spec, self.domain, assets, **task_options)
        self.mj_spec = self.task.build()
        self.camera_names = self.task.add_cameras(self.mj_spec) if is_visual(task) else []

    @classmethod
    def compiled(cls, task, model: mujoco.MjModel, camera_names: list[str],
                 state_space: gym.spaces.Dict | None = None) -> WorldDraft:
        """A world that is already compiled (from the world cache): ``task`` is the task
        object after build + bind, ``model`` its padded model, ``state_space`` what
        ``task.observation_space()`` returned (None: ask the task); no ``MjSpec``."""
        draft = cls.__new__(cls)
        draft.spec, draft.domain, draft.task = task.spec, task.domain, task
        draft.mj_spec, draft.model, draft.camera_names = None, model, list(camera_names)
        draft.state_space = state_space
        return draft


def build_worlds(task: str, assets: list[dict[str, Asset]], first_seed: int,
                 domain: str | None = None,
                 camera_resolution: tuple[int, int] = cams.DEFAULT_RESOLUTION,
                 **task_options) -> list[SimEnv]:
    """The worlds of envs ``first_seed, first_seed + 1, ...``, all with one MjData layout.

    Every world's meshes are padded to one face total (:func:`scene.pad_faces`), so the worlds
    can run as one ``mujoco.batch.Batch`` (``set_models``).
    """
    drafts = [WorldDraft(task, env_assets, domain, **task_options) for env_assets in assets]
    total = scene.face_total([scene.mesh_faces(d.mj_spec) for d in drafts])
    return [SimEnv(task, d.task.assets, first_seed + i, domain, camera_resolution, draft=d,
                   face_total=total) for i, d in enumerate(drafts)]


class SimEnv:
    """One procedural world of ``task``, built from its cached assets.

    Args:
        task: registered task name; ``<task>_visual`` adds the robot's cameras to the
            observations (RGB ``camera_<name>_rgb`` and depth ``camera_<name>_depth``).
        assets: this env's assets (``pipeline`` loads them from the cache).
        env_seed: the world's seed (``seed + i`` for env i); also seeds episode resets.
        domain: domain name, or None for the task's default.
        camera_resolution: (width, height) of the camera images of a ``_visual`` task.
        task_options: forwarded to the task class (e.g. ``rewards=``).

    Rendering (camera observations, :meth:`view`) runs in :attr:`render_thread`, which a
    batch shares between the envs of one slice; a lone env makes its own on first use.

    Example::

        env = SimEnv("perseverance", assets, env_seed=42)
        obs, info = env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step(np.zeros(2, np.float32))
    """

    def __init__(self, task: str, assets: dict[str, Asset], env_seed: int,
                 domain: str | None = None,
                 camera_resolution: tuple[int, int] = cams.DEFAULT_RESOLUTION,
                 draft: WorldDraft | None = None, face_total: int | None = None, **task_options):
        draft = draft or WorldDraft(task, assets, domain, **task_options)
        spec = draft.spec
        self.spec, self.env_seed, self.domain, self.task = spec, int(env_seed), draft.domain, draft.task
        camera_names = draft.camera_names
        if draft.model is not None:  # compiled and padded already (world cache)
            self.model = draft.model
        else:
            if face_total is not None:
                scene.pad_faces(draft.mj_spec, face_total)
            self.model = scene.compile_world(draft.mj_spec)
        self.data = mujoco.MjData(self.model)
        self.task.bind(self.model)
        self.cameras = cams.CameraRig(self.model, camera_names, cams.check_resolution(
            camera_resolution)) if camera_names else None
        self._live: _BatchRow | None = None
        self.render_thread: cams.RenderThread | None = None
        self._own_render_thread = False
        self.substeps = control_substeps(self.model)
        self.max_steps = int(round(spec.time_limit_s * CONTROL_HZ))
        self.observation_space = draft.state_space or self.task.observation_space()
        self.obs_keys = tuple(self.observation_space.keys())  # the state keys (float32)
        self.state_size = sum(math.prod(s.shape) for s in self.observation_space.values())
        if self.cameras is not None:
            # State keys (sorted) first, then the cameras in order: an OrderedDict keeps that
            # order, which is the layout of the batch blocks (see vector.batch.obs_views).
            self.observation_space = type(self.observation_space)(
                OrderedDict([*self.observation_space.spaces.items(),
                             *self.cameras.spaces().items()]))
        self.info_keys = (*(f"reward/{n}" for n in self.task.reward_names), "is_success", "diverged")
        # The task's milestones (info["stage/<name>"], bool): only the batch computes them, so
        # they follow info_keys in a batch's columns (batch_info_keys) and not in step()'s info.
        self.stage_keys = tuple(f"stage/{n}" for n in self.task.stage_names)
        self.batch_info_keys = (*self.info_keys, *self.stage_keys)
        self.action_dim = spec.action_dim
        self.rng = np.random.default_rng([self.env_seed, 0])
        self.prev_action = np.zeros(self.action_dim, np.float32)
        self.steps = 0
        self.episodes = 0

    @property
    def live(self):
        """This world's current state (``time``, ``qpos``, ``qvel``, ``act``, ``mocap_pos``,
        ``mocap_quat``): its row of the batch that steps it, else :attr:`data` (which a batch
        only uses as scratch for resets and rendering)."""
        return self._live if self._live is not None else self.data

    def attach_batch(self, view, index: int) -> None:
        """Mark this world as row ``index`` of BatchView ``view`` (see :attr:`live`)."""
        self._live = _BatchRow(view, index)

    @property
    def dt(self) -> float:
        """Seconds of sim time per agent step (1 / 50 Hz)."""
        return self.substeps * self.model.opt.timestep

    def reset(self, seed: int | None = None) -> tuple[dict[str, np.ndarray], dict]:
        """Start an episode; ``seed`` re-seeds this env's episode randomness."""
        self.reset_state(seed)
        self.prev_action[:] = 0.0
        self.steps = 0
        return self._observe(), {"env_seed": self.env_seed}

    def reset_state(self, seed: int | None = None) -> None:
        """The state part of :meth:`reset`: a new episode in :attr:`data` (a batch then copies
        it into its state row)."""
        if seed is not None:
            self.rng = np.random.default_rng([self.env_seed, int(seed) + 1])
        mujoco.mj_resetData(self.model, self.data)
        self.task.reset(self.model, self.data, self.rng)
        mujoco.mj_forward(self.model, self.data)
        self.task.begin_step()
        self.episodes += 1

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        """Advance one agent step with an action already passed through :func:`check_action`."""
        terms, success, diverged = self._advance(action)
        info = dict(zip(self.info_keys, (*terms, success, diverged)))
        return self._observe(), float(sum(terms)), success, diverged or self.steps >= self.max_steps, info

    # --- rendering (in the render thread) -------------------------------------------------------
    def use_render_thread(self, thread: cams.RenderThread) -> None:
        """Render through ``thread`` (one per slice of a batch)."""
        self.render_thread = thread

    def _thread(self) -> cams.RenderThread:
        if self.render_thread is None:
            self.render_thread, self._own_render_thread = cams.RenderThread(), True
        return self.render_thread

    def render_cameras(self) -> dict[str, np.ndarray]:
        """Every camera's images now, by observation key (``_visual`` tasks; waits for the
        render thread)."""
        width, height = self.cameras.resolution
        count = len(self.cameras.ids)
        obs_row = np.zeros(self.state_size + count * width * height, np.float32)
        image_row = np.zeros(count * width * height * 3, np.uint8)
        self._thread().call(self.render_into, obs_row, image_row)
        rgb, depth = self.cameras.split(obs_row[self.state_size:], image_row)
        return {**dict(zip(self.cameras.rgb_keys, rgb)),
                **dict(zip(self.cameras.depth_keys, depth))}

    def render_into(self, obs_row: np.ndarray, image_row: np.ndarray) -> None:
        """Render every camera: depth into ``obs_row`` after the state, RGB into ``image_row``
        (``_visual`` tasks only; call in the render thread)."""
        rgb, depth = self.cameras.split(obs_row[self.state_size:], image_row)
        self._renderer().cameras_into(self.data, self.cameras.ids, rgb, depth)

    def view(self, width: int = 320, height: int = 240) -> np.ndarray:
        """A picture for people (shadows on) from a free camera following the robot."""
        return self._thread().call(self.view_now, width, height)

    def view_now(self, width: int, height: int) -> np.ndarray:
        """:meth:`view`, called in the render thread."""
        camera = cams.follow_camera(self.model, self.task.robot.base_pose(self.model, self.data)[0],
                                    self.task.view_distance_m())
        return self._renderer(for_people=True, size=(width, height)).view(
            self.data, camera, width, height)

    def _renderer(self, for_people: bool = False, size: tuple[int, int] | None = None
                  ) -> cams.EnvRenderer:
        """Observations: a buffer of the cameras' size; people: at least 1280 x 960."""
        if for_people:
            size = (max(size[0], 1280), max(size[1], 960))
        else:
            size = self.cameras.resolution
        return self.render_thread.renderer(id(self), self.model, for_people, size)

    def close(self) -> None:
        """Free the rendering resources this env made for itself (a batch frees its own)."""
        if self._own_render_thread and self.render_thread is not None:
            self.render_thread.close()
        self.render_thread, self._own_render_thread = None, False

    # The per-env step: the reference the batched slice is tested against (test_batch_core),
    # in three phases: begin (controller) -> physics -> finish (divergence, rewards).
    def begin(self, action: np.ndarray) -> None:
        """Before the physics: the controller turns the action into actuator targets."""
        self._time_before = self.data.time
        self.task.apply_action(self.model, self.data, action)

    def physics(self) -> None:
        """One agent step of MuJoCo (``substeps`` x ``mj_step``; releases the GIL)."""
        mujoco.mj_step(self.model, self.data, nstep=self.substeps)

    def finish(self, action: np.ndarray) -> tuple[list[float], bool, bool]:
        """After the physics: divergence check and rewards (weighted terms, success, diverged)."""
        model, data = self.model, self.data
        self.steps += 1
        self.task.begin_step()
        if data.time <= self._time_before or not np.isfinite(data.qvel).all():
            self.reset()
            return [0.0] * len(self.task.reward_names), False, True
        terms = self.task.reward_terms(model, data, action, self.prev_action)
        self.prev_action[:] = action
        return terms, bool(self.task.success(model, data)), False

    def _advance(self, action: np.ndarray) -> tuple[list[float], bool, bool]:
        self.begin(action)
        self.physics()
        return self.finish(action)

    def _observe(self) -> dict[str, np.ndarray]:
        # The state is finite here (checked in step); batches re-check whole buffers at once.
        obs = self.task.observe(self.model, self.data)
        if self.cameras is not None:
            obs.update(self.render_cameras())
        return obs


class _BatchRow:
    """One world's state fields, read live from its batch (``row.qpos`` is a view of its row)."""

    def __init__(self, view, index: int):
        self._view, self._index = view, index

    def __getattr__(self, name: str):
        return self._view.field(name)[self._index]


AssetSource = Callable[[list[int]], list[dict[str, Asset]]]


def build_cached(task: str, first_seed: int, store: WorldStore, get_assets: AssetSource,
                 domain: str | None = None,
                 camera_resolution: tuple[int, int] = cams.DEFAULT_RESOLUTION,
                 **task_options) -> list[SimEnv]:
    """The worlds of envs ``first_seed, first_seed + 1, ...`` from the cache where it has them,
    else built (from ``get_assets(indices)``, which loads those envs' assets) and stored.

    Every world is padded to one face total, as :func:`build_worlds` does; a world that
    comes from the cache steps exactly like one built now. When every world is cached no asset
    is loaded and no ``MjSpec`` made.
    """
    counts = store.face_counts()
    drafts: dict[int, WorldDraft] = {}
    unknown = [i for i, count in enumerate(counts) if count is None]
    for i, draft in _drafts(task, unknown, get_assets, domain, task_options):
        drafts[i], counts[i] = draft, scene.mesh_faces(draft.mj_spec)
        store.put_faces(i, counts[i])
    total = scene.face_total(counts)
    cached = [i for i in range(len(store)) if i not in drafts]
    # Loading a model releases the GIL (file read, allocation): on all cores, in threads.
    with ThreadPoolExecutor(max(1, min(LOAD_THREADS, _cores(), len(cached)))) as pool:
        worlds = dict(zip(cached, pool.map(lambda i: store.get(i, total), cached)))
    rebuild = [i for i, world in worlds.items() if world is None]
    drafts.update(_drafts(task, rebuild, get_assets, domain, task_options))
    envs = []
    for i in range(len(store)):
        built = i in drafts
        draft = drafts.pop(i) if built else WorldDraft.compiled(*worlds.pop(i))
        env = SimEnv(task, None, first_seed + i, domain, camera_resolution,
                     draft=draft, face_total=total)
        if built:
            store.put(i, total, env)
        envs.append(env)
    return envs


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _drafts(task: str, indices: list[int], get_assets: AssetSource, domain: str | None,
            task_options: dict[str, Any]) -> list[tuple[int, WorldDraft]]:
    if not indices:
        return []
    assets = get_assets(indices)
    return [(i, WorldDraft(task, env_assets, domain, **task_options))
            for i, env_assets in zip(indices, assets)]
