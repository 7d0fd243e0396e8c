"""Waypoints for the mobile tasks (rover, helicopter)."""

from __future__ import annotations

import numpy as np

from ..assets.types import Heightmap


class Waypoint:
    """A goal position on (or above) the terrain.

    Args:
        terrain: the env's heightmap (None: flat ground at z = 0).
        distance_m: (min, max) horizontal distance from the origin, metres.
        radius_m: success radius, metres (3-D distance).
    """

    def __init__(self, terrain: Heightmap | None, distance_m: tuple[float, float], radius_m: float):
        self.terrain, self.distance_m, self.radius_m = terrain, distance_m, radius_m
        self.pos = np.zeros(3)

    def sample(self, rng: np.random.Generator, altitude_m: tuple[float, float]) -> np.ndarray:
        """New goal: distance ~ U(distance_m), bearing ~ U(0, 2 pi), altitude ~ U(altitude_m)
        above the ground there."""
        dist, bearing = rng.uniform(*self.distance_m), rng.uniform(0.0, 2.0 * np.pi)
        x, y = dist * np.cos(bearing), dist * np.sin(bearing)
        self.pos[:] = (x, y, self.ground_height(x, y) + rng.uniform(*altitude_m))
        return self.pos

    def ground_height(self, x: float, y: float) -> float:
        return 0.0 if self.terrain is None else self.terrain.height_at(x, y)

    def distance(self, pos: np.ndarray, planar: bool = True) -> float:
        delta = self.pos - pos
        return float(np.hypot(delta[0], delta[1]) if planar else np.linalg.norm(delta))

    def reached(self, pos: np.ndarray, planar: bool = True) -> bool:
        return self.distance(pos, planar) < self.radius_m

    def relative_xy(self, pos: np.ndarray, quat: np.ndarray) -> np.ndarray:
        """Goal (x, y) in the robot's heading frame (x forward, y left), metres."""
        w, x, y, z = quat
        yaw = np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
        dx, dy = self.pos[0] - pos[0], self.pos[1] - pos[1]
        c, s = np.cos(yaw), np.sin(yaw)
        return np.array([c * dx + s * dy, -s * dx + c * dy])
