"""Peg in hole: the arm starts holding a procedural peg and inserts it into its matching hole.

Start state: the peg hangs in the closed gripper, its top face level with the TCP (the pads
grip its upper 19 mm), its axis along the approach axis (world -z) and its narrowest width
across the fingers; the fingers start touching it and the gripper target is closed, so the
grasp is settled by physics from the first substep. The gripper opens fully at
``action[6] <= 0`` and closes in proportion above it: a policy that outputs 0 there drops the
peg.

The hole block is a static (mocap) body on the ground 0.40-0.50 m ahead of the arm base,
+-0.1 m sideways, yawed 0.25-0.5 rad either way off the peg's yaw (the cavity is the peg's
profile in the block's frame, so the peg goes in when its yaw matches the block's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from ...sim import scene, vecmath
from ...sim.jit import njit
from ..base import F32, RewardCfg, box
from ..manipulation import (ManipulationTask, kernel, kernel2, reward_carry, tanh_kernel,
                            tanh_kernel2)

PEG_DENSITY_KGPM3 = 2700.0  # aluminium
SUCCESS_DEPTH = 0.6  # fraction of the hole depth the peg tip must reach
LATERAL_TOL_M = 0.004  # tip-to-axis offset allowed beyond the clearance while counting depth


@dataclass(frozen=True)
class PegInHoleRewards(RewardCfg):
    """Weights of ``grasp`` (still holding the peg), ``alignment`` (while held: peg tip near
    the hole's axis below its opening, and peg orientation matching the hole's), ``insertion``
    (tip depth below the hole's top face / hole depth, in [0, 1]), ``success`` (the step the peg
    reaches 60 % of the depth), ``approach`` (while held: how fast :func:`approach_distance`
    shrinks, m/s) and ``action_rate``. The dense terms add up to at most 1 a step (see
    :func:`~..manipulation.reward_success` for the success weight).

    ``alignment`` and ``approach`` pay only while the peg is held: paid for a dropped peg too,
    a 60-minute PPO run learned to open the gripper in its first steps, since the peg falling
    towards the opening's height closes the distance faster than the arm can carry it."""

    grasp: float = 0.1
    alignment: float = 0.4
    insertion: float = 0.5
    success: float = 60.0
    approach: float = 2.0
    action_rate: float = -0.001


PRE_INSERT_M = 0.05  # the approach goes over a point this far above the opening, on its axis
APPROACH_M = (1.0, 0.03)  # coarse and fine scales of the alignment's distance kernel, m
# (the peg tip starts about 0.65 m above the opening: the coarse scale must reach that far)


def _yaw_quat(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def _narrowest_yaw(vertices: np.ndarray) -> tuple[float, float, float]:
    """Yaw (rad) that makes the profile's world-y extent smallest; that width (m) and its mid y."""
    yaws = np.linspace(0.0, np.pi, 180, endpoint=False)
    y = np.sin(yaws)[:, None] * vertices[None, :, 0] + np.cos(yaws)[:, None] * vertices[None, :, 1]
    k = int(np.argmin(y.max(1) - y.min(1)))
    return float(yaws[k]), float(y[k].max() - y[k].min()), float(0.5 * (y[k].max() + y[k].min()))


@njit
def tip_depth_and_offset(hole_top: np.ndarray, hole_axis: np.ndarray, peg_tip: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(n,) peg tip depth below the opening along the hole axis and its offset from the axis, m.

    Args:
        hole_top: (n, 3) centre of the opening; hole_axis: (n, 3) unit axis (the block's z);
        peg_tip: (n, 3) centre of the peg's leading face; all world.
    """
    n = hole_top.shape[0]
    depth, offset = np.empty(n), np.empty(n)
    for i in range(n):
        r0, r1, r2 = (hole_top[i, 0] - peg_tip[i, 0], hole_top[i, 1] - peg_tip[i, 1],
                      hole_top[i, 2] - peg_tip[i, 2])
        d = r0 * hole_axis[i, 0] + r1 * hole_axis[i, 1] + r2 * hole_axis[i, 2]
        depth[i], offset[i] = d, math.sqrt(max(r0 * r0 + r1 * r1 + r2 * r2 - d * d, 0.0))
    return depth, offset


@njit
def orientation_error(peg_quat: np.ndarray, hole_quat: np.ndarray) -> np.ndarray:
    """(n,) angle (rad) of the rotation taking the peg's frame to the hole's (quats (n, 4) wxyz)."""
    out = np.empty(peg_quat.shape[0])
    for i in range(peg_quat.shape[0]):
        dot = 0.0
        for k in range(4):
            dot += peg_quat[i, k] * hole_quat[i, k]
        out[i] = 2.0 * math.acos(min(abs(dot), 1.0))
    return out


@njit
def inserted_fraction(tip_depth: np.ndarray, tip_offset: np.ndarray, hole_depth: np.ndarray,
                      clearance: np.ndarray) -> np.ndarray:
    """(n,) tip depth / hole depth in [0, 1] while the tip is within clearance + 4 mm of the axis."""
    out = np.empty(tip_depth.shape[0])
    for i in range(tip_depth.shape[0]):
        inside = tip_offset[i] <= clearance[i] + LATERAL_TOL_M
        out[i] = min(max(tip_depth[i] / hole_depth[i], 0.0), 1.0) if inside else 0.0
    return out


@njit
def approach_distance(tip_depth: np.ndarray, tip_offset: np.ndarray,
                      clearance: np.ndarray) -> np.ndarray:
    """(n,) how far (m) the peg tip is from entering the hole, along a path over a point
    :data:`PRE_INSERT_M` above the opening: on the hole's axis (within the clearance + 4 mm)
    its height above the opening (0 once in); elsewhere its distance to that point plus
    :data:`PRE_INSERT_M`. So a tip that goes down beside the block only gets further (two runs
    with distances to the opening or to the axis below it learned to park the peg on the ground
    beside the block)."""
    out = np.empty(tip_depth.shape[0])
    for i in range(tip_depth.shape[0]):
        if tip_offset[i] <= clearance[i] + LATERAL_TOL_M:  # on the axis
            out[i] = max(-tip_depth[i], 0.0)
        else:
            above = tip_depth[i] + PRE_INSERT_M  # height below the pre-insertion point
            out[i] = math.sqrt(tip_offset[i] * tip_offset[i] + above * above) + PRE_INSERT_M
    return out


def reward_alignment(tip_depth: np.ndarray, tip_offset: np.ndarray, clearance: np.ndarray,
                     orientation_error: np.ndarray, grasped: np.ndarray) -> np.ndarray:
    """(n,) while held: mean of :func:`kernel2` of :func:`approach_distance` over 1 m and
    0.03 m, and 1 - tanh(rotation error / 0.3 rad); 0 once the peg is dropped."""
    return 0.5 * (kernel2(approach_distance(tip_depth, tip_offset, clearance), *APPROACH_M)
                  + kernel(orientation_error, 0.3)) * grasped


def reward_approach(approach_m: np.ndarray, prev_approach_m: np.ndarray, dt: float,
                    grasped: np.ndarray) -> np.ndarray:
    """(n,) while held: how fast :func:`approach_distance` shrank over the last step, m/s
    (:func:`~..manipulation.reward_carry` of the peg tip's approach)."""
    return reward_carry(approach_m, prev_approach_m, dt, grasped)


def reward_insertion(inserted: np.ndarray) -> np.ndarray:
    """(n,) tip depth below the opening / hole depth, clipped to [0, 1], 0 when off the axis."""
    return inserted


def stage_aligned(tip_depth: np.ndarray, tip_offset: np.ndarray, clearance: np.ndarray
                  ) -> np.ndarray:
    """(n,) the peg tip on the hole's axis (within the clearance + 4 mm), 1 cm or less above
    the opening or in it."""
    return (tip_offset <= clearance + LATERAL_TOL_M) & (tip_depth >= -0.01)


def stage_inserted(inserted: np.ndarray) -> np.ndarray:
    """(n,) the peg tip inside the hole (below its opening, on its axis)."""
    return inserted > 0.0


class PegInHoleTask(ManipulationTask):
    """Success: the peg tip deeper than 60 % of the hole depth, within the clearance of its axis.

    Observations (besides the arm's and ManipulationTask's ``object_*`` keys for the peg):
    ``hole_pos`` (world position of the centre of the hole's opening, m), ``hole_quat`` (the
    block's orientation, wxyz), ``peg_tip_rel`` (hole opening centre minus peg tip, m) and
    ``hole_rot`` (the rotation from the peg's orientation to the block's, as a world-frame
    rotation vector, rad: turning at an angular velocity along it lines the peg up; a policy
    would otherwise have to work it out from two quaternions).
    """

    REWARDS = PegInHoleRewards
    TERMS = {**ManipulationTask.TERMS, "alignment": reward_alignment, "insertion": reward_insertion,
             "approach": reward_approach}
    STAGES = {"grasp": ManipulationTask.STAGES["grasp"], "aligned": stage_aligned,
              "inserted": stage_inserted}
    PROGRESS = {"approach_m": "approach_m"}
    PLATFORM = "lander"
    OBJECT = "peg"

    def add_objects(self, spec):
        asset = self.assets["peg_hole"]
        meta, peg = asset.meta, asset.parts["peg"]
        self._length, self._top_z = meta["peg_length_m"], meta["hole_top_z_m"]
        self._depth, self._clearance = meta["hole_depth_m"], meta["clearance_m"]
        self._block_half_h = 0.5 * meta["hole_block_height_m"]
        self._peg_yaw, self._peg_width, self._peg_mid_y = _narrowest_yaw(peg.visual.vertices[:, :2])
        self.add_free_object(spec, peg, PEG_DENSITY_KGPM3, pos=(1.0, 0.0, 1.0))
        ahead = self.platform.mount_pos[0] + 0.45  # m; reset moves it (mocap)
        hole = spec.worldbody.add_body(name="hole", mocap=True, pos=[ahead, 0, self._block_half_h])
        scene.add_mesh_part(spec, hole, "hole", asset.parts["hole"], collide=scene.GROUND,
                            affinity=scene.ROBOT | scene.OBJECT)

    def bind_objects(self, model):
        self._hole = model.body("hole").id
        self._hole_mocap = int(model.body_mocapid[self._hole])
        self._fingers = [int(model.joint(n).qposadr[0]) for n in self.robot.finger_joint_names]
        self._grip_act = model.actuator(f"{self.robot.prefix}gripper").id

    def reset_objects(self, model, data, rng):
        mount_x, mount_y, _ = self.platform.mount_pos
        hole_yaw = self._peg_yaw + rng.choice((-1.0, 1.0)) * rng.uniform(0.25, 0.5)
        data.mocap_pos[self._hole_mocap] = (mount_x + rng.uniform(0.40, 0.50),
                                            mount_y + rng.uniform(-0.1, 0.1), self._block_half_h)
        data.mocap_quat[self._hole_mocap] = _yaw_quat(hole_yaw)
        self._grip_peg(model, data)

    def _grip_peg(self, model, data) -> None:
        """Peg top at the TCP, narrowest width across the fingers, fingers on its faces, closed."""
        mujoco.mj_kinematics(model, data)
        tcp = self.ee_pos(data)
        pos = (tcp[0], tcp[1] - self._peg_mid_y, tcp[2] - 0.5 * self._length)
        self.set_object(data, pos, _yaw_quat(self._peg_yaw))
        data.qpos[self._fingers] = 0.5 * self._peg_width - 0.0003  # 0.3 mm squeeze, m
        data.ctrl[self._grip_act] = 0.0

    # --- geometry -----------------------------------------------------------------------
    def hole_top(self, data) -> np.ndarray:
        """Centre of the hole's opening (world, m)."""
        return data.xpos[self._hole] + data.xmat[self._hole, 2::3] * self._top_z  # z axis: column 2

    def peg_tip(self, data) -> np.ndarray:
        """Centre of the peg's leading (bottom) face (world, m)."""
        return self.object_pos(data) - data.xmat[self._obj, 2::3] * (0.5 * self._length)

    def tip_depth_and_offset(self, data) -> tuple[float, float]:
        """Peg tip depth below the opening along the hole axis and its offset from the axis, m."""
        axis = data.xmat[self._hole, 2::3]
        rel = self.hole_top(data) - self.peg_tip(data)
        depth = float(rel @ axis)
        return depth, math.sqrt(max(float(rel @ rel) - depth * depth, 0.0))

    def orientation_error(self, data) -> float:
        """Angle (rad) of the rotation taking the peg's frame to the hole's."""
        dot = abs(float(data.xquat[self._obj] @ data.xquat[self._hole]))
        return 2.0 * math.acos(min(dot, 1.0))

    def inserted_fraction(self, data) -> float:
        """Tip depth / hole depth in [0, 1] while the tip is within the clearance of the axis."""
        depth, offset = self.tip_depth_and_offset(data)
        if offset > self._clearance + LATERAL_TOL_M:
            return 0.0
        return min(max(depth / self._depth, 0.0), 1.0)

    # --- observations, rewards, success -----------------------------------------------------
    def task_observation_space(self):
        return {**super().task_observation_space(), "hole_pos": box((3,)),
                "hole_quat": box((4,), -1.0, 1.0), "peg_tip_rel": box((3,)),
                "hole_rot": box((3,), -np.pi, np.pi)}

    def observe_task(self, model, data):
        top = self.hole_top(data)
        return {**super().observe_task(model, data), "hole_pos": top.astype(F32),
                "hole_quat": data.xquat[self._hole].astype(F32),
                "peg_tip_rel": (top - self.peg_tip(data)).astype(F32),
                "hole_rot": vecmath.rotation_vector(data.xquat[self._obj][None],
                                                    data.xquat[self._hole][None])[0].astype(F32)}

    def reward_alignment(self, model, data) -> float:
        """:func:`reward_alignment` of this env."""
        return 0.5 * (tanh_kernel2(self.approach_m(data), *APPROACH_M)
                      + tanh_kernel(self.orientation_error(data), 0.3)) * self.grasped(data)

    def reward_approach(self, model, data) -> float:
        """:func:`reward_approach` of this env."""
        return self._progress_while_held("approach_m", data)

    def reward_insertion(self, model, data) -> float:
        """Tip depth below the opening / hole depth, clipped to [0, 1], 0 when off the axis."""
        return self.inserted_fraction(data)

    def success(self, model, data) -> bool:
        return self.inserted_fraction(data) >= SUCCESS_DEPTH

    # --- the batch ------------------------------------------------------------------------
    def batch_constants(self):
        return {key: np.asarray(value, np.float64) for key, value in (
            ("peg_length", self._length), ("hole_top_z", self._top_z),
            ("hole_depth", self._depth), ("clearance", self._clearance))}

    def state_hole_axis(self, v, s):
        return v.xmat[:, self._hole, 2::3]  # the block's z axis (world): column 2

    def state_hole_top(self, v, s):
        return v.xpos[:, self._hole] + s["hole_axis"] * v.const["hole_top_z"][:, None]

    def state_hole_quat(self, v, s):
        return v.xquat[:, self._hole]

    def state_peg_tip(self, v, s):
        half = 0.5 * v.const["peg_length"][:, None]
        return s["object_pos"] - v.xmat[:, self._obj, 2::3] * half

    def state_tip(self, v, s):
        return tip_depth_and_offset(s["hole_top"], s["hole_axis"], s["peg_tip"])

    def state_tip_depth(self, v, s):
        return s["tip"][0]

    def state_tip_offset(self, v, s):
        return s["tip"][1]

    def state_orientation_error(self, v, s):
        return orientation_error(s["object_quat"], s["hole_quat"])

    def approach_m(self, data) -> float:
        """:func:`approach_distance` of this env, m."""
        depth, offset = self.tip_depth_and_offset(data)
        if offset <= self._clearance + LATERAL_TOL_M:
            return max(-depth, 0.0)
        above = depth + PRE_INSERT_M
        return math.sqrt(offset * offset + above * above) + PRE_INSERT_M

    def state_approach_m(self, v, s):
        return approach_distance(s["tip_depth"], s["tip_offset"], s["clearance"])

    def state_clearance(self, v, s):
        return v.const["clearance"]

    def state_inserted(self, v, s):
        return inserted_fraction(s["tip_depth"], s["tip_offset"], v.const["hole_depth"],
                                 v.const["clearance"])

    def observe_task_batch(self, v):
        s = self.batch_state(v)
        return {**super().observe_task_batch(v), "hole_pos": s["hole_top"].astype(F32),
                "hole_quat": s["hole_quat"].astype(F32),
                "peg_tip_rel": (s["hole_top"] - s["peg_tip"]).astype(F32),
                "hole_rot": vecmath.rotation_vector(s["object_quat"], s["hole_quat"]).astype(F32)}

    def success_batch(self, v):
        return self.batch_state(v)["inserted"] >= SUCCESS_DEPTH


TASK = PegInHoleTask
