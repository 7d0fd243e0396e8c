"""Waypoints for the mobile tasks (rover, helicopter)."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..assets.types import Heightmap, MeshAsset
from ..sim import scene, vecmath
from ..sim.jit import njit
from ..sim.robots.base import control_substeps
from .base import F32, Task, box


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

    def place(self, x: float, y: float, altitude_m: float = 0.0) -> np.ndarray:
        """New goal at (x, y), ``altitude_m`` above the ground there, m."""
        self.pos[:] = (x, y, self.ground_height(x, y) + altitude_m)
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
        self.dt = model.opt.timestep * control_substeps(model)

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
        """(n,) distance of every robot to its waypoint, m (planar when :attr:`PLANAR`); one
        computation per state, shared by the progress term and the success test."""
        def compute():
            delta = v.episode["target"] - self.robot.base_pose_batch(v)[0]
            return np.hypot(delta[:, 0], delta[:, 1]) if self.PLANAR else vecmath.norm(delta)
        return v.memo("distance", compute)

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


# --- boulder fields (the ``_hard`` variants) ---------------------------------------------
@dataclass(frozen=True)
class BoulderField:
    """Where a hard variant's boulders lie and where its waypoint hides among them.

    The first ``shields`` boulders ring the start at ``shield_distance_m``, one per sector of
    2 pi / shields (bearing jitter ~ U(+-``shield_jitter_rad``)); every episode's waypoint lies
    straight behind one of them as seen from the start, so the straight line is blocked. The
    others are scattered over ``ring_m`` with at least ``gap_m`` between boulder surfaces and
    away from the pockets behind the shields. Distances are horizontal, from the origin, m.

    Attributes:
        shields: boulders that hide a waypoint.
        shield_distance_m: (min, max) distance of a shield's centre ~ U.
        shield_jitter_rad: bearing jitter of a shield within its sector.
        ring_m: (min, max) distance of the other boulders' centres ~ U.
        gap_m: least gap between two boulders' bounding circles (rover: 2.7 m wide).
        behind_m: (min, max) gap between the shield's bounding circle and the waypoint ~ U.
        lateral_frac: waypoint offset across the line ~ U(+-lateral_frac * shield radius).
        pocket_clear_m: other boulders' circles stay this far from a pocket's centre.
        tries: rejection-sampling candidates per scattered boulder.
    """

    shields: int = 4
    shield_distance_m: tuple[float, float] = (6.0, 9.5)
    shield_jitter_rad: float = 0.3
    ring_m: tuple[float, float] = (4.0, 13.0)
    gap_m: float = 3.0
    behind_m: tuple[float, float] = (1.6, 2.6)
    lateral_frac: float = 0.5
    pocket_clear_m: float = 2.5
    tries: int = 64


def place_boulders(field: BoulderField, radii: np.ndarray, rng: np.random.Generator
                   ) -> np.ndarray:
    """(B, 2) boulder centres for bounding-circle ``radii`` (B,), m: shields first, then the
    scattered ones (a boulder with no free candidate takes its last one)."""
    centres = np.zeros((len(radii), 2))
    start = rng.uniform(0.0, 2.0 * np.pi)
    for k in range(field.shields):
        bearing = start + 2.0 * np.pi * k / field.shields + rng.uniform(
            -field.shield_jitter_rad, field.shield_jitter_rad)
        centres[k] = rng.uniform(*field.shield_distance_m) * np.array(
            [np.cos(bearing), np.sin(bearing)])
    pockets = np.array([pocket_centre(field, centres[k], radii[k]) for k in range(field.shields)])
    for b in range(field.shields, len(radii)):
        for _ in range(field.tries):
            dist, bearing = rng.uniform(*field.ring_m), rng.uniform(0.0, 2.0 * np.pi)
            centres[b] = dist * np.cos(bearing), dist * np.sin(bearing)
            apart = np.hypot(*(centres[:b] - centres[b]).T) - radii[:b] - radii[b]
            clear = np.hypot(*(pockets - centres[b]).T) - radii[b]
            if apart.min() >= field.gap_m and clear.min() >= field.pocket_clear_m:
                break
    return centres


def pocket_centre(field: BoulderField, centre: np.ndarray, radius: float) -> np.ndarray:
    """The middle of the waypoint region behind a shield at ``centre`` (2,), m."""
    dist = float(np.hypot(*centre))
    return centre / dist * (dist + radius + 0.5 * sum(field.behind_m))


def sample_behind(field: BoulderField, boulders: np.ndarray, rng: np.random.Generator
                  ) -> tuple[float, float]:
    """A waypoint (x, y) straight behind a shield ~ U{0..shields-1}, seen from the origin:
    ``behind_m`` past its bounding circle, ``lateral_frac`` x its radius off the line, m.

    Args:
        boulders: (B, >= 3) rows of (x, y, radius, ...) in m, shields first.
    """
    x, y, radius = boulders[rng.integers(field.shields), :3]
    dist = float(np.hypot(x, y))
    along, across = (x / dist, y / dist), (-y / dist, x / dist)
    reach = dist + radius + rng.uniform(*field.behind_m)
    side = rng.uniform(-field.lateral_frac, field.lateral_frac) * radius
    return (reach * along[0] + side * across[0], reach * along[1] + side * across[1])


def nearest_boulders(pos: np.ndarray, quat: np.ndarray, boulders: np.ndarray, k: int,
                     tops: bool = False) -> np.ndarray:
    """The ``k`` boulders nearest each robot, sorted by horizontal distance, (n, k, 3 or 4).

    Args:
        pos, quat: (n, 3) base positions (m) and (n, 4) wxyz orientations.
        boulders: (n, B, 4) rows (x, y, radius, top z) per world, m.
        tops: add a 4th column, the boulder's top minus the base height, m.

    Returns:
        Rows (x forward, y left) of the centre in the robot's heading frame, the radius of
        its bounding circle [and its top above the base], m; of equal distances the boulder
        listed first comes first.
    """
    return _nearest_boulders(pos, quat, boulders, k, 4 if tops else 3)


@njit
def _nearest_boulders(pos, quat, boulders, k, cols):
    n, count = boulders.shape[0], boulders.shape[1]
    heading = vecmath.yaw(quat)
    out = np.empty((n, k, cols))
    dist = np.empty(count)
    taken = np.zeros(count, np.bool_)
    for i in range(n):
        c, s = math.cos(heading[i]), math.sin(heading[i])
        for b in range(count):
            dx, dy = boulders[i, b, 0] - pos[i, 0], boulders[i, b, 1] - pos[i, 1]
            dist[b] = dx * dx + dy * dy
            taken[b] = False
        for j in range(k):  # selection: the smallest not yet taken, the first of equals
            best = -1
            for b in range(count):
                if not taken[b] and (best < 0 or dist[b] < dist[best]):
                    best = b
            taken[best] = True
            dx, dy = boulders[i, best, 0] - pos[i, 0], boulders[i, best, 1] - pos[i, 1]
            out[i, j, 0], out[i, j, 1] = c * dx + s * dy, -s * dx + c * dy
            out[i, j, 2] = boulders[i, best, 2]
            if cols == 4:
                out[i, j, 3] = boulders[i, best, 3] - pos[i, 2]
    return out


def nearest_boulders_one(pos: np.ndarray, quat: np.ndarray, boulders: np.ndarray, k: int,
                         tops: bool = False) -> np.ndarray:
    """:func:`nearest_boulders` for one robot: ``pos`` (3,), ``quat`` (4,), ``boulders``
    (B, 4); returns (k, 3 or 4) (the per-env reference path)."""
    rows = []
    for b in np.argsort(np.hypot(boulders[:, 0] - pos[0], boulders[:, 1] - pos[1]),
                        kind="stable")[:k]:
        probe = Waypoint(None, (0.0, 0.0), 0.0)
        probe.pos[:2] = boulders[b, :2]
        row = [*probe.relative_xy(pos, quat), boulders[b, 2]]
        rows.append(row + [boulders[b, 3] - pos[2]] if tops else row)
    return np.array(rows)


class BoulderFieldTask:
    """A :class:`WaypointTask` mixin (list it first): boulders placed per world by
    :attr:`FIELD`, the waypoint behind one of them, and the ``boulders_rel`` observation.

    ``boulders_rel`` ((:attr:`NEAREST`, 3), or 4 with :attr:`BOULDER_TOPS`): the nearest
    boulders' centres in the heading frame (x forward, y left) and bounding-circle radii
    [and tops above the base], m, sorted by distance; the boulders are static, so their rows
    (x, y, radius, top z) are the batch constant ``boulders``.
    """

    FIELD: ClassVar[BoulderField] = BoulderField()
    NEAREST: ClassVar[int] = 4
    BOULDER_TOPS: ClassVar[bool] = False
    SINK: ClassVar[float] = 0.3  # fraction of a boulder's height below the ground at its centre
    boulders: np.ndarray  # (B, 4) x, y, bounding-circle radius, top z, m (set by add_boulders)

    def add_boulders(self, spec, terrain: Heightmap) -> None:
        """Static boulders at :func:`place_boulders` (seeded by this world's terrain, so every
        seed has its own field), ``SINK`` of their height under the ground."""
        parts = [(name, asset.parts["rock"]) for name, asset in self.assets.items()
                 if name.startswith("boulder") and isinstance(asset, MeshAsset)]
        radii = np.array([np.hypot(*part.visual.vertices[:, :2].T).max() for _, part in parts])
        rng = np.random.default_rng([len(parts), zlib.crc32(terrain.heights_m.tobytes())])
        centres = place_boulders(self.FIELD, radii, rng)
        self.boulders = np.zeros((len(parts), 4))
        for b, ((name, part), (x, y)) in enumerate(zip(parts, centres)):
            low, high = part.visual.vertices[:, 2].min(), part.visual.vertices[:, 2].max()
            z = terrain.height_at(x, y) - low - self.SINK * (high - low)
            body = spec.worldbody.add_body(name=name, pos=(x, y, z))
            scene.add_mesh_part(spec, body, name, part, collide=scene.GROUND,
                                affinity=scene.ROBOT)
            self.boulders[b] = x, y, radii[b], z + high

    def reset_objects(self, model, data, rng):
        x, y = sample_behind(self.FIELD, self.boulders, rng)
        self.waypoint.place(x, y, rng.uniform(*self.ALTITUDE_M))
        self._last = self.distance(model, data)

    def task_observation_space(self):
        shape = (self.NEAREST, 4 if self.BOULDER_TOPS else 3)
        return {**super().task_observation_space(), "boulders_rel": box(shape)}

    def observe_task(self, model, data):
        pos, quat = self.robot.base_pose(model, data)
        near = nearest_boulders_one(pos, quat, self.boulders, self.NEAREST, self.BOULDER_TOPS)
        return {**super().observe_task(model, data), "boulders_rel": near.astype(F32)}

    def batch_constants(self):
        return {**super().batch_constants(), "boulders": self.boulders}

    def observe_task_batch(self, v):
        pos, quat = self.robot.base_pose_batch(v)
        near = nearest_boulders(pos, quat, v.const["boulders"], self.NEAREST, self.BOULDER_TOPS)
        return {**super().observe_task_batch(v), "boulders_rel": near.astype(F32)}
