"""The helicopter's flight controller over a whole batch, as one compiled loop over the worlds.

The same cascade as :meth:`~.helicopter.Helicopter.apply_action` (velocity error of the CoM
-> clipped acceleration -> tilt-limited force -> collective thrust and body-rate setpoints)
and the same ground logic, with the per-env ``landed`` flag and touchdown counter held in the
batch's episode state. Reads the bound ``qpos``/``qvel``/``sensordata`` arrays and writes
``ctrl`` in place.
"""

from __future__ import annotations

import math

import numpy as np

from ..jit import njit

# Order of the controller's constants in the ``params`` array (see :func:`flight_params`).
PARAMS = ("max_vel_xy_mps", "max_vel_z_mps", "max_yaw_rate_radps", "max_accel_mps2",
          "tan_max_tilt", "min_thrust_frac", "kv_xy", "kv_z", "k_att", "max_rate_radps",
          "takeoff_vz_frac", "land_speed_mps", "land_detect_steps", "mass_kg", "com_z_m",
          "g_mps2", "gx", "gy", "gz", "max_thrust_n", "rotor_visual_speed_radps")


def flight_params(values: dict[str, float]) -> np.ndarray:
    """The ``params`` array of :func:`flight_control` from a dict keyed by :data:`PARAMS`."""
    return np.array([float(values[name]) for name in PARAMS])


@njit
def flight_control(actions, qpos, qvel, sensordata, ctrl, landed, land_steps, index, params):
    """Actuator setpoints of every world from its action, in place.

    Args:
        actions: (n, 4) in [-1, 1]: vx, vy (heading frame), vz, yaw rate.
        qpos, qvel, sensordata, ctrl: the batch's bound (n, ...) arrays (``ctrl`` is written).
        landed: (n,) bool, land_steps: (n,) int: the ground logic's state, updated.
        index: (qpos address of the base, its qvel address, first actuator, touch sensor).
        params: :func:`flight_params`.
    """
    qadr, vadr, a0, touch = index[0], index[1], index[2], index[3]
    max_vel_xy, max_vel_z, max_yaw, max_acc = params[0], params[1], params[2], params[3]
    tan_tilt, min_thrust, kv_xy, kv_z, k_att = params[4], params[5], params[6], params[7], params[8]
    max_rate, takeoff, land_speed, land_detect = params[9], params[10], params[11], params[12]
    mass, com_z, g, gx, gy, gz = params[13], params[14], params[15], params[16], params[17], params[18]
    t_max, spin = params[19], params[20]
    for i in range(actions.shape[0]):
        ax, ay = float(actions[i, 0]), float(actions[i, 1])
        az, ar = float(actions[i, 2]), float(actions[i, 3])
        vz_cmd = az * max_vel_z
        v0, v1, v2 = qvel[i, vadr], qvel[i, vadr + 1], qvel[i, vadr + 2]  # world m/s
        w0, w1, w2 = qvel[i, vadr + 3], qvel[i, vadr + 4], qvel[i, vadr + 5]  # body rad/s
        if landed[i]:
            now, steps = az <= takeoff, 0
        else:
            stalled = (vz_cmd < -takeoff * max_vel_z) and (v2 > -land_speed) and \
                sensordata[i, touch] > 0.0
            steps = land_steps[i] + 1 if stalled else 0
            now = steps >= land_detect
        land_steps[i], landed[i] = steps, now
        if now:  # on the ground: no thrust, rate servos track the current rates (~zero torque)
            ctrl[i, a0], ctrl[i, a0 + 1], ctrl[i, a0 + 2] = 0.0, w0, w1
            ctrl[i, a0 + 3], ctrl[i, a0 + 4], ctrl[i, a0 + 5] = w2, 0.0, 0.0
            continue
        w, x, y, z = qpos[i, qadr + 3], qpos[i, qadr + 4], qpos[i, qadr + 5], qpos[i, qadr + 6]
        zb0, zb1, zb2 = 2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)
        xb0, xb1, xb2 = 1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)
        yb0, yb1, yb2 = 2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)
        cx, cy = com_z * w1, -com_z * w0  # CoM velocity: v_origin + R (w x com offset)
        vc0, vc1, vc2 = v0 + cx * xb0 + cy * yb0, v1 + cx * xb1 + cy * yb1, v2 + cx * xb2 + cy * yb2
        h = math.hypot(xb0, xb1)
        ch, sh = (xb0 / h, xb1 / h) if h > 1e-6 else (1.0, 0.0)  # heading cos / sin
        vx_h, vy_h = ax * max_vel_xy, ay * max_vel_xy
        a_x = kv_xy * (ch * vx_h - sh * vy_h - vc0)  # world-frame accelerations, m/s^2
        a_y = kv_xy * (sh * vx_h + ch * vy_h - vc1)
        a_h = math.hypot(a_x, a_y)
        if a_h > max_acc:
            a_x, a_y = a_x * max_acc / a_h, a_y * max_acc / a_h
        a_z = min(max_acc, max(-(1.0 - min_thrust) * g, kv_z * (vz_cmd - vc2)))
        fx, fy, fz = mass * (a_x - gx), mass * (a_y - gy), mass * (a_z - gz)
        f_h, f_h_max = math.hypot(fx, fy), max(fz, 0.0) * tan_tilt
        if f_h > f_h_max:
            fx, fy = fx * (f_h_max / f_h), fy * (f_h_max / f_h)
        thrust = min(t_max, max(0.0, fx * zb0 + fy * zb1 + fz * zb2))
        norm = math.sqrt(fx * fx + fy * fy + fz * fz)
        roll = pitch = 0.0
        if norm >= 1e-9:  # tilt error z_body x F/|F| (world), in the body frame
            dx, dy, dz = fx / norm, fy / norm, fz / norm
            ex, ey, ez = zb1 * dz - zb2 * dy, zb2 * dx - zb0 * dz, zb0 * dy - zb1 * dx
            roll = min(max_rate, max(-max_rate, k_att * (xb0 * ex + xb1 * ey + xb2 * ez)))
            pitch = min(max_rate, max(-max_rate, k_att * (yb0 * ex + yb1 * ey + yb2 * ez)))
        ctrl[i, a0], ctrl[i, a0 + 1], ctrl[i, a0 + 2] = thrust, roll, pitch
        ctrl[i, a0 + 3], ctrl[i, a0 + 4], ctrl[i, a0 + 5] = ar * max_yaw, spin, -spin
