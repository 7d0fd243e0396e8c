"""Rotations and terrain look-ups over batches: every function takes ``(n, ...)`` arrays.

Quaternions are MuJoCo's (w, x, y, z), unit length. Most are compiled loops over the rows
(:mod:`.jit`): at the batch sizes of a slice, a whole-batch numpy expression pays about 1 us
per operation, a compiled loop 0.5 us for the whole function.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import njit


@njit
def norm(vec: np.ndarray) -> np.ndarray:
    """Euclidean length of every row of ``vec`` (n, k): ``np.linalg.norm(vec, axis=1)``."""
    out = np.empty(vec.shape[0])
    for i in range(vec.shape[0]):
        acc = 0.0
        for j in range(vec.shape[1]):
            acc += vec[i, j] * vec[i, j]
        out[i] = math.sqrt(acc)
    return out


def clip(x: np.ndarray, low, high) -> np.ndarray:
    """``np.clip(x, low, high)`` for ``low <= high`` (NaN stays NaN), as two ufunc calls."""
    return np.minimum(np.maximum(x, low), high)


@njit
def rotate_inverse(quat: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """World vectors ``vec`` (n, 3) in the body frames of ``quat`` (n, 4): R^T v."""
    out = np.empty((vec.shape[0], 3))
    for i in range(vec.shape[0]):
        w, x, y, z = quat[i, 0], -quat[i, 1], -quat[i, 2], -quat[i, 3]  # the conjugate
        vx, vy, vz = vec[i, 0], vec[i, 1], vec[i, 2]
        tx, ty, tz = 2.0 * (y * vz - z * vy), 2.0 * (z * vx - x * vz), 2.0 * (x * vy - y * vx)
        out[i, 0] = vx + w * tx + (y * tz - z * ty)
        out[i, 1] = vy + w * ty + (z * tx - x * tz)
        out[i, 2] = vz + w * tz + (x * ty - y * tx)
    return out


@njit
def yaw(quat: np.ndarray) -> np.ndarray:
    """Heading angle (rad) of the body x axis about world z, (n,)."""
    out = np.empty(quat.shape[0])
    for i in range(quat.shape[0]):
        w, x, y, z = quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3]
        out[i] = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return out


@njit
def rotation_vector(q_from: np.ndarray, q_to: np.ndarray) -> np.ndarray:
    """(n, 3) world-frame rotation vector (axis x angle, rad, angle in [0, pi]) of the shortest
    rotation taking orientation ``q_from`` to ``q_to`` (both (n, 4)): q_to = exp(r) q_from.
    Turning a body at angular velocity ``k * r`` (world axes) brings it to ``q_to``."""
    out = np.empty((q_to.shape[0], 3))
    for i in range(q_to.shape[0]):
        w1, x1, y1, z1 = q_to[i, 0], q_to[i, 1], q_to[i, 2], q_to[i, 3]
        w2, x2, y2, z2 = q_from[i, 0], -q_from[i, 1], -q_from[i, 2], -q_from[i, 3]  # conjugate
        w = w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2
        sign = -1.0 if w < 0.0 else 1.0  # q and -q: the same rotation; take the short way
        v0 = (w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2) * sign
        v1 = (w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2) * sign
        v2 = (w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2) * sign
        sin_half = math.sqrt(v0 * v0 + v1 * v1 + v2 * v2)
        angle = 2.0 * math.atan2(sin_half, abs(w))
        scale = angle / sin_half if sin_half > 1e-12 else 2.0
        out[i, 0], out[i, 1], out[i, 2] = v0 * scale, v1 * scale, v2 * scale
    return out


@njit
def tilt_cos(quat: np.ndarray) -> np.ndarray:
    """z component of the body z axis in the world (cos of the tilt), (n,)."""
    out = np.empty(quat.shape[0])
    for i in range(quat.shape[0]):
        x, y = quat[i, 1], quat[i, 2]
        out[i] = 1.0 - 2.0 * (x * x + y * y)
    return out


def body_axes(quat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Body z, x and y axes in the world frame, each (n, 3)."""
    w, x, y, z = quat.T
    zb = np.stack([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)], axis=1)
    xb = np.stack([1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)], axis=1)
    yb = np.stack([2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)], axis=1)
    return zb, xb, yb


@njit
def heading_frame(quat: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """World offsets (dx, dy) in each robot's heading frame (x forward, y left), (n, 2)."""
    heading = yaw(quat)
    out = np.empty((quat.shape[0], 2))
    for i in range(quat.shape[0]):
        c, s = math.cos(heading[i]), math.sin(heading[i])
        out[i, 0], out[i, 1] = c * dx[i] + s * dy[i], -s * dx[i] + c * dy[i]
    return out


@njit
def heights_at(heights: np.ndarray, size_m: np.ndarray, x: np.ndarray, y: np.ndarray
               ) -> np.ndarray:
    """Bilinear terrain height (m) of world i at (x[i], y[i]).

    Args:
        heights: (n, rows, cols) heightmaps centred on the origin (row index along +y).
        size_m: (n, 2) full extents (x, y), metres.
    """
    n, rows, cols = heights.shape
    out = np.empty(n)
    for i in range(n):
        u = min(max((x[i] / size_m[i, 0] + 0.5) * (cols - 1), 0.0), cols - 1.0)
        v = min(max((y[i] / size_m[i, 1] + 0.5) * (rows - 1), 0.0), rows - 1.0)
        c0, r0 = min(int(u), cols - 2), min(int(v), rows - 2)
        fu, fv = u - c0, v - r0
        top = heights[i, r0, c0] * (1 - fu) + heights[i, r0, c0 + 1] * fu
        bottom = heights[i, r0 + 1, c0] * (1 - fu) + heights[i, r0 + 1, c0 + 1] * fu
        out[i] = top * (1 - fv) + bottom * fv
    return out


def mat_to_quat(mat: np.ndarray) -> np.ndarray:
    """Unit quaternions (n, 4) wxyz, w >= 0, of rotation matrices (n, 9) row-major."""
    m = mat.reshape(-1, 3, 3)
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cands = np.stack([
        np.stack([1 + trace, m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0],
                  m[:, 1, 0] - m[:, 0, 1]], 1),
        np.stack([m[:, 2, 1] - m[:, 1, 2], 1 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2],
                  m[:, 0, 1] + m[:, 1, 0], m[:, 0, 2] + m[:, 2, 0]], 1),
        np.stack([m[:, 0, 2] - m[:, 2, 0], m[:, 0, 1] + m[:, 1, 0],
                  1 - m[:, 0, 0] + m[:, 1, 1] - m[:, 2, 2], m[:, 1, 2] + m[:, 2, 1]], 1),
        np.stack([m[:, 1, 0] - m[:, 0, 1], m[:, 0, 2] + m[:, 2, 0], m[:, 1, 2] + m[:, 2, 1],
                  1 - m[:, 0, 0] - m[:, 1, 1] + m[:, 2, 2]], 1)], 1)  # (n, 4 candidates, 4)
    pick = np.argmax(np.stack([trace, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], 1), axis=1)
    quat = cands[np.arange(len(m)), pick]
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    return quat * np.where(quat[:, :1] < 0, -1.0, 1.0)
