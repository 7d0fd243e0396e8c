"""Rotations and terrain look-ups over batches: every function takes ``(n, ...)`` arrays.

Quaternions are MuJoCo's (w, x, y, z), unit length.
"""

from __future__ import annotations

import numpy as np


def norm(vec: np.ndarray) -> np.ndarray:
    """Euclidean length over the last axis: ``np.linalg.norm(vec, axis=-1)``, the same bits
    (its sum of squares and sqrt), without its argument handling (small batches)."""
    return np.sqrt(np.add.reduce(vec * vec, axis=-1))


def clip(x: np.ndarray, low, high) -> np.ndarray:
    """``np.clip(x, low, high)`` for ``low <= high`` (NaN stays NaN), as two ufunc calls."""
    return np.minimum(np.maximum(x, low), high)


def rotate_inverse(quat: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """World vectors ``vec`` (n, 3) in the body frames of ``quat`` (n, 4): R^T v."""
    w, x, y, z = quat[:, 0], -quat[:, 1], -quat[:, 2], -quat[:, 3]  # the conjugate
    vx, vy, vz = vec[:, 0], vec[:, 1], vec[:, 2]
    tx, ty, tz = 2.0 * (y * vz - z * vy), 2.0 * (z * vx - x * vz), 2.0 * (x * vy - y * vx)
    out = np.empty_like(vec)
    out[:, 0] = vx + w * tx + (y * tz - z * ty)
    out[:, 1] = vy + w * ty + (z * tx - x * tz)
    out[:, 2] = vz + w * tz + (x * ty - y * tx)
    return out


def yaw(quat: np.ndarray) -> np.ndarray:
    """Heading angle (rad) of the body x axis about world z, (n,)."""
    w, x, y, z = quat.T
    return np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def rotation_vector(q_from: np.ndarray, q_to: np.ndarray) -> np.ndarray:
    """(n, 3) world-frame rotation vector (axis x angle, rad, angle in [0, pi]) of the shortest
    rotation taking orientation ``q_from`` to ``q_to`` (both (n, 4)): q_to = exp(r) q_from.
    Turning a body at angular velocity ``k * r`` (world axes) brings it to ``q_to``."""
    w1, x1, y1, z1 = q_to.T
    w2, x2, y2, z2 = q_from[:, 0], -q_from[:, 1], -q_from[:, 2], -q_from[:, 3]  # conjugate
    w = w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2
    v = np.stack([w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                  w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
                  w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2], axis=1)
    v *= np.where(w < 0.0, -1.0, 1.0)[:, None]  # q and -q: the same rotation; take the short way
    sin_half = norm(v)
    angle = 2.0 * np.arctan2(sin_half, np.abs(w))
    scale = np.where(sin_half > 1e-12, angle / np.maximum(sin_half, 1e-12), 2.0)
    return v * scale[:, None]


def tilt_cos(quat: np.ndarray) -> np.ndarray:
    """z component of the body z axis in the world (cos of the tilt), (n,)."""
    x, y = quat[:, 1], quat[:, 2]
    return 1.0 - 2.0 * (x * x + y * y)


def body_axes(quat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Body z, x and y axes in the world frame, each (n, 3)."""
    w, x, y, z = quat.T
    zb = np.stack([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)], axis=1)
    xb = np.stack([1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)], axis=1)
    yb = np.stack([2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)], axis=1)
    return zb, xb, yb


def heading_frame(quat: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """World offsets (dx, dy) in each robot's heading frame (x forward, y left), (n, 2)."""
    heading = yaw(quat)
    c, s = np.cos(heading), np.sin(heading)
    return np.stack([c * dx + s * dy, -s * dx + c * dy], axis=1)


def heights_at(heights: np.ndarray, size_m: np.ndarray, x: np.ndarray, y: np.ndarray
               ) -> np.ndarray:
    """Bilinear terrain height (m) of world i at (x[i], y[i]).

    Args:
        heights: (n, rows, cols) heightmaps centred on the origin (row index along +y).
        size_m: (n, 2) full extents (x, y), metres.
    """
    n, rows, cols = heights.shape
    u = clip((x / size_m[:, 0] + 0.5) * (cols - 1), 0, cols - 1)
    v = clip((y / size_m[:, 1] + 0.5) * (rows - 1), 0, rows - 1)
    c0 = np.minimum(u.astype(int), cols - 2)
    r0 = np.minimum(v.astype(int), rows - 2)
    fu, fv = u - c0, v - r0
    i = np.arange(n)
    top = heights[i, r0, c0] * (1 - fu) + heights[i, r0, c0 + 1] * fu
    bottom = heights[i, r0 + 1, c0] * (1 - fu) + heights[i, r0 + 1, c0 + 1] * fu
    return top * (1 - fv) + bottom * fv


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
