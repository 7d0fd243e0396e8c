"""Debris capture: grasp a drifting, tumbling procedural debris fragment and hold it still.

In orbit (g = 0) the fragment appears 0.0-0.1 m beyond the spacecraft's ``capture_zone``
(+-0.08 m in y and z), randomly oriented, drifting at 0.01-0.03 m/s and tumbling at
0.1-0.3 rad/s, both in uniformly random directions; nothing slows it but contact. In a
domain with ground the bus is sunk into it (arm base 0.3 m up, as on the lander) and the
fragment is dropped (at rest, lowest point 3 cm up) onto the flat work area 0.35-0.5 m
ahead of the arm base, where it settles.

Mass: the fragment weighs what its aluminium (2700 kg/m^3) sheets and beams would, i.e.
2700 x the volume of the watertight visual solid (0.4-4 kg); that mass is spread over the
convex collision hulls, which fill in bends and shells, so their density is lower or higher.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from ..base import F32, RewardCfg, box
from ...assets.debris import COLLISION_PIECES
from ...assets.meshutil import MAX_HULL_VERTICES
from ...sim import vecmath
from ...sim.jit import njit
from ..manipulation import (REACHED_M, ManipulationTask, kernel, kernel2, tanh_kernel,
                            tanh_kernel2)

ALUMINIUM_KGPM3 = 2700.0
CAPTURED_SPEED_MPS = 0.02  # success: held and slower than this
# Hull vertices per world in the batch constants (every hull has at most MAX_HULL_VERTICES);
# shorter lists repeat their first vertex.
HULL_VERTICES = COLLISION_PIECES * MAX_HULL_VERTICES


@dataclass(frozen=True)
class DebrisCaptureRewards(RewardCfg):
    """Weights of ``reach`` (TCP near the fragment's surface, along
    :func:`grasp_path_distance`), ``close`` (closing the gripper there, until it holds),
    ``grasp`` (both pads on it),
    ``damping`` (held and still: 1 - tanh((|v| + 0.1 m x |w|) / 0.02 m/s), only while grasped),
    ``success`` (the step it is held and slow), ``disturb`` (its speed, m/s, while not held) and
    ``action_rate``. The dense positive terms add up to at most 1 a step (see
    :func:`~..manipulation.reward_success` for the success weight).

    ``disturb``: without it a first PPO run learned to reach the fragment and knock it away (from
    0.01-0.03 m/s to 0.2-0.3 m/s, out of reach within seconds) before closing the fingers."""

    reach: float = 0.2
    close: float = 0.1
    grasp: float = 0.3
    damping: float = 0.4
    success: float = 60.0
    disturb: float = -1.0
    action_rate: float = -0.001


def random_quat(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation (wxyz)."""
    q = rng.normal(size=4)
    return q / np.linalg.norm(q)


def random_vector(rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """A vector in a uniformly random direction with length ~ U(low, high)."""
    v = rng.normal(size=3)
    return v / np.linalg.norm(v) * rng.uniform(low, high)


def padded_vertices(vertices: np.ndarray, count: int = HULL_VERTICES) -> np.ndarray:
    """(count, 3) ``vertices`` followed by copies of the first (the nearest one is unchanged).

    Raises:
        ValueError: more than ``count`` vertices.
    """
    if len(vertices) > count:
        raise ValueError(f"debris hulls: {len(vertices)} vertices, more than the batch's {count}")
    return np.concatenate([vertices, np.repeat(vertices[:1], count - len(vertices), axis=0)])


@njit
def nearest_rel(ee_pos: np.ndarray, object_pos: np.ndarray, object_mat: np.ndarray,
                vertices_t: np.ndarray, vertices_sq: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(n, 3) hull vertex nearest the TCP minus the TCP, world m.

    Args:
        ee_pos / object_pos: (n, 3) world m. object_mat: (n, 3, 3) body-to-world rotations.
        vertices_t: (n, 3, V) hull vertices (columns) in the body frame, m;
        vertices_sq: (n, V) their |v|^2.
        counts: (n,) how many of each world's V columns are its own vertices, the ones
            searched (the rest pad with copies of the first, see :func:`padded_vertices`, and
            cannot be nearer). A fragment has 96 to 196 of the 512 here.
    """
    n = ee_pos.shape[0]
    out, local = np.empty((n, 3)), np.empty(3)
    for i in range(n):
        for j in range(3):  # the TCP in the body frame: R^T (ee - object)
            local[j] = ((ee_pos[i, 0] - object_pos[i, 0]) * object_mat[i, 0, j]
                        + (ee_pos[i, 1] - object_pos[i, 1]) * object_mat[i, 1, j]
                        + (ee_pos[i, 2] - object_pos[i, 2]) * object_mat[i, 2, j])
        best, k = np.inf, 0
        for c in range(counts[i]):  # |v - local|^2 - |local|^2, the first smallest
            d = vertices_sq[i, c] - 2.0 * (local[0] * vertices_t[i, 0, c]
                                           + local[1] * vertices_t[i, 1, c]
                                           + local[2] * vertices_t[i, 2, c])
            if d < best:
                best, k = d, c
        r0 = vertices_t[i, 0, k] - local[0]
        r1 = vertices_t[i, 1, k] - local[1]
        r2 = vertices_t[i, 2, k] - local[2]
        for j in range(3):
            out[i, j] = object_mat[i, j, 0] * r0 + object_mat[i, j, 1] * r1 + object_mat[i, j, 2] * r2
    return out


PRE_GRASP_M = 0.1  # the approach goes over a point this far above the nearest hull vertex
ON_PATH_M = 0.05  # within this horizontal offset of that vertex the TCP is on the way down, m
BELOW_M = 0.05  # ... and no more than this far below it, m


@njit
def grasp_path_distance(nearest_rel: np.ndarray) -> np.ndarray:
    """(n,) how far (m) the TCP is from the object's nearest hull vertex along a path that
    comes down onto it from :data:`PRE_GRASP_M` above, the gripper's approach (its fingers
    point down from the start): within :data:`ON_PATH_M` horizontally of the vertex and no
    more than :data:`BELOW_M` below it, the TCP's height above it (0 at or below it); elsewhere
    the distance to the point above it plus :data:`PRE_GRASP_M`.

    ``nearest_rel`` (n, 3): the vertex minus the TCP, world m. PPO runs paid along the
    straight line reached the object but knocked it away or kept the gripper open. Scripted,
    the straight line then closing grasped 1 and 3 of 8 debris fragments (moon, orbit), coming
    down from above 7 and 4 of 8."""
    out = np.empty(nearest_rel.shape[0])
    for i in range(nearest_rel.shape[0]):
        height = -nearest_rel[i, 2]  # TCP above the vertex, m
        offset = math.sqrt(nearest_rel[i, 0] * nearest_rel[i, 0]
                           + nearest_rel[i, 1] * nearest_rel[i, 1])
        if offset < ON_PATH_M and height > -BELOW_M:
            out[i] = max(height, 0.0)
        else:
            out[i] = math.sqrt(offset * offset + (height - PRE_GRASP_M) ** 2) + PRE_GRASP_M
    return out


def reward_reach(approach_m: np.ndarray, reach_scale_m: float) -> np.ndarray:
    """(n,) :func:`kernel2` of :func:`grasp_path_distance` over 3 x and 1/3 x ``reach_scale_m``."""
    return kernel2(approach_m, 3.0 * reach_scale_m, reach_scale_m / 3.0)


CLOSE_M = 0.02  # scale of the close term's kernel of the grasp path distance, m


@njit
def reward_close(approach_m: np.ndarray, action: np.ndarray, grasped: np.ndarray) -> np.ndarray:
    """(n,) until the object is held: the closing command (the action's last, gripper,
    component clipped to [0, 1]) x :func:`kernel` of :func:`grasp_path_distance` over
    :data:`CLOSE_M`: closing pays at the grasp point, not on the way to it."""
    out, last = np.empty(approach_m.shape[0]), action.shape[1] - 1
    for i in range(approach_m.shape[0]):
        closing = min(max(float(action[i, last]), 0.0), 1.0)
        out[i] = 0.0 if grasped[i] else closing * (1.0 - math.tanh(approach_m[i] / CLOSE_M))
    return out


def reward_disturb(object_vel: np.ndarray, grasped: np.ndarray) -> np.ndarray:
    """(n,) the object's linear speed (m/s, world) while not held; 0 when held."""
    return np.where(grasped, 0.0, vecmath.norm(object_vel[:, :3]))


def reward_damping(object_vel: np.ndarray, grasped: np.ndarray) -> np.ndarray:
    """(n,) while grasped: 1 - tanh((|v| + 0.1 m x |w|) / 0.02 m/s); 0 when not held.

    ``object_vel`` (n, 6): linear m/s (world), angular rad/s (body), as the free joint's qvel.
    """
    lin, ang = vecmath.norm(object_vel[:, :3]), vecmath.norm(object_vel[:, 3:])
    return np.where(grasped, kernel(lin + 0.1 * ang, 0.02), 0.0)


def stage_reach(nearest_rel: np.ndarray) -> np.ndarray:
    """(n,) the TCP within 3 cm of the fragment's nearest hull vertex."""
    return vecmath.norm(nearest_rel) < REACHED_M


class DebrisCaptureTask(ManipulationTask):
    """Success: the fragment grasped and moving slower than 0.02 m/s.

    Observations (besides the arm's and ManipulationTask's ``object_*`` keys for the fragment):
    ``object_nearest_rel``, the fragment's collision-hull vertex nearest the TCP minus the TCP
    (world, m): where to grab.
    """

    REWARDS = DebrisCaptureRewards
    TERMS = {**ManipulationTask.TERMS, "reach": reward_reach, "close": reward_close,
             "damping": reward_damping, "disturb": reward_disturb}
    STAGES = {**ManipulationTask.STAGES, "reach": stage_reach}
    PLATFORM = "spacecraft"
    OBJECT = "debris"
    SPAWN_SITE = "capture_zone"
    WORK_OFFSET = (0.6, 0.0, 0.3)  # the debris tumbles in front of and above the arm
    REACH_SCALE_M = 0.1  # middle scale of the reach kernel (3 x coarse, 1/3 x fine), m
    DRIFT_MPS = (0.01, 0.03)  # initial speed ~ U(lo, hi) in orbit, m/s
    TUMBLE_RADPS = (0.1, 0.3)  # initial spin rate ~ U(lo, hi) in orbit, rad/s
    # Bus centre height on ground, m: sunk so the arm base is 0.3 m up, as on the lander (from
    # 0.52 m the arm, gripper down, reaches no lower than ~0.4 m below its base).
    PLATFORM_Z_ON_GROUND_M = -0.22

    def platform_pos(self):
        return (0.0, 0.0, self.PLATFORM_Z_ON_GROUND_M if self.domain.has_ground else 0.0)

    def add_objects(self, spec):
        part = self.assets["debris"].parts["debris"]
        hull_volume = sum(float(piece.volume) for piece in part.collision)
        density = ALUMINIUM_KGPM3 * abs(float(part.visual.volume)) / hull_volume
        self._hull_vertices = np.concatenate([piece.vertices for piece in part.collision])
        self._hull_sq = np.sum(self._hull_vertices ** 2, 1)  # |v|^2, for nearest-vertex queries
        self.add_free_object(spec, part, density, pos=(0.0, 0.0, -10.0))

    def bind_objects(self, model):
        site = model.site(self.platform.sites[self.SPAWN_SITE])
        self._spawn = model.body_pos[site.bodyid[0]] + site.pos  # platforms are unrotated

    def reset_objects(self, model, data, rng):
        quat = random_quat(rng)
        if self.domain.has_ground:
            self.set_object(data, self.drop_point(rng, quat), quat)
            return
        self.set_object(data, self.spawn_point(rng), quat, random_vector(rng, *self.DRIFT_MPS),
                        random_vector(rng, *self.TUMBLE_RADPS))

    def spawn_point(self, rng) -> np.ndarray:
        """Orbit spawn: 0-0.1 m beyond the capture zone, +-0.08 m in y, z."""
        return self._spawn + (rng.uniform(0.0, 0.1), *rng.uniform(-0.08, 0.08, 2))

    def drop_point(self, rng, quat) -> np.ndarray:
        """Over the work area 0.35-0.5 m ahead of the arm (+-0.15 m aside), lowest point 3 cm up."""
        mat = np.zeros(9)
        mujoco.mju_quat2Mat(mat, quat)
        low = float((self._hull_vertices @ mat.reshape(3, 3).T)[:, 2].min())
        mount_x, mount_y, _ = self.platform.mount_pos
        return np.array([mount_x + rng.uniform(0.35, 0.5), mount_y + rng.uniform(-0.15, 0.15),
                         0.03 - low])

    # --- state ----------------------------------------------------------------------------
    def nearest_rel(self, data) -> np.ndarray:
        """Collision-hull vertex nearest the TCP minus the TCP (world, m)."""
        mat = data.xmat[self._obj].reshape(3, 3)
        local = (self.ee_pos(data) - self.object_pos(data)) @ mat
        verts = self._hull_vertices
        nearest = verts[np.argmin(self._hull_sq - 2.0 * (verts @ local))]  # min |v - local|^2
        return mat @ (nearest - local)

    def speed(self, data) -> float:
        return float(np.linalg.norm(data.qvel[self._obj_qvel][:3]))

    # --- observations, rewards, success -----------------------------------------------------
    def task_observation_space(self):
        return {**super().task_observation_space(), "object_nearest_rel": box((3,))}

    def observe_task(self, model, data):
        return {**super().observe_task(model, data),
                "object_nearest_rel": self.nearest_rel(data).astype(F32)}

    def approach_m(self, data) -> float:
        """:func:`grasp_path_distance` of this env, m."""
        return float(grasp_path_distance(self.nearest_rel(data)[None])[0])

    def reward_reach(self, model, data) -> float:
        """:func:`reward_reach` of this env."""
        return tanh_kernel2(self.approach_m(data), 3.0 * self.REACH_SCALE_M,
                            self.REACH_SCALE_M / 3.0)

    def reward_close(self, model, data) -> float:
        """:func:`reward_close` of this env."""
        if self.grasped(data):
            return 0.0
        return float(np.clip(self._action[-1], 0.0, 1.0)) * tanh_kernel(self.approach_m(data),
                                                                         CLOSE_M)

    def reward_damping(self, model, data) -> float:
        """While grasped: 1 - tanh((|v| + 0.1 m x |w|) / 0.02 m/s); 0 when not held."""
        if not self.grasped(data):
            return 0.0
        vel = data.qvel[self._obj_qvel]
        return tanh_kernel(float(np.linalg.norm(vel[:3]) + 0.1 * np.linalg.norm(vel[3:])), 0.02)

    def reward_disturb(self, model, data) -> float:
        """The object's linear speed (m/s) while not held; 0 when held."""
        return 0.0 if self.grasped(data) else float(np.linalg.norm(data.qvel[self._obj_qvel][:3]))

    def success(self, model, data) -> bool:
        return self.speed(data) < CAPTURED_SPEED_MPS and self.grasped(data)

    # --- the batch ------------------------------------------------------------------------
    def batch_constants(self):
        verts = padded_vertices(self._hull_vertices)
        return {"hull_vertices_t": np.ascontiguousarray(verts.T), "hull_sq": np.sum(verts ** 2, 1),
                "hull_count": np.int64(len(self._hull_vertices))}

    def state_nearest_rel(self, v, s):
        mat = v.xmat[:, self._obj].reshape(-1, 3, 3)
        return nearest_rel(s["ee_pos"], s["object_pos"], mat, v.const["hull_vertices_t"],
                           v.const["hull_sq"], v.const["hull_count"])

    def state_approach_m(self, v, s):
        return grasp_path_distance(s["nearest_rel"])

    def state_reach_scale_m(self, v, s):
        return self.REACH_SCALE_M

    def observe_task_batch(self, v):
        s = self.batch_state(v)
        return {**super().observe_task_batch(v), "object_nearest_rel": s["nearest_rel"].astype(F32)}

    def success_batch(self, v):
        s = self.batch_state(v)
        return (vecmath.norm(s["object_vel"][:, :3]) < CAPTURED_SPEED_MPS) & s["grasped"]


TASK = DebrisCaptureTask
