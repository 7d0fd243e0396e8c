"""Perseverance: drive the rover to a waypoint across procedural terrain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...sim import vecmath
from ...sim.robots.rover import Rover, RoverCfg
from ..base import F32, RewardCfg, box
from ..navigation import WaypointTask


@dataclass(frozen=True)
class PerseveranceRewards(RewardCfg):
    """Weights: ``progress`` (m of approach per s), ``heading`` (cos of the bearing error),
    ``upright`` (penalty ~ tilt), ``action_rate``."""

    progress: float = 1.0
    heading: float = 0.05
    upright: float = -0.5
    action_rate: float = -0.01


class PerseveranceTask(WaypointTask):
    """Reach a waypoint 5-10 m away (success within 1 m); obstacles are the boulders."""

    REWARDS = PerseveranceRewards
    DISTANCE_M, RADIUS_M = (5.0, 10.0), 1.0

    def make_robot(self):
        return Rover(RoverCfg())

    def task_observation_space(self):
        return {"target_pos": box((3,)), "target_rel": box((2,))}

    def observe_task(self, model, data):
        pos, quat = self.robot.base_pose(model, data)
        return {"target_pos": self.waypoint.pos.astype(F32),
                "target_rel": self.waypoint.relative_xy(pos, quat).astype(F32)}

    def reward_heading(self, model, data) -> float:
        """Cosine of the angle between the rover's heading and the waypoint bearing."""
        pos, quat = self.robot.base_pose(model, data)
        rel = self.waypoint.relative_xy(pos, quat)
        return float(rel[0] / (np.linalg.norm(rel) + 1e-9))


    def observe_task_batch(self, v):
        return {"target_pos": v.episode["target"].astype(F32),
                "target_rel": self.target_rel_batch(v).astype(F32)}

    def target_rel_batch(self, v) -> np.ndarray:
        """(n, 2) waypoint in each rover's heading frame, m."""
        def compute():
            pos, quat = self.robot.base_pose_batch(v)
            delta = v.episode["target"] - pos
            return vecmath.heading_frame(quat, delta[:, 0], delta[:, 1])
        return v.memo("target_rel", compute)

    def terms_batch(self, v, actions, prev_actions):
        terms = super().terms_batch(v, actions, prev_actions)
        return {**terms, "heading": reward_heading(self.target_rel_batch(v))}


def reward_heading(target_rel: np.ndarray) -> np.ndarray:
    """Cosine of the angle between the heading and the waypoint bearing, (n,)."""
    return target_rel[:, 0] / (vecmath.norm(target_rel) + 1e-9)


TASK = PerseveranceTask
