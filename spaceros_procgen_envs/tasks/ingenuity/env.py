"""Ingenuity: fly the coaxial helicopter to a waypoint above procedural terrain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...sim.robots.helicopter import Helicopter, HelicopterCfg
from ..base import F32, RewardCfg, Task, box
from ..navigation import Waypoint
from ..perseverance.env import _body_z_up


@dataclass(frozen=True)
class IngenuityRewards(RewardCfg):
    """Weights: ``progress`` (m of 3-D approach per s), ``upright`` (penalty ~ tilt),
    ``ground_clearance`` (penalty when below 0.3 m in flight away from the pad), ``action_rate``."""

    progress: float = 1.0
    upright: float = -0.5
    ground_clearance: float = -0.2
    action_rate: float = -0.01


class IngenuityTask(Task):
    """Hover within 0.5 m of a waypoint 3-8 m away, 1.5-3 m above the ground there."""

    REWARDS = IngenuityRewards

    def make_robot(self):
        return Helicopter(HelicopterCfg())

    def bind_task(self, model):
        self.waypoint = Waypoint(self.assets.get("terrain"), distance_m=(3.0, 8.0), radius_m=0.5)
        self.dt = model.opt.timestep * round(0.02 / model.opt.timestep)

    def reset_objects(self, model, data, rng):
        self.waypoint.sample(rng, altitude_m=(1.5, 3.0))
        self._last = self.waypoint.distance(self._position(model, data), planar=False)

    def _position(self, model, data) -> np.ndarray:
        return self.robot.base_pose(model, data)[0]

    def altitude(self, pos: np.ndarray) -> float:
        """Height of ``pos`` above the terrain directly below, metres."""
        return float(pos[2] - self.waypoint.ground_height(pos[0], pos[1]))

    def task_observation_space(self):
        return {"target_pos": box((3,)), "target_rel": box((3,)), "altitude": box((1,))}

    def observe_task(self, model, data):
        pos, quat = self.robot.base_pose(model, data)
        rel = np.append(self.waypoint.relative_xy(pos, quat), self.waypoint.pos[2] - pos[2])
        return {"target_pos": self.waypoint.pos.astype(F32), "target_rel": rel.astype(F32),
                "altitude": np.array([self.altitude(pos)], F32)}

    def reward_progress(self, model, data) -> float:
        """3-D approach speed towards the waypoint, m/s."""
        dist = self.waypoint.distance(self._position(model, data), planar=False)
        progress, self._last = (self._last - dist) / self.dt, dist
        return progress

    def reward_upright(self, model, data) -> float:
        """1 - cos(tilt)."""
        return float(1.0 - _body_z_up(self.robot.base_pose(model, data)[1]))

    def reward_ground_clearance(self, model, data) -> float:
        """1 when flying lower than 0.3 m more than 1 m away from the take-off pad, else 0."""
        pos = self._position(model, data)
        return float(np.hypot(pos[0], pos[1]) > 1.0 and self.altitude(pos) < 0.3)

    def success(self, model, data) -> bool:
        return self.waypoint.reached(self._position(model, data), planar=False)


TASK = IngenuityTask
