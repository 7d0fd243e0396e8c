"""Rover team maths over (worlds, agents, ...) arrays: reward terms and the team's geometry.

Every function is pure: it reads arrays of shape ``(n, k, ...)`` (n worlds of k rovers each;
any leading shape works where the doc says ``...``) and returns new ones. A reward term
``reward_<name>`` is named by its :class:`~.env.RoverTeamRewards` field and logged, weighted,
as ``info["reward/<name>"]``. Quaternions are MuJoCo's (w, x, y, z); positions are world m.
"""

from __future__ import annotations

import numpy as np


def yaw(quat: np.ndarray) -> np.ndarray:
    """Heading (rad) of each body's x axis about world z, shape ``quat.shape[:-1]``."""
    w, x, y, z = quat[..., 0], quat[..., 1], quat[..., 2], quat[..., 3]
    return np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def heading_xy(heading: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """World offsets ``delta`` (..., 2) m in heading frames (x forward, y left) of yaw
    ``heading`` (...) rad, (..., 2) m."""
    c, s = np.cos(heading), np.sin(heading)
    dx, dy = delta[..., 0], delta[..., 1]
    return np.stack([c * dx + s * dy, -s * dx + c * dy], axis=-1)


def others(k: int) -> np.ndarray:
    """(k, k - 1) int: row ``i`` lists every agent but ``i``, in agent order."""
    return np.array([[j for j in range(k) if j != i] for i in range(k)], dtype=np.intp)


def target_rel(pos: np.ndarray, quat: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Each rover's waypoint in its own heading frame, (n, k, 2) m.

    Args:
        pos: (n, k, 3) chassis positions. quat: (n, k, 4) chassis orientations.
        target: (n, k, 3) waypoints.
    """
    return heading_xy(yaw(quat), target[..., :2] - pos[..., :2])


def teammates_rel(pos: np.ndarray, quat: np.ndarray) -> np.ndarray:
    """Every other rover's (x, y) in each rover's heading frame, in agent order, flattened:
    (n, k, 2 (k - 1)) m."""
    n, k = pos.shape[:2]
    delta = pos[:, None, :, :2] - pos[:, :, None, :2]           # (n, k, k, 2): j seen from i
    mates = delta[:, np.arange(k)[:, None], others(k)]           # (n, k, k - 1, 2)
    return heading_xy(yaw(quat)[..., None], mates).reshape(n, k, 2 * (k - 1))


def planar_distance(pos: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Ground-plane distance from each rover to its waypoint, (n, k) m."""
    delta = target[..., :2] - pos[..., :2]
    return np.hypot(delta[..., 0], delta[..., 1])


def bumped(found: np.ndarray, pairs: np.ndarray, k: int) -> np.ndarray:
    """Which rovers touch another one, (n, k) bool.

    Args:
        found: (n, p) contacts found between the rovers of each pair (contact sensors).
        pairs: (p, 2) agent indices of each pair.
        k: rovers per world.
    """
    hit = found > 0
    out = np.zeros((found.shape[0], k), bool)
    for column, (i, j) in enumerate(pairs):
        out[:, i] |= hit[:, column]
        out[:, j] |= hit[:, column]
    return out


# --- reward terms (unweighted), each (n, k) ---------------------------------------------------
def reward_progress(prev_dist: np.ndarray, dist: np.ndarray, active: np.ndarray,
                    dt: float) -> np.ndarray:
    """Own approach speed towards the waypoint, m/s (negative when moving away; 0 parked).

    Args:
        prev_dist, dist: (n, k) planar distance to the waypoint before and after the step, m.
        active: (n, k) bool, agents live during the step. dt: step length, s.
    """
    return np.where(active, (prev_dist - dist) / dt, 0.0)


def reward_team_progress(progress: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Mean approach speed of each world's active rovers, m/s, shared by its whole team
    (0 where none is active). ``progress`` (n, k) m/s from :func:`reward_progress`."""
    count = active.sum(axis=1, keepdims=True)
    total = np.where(active, progress, 0.0).sum(axis=1, keepdims=True)
    mean = np.divide(total, count, out=np.zeros_like(total, dtype=float), where=count > 0)
    return np.broadcast_to(mean, progress.shape).copy()


def reward_heading(target_rel: np.ndarray) -> np.ndarray:
    """Cosine of the angle between each rover's heading and its waypoint's bearing.
    ``target_rel`` (n, k, 2) m in the heading frame."""
    return target_rel[..., 0] / (np.linalg.norm(target_rel, axis=-1) + 1e-9)


def reward_upright(quat: np.ndarray) -> np.ndarray:
    """1 - cos(tilt): 0 when level, 1 on its side. ``quat`` (n, k, 4) wxyz."""
    x, y = quat[..., 1], quat[..., 2]
    return 2.0 * (x * x + y * y)


def reward_bump(bumped: np.ndarray) -> np.ndarray:
    """1.0 while a rover touches another rover, else 0.0. ``bumped`` (n, k) bool."""
    return bumped.astype(float)


def reward_action_rate(action: np.ndarray, prev_action: np.ndarray) -> np.ndarray:
    """Squared change of each agent's action since the last step; actions (n, k, a)."""
    delta = action.astype(float) - prev_action
    return np.sum(delta * delta, axis=-1)
