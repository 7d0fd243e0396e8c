"""Sample collection: pick a procedural rock off the ground and drop it in the cargo bay."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...sim import vecmath
from ...sim.jit import njit
from ..base import F32, RewardCfg, box
from ..manipulation import ManipulationTask, kernel2, tanh_kernel2

ROCK_DENSITY_KGPM3 = 2600.0  # basalt-like regolith rock


@dataclass(frozen=True)
class SampleCollectionRewards(RewardCfg):
    """Weights of ``reach`` (TCP near the sample), ``grasp`` (both pads hold it), ``lift``
    (height gained while held, saturating at 0.1 m), ``place`` (sample near the bay floor,
    along :func:`place_distance`), ``carry`` (how fast that distance shrinks while held, m/s),
    ``success`` (the step the sample comes to rest in the bay) and ``action_rate``.

    The dense terms add up to at most 1 a step and each stage pays more than the one before,
    so a policy is led from reaching to grasping, lifting and carrying (see
    :func:`~..manipulation.reward_success` for the success weight)."""

    reach: float = 0.1
    grasp: float = 0.15
    lift: float = 0.25
    place: float = 0.5
    carry: float = 2.0
    success: float = 60.0
    action_rate: float = -0.001


# Coarse and fine scales of the place kernel, m. The coarse one was 0.5 m: from a sample
# lifted where it lay (about 0.75 m along the path) it paid 0.02 a step, and a 60-minute PPO
# run grasped and lifted but never carried the sample to the bay.
PLACE_M = (1.0, 0.05)
PRE_PLACE_M = 0.15  # the carry goes over a point this far above the bay floor's centre, m
FLOOR_TOL_M = 0.01  # a sample centre this far below the bay floor still counts as on it, m


@njit
def in_bay(object_pos: np.ndarray, bay_pos: np.ndarray, bay_half: np.ndarray) -> np.ndarray:
    """(n,) bool: sample centre within the bay's inner walls and below their top.

    Args:
        object_pos / bay_pos: (n, 3) sample centre and bay floor centre, world m.
        bay_half: (n, 3) inner half x, inner half y, wall height, m.
    """
    out = np.empty(object_pos.shape[0], np.bool_)
    for i in range(object_pos.shape[0]):
        x, y = object_pos[i, 0] - bay_pos[i, 0], object_pos[i, 1] - bay_pos[i, 1]
        z = object_pos[i, 2] - bay_pos[i, 2]
        out[i] = (abs(x) < bay_half[i, 0] and abs(y) < bay_half[i, 1] and z > -FLOOR_TOL_M
                  and z < bay_half[i, 2])
    return out


def reward_lift(object_pos: np.ndarray, rest_z: np.ndarray, grasped: np.ndarray) -> np.ndarray:
    """(n,) height gained while grasped, m / 0.1 m, clipped to [0, 1] (``rest_z`` (n,) m)."""
    return vecmath.clip((object_pos[:, 2] - rest_z) / 0.1, 0.0, 1.0) * grasped


@njit
def place_distance(object_pos: np.ndarray, bay_pos: np.ndarray, bay_half: np.ndarray
                   ) -> np.ndarray:
    """(n,) how far (m) the sample is from the bay floor along a path over a point
    :data:`PRE_PLACE_M` above the floor's centre: over the bay's inner footprint and no lower
    than its floor, its height above the floor; elsewhere (under the shelf too) its distance
    to that point plus :data:`PRE_PLACE_M`.

    The bay sits on the shelf, its walls 8 cm high: the straight line from a sample on the
    ground to the bay floor runs into the shelf's front and the bay wall, so a kernel of that
    straight distance pays for pressing the sample against them. Below the floor counts as
    off the path: a policy trained when it counted as 0 m held the sample under the shelf,
    beneath the bay, for the whole place reward."""
    out = np.empty(object_pos.shape[0])
    for i in range(object_pos.shape[0]):
        x, y = object_pos[i, 0] - bay_pos[i, 0], object_pos[i, 1] - bay_pos[i, 1]
        z = object_pos[i, 2] - bay_pos[i, 2]
        if abs(x) < bay_half[i, 0] and abs(y) < bay_half[i, 1] and z > -FLOOR_TOL_M:  # over it
            out[i] = max(z, 0.0)
        else:
            above = z - PRE_PLACE_M
            out[i] = math.sqrt(x * x + y * y + above * above) + PRE_PLACE_M
    return out


def reward_place(object_pos: np.ndarray, rest_z: np.ndarray, in_bay: np.ndarray,
                 carry_m: np.ndarray) -> np.ndarray:
    """(n,) :func:`kernel2` of :func:`place_distance` (``carry_m``) over :data:`PLACE_M`,
    once the sample is off the ground (2 cm above its resting height) or in the bay."""
    counted = (object_pos[:, 2] >= rest_z + 0.02) | in_bay
    return np.where(counted, kernel2(carry_m, *PLACE_M), 0.0)


LIFTED_M = 0.05  # stage "lift": held this far above its resting height


def stage_lift(object_pos: np.ndarray, rest_z: np.ndarray, grasped: np.ndarray) -> np.ndarray:
    """(n,) held at least :data:`LIFTED_M` above its resting height."""
    return grasped & (object_pos[:, 2] >= rest_z + LIFTED_M)


class SampleCollectionTask(ManipulationTask):
    """The sample starts 0.35-0.55 m ahead of the arm (+-0.15 m sideways), random yaw; success
    is the sample resting inside the bay."""

    REWARDS = SampleCollectionRewards
    PLATFORM = "lander"
    OBJECT = "sample"
    TERMS = {**ManipulationTask.TERMS, "lift": reward_lift, "place": reward_place}
    STAGES = {**ManipulationTask.STAGES, "lift": stage_lift}
    PROGRESS = {"carry_m": "carry_m"}

    def add_objects(self, spec):
        part = self.assets["sample"].parts["rock"]
        self._rest_z = float(-part.visual.bounds[0][2]) + 0.002  # centre height when resting, m
        self.add_free_object(spec, part, ROCK_DENSITY_KGPM3, pos=(1.2, 0.0, self._rest_z))

    def bind_objects(self, model):
        self._bay = model.site(self.platform.sites["cargo_bay"]).id
        self._bay_half = np.asarray(self.platform.sizes["cargo_bay"])

    def reset_objects(self, model, data, rng):
        mount_x, mount_y, _ = self.platform.mount_pos
        x = mount_x + rng.uniform(0.35, 0.55)  # m ahead of the arm base
        y = mount_y + rng.uniform(-0.15, 0.15)
        self.set_object(data, (x, y, self._rest_z), self.random_quat_yaw(rng))

    def bay_pos(self, data) -> np.ndarray:
        return data.site_xpos[self._bay]

    def task_observation_space(self):
        return {**super().task_observation_space(), "bay_pos": box((3,))}

    def observe_task(self, model, data):
        return {**super().observe_task(model, data), "bay_pos": self.bay_pos(data).astype(F32)}

    def reward_lift(self, model, data) -> float:
        """Height gained while grasped, m / 0.1 m, clipped to [0, 1]."""
        gained = self.object_pos(data)[2] - self._rest_z
        return float(np.clip(gained / 0.1, 0.0, 1.0)) * float(self.grasped(data))

    def reward_place(self, model, data) -> float:
        """:func:`reward_place` of this env."""
        if self.object_pos(data)[2] < self._rest_z + 0.02 and not self.in_bay(data):
            return 0.0
        return tanh_kernel2(self.carry_m(data), *PLACE_M)

    def _rows(self, data):
        """This env's sample centre, bay floor centre and bay half sizes as (1, 3) rows."""
        return self.object_pos(data)[None], self.bay_pos(data)[None], self._bay_half[None]

    def carry_m(self, data) -> float:
        """:func:`place_distance` of this env, m."""
        return float(place_distance(*self._rows(data))[0])

    def in_bay(self, data) -> bool:
        """:func:`in_bay` of this env."""
        return bool(in_bay(*self._rows(data))[0])

    def success(self, model, data) -> bool:
        return self.in_bay(data) and not self.grasped(data)

    # --- the batch ------------------------------------------------------------------------
    def batch_constants(self):
        return {"rest_z": np.asarray(self._rest_z), "bay_half": self._bay_half.astype(np.float64)}

    def state_rest_z(self, v, s):
        return v.const["rest_z"]

    def state_bay_pos(self, v, s):
        return v.site_xpos[:, self._bay]

    def state_in_bay(self, v, s):
        return in_bay(s["object_pos"], s["bay_pos"], v.const["bay_half"])

    def state_carry_m(self, v, s):
        return place_distance(s["object_pos"], s["bay_pos"], v.const["bay_half"])

    def observe_task_batch(self, v):
        s = self.batch_state(v)
        return {**super().observe_task_batch(v), "bay_pos": s["bay_pos"].astype(F32)}

    def success_batch(self, v):
        s = self.batch_state(v)
        return s["in_bay"] & ~s["grasped"]


TASK = SampleCollectionTask
