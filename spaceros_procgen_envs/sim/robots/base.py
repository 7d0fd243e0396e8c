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
TIMESTEP_S = 0.005  # default physics step: 4 substeps per control step


@dataclass(frozen=True)
class CameraMount:
    """A camera fixed to a robot site (or an existing camera) of the robot (names prefix-relative)."""

    name: str
    site: str | None = None     # robot site to copy the pose from
    camera: str | None = None   # or an existing robot camera
    fovy_deg: float = 70.0
    pitch_deg: float = 0.0      # tilt relative to the site, positive up


class Robot(Protocol):
    kind: str          # "manipulator" | "rover" | "multicopter"
    action_names: tuple[str, ...]
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
