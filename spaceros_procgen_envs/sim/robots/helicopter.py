"""A coaxial Mars helicopter (Ingenuity-sized: 1.8 kg, two counter-rotating 1.2 m rotors,
0.49 m tall, four legs) with a velocity-command flight controller.

Model: a free-floating base body (fuselage, legs, feet, mast, solar panel) carrying two visual
rotor bodies on hinges that spin slowly for the viewer. Aerodynamics is reduced to what a
coaxial with a swashplate delivers to a velocity-commanded agent: a collective thrust along
body +z and bounded body torques, applied by ``mjTRN_SITE`` actuators on the rotor hub. No
drag is modelled (the velocity loop damps). Feet contacts are overdamped (damping ratio 2,
standing in for the legs' dampers), so a 1 m/s touchdown does not bounce, even on an asteroid.

Control, once per 50 Hz step in ``apply_action`` (pure-Python scalars, ~9 us):

    velocity error of the CoM (heading frame) -> desired acceleration (clipped)
    -> desired force F = m (a - g), tilt-limited (g read from ``model.opt.gravity``)
    -> collective thrust T = F . z_body, and tilt error z_body x F/|F| -> body-rate setpoints
    -> body-rate servos *inside MuJoCo* (velocity actuators: every 5 ms, implicit damping),
       which is what keeps the 50 Hz outer loop stable.

Ground logic (Python state, cleared by ``reset``): the helicopter starts ``landed`` (thrust
0, rotors idle, horizontal/yaw commands ignored) and takes off when action vz exceeds
``takeoff_vz_frac``; it is ``landed`` again once a descent is commanded while it touches
something and no longer descends, so it rests on the ground instead of hovering on it.

Thrust is never negative: in low gravity the helicopter can accelerate down at most at
(1 - ``min_thrust_frac``) g and sideways at about g tan(``max_tilt_rad``) in level flight, so
on an asteroid (0.14 m/s^2) it flies but changes velocity slowly. That is physics, not a bug.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium as gym
import mujoco
import numpy as np

from ..scene import GROUND, OBJECT, ROBOT, VISUAL_GROUP
from .base import CONTROL_HZ, CameraMount, KeyBinding, TwistAxis
from .helicopter_batch import flight_control, flight_params

_SITE, _JOINT = mujoco.mjtTrn.mjTRN_SITE, mujoco.mjtTrn.mjTRN_JOINT
_BOX, _CAPSULE, _CYLINDER, _SPHERE = (mujoco.mjtGeom.mjGEOM_BOX, mujoco.mjtGeom.mjGEOM_CAPSULE,
                                      mujoco.mjtGeom.mjGEOM_CYLINDER, mujoco.mjtGeom.mjGEOM_SPHERE)
# Camera mount orientations (MuJoCo camera convention: view along -z, image up = +y).
_QUAT_LOOK_DOWN = (0.70710678, 0.0, 0.0, -0.70710678)  # image up = body +x (forward)
_QUAT_LOOK_FORWARD = (0.5, 0.5, -0.5, -0.5)            # view along body +x, image up = body +z
_SITE_GROUP = 4  # mounts and the hub are not drawn by default (viewer groups 0-2)
_GOLD, _GREY, _DARK = (0.80, 0.62, 0.25, 1.0), (0.55, 0.55, 0.57, 1.0), (0.12, 0.12, 0.14, 1.0)


@dataclass(frozen=True)
class HelicopterCfg:
    """Size, limits and controller gains of the helicopter.

    Thrust budget: ``max_thrust_to_weight`` is relative to the local gravity, but never less
    than the Mars budget: max thrust = ratio * mass * clip(|g|, thrust_ref_gravity_mps2,
    max_gravity_mps2). On Mars that is 2 x weight (13.4 N); on the Moon or an asteroid the
    same Mars rotor gives 4.6x / 52x weight; on Earth the rotor is scaled up to 2 x weight
    (35.3 N) so the same task flies in every ground domain.

    Attributes:
        mass_kg: total mass (fuselage, legs, mast, panel and both rotors).
        rotor_radius_m: blade tip radius of both rotors.
        rotor_mass_kg: mass of one rotor (blades + hub), part of ``mass_kg``.
        rotor_gap_m: vertical spacing between the lower and upper rotor.
        max_thrust_to_weight: collective thrust limit / weight (see above).
        thrust_ref_gravity_mps2: gravity the rotor is sized for (Mars).
        max_gravity_mps2: heaviest gravity supported (Earth); bounds the thrust actuator.
        max_vel_xy_mps: horizontal speed at action +-1, per axis, heading frame.
        max_vel_z_mps: vertical speed at action +-1 (world z).
        max_yaw_rate_radps: yaw rate at action +-1 (+ = counter-clockwise seen from above).
        max_accel_mps2: bound on the commanded acceleration norm, per axis group.
        max_tilt_rad: bound on the commanded tilt of the thrust axis from vertical.
        min_thrust_frac: in flight, thrust never drops below this fraction of weight.
        kv_xy, kv_z: velocity-loop gains, (m/s^2) per (m/s).
        k_att: tilt-error gain, (rad/s) of body rate per rad of tilt error.
        k_rate_rp, k_rate_yaw: body-rate servo gains, N m per (rad/s) (MuJoCo actuators).
        max_torque_rp_nm, max_torque_yaw_nm: roll/pitch and yaw torque limits.
        max_rate_radps: bound on the body-rate setpoints.
        rotor_visual_speed_radps: rotor spin in flight; visual only (the real ~2500 rpm
            would alias at 50 frames/s).
        takeoff_vz_frac: a landed helicopter takes off when action vz exceeds this.
        land_detect_s: a descent command, vertical speed above -``land_speed_mps`` and a
            contact of the feet or fuselage, all for this long, mean touchdown.
        land_speed_mps: see ``land_detect_s``.
    """

    mass_kg: float = 1.8
    rotor_radius_m: float = 0.6
    rotor_mass_kg: float = 0.08
    rotor_gap_m: float = 0.08
    max_thrust_to_weight: float = 2.0
    thrust_ref_gravity_mps2: float = 3.72076
    max_gravity_mps2: float = 9.80665
    max_vel_xy_mps: float = 2.0
    max_vel_z_mps: float = 1.0
    max_yaw_rate_radps: float = 0.8
    max_accel_mps2: float = 3.0
    max_tilt_rad: float = math.radians(25.0)
    min_thrust_frac: float = 0.1
    kv_xy: float = 1.5
    kv_z: float = 3.0
    k_att: float = 6.0
    k_rate_rp: float = 0.6
    k_rate_yaw: float = 0.3
    max_torque_rp_nm: float = 0.6
    max_torque_yaw_nm: float = 0.2
    max_rate_radps: float = 3.0
    rotor_visual_speed_radps: float = 12.0
    takeoff_vz_frac: float = 0.1
    land_detect_s: float = 0.2
    land_speed_mps: float = 0.05


# Body frame: origin at the fuselage centre, x forward, z up (metres).
_FUSELAGE_HALF = (0.068, 0.0975, 0.0815)
_FOOT_RADIUS = 0.02
_FOOT_XY = 0.212               # feet at (+-x, +-y): 0.30 m from the axis
_FOOT_Z = -0.1915              # foot centres; fuselage bottom 0.13 m above the ground
_CLEARANCE = -(_FOOT_Z - _FOOT_RADIUS) + 1e-3  # body origin height above flat ground
_LOWER_ROTOR_Z = 0.13
_PANEL_HALF = (0.0825, 0.2125, 0.005)  # 0.165 x 0.425 m solar panel on the mast top
_LEG_MASS, _FOOT_MASS, _MAST_MASS, _PANEL_MASS = 0.03, 0.005, 0.1, 0.1


class Helicopter:
    """Coaxial helicopter; actions ``(vx, vy, vz, yaw_rate)`` in [-1, 1].

    ``vx``/``vy`` are horizontal velocities in the *heading frame* (world frame rotated by the
    current yaw only: +vx = forward, +vy = left), ``vz`` is along world +z, ``yaw_rate`` is
    positive counter-clockwise seen from above. Each is scaled by its ``HelicopterCfg`` max.

    Example::

        heli = Helicopter()
        spec = mujoco.MjSpec(); spec.option.gravity = (0, 0, -3.72076)
        heli.attach(spec, spec.worldbody, pos=(0, 0, 0))
        model = spec.compile(); data = mujoco.MjData(model)
        heli.bind(model); heli.reset(model, data, np.random.default_rng(0))
        heli.apply_action(model, data, np.array([0, 0, 1, 0], np.float32))  # climb 1 m/s
        mujoco.mj_step(model, data, nstep=4)
    """

    kind = "multicopter"
    action_names = ("vx", "vy", "vz", "yaw_rate")
    # A twist in the heading frame (yaw only), vz along world z.
    twist_axes = (TwistAxis("vx", "linear.x", "max_vel_xy_mps"),
                  TwistAxis("vy", "linear.y", "max_vel_xy_mps"),
                  TwistAxis("vz", "linear.z", "max_vel_z_mps"),
                  TwistAxis("yaw_rate", "angular.z", "max_yaw_rate_radps"))
    key_bindings = (KeyBinding("w", "s", "linear.x", "forward / back"),
                    KeyBinding("a", "d", "linear.y", "left / right"),
                    KeyBinding("q", "e", "linear.z", "up / down"),
                    KeyBinding("c", "v", "angular.z", "yaw left / right"))
    gripper_action = gripper_key = None
    camera_mounts = (CameraMount("bottom", site="camera_mount_bottom", fovy_deg=90.0),)
    root_body, chase_eye_m, view_distance_m = "base", (-3.0, -2.0, 1.6), 5.0

    def __init__(self, cfg: HelicopterCfg = HelicopterCfg(), prefix: str = "robot/"):
        self.cfg, self.prefix = cfg, prefix
        self.joint_names = (f"{prefix}rotor_lower", f"{prefix}rotor_upper")
        self.landed = True  # thrust off on the ground until a climb is commanded
        self._land_steps = 0

    # ---------------------------------------------------------------- building
    def attach(self, spec: mujoco.MjSpec, parent: mujoco.MjsBody,
               pos: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
        """Add the helicopter, landed with its feet on ground height ``pos[2]``."""
        p = self.prefix
        base = parent.add_body(name=f"{p}base", pos=(pos[0], pos[1], pos[2] + _CLEARANCE))
        base.add_freejoint(name=f"{p}root")
        self._add_airframe(base)
        hub_z = _LOWER_ROTOR_Z + 0.5 * self.cfg.rotor_gap_m
        base.add_site(name=f"{p}rotor_hub", pos=(0, 0, hub_z), size=(0.01, 0, 0),
                      group=_SITE_GROUP)
        base.add_site(name=f"{p}camera_mount_bottom", pos=(0, 0, -_FUSELAGE_HALF[2] - 0.005),
                      quat=_QUAT_LOOK_DOWN, size=(0.01, 0, 0), group=_SITE_GROUP)
        base.add_site(name=f"{p}camera_mount_front", pos=(_FUSELAGE_HALF[0] + 0.005, 0, 0.03),
                      quat=_QUAT_LOOK_FORWARD, size=(0.01, 0, 0), group=_SITE_GROUP)
        for k, name in enumerate(("lower", "upper")):
            self._add_rotor(base, name, _LOWER_ROTOR_Z + k * self.cfg.rotor_gap_m)
        self._add_actuators(spec)
        # Contacts of the airframe (feet, fuselage: the only colliders) in the last substep.
        touch = spec.add_sensor(name=f"{p}touch", type=mujoco.mjtSensor.mjSENS_CONTACT,
                                objtype=mujoco.mjtObj.mjOBJ_XBODY, objname=f"{p}base")
        touch.intprm[0], touch.intprm[1], touch.intprm[2] = 1, 0, 1  # "found", no reduction, 1

    def _add_airframe(self, base: mujoco.MjsBody) -> None:
        p, c = self.prefix, self.cfg
        fuselage_mass = (c.mass_kg - 2 * c.rotor_mass_kg - 4 * (_LEG_MASS + _FOOT_MASS)
                         - _MAST_MASS - _PANEL_MASS)
        _collider(base.add_geom(name=f"{p}fuselage", type=_BOX, size=_FUSELAGE_HALF,
                                mass=fuselage_mass), _GOLD)
        for i, (sx, sy) in enumerate(((1, 1), (-1, 1), (-1, -1), (1, -1))):
            top = (0.05 * sx, 0.05 * sy, -0.05)
            foot = (_FOOT_XY * sx, _FOOT_XY * sy, _FOOT_Z)
            leg = base.add_geom(name=f"{p}leg{i}", type=_CAPSULE, size=(0.008, 0, 0),
                                fromto=(*top, *foot), mass=_LEG_MASS)
            _visual(leg, _GREY)
            pad = base.add_geom(name=f"{p}foot{i}", type=_SPHERE, size=(_FOOT_RADIUS, 0, 0),
                                pos=foot, mass=_FOOT_MASS)
            _collider(pad, _DARK)
        mast_top = _LOWER_ROTOR_Z + c.rotor_gap_m + 0.04
        mast = base.add_geom(name=f"{p}mast", type=_CYLINDER, size=(0.015, 0, 0),
                             fromto=(0, 0, _FUSELAGE_HALF[2], 0, 0, mast_top), mass=_MAST_MASS)
        _visual(mast, _GREY)
        panel = base.add_geom(name=f"{p}solar_panel", type=_BOX, size=_PANEL_HALF,
                              pos=(0, 0, mast_top + _PANEL_HALF[2]), mass=_PANEL_MASS)
        _visual(panel, (0.10, 0.14, 0.30, 1.0))

    def _add_rotor(self, base: mujoco.MjsBody, name: str, z: float) -> None:
        """A rotor body on a hinge about body z: a translucent disc plus one two-blade bar.
        Axisymmetric inertia (a bar of length 2R about its centre), so the spin never wobbles."""
        p, c = self.prefix, self.cfg
        rotor = base.add_body(name=f"{p}rotor_{name}", pos=(0, 0, z))
        rotor.explicitinertial = True
        rotor.mass = c.rotor_mass_kg
        rotor.inertia = (0.5 * _spin_inertia(c), 0.5 * _spin_inertia(c), _spin_inertia(c))
        rotor.add_joint(name=f"{p}rotor_{name}", type=mujoco.mjtJoint.mjJNT_HINGE, axis=(0, 0, 1))
        _visual(rotor.add_geom(name=f"{p}rotor_{name}_disc", type=_CYLINDER,
                               size=(c.rotor_radius_m, 0.002, 0)), (0.7, 0.7, 0.7, 0.15))
        _visual(rotor.add_geom(name=f"{p}rotor_{name}_blades", type=_BOX,
                               size=(c.rotor_radius_m, 0.035, 0.004)), _DARK)

    def _add_actuators(self, spec: mujoco.MjSpec) -> None:
        """Thrust (N, along hub z), three body-rate servos (rad/s setpoints, torque-limited)
        and two rotor spin servos, in that order (contiguous actuator ids)."""
        p, c = self.prefix, self.cfg
        t_max = c.max_thrust_to_weight * c.mass_kg * c.max_gravity_mps2
        thrust = spec.add_actuator(name=f"{p}thrust", trntype=_SITE, target=f"{p}rotor_hub",
                                   gear=(0, 0, 1, 0, 0, 0), ctrllimited=True, ctrlrange=(0, t_max))
        thrust.set_to_motor()
        rp, yaw = (c.k_rate_rp, c.max_torque_rp_nm), (c.k_rate_yaw, c.max_torque_yaw_nm)
        for gear, name, (kv, tau) in (((0, 0, 0, 1, 0, 0), "roll", rp),
                                      ((0, 0, 0, 0, 1, 0), "pitch", rp),
                                      ((0, 0, 0, 0, 0, 1), "yaw", yaw)):
            servo = spec.add_actuator(name=f"{p}rate_{name}", trntype=_SITE,
                                      target=f"{p}rotor_hub", gear=gear, ctrllimited=True,
                                      ctrlrange=(-c.max_rate_radps, c.max_rate_radps),
                                      forcelimited=True, forcerange=(-tau, tau))
            servo.set_to_velocity(kv)  # torque = kv (setpoint - body rate), N m
        spin_kv = _spin_inertia(c) / 0.5  # N m per (rad/s): spin-up time constant 0.5 s
        for name in ("lower", "upper"):
            spec.add_actuator(name=f"{p}spin_{name}", target=f"{p}rotor_{name}",
                              trntype=_JOINT).set_to_velocity(spin_kv)

    # ---------------------------------------------------------------- runtime
    def bind(self, model: mujoco.MjModel) -> None:
        """Cache qpos/qvel/actuator addresses of this helicopter in ``model``."""
        p = self.prefix
        root = model.joint(f"{p}root")
        self._qadr, self._vadr = int(root.qposadr[0]), int(root.dofadr[0])
        self._act0 = model.actuator(f"{p}thrust").id
        names = [f"{p}{n}" for n in ("thrust", "rate_roll", "rate_pitch", "rate_yaw",
                                     "spin_lower", "spin_upper")]
        if [model.actuator(n).id for n in names] != list(range(self._act0, self._act0 + 6)):
            raise ValueError(f"actuators {names} must be contiguous; add nothing between them")
        rotors = [model.joint(n) for n in self.joint_names]
        self._rotor_q = np.array([int(j.qposadr[0]) for j in rotors])
        self._rotor_v = np.array([int(j.dofadr[0]) for j in rotors])
        base = model.body(f"{p}base").id
        self._mass = float(model.body_subtreemass[base])
        rotor_ids = [model.body(f"{p}rotor_{n}").id for n in ("lower", "upper")]
        moment = model.body_mass[base] * model.body_ipos[base, 2] + sum(
            model.body_mass[b] * (model.body_pos[b, 2] + model.body_ipos[b, 2]) for b in rotor_ids)
        self._com_z = float(moment) / self._mass  # CoM height above the base origin (on body z), m
        self._t_hard = float(model.actuator_ctrlrange[self._act0, 1])
        self._touch = int(model.sensor(f"{p}touch").adr[0])
        self._batch_index = np.array([self._qadr, self._vadr, self._act0, self._touch])
        self._colliders = np.zeros(model.ngeom, bool)  # geoms whose contact means touchdown
        for name in ("fuselage", "foot0", "foot1", "foot2", "foot3"):
            self._colliders[model.geom(f"{p}{name}").id] = True

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        """Landed at the spawn pose, at rest, rotors idle (``rng`` is unused: the task draws
        spawn poses)."""
        q, v = self._qadr, self._vadr
        data.qpos[q:q + 7] = model.qpos0[q:q + 7]
        data.qvel[v:v + 6] = 0.0
        data.qpos[self._rotor_q] = 0.0
        data.qvel[self._rotor_v] = 0.0
        data.ctrl[self._act0:self._act0 + 6] = 0.0
        self.landed, self._land_steps = True, 0

    def apply_action(self, model: mujoco.MjModel, data: mujoco.MjData, action: np.ndarray) -> None:
        """Run the flight controller once (50 Hz) and write the actuator setpoints."""
        c = self.cfg
        ax, ay, az, ar = (min(1.0, max(-1.0, x)) for x in np.asarray(action, float).tolist())
        q = data.qpos[self._qadr + 3:self._qadr + 7].tolist()  # wxyz
        vel = data.qvel[self._vadr:self._vadr + 6].tolist()    # world lin, body ang
        vz_cmd = az * c.max_vel_z_mps
        if self._update_landed(data, az, vz_cmd, vel[2]):
            # On the ground: no thrust, rate servos track the current rates (~zero torque).
            data.ctrl[self._act0:self._act0 + 6] = (0.0, vel[3], vel[4], vel[5], 0.0, 0.0)
            return
        gx, gy, gz = model.opt.gravity.tolist()
        g = math.sqrt(gx * gx + gy * gy + gz * gz)
        t_max = min(self._t_hard, c.max_thrust_to_weight * self._mass
                    * min(max(g, c.thrust_ref_gravity_mps2), c.max_gravity_mps2))
        zb, xb, yb = _body_axes(*q)
        # Velocity of the centre of mass (world): v_origin + R (w_body x com_offset). Using the
        # origin's velocity instead feeds tilt rates back as fake velocity (unstable in low g).
        cx, cy = self._com_z * vel[4], -self._com_z * vel[3]
        v_com = tuple(vel[i] + cx * xb[i] + cy * yb[i] for i in range(3))
        fx, fy, fz = self._desired_force(ax, ay, vz_cmd, v_com, xb, g, (gx, gy, gz))
        thrust = min(t_max, max(0.0, fx * zb[0] + fy * zb[1] + fz * zb[2]))
        p_des, q_des = self._tilt_rates(fx, fy, fz, zb, xb, yb)
        spin = c.rotor_visual_speed_radps  # lower rotor counter-clockwise seen from above
        data.ctrl[self._act0:self._act0 + 6] = (thrust, p_des, q_des, ar * c.max_yaw_rate_radps,
                                                spin, -spin)

    def _update_landed(self, data: mujoco.MjData, az: float, vz_cmd: float, vz: float) -> bool:
        """Takeoff on a climb command; touchdown when a descent is commanded but the
        helicopter has stopped descending while touching something, for ``land_detect_s``."""
        c = self.cfg
        if self.landed:
            self.landed = az <= c.takeoff_vz_frac
            self._land_steps = 0
            return self.landed
        stalled = (vz_cmd < -c.takeoff_vz_frac * c.max_vel_z_mps and vz > -c.land_speed_mps
                   and self._touching(data))
        self._land_steps = self._land_steps + 1 if stalled else 0
        self.landed = self._land_steps >= c.land_detect_s * CONTROL_HZ
        return self.landed

    def _touching(self, data: mujoco.MjData) -> bool:
        """Whether a foot or the fuselage is in contact (run only when a touchdown is likely)."""
        return data.ncon > 0 and bool(self._colliders[data.contact.geom].any())

    def _desired_force(self, ax, ay, vz_cmd, vel, xb, g, grav):
        """World force (N) the rotors should produce: m (a_des - gravity), tilt-limited."""
        c, m = self.cfg, self._mass
        h = math.hypot(xb[0], xb[1])
        cy, sy = (xb[0] / h, xb[1] / h) if h > 1e-6 else (1.0, 0.0)  # heading cos/sin
        vx_h, vy_h = ax * c.max_vel_xy_mps, ay * c.max_vel_xy_mps
        ex = cy * vx_h - sy * vy_h - vel[0]  # world-frame velocity errors, m/s
        ey = sy * vx_h + cy * vy_h - vel[1]
        a_x, a_y = c.kv_xy * ex, c.kv_xy * ey
        a_h = math.hypot(a_x, a_y)
        if a_h > c.max_accel_mps2:
            a_x, a_y = a_x * c.max_accel_mps2 / a_h, a_y * c.max_accel_mps2 / a_h
        a_z = min(c.max_accel_mps2, max(-(1.0 - c.min_thrust_frac) * g,
                                        c.kv_z * (vz_cmd - vel[2])))
        fx, fy, fz = m * (a_x - grav[0]), m * (a_y - grav[1]), m * (a_z - grav[2])
        f_h, f_h_max = math.hypot(fx, fy), max(fz, 0.0) * math.tan(c.max_tilt_rad)
        if f_h > f_h_max:
            scale = f_h_max / f_h
            fx, fy = fx * scale, fy * scale
        return fx, fy, fz

    def _tilt_rates(self, fx, fy, fz, zb, xb, yb):
        """Body roll/pitch rate setpoints (rad/s) turning z_body towards the force direction."""
        norm = math.sqrt(fx * fx + fy * fy + fz * fz)
        if norm < 1e-9:
            return 0.0, 0.0
        dx, dy, dz = fx / norm, fy / norm, fz / norm
        # e = z_body x z_des (world), expressed in the body frame (its z part is 0).
        ex = zb[1] * dz - zb[2] * dy
        ey = zb[2] * dx - zb[0] * dz
        ez = zb[0] * dy - zb[1] * dx
        k, lim = self.cfg.k_att, self.cfg.max_rate_radps
        p = k * (xb[0] * ex + xb[1] * ey + xb[2] * ez)
        q = k * (yb[0] * ex + yb[1] * ey + yb[2] * ez)
        return min(lim, max(-lim, p)), min(lim, max(-lim, q))

    def observe(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, np.ndarray]:
        """Base state: position (world m), quaternion (wxyz), linear velocity (world m/s),
        angular velocity (body rad/s), and the applied collective thrust (N)."""
        q, v = self._qadr, self._vadr
        return {
            "base_pos": data.qpos[q:q + 3].astype(np.float32),
            "base_quat": data.qpos[q + 3:q + 7].astype(np.float32),
            "base_lin_vel": data.qvel[v:v + 3].astype(np.float32),
            "base_ang_vel": data.qvel[v + 3:v + 6].astype(np.float32),
            "thrust": data.actuator_force[self._act0:self._act0 + 1].astype(np.float32),
        }

    # ----------------------------------------------------------------- batched (n worlds)
    def episode_state(self) -> dict[str, np.ndarray]:
        """The controller's ground logic as explicit per-env state (after :meth:`reset`)."""
        return {"landed": np.array(self.landed), "land_steps": np.array(self._land_steps)}

    def control_batch(self, v, actions: np.ndarray) -> None:
        """:meth:`apply_action` for every world of a BatchView ``v``: actions (n, 4) in [-1, 1];
        reads and updates ``v.episode["landed"]`` and ``v.episode["land_steps"]``
        (:func:`~.helicopter_batch.flight_control`, one compiled loop over the worlds)."""
        ep = v.episode
        flight_control(actions, v.qpos, v.qvel, v.sensordata, v.ctrl, ep["landed"],
                       ep["land_steps"], self._batch_index, self._flight_params(v.model))

    def _flight_params(self, model: mujoco.MjModel) -> np.ndarray:
        """The controller's constants (:func:`~.helicopter_batch.flight_params`) for the
        gravity of ``model``, computed again only when the gravity changes."""
        key = model.opt.gravity.tolist()
        cached = getattr(self, "_params_cache", None)
        if cached is None or cached[0] != key:
            c, (gx, gy, gz) = self.cfg, key
            g = math.sqrt(gx * gx + gy * gy + gz * gz)
            t_max = min(self._t_hard, c.max_thrust_to_weight * self._mass
                        * min(max(g, c.thrust_ref_gravity_mps2), c.max_gravity_mps2))
            values = {**vars(c), "tan_max_tilt": math.tan(c.max_tilt_rad),
                      "land_detect_steps": c.land_detect_s * CONTROL_HZ, "mass_kg": self._mass,
                      "com_z_m": self._com_z, "g_mps2": g, "gx": gx, "gy": gy, "gz": gz,
                      "max_thrust_n": t_max}
            cached = self._params_cache = (key, flight_params(values))
        return cached[1]

    def observe_batch(self, v) -> dict[str, np.ndarray]:
        """:meth:`observe` of every world, (n, ...) float32."""
        q, d = self._qadr, self._vadr
        return {
            "base_pos": v.qpos[:, q:q + 3].astype(np.float32),
            "base_quat": v.qpos[:, q + 3:q + 7].astype(np.float32),
            "base_lin_vel": v.qvel[:, d:d + 3].astype(np.float32),
            "base_ang_vel": v.qvel[:, d + 3:d + 6].astype(np.float32),
            "thrust": v.field("actuator_force")[:, self._act0:self._act0 + 1].astype(np.float32),
        }

    def joint_state_batch(self, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`joint_state` of every world, each (n, 2)."""
        return (v.qpos[:, self._rotor_q], v.qvel[:, self._rotor_v],
                v.field("actuator_force")[:, self._act0 + 4:self._act0 + 6])

    def base_pose_batch(self, v) -> tuple[np.ndarray, np.ndarray]:
        """Base positions (n, 3) m and quaternions (n, 4) wxyz, world frame."""
        return v.qpos[:, self._qadr:self._qadr + 3], v.qpos[:, self._qadr + 3:self._qadr + 7]

    def observation_space(self) -> dict[str, gym.spaces.Box]:
        t_max = self.cfg.max_thrust_to_weight * self.cfg.mass_kg * self.cfg.max_gravity_mps2
        return {
            "base_pos": _box(-np.inf, np.inf, 3),
            "base_quat": _box(-1.0, 1.0, 4),
            "base_lin_vel": _box(-np.inf, np.inf, 3),
            "base_ang_vel": _box(-np.inf, np.inf, 3),
            "thrust": _box(0.0, t_max, 1),
        }

    def joint_state(self, model: mujoco.MjModel, data: mujoco.MjData
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rotor angles (rad), speeds (rad/s), spin-servo torques (N m)."""
        return (data.qpos[self._rotor_q].copy(), data.qvel[self._rotor_v].copy(),
                data.actuator_force[self._act0 + 4:self._act0 + 6].copy())

    def base_pose(self, model: mujoco.MjModel, data: mujoco.MjData
                  ) -> tuple[np.ndarray, np.ndarray]:
        q = self._qadr
        return data.qpos[q:q + 3].copy(), data.qpos[q + 3:q + 7].copy()


def _spin_inertia(c: HelicopterCfg) -> float:
    """Rotor inertia about its shaft, kg m^2: a bar of length 2 R."""
    return c.rotor_mass_kg * (2 * c.rotor_radius_m) ** 2 / 12


def _body_axes(w, x, y, z):
    """Body z, x and y axes in the world frame from a unit quaternion (wxyz)."""
    zb = (2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y))
    xb = (1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y))
    yb = (2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x))
    return zb, xb, yb


def _collider(geom: mujoco.MjsGeom, rgba) -> None:
    """Visible geom that touches the world (terrain, objects) but never the robot itself;
    overdamped contact (time constant 0.02 s, damping ratio 2)."""
    geom.rgba, geom.group = rgba, VISUAL_GROUP
    geom.contype, geom.conaffinity = ROBOT, GROUND | OBJECT
    geom.solref = (0.02, 2.0)


def _visual(geom: mujoco.MjsGeom, rgba) -> None:
    geom.rgba, geom.group = rgba, VISUAL_GROUP
    geom.contype = geom.conaffinity = 0
    if not geom.mass > 0.0:  # unset (NaN): massless decoration; rotor bodies hold their inertia
        geom.density = 0.0


def _box(low: float, high: float, n: int) -> gym.spaces.Box:
    return gym.spaces.Box(low, high, (n,), np.float32)
