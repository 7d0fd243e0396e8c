"""Ingenuity, hard: a low waypoint hidden behind a boulder, over rough ground.

What makes it harder than ``ingenuity`` (same robot, success test and reward terms, plus a
``collision`` penalty):

- rough ground (:func:`~...assets.terrain.rough_terrain_cfg`);
- 14 large boulders (1.0-1.4 m tall above the ground, median 1.14; bounding circles
  0.75-1.15 m) instead of 4 rocks of 0.2-0.6 m, placed per world;
- the waypoint lies 6-12 m away (was 3-8) straight behind one of four "shield" boulders
  4.5-9 m from the start, and low: 0.5-1.2 m above the ground there (was 1.5-3 m), below
  most boulders' tops, so flying straight at it runs into the boulder;
- ``collision``: 1 while the airframe (fuselage or feet) touches anything, boulder or
  ground, more than 1 m from the take-off pad (the crash itself is MuJoCo's).

Observation: the base task's plus ``boulders_rel`` (4, 4): the four nearest boulders'
centres in the heading frame (x forward, y left, m), bounding-circle radii (m) and tops
above the helicopter (m), nearest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ingenuity.env import IngenuityRewards, IngenuityTask
from ..navigation import BoulderField, BoulderFieldTask

PAD_RADIUS_M = 1.0  # contacts within this horizontal distance of the origin are take-off/landing


@dataclass(frozen=True)
class IngenuityHardRewards(IngenuityRewards):
    """The base task's weights plus ``collision`` (penalty while touching anything off the
    pad)."""

    collision: float = -0.5


class IngenuityHardTask(BoulderFieldTask, IngenuityTask):
    """Hover within 0.5 m of a waypoint 6-12 m away behind a boulder, 0.5-1.2 m up."""

    REWARDS = IngenuityHardRewards
    FIELD = BoulderField(shields=4, shield_distance_m=(4.5, 9.0), ring_m=(3.0, 13.0),
                         gap_m=1.5, behind_m=(1.0, 2.0), pocket_clear_m=1.5)
    DISTANCE_M, ALTITUDE_M = (6.0, 12.0), (0.5, 1.2)  # DISTANCE_M: what FIELD gives
    BOULDER_TOPS = True

    def bind_task(self, model):
        super().bind_task(model)
        self.touch_adr = int(model.sensor(f"{self.robot.prefix}touch").adr[0])

    def reward_collision(self, model, data) -> float:
        """1 while the airframe touches anything more than 1 m from the take-off pad."""
        pos = self.position(model, data)
        return float(data.sensordata[self.touch_adr] > 0 and np.hypot(pos[0], pos[1])
                     > PAD_RADIUS_M)

    def terms_batch(self, v, actions, prev_actions):
        pos = self.robot.base_pose_batch(v)[0]
        return {**super().terms_batch(v, actions, prev_actions),
                "collision": reward_collision(pos, v.sensordata[:, self.touch_adr])}


def reward_collision(pos: np.ndarray, touch: np.ndarray) -> np.ndarray:
    """1 where the airframe touches anything (``touch`` > 0: contacts found) more than 1 m
    from the take-off pad, else 0, (n,)."""
    return ((touch > 0) & (np.hypot(pos[:, 0], pos[:, 1]) > PAD_RADIUS_M)).astype(np.float64)


TASK = IngenuityHardTask
