"""Ingenuity: fly the coaxial helicopter to a waypoint above procedural terrain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...sim import vecmath
from ...sim.robots.helicopter import Helicopter, HelicopterCfg
from ..base import F32, RewardCfg, box
from ..navigation import WaypointTask


@dataclass(frozen=True)
class IngenuityRewards(RewardCfg):
    """Weights: ``progress`` (m of 3-D approach per s), ``upright`` (penalty ~ tilt),
    ``ground_clearance`` (penalty when below 0.3 m in flight away from the pad), ``action_rate``."""

    progress: float = 1.0
    upright: float = -0.5
    ground_clearance: float = -0.2
    action_rate: float = -0.01


class IngenuityTask(WaypointTask):
    """Hover within 0.5 m of a waypoint 3-8 m away, 1.5-3 m above the ground there."""

    REWARDS = IngenuityRewards
    DISTANCE_M, RADIUS_M, ALTITUDE_M, PLANAR = (3.0, 8.0), 0.5, (1.5, 3.0), False

    def make_robot(self):
        return Helicopter(HelicopterCfg())

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

    def reward_ground_clearance(self, model, data) -> float:
        """1 when flying lower than 0.3 m more than 1 m away from the take-off pad, else 0."""
        pos = self.position(model, data)
        return float(np.hypot(pos[0], pos[1]) > 1.0 and self.altitude(pos) < 0.3)


    def batch_constants(self):
        terrain = self.assets["terrain"]
        return {"heights": terrain.heights_m, "terrain_size": np.asarray(terrain.size_m)}

    def altitude_batch(self, v, pos: np.ndarray) -> np.ndarray:
        """(n,) height of every helicopter above the terrain directly below, m."""
        c = v.const
        return v.memo("altitude", lambda: pos[:, 2] - vecmath.heights_at(
            c["heights"], c["terrain_size"], pos[:, 0], pos[:, 1]))

    def observe_task_batch(self, v):
        pos, quat = self.robot.base_pose_batch(v)
        target = v.episode["target"]
        delta = target - pos
        rel = np.column_stack([vecmath.heading_frame(quat, delta[:, 0], delta[:, 1]), delta[:, 2]])
        return {"target_pos": target.astype(F32), "target_rel": rel.astype(F32),
                "altitude": self.altitude_batch(v, pos)[:, None].astype(F32)}

    def terms_batch(self, v, actions, prev_actions):
        pos = self.robot.base_pose_batch(v)[0]
        return {**super().terms_batch(v, actions, prev_actions),
                "ground_clearance": reward_ground_clearance(pos, self.altitude_batch(v, pos))}


def reward_ground_clearance(pos: np.ndarray, altitude: np.ndarray) -> np.ndarray:
    """1 when flying lower than 0.3 m more than 1 m away from the take-off pad, else 0, (n,)."""
    return ((np.hypot(pos[:, 0], pos[:, 1]) > 1.0) & (altitude < 0.3)).astype(np.float64)


TASK = IngenuityTask
