"""What the arm tasks share: a platform, the arm on it, free objects and grasp sensing.

Grasp sensing: two MuJoCo ``contact`` sensors ("found" data) count the contacts between each
finger body and the object in the last substep; the object is *grasped* when both count one
or more. That holds however the object is taken (a rock by its middle, a debris fragment by an
edge). The object's pose is read by ``framepos``/``framequat`` sensors of its body frame.

Batched side (a slice of n worlds in one ``mujoco.batch.Batch``, read through a BatchView
``v``): :meth:`ManipulationTask.batch_state` is a :class:`~.batchstate.BatchState` whose keys
come from the ``state_<key>`` methods, computed when first read; each reward term is a pure
module-level function ``reward_<name>`` of those arrays, listed in the class's
:attr:`ManipulationTask.TERMS`; its parameter names are the state keys it reads.
"""

from __future__ import annotations

import math
from typing import Callable, ClassVar

import mujoco
import numpy as np

from ..assets.types import MeshPart
from ..sim import scene, vecmath
from ..sim.jit import njit
from ..sim.robots.arm import Arm, ArmCfg
from ..sim.robots.arm_batch import as_slice, sensor_index
from ..sim.robots.base import control_substeps
from ..sim.robots.bases import Platform, add_lander, add_spacecraft, add_station_module
from .base import F32, Task, box, reward_action_rate
from .batchstate import BatchState, stage_calls, stage_flags, term_calls, weighted_terms

PLATFORMS = {"lander": add_lander, "spacecraft": add_spacecraft, "station": add_station_module}
_SENS, _OBJ = mujoco.mjtSensor, mujoco.mjtObj
_FOUND = (1, 0, 1)  # contact sensor intprm: data = "found" (bit 0), reduce none, num 1


def tanh_kernel(distance_m: float, scale_m: float) -> float:
    """1 at distance 0, falling smoothly to 0 over a few ``scale_m``."""
    return float(1.0 - np.tanh(distance_m / scale_m))


@njit
def kernel(distance_m: np.ndarray, scale_m: float) -> np.ndarray:
    """:func:`tanh_kernel` of every distance (n,): 1 - tanh(distance / scale)."""
    out = np.empty(distance_m.shape[0])
    for i in range(distance_m.shape[0]):
        out[i] = 1.0 - math.tanh(distance_m[i] / scale_m)
    return out


def tanh_kernel2(distance_m: float, coarse_m: float, fine_m: float) -> float:
    """:func:`kernel2` of one distance."""
    return 0.5 * (tanh_kernel(distance_m, coarse_m) + tanh_kernel(distance_m, fine_m))


@njit
def kernel2(distance_m: np.ndarray, coarse_m: float, fine_m: float) -> np.ndarray:
    """(n,) mean of a coarse and a fine :func:`kernel`: the coarse one still pulls from where
    an episode starts (tens of cm away), the fine one sharpens the last centimetres."""
    out = np.empty(distance_m.shape[0])
    for i in range(distance_m.shape[0]):
        d = distance_m[i]
        out[i] = 0.5 * ((1.0 - math.tanh(d / coarse_m)) + (1.0 - math.tanh(d / fine_m)))
    return out


REACH_M = (1.0, 0.03)  # coarse and fine scales of the reach kernel, m (the sample starts 0.8 m off)


def reward_reach(ee_pos: np.ndarray, object_pos: np.ndarray) -> np.ndarray:
    """(n,) :func:`kernel2` of |TCP - object| over 1 m and 0.03 m; positions (n, 3) world m."""
    return kernel2(vecmath.norm(object_pos - ee_pos), *REACH_M)


def reward_grasp(grasped: np.ndarray) -> np.ndarray:
    """(n,) 1 while both finger pads hold the object (``grasped`` (n,) bool)."""
    return grasped.astype(np.float64)


def reward_success(success: np.ndarray) -> np.ndarray:
    """(n,) 1 in the step that wins the episode (which then terminates), else 0.

    Every arm task's dense terms add up to at most 1 a step, so with a discount of 0.98 staying
    just short of success forever is worth at most 1 / (1 - 0.98) = 50: a success weight above
    that makes finishing pay more than hovering next to the goal."""
    return success.astype(np.float64)


REACHED_M = 0.03  # stage "reach": the TCP this close to the object (its centre or nearest corner)


def stage_reach(ee_pos: np.ndarray, object_pos: np.ndarray) -> np.ndarray:
    """(n,) the TCP within :data:`REACHED_M` of the object's centre."""
    return vecmath.norm(object_pos - ee_pos) < REACHED_M


def stage_grasp(grasped: np.ndarray) -> np.ndarray:
    """(n,) both finger pads on the object."""
    return grasped


def reward_approach(approach_m: np.ndarray, prev_approach_m: np.ndarray, dt: float) -> np.ndarray:
    """(n,) how fast the task's approach distance shrank over the last step, m/s (negative when
    it grew). Summed over an episode it is the distance gained / dt, so unlike a kernel of the
    distance it pays for moving closer, never for staying close (see :attr:`PROGRESS`)."""
    return (prev_approach_m - approach_m) / dt


def reward_carry(carry_m: np.ndarray, prev_carry_m: np.ndarray, dt: float,
                 grasped: np.ndarray) -> np.ndarray:
    """(n,) while held: how fast the object's distance to where it must go shrank, m/s."""
    return np.where(grasped, (prev_carry_m - carry_m) / dt, 0.0)


class ManipulationTask(Task):
    """An arm on a platform, handling one free object called :attr:`OBJECT`."""

    PLATFORM: ClassVar[str] = "lander"
    OBJECT: ClassVar[str] = "object"
    # Config key -> pure batch term; its parameters name keys of batch_state (+ "action",
    # "prev_action").
    TERMS: ClassVar[dict[str, Callable]] = {"reach": reward_reach, "grasp": reward_grasp,
                                            "success": reward_success,
                                            "approach": reward_approach, "carry": reward_carry,
                                            "action_rate": reward_action_rate}
    # Distances whose decrease per step is a progress term: state key (n,) m -> the per-env
    # method giving it for one env (the per-env path); their values after a reset and after
    # each step are kept in v.episode["prev_<key>"] (the batch) or self._prev (one env).
    PROGRESS: ClassVar[dict[str, str]] = {}
    STAGES: ClassVar[dict[str, Callable]] = {"reach": stage_reach, "grasp": stage_grasp}
    WORK_OFFSET: ClassVar[tuple[float, float, float]] = (0.6, 0.0, -0.3)  # from the arm base, m

    def arm_cfg(self) -> ArmCfg:
        return ArmCfg()

    def make_robot(self) -> Arm:
        return Arm(self.arm_cfg())

    def platform_pos(self) -> tuple[float, float, float]:
        """Where the platform stands (world, m); the ground's flat work area is at z = 0."""
        return (0.0, 0.0, 0.0)

    def build_world(self, spec: mujoco.MjSpec) -> None:
        self.platform: Platform = PLATFORMS[self.PLATFORM](spec, spec.worldbody, self.platform_pos())
        self.robot.attach(spec, spec.worldbody, self.platform.mount_pos)
        self.add_objects(spec)
        self.add_object_sensors(spec)

    def add_object_sensors(self, spec: mujoco.MjSpec) -> None:
        """Object pose (its body frame, world) and one contact sensor per finger body."""
        name = self.OBJECT
        spec.add_sensor(name=f"{name}/pos", type=_SENS.mjSENS_FRAMEPOS, objtype=_OBJ.mjOBJ_XBODY,
                        objname=name)
        spec.add_sensor(name=f"{name}/quat", type=_SENS.mjSENS_FRAMEQUAT,
                        objtype=_OBJ.mjOBJ_XBODY, objname=name)
        for finger in self.robot.finger_joint_names:
            spec.add_sensor(name=f"{name}/touch_{finger.rsplit('_', 1)[-1]}",
                            type=_SENS.mjSENS_CONTACT, objtype=_OBJ.mjOBJ_BODY,
                            objname=f"{finger}_body", reftype=_OBJ.mjOBJ_BODY, refname=name,
                            intprm=list(_FOUND))

    def add_objects(self, spec: mujoco.MjSpec) -> None:
        """Add the task's free object(s); subclasses override."""

    def work_point(self) -> np.ndarray:
        """The middle of the arm's work area (world, m), where the cameras look."""
        scale = self.robot.cfg.hand_scale  # the arm's size relative to the Panda-like one
        return np.asarray(self.platform.mount_pos) + scale * np.asarray(self.WORK_OFFSET)

    def camera_views(self) -> dict[str, tuple]:
        """``scene``: the arm and its work area from the front right; ``base``: beside the
        arm's base, looking at the work area."""
        scale, mount = self.robot.cfg.hand_scale, np.asarray(self.platform.mount_pos)
        work = self.work_point()
        middle = (mount + work) / 2 + scale * np.array([0.0, 0.0, 0.15])
        return {"scene": (middle + scale * np.array([1.3, -1.5, 0.9]), middle),
                "base": (mount + scale * np.array([0.05, 0.25, 0.35]), work)}

    def add_free_object(self, spec: mujoco.MjSpec, part: MeshPart, density_kgpm3: float,
                        pos=(0.0, 0.0, 0.0)) -> mujoco.MjsBody:
        """A free-floating body made of ``part`` (collides with ground, robot and objects)."""
        body = scene.add_free_body(spec, self.OBJECT, pos)
        scene.add_mesh_part(spec, body, self.OBJECT, part, density_kgpm3=density_kgpm3)
        return body

    def bind_task(self, model: mujoco.MjModel) -> None:
        self._obj = model.body(self.OBJECT).id
        joint = model.joint(f"{self.OBJECT}/joint")
        self._obj_qpos = slice(int(joint.qposadr[0]), int(joint.qposadr[0]) + 7)
        self._obj_qvel = slice(int(joint.dofadr[0]), int(joint.dofadr[0]) + 6)
        name = self.OBJECT
        self._pos_idx, self._quat_idx = (sensor_index(model, [f"{name}/{k}"]) for k in ("pos", "quat"))
        self._pos_cols, self._quat_cols = as_slice(self._pos_idx), as_slice(self._quat_idx)
        self._touch_idx = sensor_index(model, [f"{name}/touch_left", f"{name}/touch_right"])
        self._ee = model.site(self.robot.ee_site).id
        self._batch_terms = term_calls(self.TERMS, [(n, getattr(self.rewards, n))
                                                    for n in self.reward_names])
        self._stage_calls = stage_calls(self.STAGES)
        self.dt = model.opt.timestep * control_substeps(model)
        self._prev: dict[str, float] = {}
        self.bind_objects(model)

    def bind_objects(self, model: mujoco.MjModel) -> None:
        """Cache ids of further task sites (targets, bays)."""

    # --- state helpers -----------------------------------------------------------------
    def object_pos(self, data: mujoco.MjData) -> np.ndarray:
        return data.xpos[self._obj]

    def ee_pos(self, data: mujoco.MjData) -> np.ndarray:
        return data.site_xpos[self._ee]

    def set_object(self, data: mujoco.MjData, pos, quat=(1.0, 0.0, 0.0, 0.0),
                   lin_vel=(0.0, 0.0, 0.0), ang_vel=(0.0, 0.0, 0.0)) -> None:
        """Place the free object (world pos m, quat wxyz) with a world linear / body angular velocity."""
        data.qpos[self._obj_qpos] = (*pos, *quat)
        data.qvel[self._obj_qvel] = (*lin_vel, *ang_vel)

    def object_distance(self, data: mujoco.MjData) -> float:
        return float(np.linalg.norm(self.object_pos(data) - self.ee_pos(data)))

    def grasped(self, data: mujoco.MjData) -> bool:
        """Each finger touches the object (its contact sensor, last substep)."""
        return bool((data.sensordata[self._touch_idx] > 0.0).all())

    def random_quat_yaw(self, rng: np.random.Generator) -> tuple[float, float, float, float]:
        """A rotation about z by yaw ~ U(0, 2 pi)."""
        half = rng.uniform(0.0, np.pi)
        return (float(np.cos(half)), 0.0, 0.0, float(np.sin(half)))

    # --- observations and the shared reward terms ------------------------------------------
    def task_observation_space(self):
        return {"object_pos": box((3,)), "object_quat": box((4,), -1.0, 1.0),
                "object_vel": box((6,)), "object_rel": box((3,)), "grasped": box((1,), 0.0, 1.0)}

    def observe_task(self, model, data):
        pos = self.object_pos(data)
        return {"object_pos": pos.astype(F32), "object_quat": data.xquat[self._obj].astype(F32),
                "object_vel": data.qvel[self._obj_qvel].astype(F32),
                "object_rel": (pos - self.ee_pos(data)).astype(F32),
                "grasped": np.array([self.grasped(data)], F32)}

    def reward_reach(self, model, data) -> float:
        """:func:`kernel2` of |TCP - object| over 1 m and 0.03 m."""
        return tanh_kernel2(self.object_distance(data), *REACH_M)

    def reward_success(self, model, data) -> float:
        """1 in the step that wins the episode."""
        return float(self.success(model, data))

    # --- progress terms (PROGRESS) -----------------------------------------------------------
    def reset(self, model, data, rng) -> None:
        super().reset(model, data, rng)
        if self.PROGRESS:
            mujoco.mj_kinematics(model, data)  # positions of the new episode (forward follows)
            self._prev = self.progress_distances(data)

    def progress_distances(self, data) -> dict[str, float]:
        """Every :attr:`PROGRESS` distance of this env now, m."""
        return {key: float(getattr(self, method)(data)) for key, method in self.PROGRESS.items()}

    def episode_state(self, model, data):
        return {**super().episode_state(model, data),
                **{f"prev_{key}": np.asarray(value) for key, value in self._prev.items()}}

    def _progress(self, key: str, data) -> float:
        now = float(getattr(self, self.PROGRESS[key])(data))
        rate, self._prev[key] = (self._prev[key] - now) / self.dt, now
        return rate

    def reward_approach(self, model, data) -> float:
        """How fast the approach distance shrank over the last step, m/s."""
        return self._progress("approach_m", data)

    def _progress_while_held(self, key: str, data) -> float:
        """:meth:`_progress` of ``key``, paid only while the object is held (the distance is
        tracked either way)."""
        rate = self._progress(key, data)
        return rate if self.grasped(data) else 0.0

    def reward_carry(self, model, data) -> float:
        """While held: how fast the carry distance shrank, m/s."""
        return self._progress_while_held("carry_m", data)

    def reward_grasp(self, model, data) -> float:
        """1 while both finger pads hold the object."""
        return float(self.grasped(data))

    # --- the batch (n worlds of one slice) ---------------------------------------------------
    BATCHED = True

    def batch_state(self, v) -> BatchState:
        """The arrays the observations, terms and success read, (n, ...), each computed when
        first read and kept until the state changes (``v.memo``: one per step)."""
        return v.memo("task_state", lambda: BatchState(self, v))

    def state_ee_pos(self, v, s):
        return self.robot.ee_pos_batch(v)

    def state_object_pos(self, v, s):
        return v.sensordata[:, self._pos_cols]

    def state_object_quat(self, v, s):
        return v.sensordata[:, self._quat_cols]

    def state_object_vel(self, v, s):
        return v.qvel[:, self._obj_qvel]

    def state_success(self, v, s):
        return self.success_once(v)

    def state_grasped(self, v, s):
        left, right = self._touch_idx
        return (v.sensordata[:, left] > 0.0) & (v.sensordata[:, right] > 0.0)

    def observe_task_batch(self, v) -> dict[str, np.ndarray]:
        """The task's keys of :meth:`observe_task` for every world, (n, *shape) float32."""
        s = self.batch_state(v)
        return {"object_pos": s["object_pos"].astype(F32), "object_quat": s["object_quat"].astype(F32),
                "object_vel": s["object_vel"].astype(F32),
                "object_rel": (s["object_pos"] - s["ee_pos"]).astype(F32),
                "grasped": s["grasped"][:, None].astype(F32)}

    def reward_terms_batch(self, v, actions: np.ndarray, prev_actions: np.ndarray) -> list[np.ndarray]:
        """Every weighted term (n,) in :attr:`reward_names` order; the reward is their sum."""
        s = self.batch_state(v)
        s["action"], s["prev_action"] = actions, prev_actions
        terms = weighted_terms(self._batch_terms, s)
        for key in self.PROGRESS:  # this step's distances are the next step's previous ones
            v.episode[f"prev_{key}"][:] = s[key]
        return terms

    def state_dt(self, v, s):
        return v.dt

    def state_prev_approach_m(self, v, s):
        return v.episode["prev_approach_m"]

    def state_prev_carry_m(self, v, s):
        return v.episode["prev_carry_m"]

    def success_batch(self, v) -> np.ndarray:
        """(n,) bool: the episode is won (subclasses)."""
        return np.zeros(v.n, bool)

    def stages_batch(self, v) -> list[np.ndarray]:
        return stage_flags(self._stage_calls, self.batch_state(v))
