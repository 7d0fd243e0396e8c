"""The arm over a whole batch: TCP sensors, the batched DLS controller, batched observations.

:class:`BatchedArm` is mixed into :class:`~.arm.Arm`. It adds MuJoCo sensors at build time
(TCP ``framepos``/``framequat``/``framelinvel``/``frameangvel`` at the ``<prefix>ee`` site, the
gripper-gap ``tendonpos``; the wrist F/T sensors are the arm's own) and reads them, with the
joint state, from a :class:`~spaceros_procgen_envs.sim.batchview.BatchView` ``v``: live
``(n, ...)`` arrays over every world of a slice. Every method runs once per step for all n
worlds; nothing here loops over worlds.

Sensors and the bound kinematics (``site_xpos``, ``xpos``, ``xmat``) describe the state
before the last substep, as ``data.site_xpos`` does after ``mj_step``, so
:meth:`BatchedArm.observe_batch` equals the per-world :meth:`~.arm.Arm.observe` row by row,
and the controller's Jacobian (from the links' z axes and origins, which are the hinges'
axes and anchors; no ``Batch.jac`` call) is the one
``mj_jacSite`` gives per world.

Example (``v`` from the slice)::

    arm.control_batch(v, actions)      # actions (n, 7) float32 in [-1, 1]
    v.batch.step(nstep=v.substeps)
    obs = arm.observe_batch(v)         # {"joint_pos": (n, 7) float32, ...}
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from ..jit import njit

_S = mujoco.mjtSensor
_SITE, _TENDON = mujoco.mjtObj.mjOBJ_SITE, mujoco.mjtObj.mjOBJ_TENDON
# Observation key -> (sensor name suffixes after the prefix), concatenated in this order.
SENSOR_KEYS = {"ee_pos": ("ee_pos",), "ee_quat": ("ee_quat",), "ee_vel": ("ee_linvel", "ee_angvel"),
               "gripper": ("gripper_gap_len",), "wrench": ("ft_force", "ft_torque")}


def gripper_target(a, opening_m: float):
    """Finger-gap target (m) for gripper action ``a`` (scalar or (n,)): ``a <= 0`` opens fully,
    ``0 < a < 1`` closes in proportion and ``a >= 1`` closes fully (target gap 0).

    Proportional rather than a ``> 0`` threshold: a policy's exploration noise around a mean
    near 0 would otherwise flip the fingers open and shut from step to step and shake a held
    object loose, while a proportional target averages it out through the finger servo."""
    return opening_m * (1.0 - np.minimum(np.maximum(a, 0.0), 1.0))


def sensor_index(model: mujoco.MjModel, names) -> np.ndarray:
    """Indices into ``sensordata`` of the named sensors' values, concatenated in order."""
    sensors = [model.sensor(n) for n in names]
    return np.concatenate([np.arange(int(s.adr[0]), int(s.adr[0] + s.dim[0])) for s in sensors])


def as_slice(index: np.ndarray) -> slice | np.ndarray:
    """``index`` as a slice when it is a run of consecutive ints (a view instead of a gather)."""
    index = np.asarray(index)
    if index.ndim == 1 and len(index) and np.array_equal(index, np.arange(index[0], index[-1] + 1)):
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


@njit
def canonical_quat(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (n, 4) wxyz with the sign ``mju_mat2Quat`` gives the same rotation.

    ``mju_mat2Quat`` makes w positive when w^2 > 1/4, else the largest of x, y, z (ties to
    the earlier axis), so a ``framequat`` sensor reads like ``mat2Quat(site_xmat)``.
    """
    out = np.empty((q.shape[0], 4))
    for i in range(q.shape[0]):
        w, x, y, z = q[i, 0] * q[i, 0], q[i, 1] * q[i, 1], q[i, 2] * q[i, 2], q[i, 3] * q[i, 3]
        if w > 0.25:
            lead = q[i, 0]
        elif x > y and x > z:
            lead = q[i, 1]
        elif y > z:
            lead = q[i, 2]
        else:
            lead = q[i, 3]
        sign = -1.0 if lead < 0.0 else 1.0
        for j in range(4):
            out[i, j] = sign * q[i, j]
    return out


@njit
def _solve_spd6(a, b, lower, out):
    """Solve ``a x = b`` for a symmetric positive definite 6 x 6 ``a`` (Cholesky), into
    ``out``; ``lower`` is scratch."""
    for r in range(6):
        for c in range(r + 1):
            acc = a[r, c]
            for k in range(c):
                acc -= lower[r, k] * lower[c, k]
            lower[r, c] = math.sqrt(acc) if r == c else acc / lower[c, c]
    for r in range(6):  # L z = b
        acc = b[r]
        for k in range(r):
            acc -= lower[r, k] * out[k]
        out[r] = acc / lower[r, r]
    for r in range(5, -1, -1):  # L^T x = z
        acc = out[r]
        for k in range(r + 1, 6):
            acc -= lower[k, r] * out[k]
        out[r] = acc / lower[r, r]


@njit
def dls_row(jac_t, twist, damping2, jj, lower, y, dq):
    """Damped least squares of one world, into ``dq``: dq = J^T (J J^T + lambda^2 I)^-1 twist.

    Args:
        jac_t: (k, 6) transposed TCP Jacobian (linear columns first), world frame.
        twist: (6,) displacement over one control period (m, rad), world frame.
        damping2: lambda^2 (m^2).
        jj, lower, y: scratch, (6, 6), (6, 6) and (6,).
        dq: (k,) joint increments (rad), written.
    """
    k = jac_t.shape[0]
    for r in range(6):
        for c in range(6):
            acc = 0.0
            for j in range(k):
                acc += jac_t[j, r] * jac_t[j, c]
            jj[r, c] = acc + damping2 if r == c else acc
    _solve_spd6(jj, twist, lower, y)
    for j in range(k):
        acc = 0.0
        for r in range(6):
            acc += jac_t[j, r] * y[r]
        dq[j] = acc


@njit
def dls_control(actions, xmat, xpos, site_xpos, qpos, ctrl, links, index, scale, limits,
                gains):
    """:meth:`~.arm.Arm.apply_action` for every world, in place: TCP twist -> DLS joint
    increments on the targets, kept within the lead and the limits; gripper target.

    The Jacobian of hinge j is (a_j x (p - x_j), a_j) from its link's z axis a_j and origin
    x_j (the hinges sit at the link origins, along z): what ``mj_jacSite`` gives.

    Args:
        actions: (n, 7) in [-1, 1]: TCP twist (3 linear, 3 angular, world frame), gripper.
        xmat, xpos, site_xpos, qpos, ctrl: the batch's bound arrays (``ctrl`` is written).
        links: (k,) body ids of the hinges' links, base to tip.
        index: (TCP site id, qpos address of joint 0, actuator of joint 0, gripper actuator).
        scale: (6,) m and rad per control period at action 1.
        limits: (k, 2) joint limits (rad).
        gains: (lambda^2 m^2, largest target lead rad, gripper opening m).
    """
    n, k = actions.shape[0], links.shape[0]
    ee, q0, a0, grip = index[0], index[1], index[2], index[3]
    damping2, lead, opening = gains[0], gains[1], gains[2]
    jac_t, twist, dq = np.empty((k, 6)), np.empty(6), np.empty(k)
    jj, lower, y = np.empty((6, 6)), np.zeros((6, 6)), np.empty(6)
    for i in range(n):
        for c in range(6):
            twist[c] = min(max(float(actions[i, c]), -1.0), 1.0) * scale[c]
        px, py, pz = site_xpos[i, ee, 0], site_xpos[i, ee, 1], site_xpos[i, ee, 2]
        for j in range(k):
            b = links[j]
            ax, ay, az = xmat[i, b, 2], xmat[i, b, 5], xmat[i, b, 8]
            rx, ry, rz = px - xpos[i, b, 0], py - xpos[i, b, 1], pz - xpos[i, b, 2]
            jac_t[j, 0], jac_t[j, 1], jac_t[j, 2] = ay * rz - az * ry, az * rx - ax * rz, \
                ax * ry - ay * rx
            jac_t[j, 3], jac_t[j, 4], jac_t[j, 5] = ax, ay, az
        dls_row(jac_t, twist, damping2, jj, lower, y, dq)
        for j in range(k):
            q = qpos[i, q0 + j]
            low, high = max(q - lead, limits[j, 0]), min(q + lead, limits[j, 1])
            ctrl[i, a0 + j] = min(max(ctrl[i, a0 + j] + dq[j], low), high)
        ctrl[i, grip] = opening * (1.0 - min(max(float(actions[i, 6]), 0.0), 1.0))


class BatchedArm:
    """Batch methods of :class:`~.arm.Arm` (needs its ``bind``)."""

    def add_batch_sensors(self, spec: mujoco.MjSpec) -> None:
        """TCP pose and velocity (world frame) and the gripper gap, as sensors."""
        p, site = self.prefix, self.ee_site
        for suffix, kind in (("ee_pos", _S.mjSENS_FRAMEPOS), ("ee_quat", _S.mjSENS_FRAMEQUAT),
                             ("ee_linvel", _S.mjSENS_FRAMELINVEL),
                             ("ee_angvel", _S.mjSENS_FRAMEANGVEL)):
            spec.add_sensor(name=f"{p}{suffix}", type=kind, objtype=_SITE, objname=site)
        spec.add_sensor(name=f"{p}gripper_gap_len", type=_S.mjSENS_TENDONPOS, objtype=_TENDON,
                        objname=f"{p}gripper_gap")

    def bind_batch(self, model: mujoco.MjModel) -> None:
        """Cache the sensor indices and the Jacobian's body (after :meth:`Arm.bind`)."""
        self._sensor_idx = {key: sensor_index(model, [self.prefix + s for s in names])
                            for key, names in SENSOR_KEYS.items()}
        self._obs_idx = np.concatenate(list(self._sensor_idx.values()))  # one gather, then views
        ends = np.cumsum([len(i) for i in self._sensor_idx.values()])
        self._obs_cols = dict(zip(self._sensor_idx, (slice(e - len(i), e) for e, i in
                                                     zip(ends, self._sensor_idx.values()))))
        joints = np.array([model.joint(n).id for n in self.arm_joint_names])
        if not (np.all(model.jnt_pos[joints] == 0.0) and np.all(model.jnt_axis[joints] == (0, 0, 1))):
            raise RuntimeError(f"{self.prefix}: arm hinges must sit at their link origins, along z")
        self._link_ids = np.asarray(model.jnt_bodyid[joints])  # hinge j: its link's origin, z axis
        self._batch_index = np.array([self._ee, self._qpos.start, self._act_slice.start,
                                      self._grip_act])
        self._limits = np.column_stack([self._lo, self._hi])
        self._gains = np.array([self._lambda2, self._lead, self.cfg.gripper_opening_m])
        self._ee_cols = as_slice(self._sensor_idx["ee_pos"])

    def ee_pos_batch(self, v) -> np.ndarray:
        """TCP position (n, 3), world m (float64)."""
        return v.sensordata[:, self._ee_cols]

    def control_batch(self, v, actions: np.ndarray) -> None:
        """:meth:`Arm.apply_action` for every world: TCP twists -> joint targets, gripper.

        Args:
            v: the slice's BatchView.
            actions: (n, 7) float32, already checked finite and clipped to [-1, 1].
        """
        dls_control(actions, v.xmat, v.xpos, v.site_xpos, v.qpos, v.ctrl, self._link_ids,
                    self._batch_index, self._scale, self._limits, self._gains)

    def observe_batch(self, v) -> dict[str, np.ndarray]:
        """:meth:`Arm.observe` for every world: the same keys, frames and units, (n, ...) float32."""
        rows = v.sensordata[:, self._obs_idx]
        quat = self._obs_cols["ee_quat"]
        rows[:, quat] = canonical_quat(rows[:, quat])
        rows = rows.astype(np.float32)
        obs = {key: rows[:, cols] for key, cols in self._obs_cols.items()}
        obs["joint_pos"] = v.qpos[:, self._qpos].astype(np.float32)
        obs["joint_vel"] = v.qvel[:, self._dofs].astype(np.float32)
        return obs

    def joint_state_batch(self, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position rad|m, velocity, actuator effort Nm|N) of ``joint_names``, each (n, 9)."""
        return (v.qpos[:, self._qadr], v.qvel[:, self._dadr], v.qfrc_actuator[:, self._dadr])

    def base_pose_batch(self, v) -> tuple[np.ndarray, np.ndarray]:
        """Pose of the arm's base link: xyz (n, 3) m and quat wxyz (n, 4), world frame."""
        return v.xpos[:, self._base], v.xquat[:, self._base]
