"""Perseverance: drive the rover to a waypoint across procedural terrain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...sim.robots.rover import Rover, RoverCfg
from ..base import F32, RewardCfg, Task, box
from ..navigation import Waypoint


@dataclass(frozen=True)
class PerseveranceRewards(RewardCfg):
    """Weights: ``progress`` (m of approach per s), ``heading`` (cos of the bearing error),
    ``upright`` (penalty ~ tilt), ``action_rate``."""

    progress: float = 1.0
    heading: float = 0.05
    upright: float = -0.5
    action_rate: float = -0.01


class PerseveranceTask(Task):
    """Reach a waypoint 5-10 m away (success within 1 m); obstacles are the boulders."""

    REWARDS = PerseveranceRewards

    def make_robot(self):
        return Rover(RoverCfg())

    def bind_task(self, model):
        self.waypoint = Waypoint(self.assets.get("terrain"), distance_m=(5.0, 10.0), radius_m=1.0)
        self.dt = model.opt.timestep * round(0.02 / model.opt.timestep)

    def reset_objects(self, model, data, rng):
        self.waypoint.sample(rng, altitude_m=(0.0, 0.0))
        self._last = self.waypoint.distance(self._position(model, data))

    def _position(self, model, data) -> np.ndarray:
        return self.robot.base_pose(model, data)[0]

    def task_observation_space(self):
        return {"target_pos": box((3,)), "target_rel": box((2,))}

    def observe_task(self, model, data):
        pos, quat = self.robot.base_pose(model, data)
        return {"target_pos": self.waypoint.pos.astype(F32),
                "target_rel": self.waypoint.relative_xy(pos, quat).astype(F32)}

    def reward_progress(self, model, data) -> float:
        """Approach speed towards the waypoint, m/s (negative when moving away)."""
        dist = self.waypoint.distance(self._position(model, data))
        progress, self._last = (self._last - dist) / self.dt, dist
        return progress

    def reward_heading(self, model, data) -> float:
        """Cosine of the angle between the rover's heading and the waypoint bearing."""
        pos, quat = self.robot.base_pose(model, data)
        rel = self.waypoint.relative_xy(pos, quat)
        return float(rel[0] / (np.linalg.norm(rel) + 1e-9))

    def reward_upright(self, model, data) -> float:
        """1 - cos(tilt): 0 when level, 1 when on its side."""
        _, quat = self.robot.base_pose(model, data)
        return float(1.0 - _body_z_up(quat))

    def success(self, model, data) -> bool:
        return self.waypoint.reached(self._position(model, data))


def _body_z_up(quat: np.ndarray) -> float:
    """z component of the body's z axis in the world (cos of tilt), from a wxyz quaternion."""
    w, x, y, z = quat
    return 1.0 - 2.0 * (x * x + y * y)


TASK = PerseveranceTask
