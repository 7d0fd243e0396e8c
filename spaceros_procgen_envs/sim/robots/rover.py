"""A Perseverance-like six-wheel rocker-bogie rover, written with ``mujoco.MjSpec``.

Frames: the chassis frame has x forward, y left, z up; its origin is the centre of the chassis
box, straight above the middle wheels' axle. Every wheel's steer axis is vertical through the
wheel centre and every wheel spins about its +y axis, so a positive wheel speed drives forward.

Tree (names after ``prefix``)::

    chassis (free joint "root")
      rocker_left / rocker_right       hinge about chassis y, coupled: q_left = -q_right
        steer_fl / steer_fr            hinge z (position actuator)  -> wheel_fl / wheel_fr
        bogie_left / bogie_right       hinge about y (passive)
          wheel_ml / wheel_mr          hinge y (velocity actuator)
          steer_rl / steer_rr          hinge z (position actuator)  -> wheel_rl / wheel_rr

The coupling is the differential bar: MuJoCo's joint equality with polycoef (0, -1), so the
chassis pitches by the mean of the two rockers. Only the wheels and the chassis belly collide,
with bit ``ROBOT`` against ``GROUND | OBJECT`` (see ``sim/scene.py``), never with each other.

Example:
    >>> import mujoco
    >>> spec = mujoco.MjSpec()
    >>> rover = Rover(RoverCfg())
    >>> rover.attach(spec, spec.worldbody, pos=(0.0, 0.0, 0.0))   # ground height at (0, 0) is 0 m
    >>> model = spec.compile(); data = mujoco.MjData(model)
    >>> rover.bind(model)
    >>> rover.apply_action(model, data, np.array([0.5, 0.0]))      # 0.5 m/s straight ahead
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium as gym
import mujoco
import numpy as np

from ..jit import njit

from ..scene import COLLISION_GROUP, GROUND, OBJECT, ROBOT, VISUAL_GROUP
from ..vecmath import rotate_inverse
from .base import CameraMount, KeyBinding, TwistAxis

_SIDES = (("left", "l", 1.0), ("right", "r", -1.0))
WHEELS = ("fl", "fr", "ml", "mr", "rl", "rr")
STEERED = ("fl", "fr", "rl", "rr")
SUSPENSION = ("rocker_left", "rocker_right", "bogie_left", "bogie_right")
JOINT_NAMES = (*SUSPENSION, *(f"steer_{w}" for w in STEERED), *(f"wheel_{w}" for w in WHEELS))
_HINGE = mujoco.mjtJoint.mjJNT_HINGE
_G = mujoco.mjtGeom
_CAM_LEVEL = (0.5, 0.5, -0.5, -0.5)   # site quat wxyz: a camera on it looks along chassis +x, up +z


@dataclass(frozen=True)
class RoverCfg:
    """Rover geometry, masses and drive limits (SI units in the names).

    Dimensions follow Perseverance's published envelope (3.0 m long, 2.7 m wide, 2.2 m tall,
    1025 kg, 52.5 cm wheels, ~0.6 m ground clearance). The real rover drives at 0.042 m/s; the
    default 1 m/s keeps episodes short enough to learn from.

    Wheel collision: a sphere of the wheel radius (the default) touches the ground where a
    cylinder would, rolls the same and is the cheapest collider MuJoCo has. Measured per 50 Hz
    control step (4 x 5 ms substeps, one core): plane 62 / 92 / 135 us and a 129 x 129, 30 m
    heightfield with 0.5 m relief 118 / 140 / 265 us for sphere / capsule / cylinder. The
    sphere pokes 6 cm past each side of the 40 cm tyre and has no steering scrub.
    """

    wheel_radius_m: float = 0.2625        # 52.5 cm diameter
    wheel_width_m: float = 0.40
    wheelbase_m: float = 2.30             # front-to-rear wheel centres; middle wheel midway
    track_m: float = 2.30                 # left-to-right wheel centres (2.7 m over the tyres)
    chassis_size_m: tuple[float, float, float] = (1.9, 1.3, 0.5)   # box length, width, height
    ground_clearance_m: float = 0.60      # belly height on flat ground
    bogie_pivot_height_m: float = 0.55    # above flat ground
    mast_height_m: float = 2.2            # camera mount above flat ground
    chassis_mass_kg: float = 835.0        # total with suspension and wheels: 1025 kg
    rocker_mass_kg: float = 25.0
    bogie_mass_kg: float = 15.0
    steer_mass_kg: float = 5.0
    wheel_mass_kg: float = 15.0
    max_lin_vel_mps: float = 1.0          # action +-1 -> +-max
    max_ang_vel_radps: float = 0.5
    max_steer_rad: float = 1.0            # corner wheels; point turn needs atan(wb/track) = 0.785
    wheel_kv_nms: float = 300.0           # velocity servo gain, N m per rad/s of error
    wheel_max_torque_nm: float = 400.0
    steer_kp_nm: float = 600.0            # N m/rad
    steer_kv_nms: float = 60.0
    steer_max_torque_nm: float = 300.0
    suspension_damping_nms: float = 30.0  # rocker and bogie hinges
    rocker_range_rad: float = 0.5
    bogie_range_rad: float = 0.7
    wheel_friction: float = 1.0
    wheel_collision: str = "sphere"       # "sphere" | "capsule" | "cylinder" (see class doc)
    belly_collision: bool = True
    spawn_clearance_m: float = 0.01       # gap under the wheels at spawn

    @property
    def chassis_height_m(self) -> float:
        """Height of the chassis frame origin above flat ground at rest."""
        return self.ground_clearance_m + self.chassis_size_m[2] / 2


def ackermann(v: float, w: float, wheel_xy, steerable, max_steer: float,
              out_steer: list, out_speed: list) -> None:
    """Steer angles (rad) and wheel ground speeds (m/s) for a chassis twist.

    Each wheel is pointed along the rigid-body velocity of its contact point,
    u = (v - w*y, w*x) in the chassis frame, folded into (-pi/2, pi/2] so it may roll backwards.
    That puts the turning centre at (0, v/w) on the middle axle: a plain Ackermann turn for
    |v/w| > track/2, a point turn for v = 0 (corners tangential, as Perseverance does), straight
    for w = 0. A clipped wheel rolls at the projection of u on its heading. When |v/w| passes
    track/2 the centre crosses a corner wheel and its angle flips sign (clipped to max_steer).
    Pure Python floats: ~4 us for six wheels.

    Args:
        v: forward speed, m/s. w: yaw rate, rad/s (positive = left).
        wheel_xy: (x, y) of each wheel centre in the chassis frame, m.
        steerable: per wheel, whether it steers.
        out_steer, out_speed: lists filled in place (one entry per wheel).
    """
    for i, (x, y) in enumerate(wheel_xy):
        ux, uy = v - w * y, w * x
        if not steerable[i]:
            out_steer[i], out_speed[i] = 0.0, ux
            continue
        d = math.atan2(uy, ux)
        if d > 0.5 * math.pi:
            d -= math.pi
        elif d <= -0.5 * math.pi:
            d += math.pi
        d = min(max(d, -max_steer), max_steer)
        out_steer[i], out_speed[i] = d, ux * math.cos(d) + uy * math.sin(d)


class Rover:
    """Six-wheel rocker-bogie rover driven by (lin_vel, ang_vel) in [-1, 1].

    Args:
        cfg: geometry and limits.
        prefix: prepended to every name this robot adds to the spec.
    """

    kind = "rover"
    action_names = ("lin_vel", "ang_vel")
    # A twist in the rover body frame (base_link): forward speed and turn rate.
    twist_axes = (TwistAxis("lin_vel", "linear.x", "max_lin_vel_mps"),
                  TwistAxis("ang_vel", "angular.z", "max_ang_vel_radps"))
    key_bindings = (KeyBinding("w", "s", "linear.x", "forward / back"),
                    KeyBinding("a", "d", "angular.z", "turn left / right"))
    gripper_action = gripper_key = None
    joint_names = JOINT_NAMES
    # A hazard camera looks down at the ground just ahead of the wheels.
    camera_mounts = (CameraMount("front", site="camera_front", fovy_deg=90.0, pitch_deg=-25.0),)
    root_body, chase_eye_m, view_distance_m = "chassis", (-5.0, -3.0, 3.0), 7.0

    def __init__(self, cfg: RoverCfg = RoverCfg(), prefix: str = "robot/"):
        if cfg.wheel_collision not in ("sphere", "capsule", "cylinder"):
            raise ValueError(f"RoverCfg.wheel_collision: expected 'sphere', 'capsule' or "
                             f"'cylinder', got {cfg.wheel_collision!r}")
        self.cfg, self.prefix = cfg, prefix
        hw, ht = cfg.wheelbase_m / 2, cfg.track_m / 2
        x_of = {"f": hw, "m": 0.0, "r": -hw}
        y_of = {"l": ht, "r": -ht}
        self.wheel_xy = tuple((x_of[w[0]], y_of[w[1]]) for w in WHEELS)  # chassis frame, m
        self.steerable = tuple(w in STEERED for w in WHEELS)
        self._steer_idx = tuple(WHEELS.index(w) for w in STEERED)
        self._steer = [0.0] * 6
        self._speed = [0.0] * 6
        self._ctrl = [0.0] * 10
        self._bound = False

    # ----------------------------------------------------------------- building
    def attach(self, spec: mujoco.MjSpec, parent: mujoco.MjsBody,
               pos: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
        """Add the rover with its wheels on the ground at ``pos`` (x, y, ground z), world m."""
        c, p = self.cfg, self.prefix
        deg = bool(spec.compiler.degree)          # joint ranges follow the spec's angle unit
        z0 = pos[2] + c.chassis_height_m + c.spawn_clearance_m
        chassis = parent.add_body(name=f"{p}chassis", pos=(pos[0], pos[1], z0))
        chassis.add_freejoint(name=f"{p}root")
        self._chassis_geoms(chassis)
        for side, s, sign in _SIDES:
            self._side(chassis, side, s, sign, deg)
        eq = spec.add_equality(name=f"{p}differential", type=mujoco.mjtEq.mjEQ_JOINT,
                               objtype=mujoco.mjtObj.mjOBJ_JOINT,
                               name1=f"{p}rocker_left", name2=f"{p}rocker_right")
        eq.data = [0.0, -1.0, 0.0, 0.0, 0.0] + [0.0] * 7   # q_left = -q_right
        self._actuators(spec)

    def _chassis_geoms(self, chassis: mujoco.MjsBody) -> None:
        c, p = self.cfg, self.prefix
        lx, ly, lz = (0.5 * s for s in c.chassis_size_m)
        box = chassis.add_geom(name=f"{p}chassis", type=_G.mjGEOM_BOX, size=(lx, ly, lz),
                               mass=c.chassis_mass_kg, rgba=(0.85, 0.85, 0.82, 1))
        _bits(box, ROBOT if c.belly_collision else 0)
        top = c.mast_height_m - c.chassis_height_m        # mast top, chassis frame z
        mast_xy = (0.7 * lx, -0.6 * ly)                    # front right of the deck
        _visual(chassis, f"{p}mast", _G.mjGEOM_CAPSULE, (0.06, 0, 0),
                fromto=(*mast_xy, lz, *mast_xy, top - 0.1))
        _visual(chassis, f"{p}mast_head", _G.mjGEOM_BOX, (0.1, 0.2, 0.1),
                pos=(*mast_xy, top))
        chassis.add_site(name=f"{p}camera_mount", pos=(mast_xy[0] + 0.1, mast_xy[1], top),
                         quat=_CAM_LEVEL, size=(0.03, 0, 0))
        chassis.add_site(name=f"{p}camera_front", pos=(lx + 0.01, 0.0, 0.0),
                         quat=_pitched_down(0.4), size=(0.03, 0, 0))  # hazcam, 23 deg down

    def _side(self, chassis, side: str, s: str, sign: float, deg: bool) -> None:
        """One rocker with its front wheel and its bogie (middle and rear wheels)."""
        c, p = self.cfg, self.prefix
        r, hc, hb = c.wheel_radius_m, c.chassis_height_m, c.bogie_pivot_height_m
        xf, xr = c.wheelbase_m / 2, -c.wheelbase_m / 2
        xb = 0.5 * (0.0 + xr)                      # bogie pivot between middle and rear wheel
        xp = (xf + 2 * xb) / 3                     # rocker pivot: equal load on all 3 wheels
        y_rk = sign * (c.chassis_size_m[1] / 2 + 0.1)
        dy = sign * c.track_m / 2 - y_rk           # rocker plane -> wheel centre, m
        rocker = chassis.add_body(name=f"{p}rocker_{side}", pos=(xp, y_rk, 0.0))
        self._hinge(rocker, f"rocker_{side}", (0, 1, 0), c.rocker_range_rad, deg)
        arm_z = r + 0.35 - hc                      # height of the arm over the front wheel
        _visual(rocker, f"{p}rocker_{side}_front", _G.mjGEOM_CAPSULE, (0.05, 0, 0),
                fromto=(0, 0, 0, xf - xp, 0, arm_z), mass=c.rocker_mass_kg / 2)
        _visual(rocker, f"{p}rocker_{side}_rear", _G.mjGEOM_CAPSULE, (0.05, 0, 0),
                fromto=(0, 0, 0, xb - xp, 0, hb - hc), mass=c.rocker_mass_kg / 2)
        self._corner(rocker, f"f{s}", (xf - xp, dy, r - hc), deg)
        bogie = rocker.add_body(name=f"{p}bogie_{side}", pos=(xb - xp, 0.0, hb - hc))
        self._hinge(bogie, f"bogie_{side}", (0, 1, 0), c.bogie_range_rad, deg)
        _visual(bogie, f"{p}bogie_{side}", _G.mjGEOM_CAPSULE, (0.045, 0, 0),
                fromto=(-xb, 0, r + 0.3 - hb, xr - xb, 0, r + 0.3 - hb), mass=c.bogie_mass_kg)
        mid = bogie.add_body(name=f"{p}wheel_m{s}", pos=(-xb, dy, r - hb))
        self._wheel(mid, f"m{s}")
        self._corner(bogie, f"r{s}", (xr - xb, dy, r - hb), deg)

    def _corner(self, parent, w: str, pos, deg: bool) -> None:
        """A steered corner: steer body (vertical hinge through the wheel centre) + wheel."""
        c, p = self.cfg, self.prefix
        steer = parent.add_body(name=f"{p}steer_{w}", pos=pos)
        self._hinge(steer, f"steer_{w}", (0, 0, 1), c.max_steer_rad + 0.05, deg)
        inner = -math.copysign(c.wheel_width_m / 2 + 0.05, pos[1] if pos[1] else 1.0)
        _visual(steer, f"{p}steer_{w}", _G.mjGEOM_CAPSULE, (0.04, 0, 0),
                fromto=(0, inner, 0, 0, inner, 0.35), mass=c.steer_mass_kg)
        self._wheel(steer.add_body(name=f"{p}wheel_{w}"), w)

    def _wheel(self, body: mujoco.MjsBody, w: str) -> None:
        c, p = self.cfg, self.prefix
        body.add_joint(name=f"{p}wheel_{w}", type=_HINGE, axis=(0, 1, 0), armature=0.05,
                       damping=[0.5, 0, 0])
        r, half_w = c.wheel_radius_m, c.wheel_width_m / 2
        tire = body.add_geom(name=f"{p}wheel_{w}", type=_G.mjGEOM_CYLINDER, size=(r, half_w, 0),
                             quat=(0.70710678, 0.70710678, 0, 0), mass=c.wheel_mass_kg,
                             rgba=(0.55, 0.55, 0.58, 1), friction=(c.wheel_friction, 0.005, 1e-4))
        if c.wheel_collision == "cylinder":
            _bits(tire, ROBOT)
            return
        tire.group = VISUAL_GROUP
        _bits(tire, 0)
        size = (r, 0, 0) if c.wheel_collision == "sphere" else (r, 0.05, 0)
        col = body.add_geom(name=f"{p}wheel_{w}_collision", size=size, mass=0.0, density=0.0,
                            type=_G.mjGEOM_SPHERE if c.wheel_collision == "sphere"
                            else _G.mjGEOM_CAPSULE, quat=(0.70710678, 0.70710678, 0, 0),
                            group=COLLISION_GROUP, rgba=(0.3, 0.3, 0.3, 0.0),
                            friction=(c.wheel_friction, 0.005, 1e-4))
        _bits(col, ROBOT)

    def _hinge(self, body, name: str, axis, limit_rad: float, deg: bool) -> None:
        c = self.cfg
        lim = math.degrees(limit_rad) if deg else limit_rad
        passive = not name.startswith("steer")
        body.add_joint(name=f"{self.prefix}{name}", type=_HINGE, axis=axis, range=(-lim, lim),
                       limited=mujoco.mjtLimited.mjLIMITED_TRUE, armature=0.05,
                       damping=[c.suspension_damping_nms if passive else 0.0, 0, 0])

    def _actuators(self, spec: mujoco.MjSpec) -> None:
        """Six wheel velocity servos, then four steer position servos (this ctrl order)."""
        c, p = self.cfg, self.prefix
        far = max(math.hypot(x, y) for x, y in self.wheel_xy)
        w_max = 1.05 * (c.max_lin_vel_mps + c.max_ang_vel_radps * far) / c.wheel_radius_m
        for w in WHEELS:
            a = spec.add_actuator(name=f"{p}drive_{w}", target=f"{p}wheel_{w}",
                                  trntype=mujoco.mjtTrn.mjTRN_JOINT)
            a.set_to_velocity(kv=c.wheel_kv_nms)
            _limits(a, w_max, c.wheel_max_torque_nm)
        for w in STEERED:
            a = spec.add_actuator(name=f"{p}steer_{w}", target=f"{p}steer_{w}",
                                  trntype=mujoco.mjtTrn.mjTRN_JOINT)
            a.set_to_position(kp=c.steer_kp_nm, kv=c.steer_kv_nms)
            _limits(a, c.max_steer_rad, c.steer_max_torque_nm)

    # ----------------------------------------------------------------- runtime
    def bind(self, model: mujoco.MjModel) -> None:
        """Cache addresses; call once per compiled model."""
        p = self.prefix
        self._body = model.body(f"{p}chassis").id
        root = model.joint(f"{p}root")
        self._qa, self._da = int(root.qposadr[0]), int(root.dofadr[0])
        ids = [model.joint(f"{p}{n}").id for n in JOINT_NAMES]
        self._jq = np.array([model.jnt_qposadr[i] for i in ids])
        self._jd = np.array([model.jnt_dofadr[i] for i in ids])
        self._susp_q, self._steer_q = self._jq[0:4], self._jq[4:8]
        self._wheel_d = self._jd[8:14]
        act = [model.actuator(f"{p}drive_{w}").id for w in WHEELS]
        act += [model.actuator(f"{p}steer_{w}").id for w in STEERED]
        if act != list(range(act[0], act[0] + 10)):
            raise RuntimeError(f"{p}: rover actuators are not contiguous in the model: {act}")
        self._a0, self._a1 = act[0], act[0] + 10
        self._inv_r = 1.0 / self.cfg.wheel_radius_m
        self._xy = np.asarray(self.wheel_xy)                  # (6, 2) m, for control_batch
        self._steers = np.asarray(self.steerable, np.float64)  # (6,) 1 where a wheel steers
        self._steer_cols = list(self._steer_idx)
        self._quat_inv = np.zeros(4)
        self._vel = np.zeros(3)
        self._bound = True

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        """Home pose: spawn pose from the spec, suspension straight, wheels still."""
        qa, da = self._qa, self._da
        data.qpos[qa:qa + 7] = model.qpos0[qa:qa + 7]
        data.qpos[self._jq] = 0.0
        data.qvel[da:da + 6] = 0.0
        data.qvel[self._jd] = 0.0
        data.ctrl[self._a0:self._a1] = 0.0

    def place(self, data: mujoco.MjData, x: float, y: float, ground_z: float,
              yaw_rad: float = 0.0) -> None:
        """Put the chassis (after ``reset``) with its wheels on ``ground_z`` at (x, y), world m.

        On uneven ground pass the highest terrain under the 2.8 m x 2.7 m footprint.
        """
        c, qa = self.cfg, self._qa
        data.qpos[qa:qa + 3] = (x, y, ground_z + c.chassis_height_m + c.spawn_clearance_m)
        data.qpos[qa + 3:qa + 7] = (math.cos(yaw_rad / 2), 0.0, 0.0, math.sin(yaw_rad / 2))

    def apply_action(self, model: mujoco.MjModel, data: mujoco.MjData, action: np.ndarray) -> None:
        """Map (lin_vel, ang_vel) in [-1, 1] (clipped) to steer targets and wheel speeds."""
        if len(action) != 2:
            raise ValueError(f"rover action: expected 2 values (lin_vel, ang_vel), "
                             f"got {len(action)}")
        a0, a1 = float(action[0]), float(action[1])
        if not (math.isfinite(a0) and math.isfinite(a1)):
            raise ValueError(f"rover action must be finite, got {action!r}")
        c = self.cfg
        v = min(max(a0, -1.0), 1.0) * c.max_lin_vel_mps
        w = min(max(a1, -1.0), 1.0) * c.max_ang_vel_radps
        steer, speed, ctrl = self._steer, self._speed, self._ctrl
        ackermann(v, w, self.wheel_xy, self.steerable, c.max_steer_rad, steer, speed)
        inv_r = self._inv_r
        for i in range(6):
            ctrl[i] = speed[i] * inv_r
        for k, i in enumerate(self._steer_idx):
            ctrl[6 + k] = steer[i]
        data.ctrl[self._a0:self._a1] = ctrl

    def observe(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, np.ndarray]:
        """Proprioception, float32; velocities in the chassis frame (m/s, rad/s)."""
        qa, da = self._qa, self._da
        q, dq = data.qpos, data.qvel
        quat = q[qa + 3:qa + 7]
        mujoco.mju_negQuat(self._quat_inv, quat)
        mujoco.mju_rotVecQuat(self._vel, dq[da:da + 3], self._quat_inv)   # world -> chassis
        f32 = np.float32
        return {
            "base_pos": q[qa:qa + 3].astype(f32),
            "base_quat": quat.astype(f32),
            "base_lin_vel": self._vel.astype(f32),
            "base_ang_vel": dq[da + 3:da + 6].astype(f32),    # free joint: already chassis frame
            "wheel_vel": dq[self._wheel_d].astype(f32),
            "steer_pos": q[self._steer_q].astype(f32),
            "rocker_bogie": q[self._susp_q].astype(f32),
        }

    # ----------------------------------------------------------------- batched (n worlds)
    def control_batch(self, v, actions: np.ndarray) -> None:
        """:meth:`apply_action` for every world of a BatchView ``v``: actions (n, 2) in [-1, 1]."""
        c = self.cfg
        # float32 speed limits: action x limit rounds to float32, as numpy does for the float32
        # actions of the per-env path
        limits = np.array([c.max_lin_vel_mps, c.max_ang_vel_radps], np.float32)
        ackermann_control(actions, v.ctrl, self._xy, self._steers,
                          np.asarray(self._steer_cols, np.int64), limits, c.max_steer_rad,
                          self._inv_r, int(self._a0))

    def observe_batch(self, v) -> dict[str, np.ndarray]:
        """:meth:`observe` of every world, (n, ...) float32."""
        qa, da = self._qa, self._da
        quat = v.qpos[:, qa + 3:qa + 7]
        f32 = np.float32
        return {
            "base_pos": v.qpos[:, qa:qa + 3].astype(f32),
            "base_quat": quat.astype(f32),
            "base_lin_vel": rotate_inverse(quat, v.qvel[:, da:da + 3]).astype(f32),
            "base_ang_vel": v.qvel[:, da + 3:da + 6].astype(f32),
            "wheel_vel": v.qvel[:, self._wheel_d].astype(f32),
            "steer_pos": v.qpos[:, self._steer_q].astype(f32),
            "rocker_bogie": v.qpos[:, self._susp_q].astype(f32),
        }

    def joint_state_batch(self, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`joint_state` of every world, each (n, 14)."""
        return v.qpos[:, self._jq], v.qvel[:, self._jd], v.qfrc_actuator[:, self._jd]

    def base_pose_batch(self, v) -> tuple[np.ndarray, np.ndarray]:
        """Chassis positions (n, 3) m and quaternions (n, 4) wxyz, world frame."""
        return v.qpos[:, self._qa:self._qa + 3], v.qpos[:, self._qa + 3:self._qa + 7]

    def observation_space(self) -> dict[str, gym.spaces.Box]:
        def box(n: int, bound: float = np.inf) -> gym.spaces.Box:
            return gym.spaces.Box(-bound, bound, shape=(n,), dtype=np.float32)

        return {"base_pos": box(3), "base_quat": box(4, 1.0), "base_lin_vel": box(3),
                "base_ang_vel": box(3), "wheel_vel": box(6), "steer_pos": box(4),
                "rocker_bogie": box(4)}

    def joint_state(self, model: mujoco.MjModel, data: mujoco.MjData
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position rad, velocity rad/s, actuator effort N m) in ``joint_names`` order."""
        return data.qpos[self._jq].copy(), data.qvel[self._jd].copy(), \
            data.qfrc_actuator[self._jd].copy()

    def base_pose(self, model: mujoco.MjModel, data: mujoco.MjData
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Chassis (xyz m, quat wxyz) in the world frame."""
        qa = self._qa
        return data.qpos[qa:qa + 3].copy(), data.qpos[qa + 3:qa + 7].copy()


# --------------------------------------------------------------------- helpers
def _bits(geom: mujoco.MjsGeom, contype: int) -> None:
    """Robot collision bits: ``ROBOT`` touches ground and objects, never other robot parts."""
    geom.contype = contype
    geom.conaffinity = (GROUND | OBJECT) if contype else 0


def _visual(body, name: str, gtype, size, *, mass: float = 0.0, **kw) -> mujoco.MjsGeom:
    """A non-colliding geom; ``mass`` kg (0: massless decoration)."""
    geom = body.add_geom(name=name, type=gtype, size=size, group=VISUAL_GROUP,
                         rgba=(0.75, 0.75, 0.72, 1), mass=mass, **kw)
    if mass == 0.0:
        geom.density = 0.0
    _bits(geom, 0)
    return geom


def _limits(act: mujoco.MjsActuator, ctrl_max: float, force_max: float) -> None:
    act.ctrllimited = act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    act.ctrlrange = (-ctrl_max, ctrl_max)
    act.forcerange = (-force_max, force_max)


def _pitched_down(angle_rad: float) -> tuple[float, float, float, float]:
    """Camera-convention site quat looking along chassis +x, tilted down by ``angle_rad``."""
    tilt = np.array([math.cos(angle_rad / 2), 0.0, math.sin(angle_rad / 2), 0.0])  # about +y
    out = np.zeros(4)
    mujoco.mju_mulQuat(out, tilt, np.array(_CAM_LEVEL))
    return tuple(out)


@njit
def ackermann_control(actions, ctrl, wheel_xy, steers, steer_cols, limits, max_steer, inv_r, a0):
    """:meth:`Rover.apply_action` for every world, in place: the (forward speed, turn rate)
    action to each wheel's steering angle and rolling speed (each wheel's contact point moves
    as the chassis twist says), for actuators ``a0 .. a0 + 5`` (wheels) and then the steering
    servos of ``steer_cols``.

    Args:
        actions: (n, 2) in [-1, 1]. ctrl: the batch's bound (n, nu) array, written.
        wheel_xy: (6, 2) contact points, chassis frame, m. steers: (6,) 1 where a wheel steers.
        limits: (speed m/s, turn rate rad/s) at action 1, float32. max_steer: rad.
        inv_r: 1 / wheel radius, 1/m.
    """
    steer = np.empty(6)
    for i in range(actions.shape[0]):
        lin, ang = actions[i, 0] * limits[0], actions[i, 1] * limits[1]  # m/s, rad/s
        for w in range(6):
            ux, uy = lin - ang * wheel_xy[w, 1], ang * wheel_xy[w, 0]  # contact point velocity
            angle = math.atan2(uy, ux)
            if angle > 0.5 * math.pi:
                angle -= math.pi
            if angle <= -0.5 * math.pi:
                angle += math.pi
            angle = min(max(angle, -max_steer), max_steer) * steers[w]
            steer[w] = angle
            ctrl[i, a0 + w] = (ux * math.cos(angle) + uy * math.sin(angle)) * inv_r
        for k in range(steer_cols.shape[0]):
            ctrl[i, a0 + 6 + k] = steer[steer_cols[k]]
