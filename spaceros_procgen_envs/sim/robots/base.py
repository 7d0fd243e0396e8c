"""The contract every robot implements, so scenes and tasks can treat them alike.

Life cycle of one robot in one env::

    robot = Rover(RoverCfg())
    robot.attach(spec, spec.worldbody, pos=(0, 0, 0))   # add bodies/actuators to an MjSpec
    model = spec.compile(); data = mujoco.MjData(model)
    robot.bind(model)                                   # cache ids/addresses
    robot.reset(model, data, rng)                       # home pose
    robot.apply_action(model, data, action)             # once per control step (50 Hz)
    mujoco.mj_step(model, data, nstep=substeps)         # low-level control lives in MuJoCo actuators
    obs = robot.observe(model, data)

All names a robot adds to the spec start with ``robot/`` so several robots (``robot0/``...)
can share one world through the ``prefix`` argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import gymnasium as gym
import mujoco
import numpy as np

CONTROL_HZ = 50.0  # agent rate, SPEC 3


def control_substeps(model) -> int:
    """MuJoCo steps per agent step (1 / CONTROL_HZ of sim time) for ``model``'s time step."""
    return max(1, round(1.0 / (CONTROL_HZ * model.opt.timestep)))
TIMESTEP_S = 0.005  # default physics step: 4 substeps per control step


@dataclass(frozen=True)
class CameraMount:
    """A camera fixed to a robot site (or an existing camera) of the robot (names prefix-relative)."""

    name: str
    site: str | None = None     # robot site to copy the pose from
    camera: str | None = None   # or an existing robot camera
    fovy_deg: float = 70.0
    pitch_deg: float = 0.0      # tilt relative to the site, positive up


# The components of a commanded twist (geometry_msgs/Twist), REP 103 axes: x forward, z up.
TWIST_AXES = ("linear.x", "linear.y", "linear.z", "angular.x", "angular.y", "angular.z")


@dataclass(frozen=True)
class TwistAxis:
    """One action component driven by one component of a commanded twist (m/s or rad/s).

    The action is the twist component divided by the robot's speed at action 1, which is its
    cfg field ``max_speed`` (a name, so one class serves every cfg, e.g. the long gateway arm).

    >>> TwistAxis("ang_vel", "angular.z", "max_ang_vel_radps").index
    5
    """

    action: str     # one of the robot's action_names
    twist: str      # one of TWIST_AXES
    max_speed: str  # name of the robot cfg field: the speed at action 1, m/s or rad/s

    @property
    def index(self) -> int:
        """The twist component as an index of (linear x, y, z, angular x, y, z)."""
        return TWIST_AXES.index(self.twist)


@dataclass(frozen=True)
class KeyBinding:
    """Two keys driving one twist component: ``plus`` gives +max, ``minus`` -max, both cancel.

    >>> KeyBinding("a", "d", "angular.z", "turn left / right").axis
    5
    """

    plus: str
    minus: str
    twist: str   # one of TWIST_AXES
    label: str   # what the pair does, as the key list prints it

    @property
    def axis(self) -> int:
        """The twist component as an index of (linear x, y, z, angular x, y, z)."""
        return TWIST_AXES.index(self.twist)


class Robot(Protocol):
    kind: str          # "manipulator" | "rover" | "multicopter"
    action_names: tuple[str, ...]
    # How a commanded twist and the keyboard drive it (read by the ROS adapter):
    twist_axes: tuple[TwistAxis, ...]       # the action components a twist writes
    gripper_action: str | None              # the gripper's action (+1 closes), None: no gripper
    key_bindings: tuple[KeyBinding, ...]    # teleop motion keys (on twist components)
    gripper_key: str | None                 # teleop key toggling the gripper, None: no gripper
    prefix: str        # "robot/" unless several robots share a world
    # The robot's own facts that every adapter asks for (cameras, viewer, videos):
    camera_mounts: tuple[CameraMount, ...]  # its cameras, after the "scene" camera
    root_body: str                          # prefix-relative name of the body cameras follow
    chase_eye_m: tuple[float, float, float] | None  # "scene" chase camera offset (None: the task's)
    view_distance_m: float                  # how far a camera framing it stands, m

    def attach(self, spec: mujoco.MjSpec, parent: mujoco.MjsBody,
               pos: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None: ...

    def bind(self, model: mujoco.MjModel) -> None: ...

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None: ...

    def apply_action(self, model: mujoco.MjModel, data: mujoco.MjData, action: np.ndarray) -> None: ...

    def observe(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, np.ndarray]: ...

    def observation_space(self) -> dict[str, gym.spaces.Box]: ...

    # For ROS (JointState / PoseStamped): joint names, and (pos, vel, effort) arrays in that order.
    joint_names: tuple[str, ...]

    def joint_state(self, model: mujoco.MjModel, data: mujoco.MjData
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def base_pose(self, model: mujoco.MjModel, data: mujoco.MjData
                  ) -> tuple[np.ndarray, np.ndarray]:  # (xyz m, quat wxyz) in the world frame
        ...
