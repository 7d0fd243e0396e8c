"""The flat observation of SB3 training: every state key of a task, concatenated, one float32
vector per env.

Order and sizes are those of the task's ``Dict`` observation space (keys in the space's order,
each key's elements row-major), which is also the layout of the native batch's float32 block
(``vector.batch.Buffers.obs_flat``) and of the ROS ``envs/observation`` message. A saved flat
policy records its :class:`FlatLayout` in ``policy.json`` (``observation_layout``), so a Dict
observation from ``eval.py`` or ``agent_policy.py`` is flattened exactly as in training.

Tasks with camera images (``_visual``, uint8 keys) keep the Dict: :meth:`FlatLayout.of`
returns None for them.

Example:
    >>> import gymnasium as gym, numpy as np
    >>> space = gym.spaces.Dict({"a": gym.spaces.Box(-1, 1, (2,)), "b": gym.spaces.Box(-1, 1, (1, 3))})
    >>> layout = FlatLayout.of(space)
    >>> layout.flatten({"a": np.zeros((4, 2)), "b": np.ones((4, 1, 3))}).shape
    (4, 5)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import gymnasium as gym
import numpy as np


@dataclass(frozen=True)
class FlatLayout:
    """Keys and per-env shapes, in the order their elements follow each other."""

    keys: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, space: gym.spaces.Dict) -> FlatLayout | None:
        """The layout of ``space`` (None when a key is not float32, e.g. camera images)."""
        if any(sub.dtype != np.float32 for sub in space.values()):
            return None
        return cls(tuple(space), tuple(tuple(int(d) for d in sub.shape) for sub in space.values()))

    @classmethod
    def from_json(cls, rows: list) -> FlatLayout:
        """The layout :meth:`to_json` wrote: ``[[key, [dims...]], ...]``."""
        return cls(tuple(str(key) for key, _ in rows),
                   tuple(tuple(int(d) for d in shape) for _, shape in rows))

    def to_json(self) -> list[list]:
        return [[key, list(shape)] for key, shape in zip(self.keys, self.shapes)]

    @property
    def size(self) -> int:
        """Floats per env."""
        return sum(math.prod(shape) for shape in self.shapes)

    def flatten(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        """``(..., size)`` float32 from a Dict observation of one env (``(size,)``) or a batch
        (``(n, size)``); keys beyond the layout's are ignored.

        Raises:
            KeyError: ``obs`` lacks a key of the layout (naming the missing ones).
        """
        missing = [key for key in self.keys if key not in obs]
        if missing:
            raise KeyError(f"the observation lacks {missing}; this flat layout needs "
                           f"{list(self.keys)}")
        parts = []
        for key, shape in zip(self.keys, self.shapes):
            value = np.asarray(obs[key], np.float32)
            parts.append(value.reshape(*value.shape[:value.ndim - len(shape)], -1))
        return np.concatenate(parts, axis=-1)

    def unflatten(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Per-key views of ``(..., size)`` (the inverse of :meth:`flatten`)."""
        lead, out, start = flat.shape[:-1], {}, 0
        for key, shape in zip(self.keys, self.shapes):
            stop = start + math.prod(shape)
            out[key] = flat[..., start:stop].reshape(*lead, *shape)
            start = stop
        return out

    def box(self, space: gym.spaces.Dict | None = None) -> gym.spaces.Box:
        """The flat ``Box``, bounds from ``space`` (the Dict it was made of) or unbounded."""
        if space is None:
            return gym.spaces.Box(-np.inf, np.inf, (self.size,), np.float32)
        low = np.concatenate([np.broadcast_to(space[k].low, s).ravel()
                              for k, s in zip(self.keys, self.shapes)])
        high = np.concatenate([np.broadcast_to(space[k].high, s).ravel()
                               for k, s in zip(self.keys, self.shapes)])
        return gym.spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)

    def dict_space(self) -> gym.spaces.Dict:
        """A Dict of unbounded float32 Boxes in this order (the observations a policy takes)."""
        return gym.spaces.Dict(OrderedDict(
            (key, gym.spaces.Box(-np.inf, np.inf, shape, np.float32))
            for key, shape in zip(self.keys, self.shapes)))
