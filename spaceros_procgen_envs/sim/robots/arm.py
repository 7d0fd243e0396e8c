"""A 7-DOF Franka-like arm with a parallel gripper, driven by end-effector twists.

Kinematics follow the Franka Emika Panda's published modified (Craig) DH parameters and joint
limits; the geometry is a capsule skeleton written here. Joints are position servos (MuJoCo
``position`` actuators) with gravity compensation (``gravcomp=1``), so the arm behaves the same in
any gravity. An action is a world-frame twist of the TCP site ``<prefix>ee`` plus a gripper
command; damped least squares (DLS) turns it into joint-target increments every control step::

    dq = J^T (J J^T + lambda^2 I)^-1 (twist * dt_control)

The joint targets live in ``data.ctrl`` (not in this object), so they reset with the data, copy
with it, and never drift with the measured pose.

Collision bits follow ``sim/scene.py`` (GROUND=1, ROBOT=2, OBJECT=4): every arm geom (links,
palm, finger pads) has contype=ROBOT, conaffinity=GROUND. So the arm touches terrain, static
scenery and free objects (whose conaffinity includes ROBOT), and never itself or another robot.

Example::

    spec = mujoco.MjSpec(); arm = Arm(ArmCfg())
    arm.attach(spec, spec.worldbody, pos=(0, 0, 0))
    model = spec.compile(); data = mujoco.MjData(model)
    arm.bind(model); arm.reset(model, data, np.random.default_rng(0)); mujoco.mj_forward(model, data)
    arm.apply_action(model, data, np.array([1, 0, 0, 0, 0, 0, -1.0]))  # +x at full speed, open
    mujoco.mj_step(model, data, nstep=4)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import gymnasium as gym
import mujoco
import numpy as np

from ..scene import GROUND, ROBOT
from .arm_batch import BatchedArm, gripper_target
from .base import CONTROL_HZ, CameraMount, KeyBinding, TwistAxis

# Panda modified DH per joint i = 1..7: (a_{i-1} m, d_i m, alpha_{i-1} rad).
PANDA_DH = ((0.0, 0.333, 0.0), (0.0, 0.0, -math.pi / 2), (0.0, 0.316, math.pi / 2),
            (0.0825, 0.0, math.pi / 2), (-0.0825, 0.384, -math.pi / 2), (0.0, 0.0, math.pi / 2),
            (0.088, 0.0, math.pi / 2))
PANDA_LIMITS = ((-2.8973, 2.8973), (-1.7628, 1.7628), (-2.8973, 2.8973), (-3.0718, -0.0698),
                (-2.8973, 2.8973), (-0.0175, 3.7525), (-2.8973, 2.8973))
HOME = (0.0, -math.pi / 4, 0.0, -3 * math.pi / 4, 0.0, math.pi / 2, math.pi / 4)  # gripper down

ARM_CONTYPE, ARM_CONAFFINITY = ROBOT, GROUND
# Finger pads win contact parameters (priority 1). They are stiffer than MuJoCo's default
# (0.9, 0.95) so a held object creeps little (a sample rock held still on the Moon: 2 to 3 mm in
# 4 s), but not near-rigid: with (0.99, 0.999, 0.001) the pads' contact points came and went
# between substeps while the arm moved, each change kicked the object, and under PPO-sized
# action noise (0.3 std) a scripted carry shook the peg loose within 30 to 110 steps in 6 of 6
# worlds; with these it held in every one.
_PAD_SOLREF, _PAD_SOLIMP = (0.02, 1.0), (0.95, 0.99, 0.002, 0.5, 2.0)
_FOIL_WHITE, _GREY, _DARK = (0.92, 0.92, 0.90, 1.0), (0.55, 0.56, 0.58, 1.0), (0.15, 0.15, 0.16, 1.0)


@dataclass(frozen=True)
class ArmCfg:
    """One arm. Lengths m, angles rad, masses kg, gains per joint (Nm/rad, Nms/rad).

    Attributes:
        dh: modified DH rows ``(a_{i-1}, d_i, alpha_{i-1})`` for joints 1..7.
        flange_m: joint-7 origin to flange along its axis.
        base_height_m: height of the fixed base cylinder (link 0).
        link_radius_m: capsule radius of links 1..7.
        link_mass_kg: masses of links 1..7 (Panda identification values, rounded).
        hand_mass_kg / finger_mass_kg: gripper palm and each finger.
        hand_scale: multiplies the hand geometry (palm, fingers, flange-to-TCP 0.1034 m).
        joint_limits_rad: (low, high) per joint; targets are clipped to these.
        home_rad: joint pose on reset (Panda "ready" pose, gripper pointing down).
        reset_noise_rad: uniform noise U(-x, x) added to the home pose on reset.
        kp / kv: position-servo stiffness and damping per joint.
        torque_limit_nm: actuator force limit per joint.
        armature: reflected rotor inertia per joint, kg m^2.
        max_lin_speed_mps / max_ang_speed_radps: TCP twist at action = +-1.
        dls_damping: DLS lambda (m); larger is smoother near singularities, less exact.
        max_target_lead_rad: targets stay within this of the measured pose (no wind-up when blocked).
        gripper_opening_m: finger gap when open (each finger travels half of it).
        gripper_force_n: squeeze force limit of each finger.
        gripper_kp: servo stiffness on the opening, N/m.
        finger_friction: sliding friction coefficient of the finger pads.
    """

    dh: tuple[tuple[float, float, float], ...] = PANDA_DH
    flange_m: float = 0.107
    base_height_m: float = 0.14
    link_radius_m: tuple[float, ...] = (0.06, 0.06, 0.055, 0.055, 0.05, 0.045, 0.04)
    link_mass_kg: tuple[float, ...] = (4.97, 0.65, 3.23, 3.59, 1.23, 1.67, 0.74)
    hand_mass_kg: float = 0.73
    finger_mass_kg: float = 0.05
    hand_scale: float = 1.0
    joint_limits_rad: tuple[tuple[float, float], ...] = PANDA_LIMITS
    home_rad: tuple[float, ...] = HOME
    reset_noise_rad: float = 0.0
    # ~60 rad/s, critically damped at the home pose (joint inertia incl. armature 0.05..1.8 kg m^2)
    kp: tuple[float, ...] = (4000.0, 6400.0, 4000.0, 4000.0, 270.0, 320.0, 190.0)
    kv: tuple[float, ...] = (130.0, 210.0, 135.0, 130.0, 9.0, 10.5, 6.3)
    torque_limit_nm: tuple[float, ...] = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)
    armature: tuple[float, ...] = (0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05)
    max_lin_speed_mps: float = 0.25
    max_ang_speed_radps: float = 1.0
    dls_damping: float = 0.02
    max_target_lead_rad: float = 0.2
    gripper_opening_m: float = 0.08
    gripper_force_n: float = 40.0
    gripper_kp: float = 2000.0
    finger_friction: float = 1.2


def gateway_arm_cfg() -> ArmCfg:
    """The long station arm: Panda kinematics x3 in length, links only x3 in mass (thin-walled).

    Gains scale with inertia (mass x length^2 = x27), so its step response matches the small arm.
    """
    base, k_len, k_mass = ArmCfg(), 3.0, 3.0
    k_inertia = k_mass * k_len**2
    return dataclasses.replace(
        base,
        dh=tuple((a * k_len, d * k_len, al) for a, d, al in base.dh),
        flange_m=base.flange_m * k_len, base_height_m=base.base_height_m * k_len,
        link_radius_m=tuple(r * 2.0 for r in base.link_radius_m),  # slimmer than x3
        link_mass_kg=tuple(m * k_mass for m in base.link_mass_kg),
        hand_mass_kg=base.hand_mass_kg * k_mass, finger_mass_kg=base.finger_mass_kg * k_mass,
        hand_scale=k_len,
        kp=tuple(k * k_inertia for k in base.kp), kv=tuple(k * k_inertia for k in base.kv),
        torque_limit_nm=tuple(t * k_inertia for t in base.torque_limit_nm),
        armature=tuple(a * k_inertia for a in base.armature),
        max_lin_speed_mps=0.4, max_ang_speed_radps=0.5, dls_damping=base.dls_damping * k_len,
        gripper_opening_m=base.gripper_opening_m * k_len,
        gripper_force_n=base.gripper_force_n * k_mass, gripper_kp=base.gripper_kp * k_mass)


def _quat_x(angle: float) -> list[float]:
    return [math.cos(angle / 2), math.sin(angle / 2), 0.0, 0.0]


def _joint_offset(row: tuple[float, float, float]) -> list[float]:
    """Next joint frame's origin in this one: modified DH Trans_x(a) Rot_x(alpha) Trans_z(d)."""
    a, d, alpha = row
    return [a, -math.sin(alpha) * d, math.cos(alpha) * d]


def _capsule_volume(r: float, p0, p1) -> float:
    return math.pi * r * r * (float(np.linalg.norm(np.subtract(p1, p0))) + 4.0 * r / 3.0)


def _link_segments(cfg: ArmCfg, i: int) -> list[tuple[list[float], list[float]]]:
    """Capsule segments of link i (1..7) in its own frame: along a, then along d, to the next joint."""
    if i == 1:  # from the top of the base up to the shoulder
        return [([0.0, 0.0, cfg.base_height_m + cfg.link_radius_m[0] - cfg.dh[0][1]], [0.0, 0.0, 0.0])]
    nxt = _joint_offset(cfg.dh[i]) if i < 7 else [0.0, 0.0, cfg.flange_m]
    elbow = [nxt[0], 0.0, 0.0]
    segs = [([0.0, 0.0, 0.0], elbow), (elbow, nxt)]
    return [s for s in segs if np.linalg.norm(np.subtract(s[1], s[0])) > 1e-6]


class Arm(BatchedArm):
    """Franka-like 7-DOF arm + parallel gripper (implements the Robot protocol, see base.py).

    One ``Arm`` binds to one compiled model; its scratch buffers make it unsafe to share
    between threads. Action (7,) in [-1, 1]: TCP linear velocity (x, y, z) and angular velocity
    (x, y, z) in the world frame, scaled by ``max_lin_speed_mps`` / ``max_ang_speed_radps``; then
    the gripper: <= 0 opens, 1 closes fully, in between closes in proportion
    (:func:`~.arm_batch.gripper_target`).
    """

    kind = "manipulator"
    action_names = ("ee_vx", "ee_vy", "ee_vz", "ee_wx", "ee_wy", "ee_wz", "gripper")
    # The TCP twist in the world frame; the gripper is its own command (``gripper_action``).
    twist_axes = (TwistAxis("ee_vx", "linear.x", "max_lin_speed_mps"),
                  TwistAxis("ee_vy", "linear.y", "max_lin_speed_mps"),
                  TwistAxis("ee_vz", "linear.z", "max_lin_speed_mps"),
                  TwistAxis("ee_wx", "angular.x", "max_ang_speed_radps"),
                  TwistAxis("ee_wy", "angular.y", "max_ang_speed_radps"),
                  TwistAxis("ee_wz", "angular.z", "max_ang_speed_radps"))
    key_bindings = (KeyBinding("w", "s", "linear.x", "+x / -x"),
                    KeyBinding("a", "d", "linear.y", "+y / -y"),
                    KeyBinding("q", "e", "linear.z", "+z / -z"),
                    KeyBinding("z", "x", "angular.x", "roll + / -"),
                    KeyBinding("t", "g", "angular.y", "pitch + / -"),
                    KeyBinding("c", "v", "angular.z", "yaw + / -"))
    gripper_action, gripper_key = "gripper", "k"
    camera_mounts = (CameraMount("wrist", camera="camera_wrist"),)
    root_body, chase_eye_m = "base", None  # the task places the arm's scene camera

    @property
    def view_distance_m(self) -> float:
        """The arm and its work area: 3 m for the Panda-sized arm, scaled with the hand."""
        return 3.0 * self.cfg.hand_scale

    def __init__(self, cfg: ArmCfg | None = None, prefix: str = "robot/") -> None:
        self.cfg = cfg or ArmCfg()
        self.prefix = prefix
        self.arm_joint_names = tuple(f"{prefix}joint{i}" for i in range(1, 8))
        self.finger_joint_names = (f"{prefix}finger_left", f"{prefix}finger_right")
        self.joint_names = self.arm_joint_names + self.finger_joint_names
        self.ee_site = f"{prefix}ee"
        self.ft_site = f"{prefix}ft"
        self.base_body = f"{prefix}base"

    # ----------------------------------------------------------------- building (MjSpec)
    def attach(self, spec: mujoco.MjSpec, parent: mujoco.MjsBody,
               pos: tuple[float, float, float] = (0.0, 0.0, 0.0),
               quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)) -> None:
        """Add the arm under ``parent`` with its base frame at ``pos``/``quat`` (parent frame)."""
        cfg, p = self.cfg, self.prefix
        self._deg = bool(spec.compiler.degree)  # MJCF's default: joint ranges in degrees
        body = parent.add_body(name=self.base_body, pos=list(pos), quat=list(quat))
        self._geom(body, "base", mujoco.mjtGeom.mjGEOM_CYLINDER, _GREY, 1.0,
                   size=[cfg.link_radius_m[0] * 1.15, cfg.base_height_m / 2, 0],
                   pos=[0, 0, cfg.base_height_m / 2])
        offset = [0.0, 0.0, cfg.dh[0][1]]
        for i in range(1, 8):
            body = body.add_body(name=f"{p}link{i}", pos=offset, quat=_quat_x(cfg.dh[i - 1][2]),
                                 gravcomp=1.0)
            self._add_link(body, i)
            offset = _joint_offset(cfg.dh[i]) if i < 7 else None
        hand = self._add_hand(body)
        self._add_fingers(spec, hand)
        self._add_actuators(spec)
        spec.add_sensor(name=f"{p}ft_force", type=mujoco.mjtSensor.mjSENS_FORCE,
                        objtype=mujoco.mjtObj.mjOBJ_SITE, objname=self.ft_site)
        spec.add_sensor(name=f"{p}ft_torque", type=mujoco.mjtSensor.mjSENS_TORQUE,
                        objtype=mujoco.mjtObj.mjOBJ_SITE, objname=self.ft_site)
        self.add_batch_sensors(spec)

    def _geom(self, body, name, gtype, rgba, mass, contype=ARM_CONTYPE,
              conaffinity=ARM_CONAFFINITY, **kw):
        return body.add_geom(name=f"{self.prefix}{name}", type=gtype, rgba=list(rgba), mass=mass,
                             contype=contype, conaffinity=conaffinity, **kw)

    def _add_link(self, body: mujoco.MjsBody, i: int) -> None:
        """Joint i (hinge about local z), a joint housing cylinder and the link capsules."""
        cfg, r = self.cfg, self.cfg.link_radius_m[i - 1]
        lo, hi = np.degrees(cfg.joint_limits_rad[i - 1]) if self._deg else cfg.joint_limits_rad[i - 1]
        body.add_joint(name=f"{self.prefix}joint{i}", type=mujoco.mjtJoint.mjJNT_HINGE,
                       axis=[0, 0, 1], range=[lo, hi], limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                       armature=cfg.armature[i - 1], damping=0.0)
        segs = _link_segments(cfg, i)
        vols = [2 * math.pi * r**3 if i > 1 else 0.0] + [_capsule_volume(r, a, b) for a, b in segs]
        mass = cfg.link_mass_kg[i - 1] / sum(vols)  # kg per m^3: spread over the geoms by volume
        if i > 1:
            self._geom(body, f"link{i}_housing", mujoco.mjtGeom.mjGEOM_CYLINDER, _FOIL_WHITE,
                       mass * vols[0], size=[r * 1.05, r, 0])
        for k, (a, b) in enumerate(segs):
            self._geom(body, f"link{i}_{k}", mujoco.mjtGeom.mjGEOM_CAPSULE,
                       _GREY if i % 2 else _FOIL_WHITE, mass * vols[k + 1], size=[r, 0, 0],
                       fromto=[*a, *b])

    def _add_hand(self, link7: mujoco.MjsBody) -> mujoco.MjsBody:
        """Palm at the flange, rotated -45 deg about z like the Panda's; TCP, F/T site, camera."""
        cfg, s = self.cfg, self.cfg.hand_scale
        half_w = cfg.gripper_opening_m / 2 + 0.02 * s
        hand = link7.add_body(name=f"{self.prefix}hand", pos=[0, 0, cfg.flange_m],
                              quat=[math.cos(-math.pi / 8), 0, 0, math.sin(-math.pi / 8)], gravcomp=1.0)
        self._geom(hand, "palm", mujoco.mjtGeom.mjGEOM_BOX, _FOIL_WHITE, cfg.hand_mass_kg,
                   size=[0.025 * s, half_w, 0.029 * s], pos=[0, 0, 0.029 * s])
        hand.add_site(name=self.ft_site, pos=[0, 0, 0], size=[0.01 * s] * 3, group=4)
        hand.add_site(name=self.ee_site, pos=[0, 0, 0.1034 * s], size=[0.008 * s] * 3,
                      rgba=[1, 0.3, 0.1, 0.6], group=3)
        hand.add_camera(name=f"{self.prefix}camera_wrist", pos=[0.05 * s, 0, 0.03 * s],
                        quat=[0, 1, 0, 0], fovy=75.0)  # looks along the approach axis (+z)
        return hand

    def _add_fingers(self, spec: mujoco.MjSpec, hand: mujoco.MjsBody) -> None:
        """Two slide fingers (each 0..opening/2 along +-y), coupled equal, one servo on the gap."""
        cfg, s, p = self.cfg, self.cfg.hand_scale, self.prefix
        for side, name in zip((1.0, -1.0), self.finger_joint_names):
            f = hand.add_body(name=f"{name}_body", pos=[0, 0, 0.0584 * s], gravcomp=1.0)
            f.add_joint(name=name, type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0, side, 0],
                        range=[0.0, cfg.gripper_opening_m / 2], limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                        armature=0.2 * cfg.finger_mass_kg / 0.05, damping=0.0)
            # Pad: inner face at the joint origin (y = 0 when closed), 64 mm long, tip 19 mm past TCP.
            self._geom(f, name[len(p):] + "_pad", mujoco.mjtGeom.mjGEOM_BOX, _DARK, cfg.finger_mass_kg,
                       condim=4,
                       friction=[cfg.finger_friction, 0.02, 0.0001], priority=1,
                       solref=list(_PAD_SOLREF), solimp=list(_PAD_SOLIMP),
                       size=[0.011 * s, 0.006 * s, 0.032 * s], pos=[0, side * 0.006 * s, 0.032 * s])
        left, right = self.finger_joint_names
        spec.add_equality(name=f"{p}finger_coupling", type=mujoco.mjtEq.mjEQ_JOINT,
                          objtype=mujoco.mjtObj.mjOBJ_JOINT, name1=right, name2=left,
                          data=[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], solref=[0.01, 1.0])
        gap = spec.add_tendon(name=f"{p}gripper_gap")  # length = finger opening, m
        gap.wrap_joint(left, 1.0)
        gap.wrap_joint(right, 1.0)

    def _add_actuators(self, spec: mujoco.MjSpec) -> None:
        cfg, p = self.cfg, self.prefix
        for i, name in enumerate(self.arm_joint_names):
            act = spec.add_actuator(name=f"{name}_servo", trntype=mujoco.mjtTrn.mjTRN_JOINT, target=name,
                                    ctrlrange=list(cfg.joint_limits_rad[i]),
                                    ctrllimited=mujoco.mjtLimited.mjLIMITED_TRUE,
                                    forcerange=[-cfg.torque_limit_nm[i], cfg.torque_limit_nm[i]],
                                    forcelimited=mujoco.mjtLimited.mjLIMITED_TRUE)
            act.set_to_position(kp=cfg.kp[i], kv=cfg.kv[i])
        grip = spec.add_actuator(name=f"{p}gripper", trntype=mujoco.mjtTrn.mjTRN_TENDON,
                                 target=f"{p}gripper_gap", ctrlrange=[0.0, cfg.gripper_opening_m],
                                 ctrllimited=mujoco.mjtLimited.mjLIMITED_TRUE,
                                 forcerange=[-cfg.gripper_force_n, cfg.gripper_force_n],
                                 forcelimited=mujoco.mjtLimited.mjLIMITED_TRUE)
        grip.set_to_position(kp=cfg.gripper_kp, kv=0.06 * cfg.gripper_kp)

    # ----------------------------------------------------------------- runtime
    def bind(self, model: mujoco.MjModel) -> None:
        """Cache ids and addresses in ``model``; allocate the DLS scratch buffers."""
        jid = [model.joint(n).id for n in self.joint_names]
        self._qadr = model.jnt_qposadr[jid].copy()
        self._dadr = model.jnt_dofadr[jid].copy()
        act = np.array([model.actuator(f"{n}_servo").id for n in self.arm_joint_names])
        d0, a0 = int(self._dadr[0]), int(act[0])
        seven = np.arange(7)
        if not (np.array_equal(self._dadr[:7] - d0, seven) and np.array_equal(act - a0, seven)):
            raise RuntimeError(f"{self.prefix}: arm dofs/actuators must be contiguous in the model")
        self._dofs, self._act_slice = slice(d0, d0 + 7), slice(a0, a0 + 7)
        self._qpos = slice(int(self._qadr[0]), int(self._qadr[0]) + 7)
        self._grip_act = model.actuator(f"{self.prefix}gripper").id
        self._gap_tendon = model.tendon(f"{self.prefix}gripper_gap").id
        self._ee = model.site(self.ee_site).id
        self._base = model.body(self.base_body).id
        self._ft_adr = tuple(int(model.sensor(f"{self.prefix}ft_{k}").adr[0])
                             for k in ("force", "torque"))
        cfg = self.cfg
        self._lo, self._hi = np.array(cfg.joint_limits_rad, dtype=np.float64).T.copy()
        self._scale = np.array([cfg.max_lin_speed_mps] * 3 + [cfg.max_ang_speed_radps] * 3) / CONTROL_HZ
        self._jac = np.zeros((6, model.nv))
        self._jj = np.zeros((6, 6))
        self._y = np.zeros(6)
        self._lambda2 = cfg.dls_damping ** 2
        self._lead = cfg.max_target_lead_rad
        self._vel6 = np.zeros(6)
        self._quat = np.zeros(4)
        self.bind_batch(model)

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        """Home pose (+ optional noise), zero velocity, targets = pose, gripper open.

        Only writes this arm's qpos/qvel/ctrl; run ``mujoco.mj_forward`` once everything is reset.
        """
        q = np.asarray(self.cfg.home_rad, dtype=np.float64)
        if self.cfg.reset_noise_rad > 0:
            q = q + rng.uniform(-self.cfg.reset_noise_rad, self.cfg.reset_noise_rad, size=7)
        q = np.clip(q, self._lo, self._hi)
        half = self.cfg.gripper_opening_m / 2
        data.qpos[self._qpos] = q
        data.qpos[self._qadr[7:]] = half
        data.qvel[self._dofs] = 0.0
        data.qvel[self._dadr[7:]] = 0.0
        data.ctrl[self._act_slice] = q
        data.ctrl[self._grip_act] = self.cfg.gripper_opening_m

    def apply_action(self, model: mujoco.MjModel, data: mujoco.MjData, action: np.ndarray) -> None:
        """Integrate one control step of TCP twist into the joint targets (DLS) and set the gripper.

        Raises:
            ValueError: ``action`` is not 7 finite numbers.
        """
        a = np.asarray(action, dtype=np.float64)
        if a.shape != (7,):
            raise ValueError(f"action: expected shape (7,) {self.action_names}, got {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"action: expected finite numbers, got {a}")
        twist = np.minimum(np.maximum(a[:6], -1.0), 1.0)
        twist *= self._scale  # m and rad over one control period, world frame
        jac, jj = self._jac, self._jj
        mujoco.mj_jacSite(model, data, jac[:3], jac[3:], self._ee)
        j = jac[:, self._dofs]
        np.dot(j, j.T, out=jj)
        jj.flat[::7] += self._lambda2
        mujoco.mju_cholFactor(jj, 1e-12)
        mujoco.mju_cholSolve(self._y, jj, twist)
        q = data.qpos[self._qpos]
        target = data.ctrl[self._act_slice] + j.T @ self._y
        # Stay within max_target_lead_rad of the measured pose, and inside the joint limits.
        np.maximum(target, np.maximum(q - self._lead, self._lo), out=target)
        np.minimum(target, np.minimum(q + self._lead, self._hi), out=target)
        data.ctrl[self._act_slice] = target
        data.ctrl[self._grip_act] = gripper_target(float(a[6]), self.cfg.gripper_opening_m)

    def observe(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, np.ndarray]:
        """Joint, TCP (world frame) and wrist F/T state as float32 arrays.

        ``ee_vel`` is (linear m/s, angular rad/s) of the TCP in world axes; ``gripper`` the finger
        gap, m; ``wrench`` (N, N m) what link 7 exerts on the hand, in the flange frame (z along the
        approach axis), raw: it includes the hand's own weight (0.83 kg x g) and inertia.
        Reads ``data`` as ``mj_step`` left it (kinematics of the last substep's start).
        """
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_SITE, self._ee, self._vel6, 0)
        mujoco.mju_mat2Quat(self._quat, data.site_xmat[self._ee])
        f, t = self._ft_adr
        sd = data.sensordata
        return {
            "joint_pos": data.qpos[self._qpos].astype(np.float32),
            "joint_vel": data.qvel[self._dofs].astype(np.float32),
            "ee_pos": data.site_xpos[self._ee].astype(np.float32),
            "ee_quat": self._quat.astype(np.float32),
            "ee_vel": np.concatenate((self._vel6[3:], self._vel6[:3])).astype(np.float32),
            "gripper": np.array([data.ten_length[self._gap_tendon]], dtype=np.float32),
            "wrench": np.concatenate((sd[f:f + 3], sd[t:t + 3])).astype(np.float32),
        }

    def observation_space(self) -> dict[str, gym.spaces.Box]:
        lo = np.array([r[0] for r in self.cfg.joint_limits_rad], dtype=np.float32) - 0.5
        hi = np.array([r[1] for r in self.cfg.joint_limits_rad], dtype=np.float32) + 0.5
        inf = np.float32(np.inf)
        box = lambda low, high, n: gym.spaces.Box(low, high, shape=(n,), dtype=np.float32)  # noqa: E731
        return {
            "joint_pos": gym.spaces.Box(lo, hi, dtype=np.float32),
            "joint_vel": box(-inf, inf, 7),
            "ee_pos": box(-inf, inf, 3),
            "ee_quat": box(-1.0, 1.0, 4),
            "ee_vel": box(-inf, inf, 6),
            "gripper": box(-0.01, self.cfg.gripper_opening_m + 0.01, 1),
            "wrench": box(-inf, inf, 6),
        }

    def joint_state(self, model: mujoco.MjModel, data: mujoco.MjData
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position rad|m, velocity, actuator effort Nm|N) of ``joint_names`` (7 arm + 2 fingers)."""
        return (data.qpos[self._qadr].copy(), data.qvel[self._dadr].copy(),
                data.qfrc_actuator[self._dadr].copy())

    def base_pose(self, model: mujoco.MjModel, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """Pose of the arm's base link (xyz m, quat wxyz) in the world frame."""
        return data.xpos[self._base].copy(), data.xquat[self._base].copy()
