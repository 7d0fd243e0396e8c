"""ROS message <-> numpy conversions, as plain functions that need no running ROS graph.

Actions are the env's: float32 in [-1, 1], one row per env (values outside are clipped by
the env). A ``geometry_msgs/Twist`` is in SI units (m/s, rad/s) and is scaled by the robot's
own maximum speeds (the ``max_*`` fields of its cfg), so ``linear.x = 0.5`` drives a rover
whose top speed is 1 m/s at half speed. Each robot class states its mapping as data
(``twist_axes`` and ``gripper_action``, see :class:`~..sim.robots.base.TwistAxis`); today's
robots (REP 103 axes, x forward, z up):

=============  ==============================================  ===========================
robot kind     action <- Twist                                 frame
=============  ==============================================  ===========================
rover          lin_vel <- linear.x, ang_vel <- angular.z       rover body (base_link)
multicopter    vx, vy <- linear.x/y, vz <- linear.z,           heading frame (yaw only),
               yaw_rate <- angular.z                           vz along world z
manipulator    TCP (vx, vy, vz, wx, wy, wz) <- linear, angular  world; the gripper comes
                                                               from ``robot/gripper``
=============  ==============================================  ===========================

Example:
    >>> import numpy as np
    >>> from geometry_msgs.msg import Twist
    >>> from spaceros_procgen_envs.sim.robots.rover import Rover
    >>> twist_map(Rover()).values(twist_to_array(Twist()))
    array([0., 0.], dtype=float32)
"""

from __future__ import annotations

import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped, TransformStamped, Twist
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float32MultiArray, MultiArrayDimension, UInt8MultiArray

NS_PER_S = 1_000_000_000


class RejectedMessage(ValueError):
    """An incoming message that cannot become an action.

    Attributes:
        reason: ``non_finite`` or ``wrong_length`` (the key counted in ``envs/info``).
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


# --- commands in --------------------------------------------------------------------------
def twist_to_array(msg: Twist) -> np.ndarray:
    """(linear x, y, z, angular x, y, z) of ``msg`` as float64, m/s and rad/s.

    Raises:
        RejectedMessage: ``non_finite`` when a component is NaN or inf.
    """
    lin, ang = msg.linear, msg.angular
    twist = np.array([lin.x, lin.y, lin.z, ang.x, ang.y, ang.z], np.float64)
    if not np.isfinite(twist).all():
        raise RejectedMessage("non_finite", f"Twist contains NaN or inf: {twist.tolist()}")
    return twist


@dataclass(frozen=True)
class TwistMap:
    """How a twist (m/s, rad/s) becomes action components in [-1, 1] for one robot.

    Attributes:
        kind: robot kind (``rover``, ``multicopter``, ``manipulator``).
        action_index: action components the twist writes.
        twist_index: twist component (0-2 linear x, y, z; 3-5 angular x, y, z) for each.
        max_speed: speed at action 1 for each, m/s or rad/s.
        gripper_index: the gripper's action component, or None (no gripper).
    """

    kind: str
    action_index: tuple[int, ...]
    twist_index: tuple[int, ...]
    max_speed: tuple[float, ...]
    gripper_index: int | None = None

    def values(self, twist: np.ndarray) -> np.ndarray:
        """The action components (``action_index`` order) for a twist array, unclipped."""
        return (np.asarray(twist, np.float64)[list(self.twist_index)]
                / np.asarray(self.max_speed)).astype(np.float32)


def twist_map(robot) -> TwistMap:
    """The :class:`TwistMap` of a robot, read from what its class declares: ``twist_axes``
    (action <- twist component / cfg max speed), ``gripper_action``, ``action_names``, ``kind``;
    the speeds come from the robot's own ``cfg``.

    Raises:
        ValueError: for a robot that declares no ``twist_axes``.
    """
    axes, names = getattr(robot, "twist_axes", ()), tuple(robot.action_names)
    if not axes:
        raise ValueError(f"robot {type(robot).__name__} ({robot.kind}) has no Twist mapping; "
                         "declare twist_axes on its class (see sim/robots/base.py TwistAxis)")
    gripper = getattr(robot, "gripper_action", None)
    return TwistMap(robot.kind, tuple(names.index(a.action) for a in axes),
                    tuple(a.index for a in axes),
                    tuple(getattr(robot.cfg, a.max_speed) for a in axes),
                    names.index(gripper) if gripper else None)


def gripper_value(close: bool) -> float:
    """The gripper action component: +1 closes fully, -1 opens (see
    :func:`~..sim.robots.arm_batch.gripper_target`)."""
    return 1.0 if close else -1.0


def action_rows(data: Sequence[float], action_dim: int, num_envs: int = 1) -> np.ndarray:
    """Rows of actions from a ``Float32MultiArray.data``.

    Args:
        data: the values; ``action_dim`` of them are one action for every env, and
            ``num_envs * action_dim`` (row-major, env first) one action per env.
        action_dim: length of one action.
        num_envs: envs the message addresses (1 for ``env{i}/action``).

    Returns:
        float32 array (1 or num_envs, action_dim); values are not clipped here.

    Raises:
        RejectedMessage: ``wrong_length`` naming the accepted lengths, or ``non_finite``.
    """
    values = np.asarray(data, np.float32).ravel()
    if values.size == action_dim:
        rows = values.reshape(1, action_dim)
    elif num_envs > 1 and values.size == num_envs * action_dim:
        rows = values.reshape(num_envs, action_dim)
    else:
        expected = f"{action_dim}" + (f" (one action for all) or {num_envs * action_dim} "
                                      f"({num_envs} envs x {action_dim})" if num_envs > 1 else "")
        raise RejectedMessage("wrong_length",
                              f"action has {values.size} values, expected {expected}")
    if not np.isfinite(rows).all():
        bad = np.flatnonzero(~np.isfinite(rows).all(axis=1)).tolist()
        where = f" (rows {bad})" if rows.shape[0] > 1 else ""
        raise RejectedMessage("non_finite", f"action contains NaN or inf{where}")
    return rows


def array_msg(values: np.ndarray, labels: Sequence[str] = ("env", "action"),
              msg: Float32MultiArray | UInt8MultiArray | None = None):
    """A ``Float32MultiArray`` (or, passing ``msg``, another ``*MultiArray``) of ``values``
    (1-D or 2-D, row-major); the last ``ndim`` of ``labels`` name its dimensions."""
    arr = np.asarray(values)
    msg = msg if msg is not None else Float32MultiArray()
    stride = arr.size
    for label, size in zip(labels[len(labels) - arr.ndim:], arr.shape):
        msg.layout.dim.append(MultiArrayDimension(label=label, size=size, stride=stride))
        stride //= max(size, 1)
    # An array.array of the right type is taken as it is; a list or bytes would be checked
    # element by element in Python (26 us for 16 x 30 floats instead of 10, with the layout).
    if isinstance(msg, UInt8MultiArray):
        msg.data = array.array("B", arr.astype(np.uint8, copy=False).tobytes())
    else:
        msg.data = array.array("f", arr.astype(np.float32, copy=False).tobytes())
    return msg


def action_msg(actions: np.ndarray) -> Float32MultiArray:
    """The message for ``envs/action`` (env x action rows) or ``env{i}/action`` (one row)."""
    return array_msg(actions, ("env", "action"))


def flags_msg(flags: np.ndarray) -> UInt8MultiArray:
    """``envs/terminated`` / ``envs/truncated``: one byte per env, 1 = true."""
    return array_msg(np.asarray(flags, bool), ("env",), UInt8MultiArray())


def twist_msg(linear: Sequence[float] = (0.0, 0.0, 0.0),
              angular: Sequence[float] = (0.0, 0.0, 0.0)) -> Twist:
    """A ``Twist`` from (x, y, z) linear m/s and angular rad/s."""
    msg = Twist()
    msg.linear.x, msg.linear.y, msg.linear.z = (float(v) for v in linear)
    msg.angular.x, msg.angular.y, msg.angular.z = (float(v) for v in angular)
    return msg


# --- state out -----------------------------------------------------------------------------
def time_msg(ns: int, msg: Time | None = None) -> Time:
    """A ``builtin_interfaces/Time`` for ``ns`` nanoseconds (exact, no float rounding)."""
    msg = msg or Time()
    msg.sec, msg.nanosec = divmod(int(ns), NS_PER_S)
    return msg


def clock_msg(ns: int) -> Clock:
    """A ``rosgraph_msgs/Clock`` holding sim time ``ns`` nanoseconds."""
    msg = Clock()
    time_msg(ns, msg.clock)
    return msg


def joint_names(names: Sequence[str], prefix: str) -> list[str]:
    """Joint names as published: the MuJoCo robot ``prefix`` (``robot/``) stripped, because
    the topic ``env{i}/robot/joint_states`` already says whose joints they are."""
    return [n.removeprefix(prefix) for n in names]


def joint_state_msg(names: Sequence[str], stamp_ns: int, position: np.ndarray,
                    velocity: np.ndarray, effort: np.ndarray,
                    msg: JointState | None = None) -> JointState:
    """A ``JointState`` (rad | m, rad/s | m/s, N m | N); pass ``msg`` to refill one in place."""
    if msg is None:
        msg = JointState()
        msg.name = list(names)
    if not len(position) == len(velocity) == len(effort) == len(msg.name):
        raise ValueError(f"joint state arrays must have {len(msg.name)} entries, got "
                         f"{len(position)}, {len(velocity)}, {len(effort)}")
    time_msg(stamp_ns, msg.header.stamp)
    msg.position, msg.velocity, msg.effort = position.tolist(), velocity.tolist(), effort.tolist()
    return msg


def pose_msg(stamp_ns: int, xyz: np.ndarray, quat_wxyz: np.ndarray, frame_id: str = "world",
             msg: PoseStamped | None = None) -> PoseStamped:
    """A ``PoseStamped`` from a position (m) and a MuJoCo (w, x, y, z) quaternion."""
    msg = msg or PoseStamped()
    msg.header.frame_id = frame_id
    time_msg(stamp_ns, msg.header.stamp)
    p, q = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z = (float(v) for v in xyz)
    q.w, q.x, q.y, q.z = (float(v) for v in quat_wxyz)
    return msg


def transform_msg(stamp_ns: int, parent: str, child: str, xyz: np.ndarray,
                  quat_wxyz: np.ndarray) -> TransformStamped:
    """A ``TransformStamped`` parent -> child (for ``/tf``)."""
    msg = TransformStamped()
    time_msg(stamp_ns, msg.header.stamp)
    msg.header.frame_id, msg.child_frame_id = parent, child
    t, q = msg.transform.translation, msg.transform.rotation
    t.x, t.y, t.z = (float(v) for v in xyz)
    q.w, q.x, q.y, q.z = (float(v) for v in quat_wxyz)
    return msg


_ENCODINGS = {(np.dtype(np.uint8), 1): "mono8", (np.dtype(np.uint8), 3): "rgb8",
              (np.dtype(np.uint8), 4): "rgba8", (np.dtype(np.uint16), 1): "mono16",
              (np.dtype(np.float32), 1): "32FC1"}


def image_msg(pixels: np.ndarray, stamp_ns: int, frame_id: str) -> Image:
    """A ``sensor_msgs/Image`` from (H, W) or (H, W, C) pixels, row step = W * C * itemsize.

    (The reference published mono images with the RGB row step.) uint8 with 1/3/4 channels
    is ``mono8``/``rgb8``/``rgba8``, uint16 ``mono16``, float32 depth ``32FC1``.
    """
    arr = np.ascontiguousarray(pixels)
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    encoding = _ENCODINGS.get((arr.dtype, channels)) if arr.ndim in (2, 3) else None
    if encoding is None:
        raise ValueError(f"image must be (H, W[, C]) uint8 with 1/3/4 channels, uint16 or float32 "
                         f"with 1, got shape {arr.shape} dtype {arr.dtype}")
    msg = Image(height=arr.shape[0], width=arr.shape[1], encoding=encoding,
                is_bigendian=int(arr.dtype.byteorder == ">"),
                step=arr.shape[1] * channels * arr.dtype.itemsize)
    msg.header.frame_id = frame_id
    time_msg(stamp_ns, msg.header.stamp)
    msg.data = arr.tobytes()
    return msg


def camera_info_msg(width: int, height: int, fovy_deg: float, stamp_ns: int,
                    frame_id: str) -> CameraInfo:
    """``sensor_msgs/CameraInfo`` of a MuJoCo camera: an ideal pinhole (no distortion) with
    square pixels, vertical field of view ``fovy_deg`` and the principal point at the image
    centre (pixel centres at integer coordinates, as ROS and OpenCV count them)."""
    focal = (height / 2.0) / np.tan(np.radians(fovy_deg) / 2.0)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    msg = CameraInfo(width=int(width), height=int(height), distortion_model="plumb_bob")
    msg.d = [0.0] * 5
    msg.k = [focal, 0.0, cx, 0.0, focal, cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [focal, 0.0, cx, 0.0, 0.0, focal, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    msg.header.frame_id = frame_id
    time_msg(stamp_ns, msg.header.stamp)
    return msg
