"""Waypoints for the mobile tasks (rover, helicopter)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..assets.types import Heightmap
from ..sim import vecmath
from ..sim.robots.base import CONTROL_HZ
from .base import Task


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


def tilt_cos(quat: np.ndarray) -> float:
    """z component of the body's z axis in the world (cos of the tilt), from a wxyz quaternion."""
    w, x, y, z = quat
    return 1.0 - 2.0 * (x * x + y * y)


class WaypointTask(Task):
    """A mobile robot that must reach a waypoint: sampling, approach-speed reward, success.

    Subclasses set :attr:`DISTANCE_M` (horizontal distance of the goal from the origin, m),
    :attr:`RADIUS_M` (success radius, m), :attr:`ALTITUDE_M` (goal height above the ground, m)
    and :attr:`PLANAR` (distances measured in the ground plane, or in 3-D).
    """

    DISTANCE_M: ClassVar[tuple[float, float]] = (5.0, 10.0)
    RADIUS_M: ClassVar[float] = 1.0
    ALTITUDE_M: ClassVar[tuple[float, float]] = (0.0, 0.0)
    PLANAR: ClassVar[bool] = True

    def bind_task(self, model):
        self.waypoint = Waypoint(self.assets.get("terrain"), self.DISTANCE_M, self.RADIUS_M)
        self.dt = model.opt.timestep * round(1.0 / (CONTROL_HZ * model.opt.timestep))

    def reset_objects(self, model, data, rng):
        self.waypoint.sample(rng, self.ALTITUDE_M)
        self._last = self.distance(model, data)

    def position(self, model, data) -> np.ndarray:
        return self.robot.base_pose(model, data)[0]

    def distance(self, model, data) -> float:
        return self.waypoint.distance(self.position(model, data), self.PLANAR)

    def reward_progress(self, model, data) -> float:
        """Approach speed towards the waypoint, m/s (negative when moving away)."""
        dist = self.distance(model, data)
        progress, self._last = (self._last - dist) / self.dt, dist
        return progress

    def reward_upright(self, model, data) -> float:
        """1 - cos(tilt): 0 when level, 1 when on its side."""
        return float(1.0 - tilt_cos(self.robot.base_pose(model, data)[1]))

    def success(self, model, data) -> bool:
        return self.distance(model, data) < self.RADIUS_M

    # --- batched -------------------------------------------------------------------------
    BATCHED = True

    def episode_state(self, model, data):
        return {**super().episode_state(model, data), "target": self.waypoint.pos.copy(),
                "prev_dist": np.array(self._last)}

    def distance_batch(self, v) -> np.ndarray:
        """(n,) distance of every robot to its waypoint, m (planar when :attr:`PLANAR`)."""
        delta = v.episode["target"] - self.robot.base_pose_batch(v)[0]
        return np.hypot(delta[:, 0], delta[:, 1]) if self.PLANAR else vecmath.norm(delta)

    def terms_batch(self, v, actions, prev_actions):
        dist = self.distance_batch(v)
        progress = reward_progress(v.episode["prev_dist"], dist, v.dt)
        v.episode["prev_dist"][:] = dist
        quat = self.robot.base_pose_batch(v)[1]
        return {**super().terms_batch(v, actions, prev_actions), "progress": progress,
                "upright": reward_upright(quat)}

    def success_batch(self, v):
        return self.distance_batch(v) < self.RADIUS_M


def reward_progress(prev_dist: np.ndarray, dist: np.ndarray, dt: float) -> np.ndarray:
    """Approach speed towards the waypoint, m/s (negative when moving away), (n,)."""
    return (prev_dist - dist) / dt


def reward_upright(quat: np.ndarray) -> np.ndarray:
    """1 - cos(tilt): 0 when level, 1 when on its side, (n,)."""
    return 1.0 - vecmath.tilt_cos(quat)
