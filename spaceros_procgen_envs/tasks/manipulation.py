"""What the arm tasks share: a platform, the arm on it, free objects and grasp sensing.

Grasp sensing reads the contact list of the last substep: the object is *grasped* when the
left finger and the right finger each touch it. That holds however the object is taken (a rock
by its middle, a debris fragment by an edge) and costs one small array lookup per step.
"""

from __future__ import annotations

from typing import ClassVar

import mujoco
import numpy as np

from ..assets.types import MeshPart
from ..sim import scene
from ..sim.robots.arm import Arm, ArmCfg
from ..sim.robots.bases import Platform, add_lander, add_spacecraft, add_station_module
from .base import F32, Task, box

# Contact roles: 1 left finger, 2 right finger, 4 the object; a pad-object pair ORs to 5 or 6.
_LEFT, _RIGHT, _OBJECT = 1, 2, 4
PLATFORMS = {"lander": add_lander, "spacecraft": add_spacecraft, "station": add_station_module}


def tanh_kernel(distance_m: float, scale_m: float) -> float:
    """1 at distance 0, falling smoothly to 0 over a few ``scale_m``."""
    return float(1.0 - np.tanh(distance_m / scale_m))


class ManipulationTask(Task):
    """An arm on a platform, handling one free object called :attr:`OBJECT`."""

    PLATFORM: ClassVar[str] = "lander"
    OBJECT: ClassVar[str] = "object"
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

    def view_distance_m(self) -> float:
        return 3.0 * self.robot.cfg.hand_scale

    def add_free_object(self, spec: mujoco.MjSpec, part: MeshPart, density_kgpm3: float,
                        pos=(0.0, 0.0, 0.0)) -> mujoco.MjsBody:
        """A free-floating body made of ``part`` (collides with ground, robot and objects)."""
        body = spec.worldbody.add_body(name=self.OBJECT, pos=list(pos))
        body.add_freejoint(name=f"{self.OBJECT}/joint")
        scene.add_mesh_part(spec, body, self.OBJECT, part, density_kgpm3=density_kgpm3)
        return body

    def bind_task(self, model: mujoco.MjModel) -> None:
        self._obj = model.body(self.OBJECT).id
        joint = model.joint(f"{self.OBJECT}/joint")
        self._obj_qpos = slice(int(joint.qposadr[0]), int(joint.qposadr[0]) + 7)
        self._obj_qvel = slice(int(joint.dofadr[0]), int(joint.dofadr[0]) + 6)
        self._grasp_stamp, self._grasp = -1, False
        self._role = np.zeros(model.ngeom, np.int8)
        for role, name in zip((_LEFT, _RIGHT), self.robot.finger_joint_names):
            self._role[model.geom_bodyid == model.body(f"{name}_body").id] = role
        self._role[model.geom_bodyid == self._obj] = _OBJECT
        self._ee = model.site(self.robot.ee_site).id
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
        """Each finger touches the object (contacts of the last substep); computed once a step."""
        if self._grasp_stamp != self.stamp:
            self._grasp_stamp, self._grasp = self.stamp, self._fingers_touch_object(data)
        return self._grasp

    def _fingers_touch_object(self, data: mujoco.MjData) -> bool:
        if data.ncon == 0:
            return False
        roles = self._role[data.contact.geom[:data.ncon]]
        pairs = roles[:, 0] | roles[:, 1]
        return bool((pairs == _LEFT | _OBJECT).any() and (pairs == _RIGHT | _OBJECT).any())

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
        """1 - tanh(|TCP - object| / 0.1 m)."""
        return tanh_kernel(self.object_distance(data), 0.1)

    def reward_grasp(self, model, data) -> float:
        """1 while both finger pads hold the object."""
        return float(self.grasped(data))
