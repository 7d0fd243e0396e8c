"""Perseverance, hard: the waypoint hides behind a boulder in a field of them, on rough ground.

What makes it harder than ``perseverance`` (same robot, reward terms and success test):

- rough ground (:func:`~...assets.terrain.rough_terrain_cfg`: on Mars twice the relief, three
  times the small-scale roughness and 2.4 x the rock bumps of the preset);
- 14 large boulders (bounding box 1.5-2.2 x 1.0-2.0 x 1.4-2.0 m, 30 % sunk: 1.0-1.4 m tall,
  above the chassis top at 1.1 m; bounding circles 0.75-1.15 m) instead of 6 rocks of
  0.2-0.6 m, placed per world (the base task's lie at the same places in every world);
- the waypoint lies 8-13 m away (was 5-10) straight behind one of four "shield" boulders
  6-9.5 m from the start, so driving straight at it hits the boulder: the rover must detour;
- 40 s episodes (was 30) for the longer way round.

Observation: the base task's plus ``boulders_rel`` (4, 3): the four nearest boulders'
centres in the heading frame (x forward, y left, m) and their bounding-circle radii (m),
nearest first.
"""

from __future__ import annotations

from ..navigation import BoulderField, BoulderFieldTask
from ..perseverance.env import PerseveranceTask


class PerseveranceHardTask(BoulderFieldTask, PerseveranceTask):
    """Reach a waypoint 8-13 m away behind a boulder (success within 1 m)."""

    FIELD = BoulderField(shields=4, shield_distance_m=(6.0, 9.5), ring_m=(4.0, 13.0),
                         gap_m=3.0, behind_m=(1.6, 2.6), pocket_clear_m=2.5)
    DISTANCE_M = (8.0, 13.0)  # what FIELD gives (documentation; sampling is FIELD's)


TASK = PerseveranceHardTask
