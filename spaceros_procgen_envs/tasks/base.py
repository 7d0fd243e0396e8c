"""What every task shares: scene assembly from cached assets, reward terms, the robot.

A task subclass builds its world in :meth:`Task.build_world`, places objects in
:meth:`Task.reset_objects`, adds observation keys in :meth:`Task.observe_task`, and lists
its reward terms as ``(function, weight)``: each term is a tiny method named
``reward_<name>`` whose value is logged as ``info["reward/<name>"]`` (already weighted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import gymnasium as gym
import mujoco
import numpy as np

from ..assets.types import Asset, Heightmap, MeshAsset
from ..domains import Domain
from ..registry import TaskSpec, get_task
from ..sim import cameras, scene
from ..sim.jit import njit
from ..sim.robots.base import Robot

F32 = np.float32


def box(shape: tuple[int, ...], low: float = -np.inf, high: float = np.inf) -> gym.spaces.Box:
    """A float32 observation box."""
    return gym.spaces.Box(low, high, shape, F32)


@dataclass(frozen=True)
class RewardCfg:
    """Weights of the reward terms; a field called ``x`` weighs the method ``reward_x``."""

    action_rate: float = -0.01


class Task:
    """One env's task: owns its robot, builds its world, observes and rewards it.

    Args:
        spec: the registry entry.
        domain: where it runs.
        assets: the env's cached procedural assets, by the names in ``spec.asset_plan``.
        rewards: reward weights (a subclass of :class:`RewardCfg`), or None for defaults.
    """

    REWARDS: ClassVar[type[RewardCfg]] = RewardCfg
    BATCHED: ClassVar[bool] = False  # implements the batched methods below (one Batch a slice)
    # Milestones of an episode, each a pure test of batch-state arrays returning (n,) bool:
    # the batch reports them as info["stage/<name>"] every step, and training and evaluation
    # report the share of episodes that got that far (e.g. an arm's reach, grasp, lift).
    STAGES: ClassVar[dict] = {}

    def __init__(self, spec: TaskSpec, domain: Domain, assets: dict[str, Asset],
                 rewards: RewardCfg | None = None):
        self.spec, self.domain, self.assets = spec, domain, assets
        self.rewards = rewards or self.REWARDS()
        self._terms = tuple(name for name in vars(self.rewards) if getattr(self.rewards, name))
        # The class's functions, not bound methods: a task holding methods bound to itself
        # would be a reference cycle, freed (with its assets) only by the cyclic collector.
        self._term_functions = [(getattr(self.rewards, name), getattr(type(self), f"reward_{name}"))
                                for name in self._terms]
        self.robot: Robot = self.make_robot()
        self.model: mujoco.MjModel | None = None

    # --- pickling (the compiled-world cache stores a task after build + bind) ---------------
    def __getstate__(self) -> dict:
        """Everything the task needs after :meth:`build` and :meth:`bind`, without the heavy or
        unpicklable parts: the registry entry travels by name, the model is dropped (the
        restorer binds it again) and mesh assets keep only their ``meta`` (meshes are only read
        while building; heightmaps stay whole, tasks read them at reset and in the batch)."""
        state = dict(self.__dict__)
        state["spec"], state["model"] = self.spec.name, None
        state["assets"] = {name: asset if isinstance(asset, Heightmap) else
                           MeshAsset({}, dict(asset.meta)) for name, asset in self.assets.items()}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.spec = get_task(state["spec"])

    # --- to override -------------------------------------------------------------------
    def make_robot(self) -> Robot:
        raise NotImplementedError

    def build_world(self, spec: mujoco.MjSpec) -> None:
        """Add the robot and the task's objects to ``spec`` (terrain and boulders are added)."""
        self.robot.attach(spec, spec.worldbody, (0.0, 0.0, 0.0))

    def bind_task(self, model: mujoco.MjModel) -> None:
        """Cache ids of the task's own bodies/sites after compilation."""

    def reset_objects(self, model: mujoco.MjModel, data: mujoco.MjData,
                      rng: np.random.Generator) -> None:
        """Re-sample object poses for a new episode (the world's assets stay)."""

    def observe_task(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, np.ndarray]:
        return {}

    def task_observation_space(self) -> dict[str, gym.spaces.Box]:
        return {}

    def success(self, model: mujoco.MjModel, data: mujoco.MjData) -> bool:
        """True when the episode is won (it then terminates)."""
        return False

    def camera_views(self) -> dict[str, tuple]:
        """Fixed world cameras, name -> (eye, target) in m, added beside the robot's own in
        ``_visual`` tasks (manipulators place their ``scene`` and ``base`` cameras here)."""
        return {}

    def view_distance_m(self) -> float:
        """How far the camera of :meth:`SimEnv.view` (videos) stands from the robot: the
        robot and a good piece of its world (the robot's own figure)."""
        return self.robot.view_distance_m

    # --- shared machinery ----------------------------------------------------------------
    def add_cameras(self, spec: mujoco.MjSpec) -> list[str]:
        """Add the robot's cameras (after :meth:`build`); their full names in order."""
        return cameras.add_robot_cameras(spec, self.robot, self.camera_views())

    def camera_names(self) -> tuple[str, ...]:
        """Short names of the cameras of the ``_visual`` task, in observation order (after
        :meth:`build`)."""
        return cameras.camera_names(self.robot, self.camera_views())

    def begin_step(self) -> None:
        """Called after every physics step and reset: a new state, so per-step caches expire."""
        self.stamp = getattr(self, "stamp", 0) + 1

    @property
    def reward_names(self) -> tuple[str, ...]:
        return self._terms

    @property
    def stage_names(self) -> tuple[str, ...]:
        """The :attr:`STAGES`, in order."""
        return tuple(self.STAGES)

    def build(self) -> mujoco.MjSpec:
        """The complete world: domain, terrain, scenery, robot and task objects."""
        spec = scene.new_spec(self.domain, self.spec.name)
        terrain = self.assets.get("terrain")
        if isinstance(terrain, Heightmap):
            scene.add_terrain(spec, terrain)
            self.add_boulders(spec, terrain)
        self.build_world(spec)
        return spec

    def boulder_ring_m(self, terrain: Heightmap) -> tuple[float, float]:
        """(near, far) distance from the origin where boulders may lie, metres."""
        return terrain.work_area_m[2] + 1.0, 0.45 * min(terrain.size_m)

    def add_boulders(self, spec: mujoco.MjSpec, terrain: Heightmap) -> None:
        """Static boulders around the work area, a third sunk into the ground (scenery and
        obstacles): distance ~ U(:meth:`boulder_ring_m`), bearing ~ U(0, 2 pi)."""
        rng = np.random.default_rng([len(self.assets), int(terrain.heights_m.size)])
        near, far = self.boulder_ring_m(terrain)
        for name, asset in self.assets.items():
            if not (name.startswith("boulder") and isinstance(asset, MeshAsset)):
                continue
            radius, angle = rng.uniform(near, far), rng.uniform(0, 2 * np.pi)
            x, y = radius * np.cos(angle), radius * np.sin(angle)
            part = asset.parts["rock"]
            z = terrain.height_at(x, y) - 0.3 * float(part.visual.extents[2])
            body = spec.worldbody.add_body(name=name, pos=(x, y, z))
            scene.add_mesh_part(spec, body, name, part, collide=scene.GROUND,
                                affinity=scene.ROBOT)

    def bind(self, model: mujoco.MjModel) -> None:
        self.model = model
        self.robot.bind(model)
        self.bind_task(model)

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        self.robot.reset(model, data, rng)
        self.reset_objects(model, data, rng)
        scene.randomize_sun(model, self.domain, rng)

    def apply_action(self, model: mujoco.MjModel, data: mujoco.MjData, action: np.ndarray) -> None:
        self.robot.apply_action(model, data, action)

    def observation_space(self) -> gym.spaces.Dict:
        return gym.spaces.Dict({**self.robot.observation_space(), **self.task_observation_space()})

    def observe(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, np.ndarray]:
        return {**self.robot.observe(model, data), **self.observe_task(model, data)}

    def reward_terms(self, model: mujoco.MjModel, data: mujoco.MjData, action: np.ndarray,
                     prev_action: np.ndarray) -> list[float]:
        """Every weighted term, in :attr:`reward_names` order; the reward is their sum."""
        self._action, self._prev_action = action, prev_action
        return [weight * float(term(self, model, data)) for weight, term in self._term_functions]

    def reward_action_rate(self, model, data) -> float:
        """Squared change of the action since the last step (smoothness penalty)."""
        return float(np.sum(np.square(self._action - self._prev_action)))

    # --- batched (a slice of n worlds as one mujoco.batch.Batch, read through a BatchView) --
    # Called on the slice's lead task (env 0's: ids and addresses are the same in every world),
    # except batch_constants and episode_state, which every env's task gives for itself.
    def batch_constants(self) -> dict[str, np.ndarray]:
        """This env's fixed facts the batched methods read from ``v.const`` (stacked (n, ...))."""
        return {}

    def episode_state(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, np.ndarray]:
        """This env's episode state after :meth:`reset` (stacked into ``v.episode``); the
        batched methods read it and update it explicitly."""
        robot_state = getattr(self.robot, "episode_state", None)
        return robot_state() if robot_state else {}

    def control_batch(self, v, actions: np.ndarray) -> None:
        """The robot's controller for every world: ``actions`` (n, A) in [-1, 1]."""
        self.robot.control_batch(v, actions)

    def observe_batch(self, v) -> dict[str, np.ndarray]:
        """Every observation key, (n, *shape) float32."""
        return {**self.robot.observe_batch(v), **self.observe_task_batch(v)}

    def observe_task_batch(self, v) -> dict[str, np.ndarray]:
        return {}

    def terms_batch(self, v, actions: np.ndarray, prev_actions: np.ndarray
                    ) -> dict[str, np.ndarray]:
        """Unweighted reward terms by name, each (n,); subclasses add theirs."""
        return {"action_rate": reward_action_rate(actions, prev_actions)}

    def reward_terms_batch(self, v, actions: np.ndarray, prev_actions: np.ndarray
                           ) -> list[np.ndarray]:
        """Every weighted term, (n,) each, in :attr:`reward_names` order."""
        terms = self.terms_batch(v, actions, prev_actions)
        return [getattr(self.rewards, name) * terms[name] for name in self._terms]

    def success_batch(self, v) -> np.ndarray:
        """(n,) bool: the episode is won."""
        return np.zeros(v.n, bool)

    def success_once(self, v) -> np.ndarray:
        """:meth:`success_batch` of the current state, computed once per state (``v.memo``):
        the slice's flags and a ``success`` reward term share it."""
        return v.memo("success", lambda: self.success_batch(v))

    def stages_batch(self, v) -> list[np.ndarray]:
        """Every :attr:`STAGES` test, (n,) bool each, in order (tasks with stages override)."""
        return []


@njit
def reward_action_rate(action: np.ndarray, prev_action: np.ndarray) -> np.ndarray:
    """(n,) squared change of the action (n, A) since the last step (smoothness penalty), in
    the actions' own precision (float32 actions: float32 sums, as ``np.sum`` of the per-env
    path)."""
    out = np.empty(action.shape[0])
    for i in range(action.shape[0]):
        acc = action[i, 0] - action[i, 0]  # a zero of the actions' dtype
        for j in range(action.shape[1]):
            d = action[i, j] - prev_action[i, j]
            acc += d * d
        out[i] = acc
    return out
