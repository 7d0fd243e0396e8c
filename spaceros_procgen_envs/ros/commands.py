"""The held command of every env: what the ROS inputs write and each step reads.

Each command writes only its own action components and the table holds them until the
next command: a ``Twist`` writes the motion components, a gripper ``Bool`` the gripper
component, a full action every component. ``env=None`` addresses every env (the
``envs/...`` topics), an index only that env (``env{i}/...``). The node counts rejected
messages by reason here, for ``envs/info``.

Example:
    >>> import numpy as np
    >>> from spaceros_procgen_envs.ros.convert import TwistMap
    >>> table = CommandTable(3, 2, TwistMap("rover", (0, 1), (0, 5), (1.0, 0.5)))
    >>> table.set_twist(np.array([0.5, 0, 0, 0, 0, 0.25]), env=1)
    >>> table.snapshot().tolist()
    [[0.0, 0.0], [0.5, 0.5], [0.0, 0.0]]
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np

from .convert import TwistMap, action_rows, gripper_value


def check_env_index(env: int, num_envs: int) -> int:
    """``env`` as an int if it names one of ``num_envs`` envs.

    Raises:
        IndexError: naming the valid range.
    """
    if isinstance(env, bool) or not isinstance(env, (int, np.integer)) or not 0 <= env < num_envs:
        raise IndexError(f"env index {env!r} is out of range: this node runs {num_envs} "
                         f"env{'s' if num_envs != 1 else ''} (0..{num_envs - 1})")
    return int(env)


class CommandTable:
    """Held actions of ``num_envs`` envs (thread-safe).

    Args:
        num_envs: envs in the batch.
        action_dim: length of one action.
        twist: how a twist maps onto the action (its ``gripper_index`` enables the gripper).
    """

    def __init__(self, num_envs: int, action_dim: int, twist: TwistMap):
        self.num_envs, self.action_dim, self.twist = num_envs, action_dim, twist
        self._actions = np.zeros((num_envs, action_dim), np.float32)
        self._lock = threading.Lock()
        self.dropped: Counter[str] = Counter()

    @property
    def has_gripper(self) -> bool:
        return self.twist.gripper_index is not None

    def _rows(self, env: int | None) -> slice | int:
        return slice(None) if env is None else check_env_index(env, self.num_envs)

    def set_action(self, data: Sequence[float], env: int | None = None) -> None:
        """Hold a full action: ``action_dim`` values, or (``env=None`` only) one row per env.

        Raises:
            RejectedMessage: wrong length or NaN/inf (the held actions stay unchanged).
        """
        rows = self._rows(env)
        values = action_rows(data, self.action_dim, self.num_envs if env is None else 1)
        with self._lock:
            self._actions[rows] = values if env is None else values[0]

    def set_twist(self, twist: np.ndarray, env: int | None = None) -> None:
        """Hold the motion components from a twist array (m/s, rad/s), see :class:`TwistMap`."""
        rows = self._rows(env)
        values = self.twist.values(twist)
        with self._lock:
            self._actions[rows, list(self.twist.action_index)] = values

    def set_gripper(self, close: bool, env: int | None = None) -> None:
        """Hold the gripper closed (True) or open (False).

        Raises:
            ValueError: when the robot has no gripper.
        """
        if not self.has_gripper:
            raise ValueError(f"the {self.twist.kind} robot has no gripper")
        rows = self._rows(env)
        with self._lock:
            self._actions[rows, self.twist.gripper_index] = gripper_value(close)

    def count_drop(self, reason: str) -> None:
        """Count one rejected message (reason: ``non_finite``, ``wrong_length``)."""
        with self._lock:
            self.dropped[reason] += 1

    def snapshot(self) -> np.ndarray:
        """A copy of the held actions, (num_envs, action_dim) float32."""
        with self._lock:
            return self._actions.copy()
