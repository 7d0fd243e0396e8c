"""A slice of envs that steps together and writes straight into batch buffers.

Every backend is a way of running :class:`EnvSlice` objects: all in the caller's
thread (``sync``), one per core in threads (``thread``), in worker processes over shared
memory (``process``) or in Ray actors (``ray``). Because each slice owns whole envs and
every env is deterministic, all backends give the same numbers.

Autoreset follows Gymnasium's NEXT_STEP mode: the step after an env's episode ends
resets it and returns the first observation, reward 0, and neither flag set.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from ..sim.core import SimEnv


@dataclass
class Buffers:
    """Batch arrays one slice writes into (views of the whole batch, or shared memory)."""

    obs: dict[str, np.ndarray]
    rewards: np.ndarray       # (n,) float64
    terminated: np.ndarray    # (n,) bool
    truncated: np.ndarray     # (n,) bool
    info: dict[str, np.ndarray]

    def view(self, start: int, stop: int) -> Buffers:
        cut = lambda d: {k: v[start:stop] for k, v in d.items()}
        return Buffers(cut(self.obs), self.rewards[start:stop], self.terminated[start:stop],
                       self.truncated[start:stop], cut(self.info))


def allocate(num_envs: int, observation_space: gym.spaces.Dict,
             reward_names: tuple[str, ...]) -> Buffers:
    """Zeroed buffers for ``num_envs`` envs with this observation space and reward terms."""
    obs = {k: np.zeros((num_envs, *s.shape), s.dtype) for k, s in observation_space.items()}
    info = {f"reward/{n}": np.zeros(num_envs) for n in reward_names}
    info.update(is_success=np.zeros(num_envs, bool), diverged=np.zeros(num_envs, bool))
    return Buffers(obs, np.zeros(num_envs), np.zeros(num_envs, bool), np.zeros(num_envs, bool),
                   info)


class EnvSlice:
    """Envs ``[start, start + len(envs))`` of a batch, with NEXT_STEP autoreset.

    Args:
        envs: the slice's worlds, in batch order.
    """

    def __init__(self, envs: list[SimEnv]):
        self.envs = envs
        self.needs_reset = np.zeros(len(envs), bool)

    def __len__(self) -> int:
        return len(self.envs)

    def reset(self, out: Buffers, seeds: list[int | None], mask: np.ndarray | None = None) -> None:
        """Reset envs where ``mask`` (all when None), with per-env ``seeds``."""
        for i, env in enumerate(self.envs):
            if mask is None or mask[i]:
                obs, _ = env.reset(seed=seeds[i])
                self._write_first(out, i, obs)

    def step(self, actions: np.ndarray, out: Buffers) -> None:
        """Step every env with its row of ``actions`` (checked and clipped already)."""
        for i, env in enumerate(self.envs):
            if self.needs_reset[i]:
                obs, _ = env.reset()
                self._write_first(out, i, obs)
                continue
            obs, reward, terminated, truncated, info = env.step(actions[i])
            for key, value in obs.items():
                out.obs[key][i] = value
            for key, value in info.items():
                out.info[key][i] = value
            out.rewards[i], out.terminated[i], out.truncated[i] = reward, terminated, truncated
            self.needs_reset[i] = terminated or truncated

    def _write_first(self, out: Buffers, i: int, obs: dict[str, np.ndarray]) -> None:
        for key, value in obs.items():
            out.obs[key][i] = value
        for array in out.info.values():
            array[i] = 0
        out.rewards[i], out.terminated[i], out.truncated[i] = 0.0, False, False
        self.needs_reset[i] = False

    def close(self) -> None:
        self.envs.clear()


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (start, stop) ranges covering ``range(n)``, sizes within one."""
    parts = max(1, min(parts, n))
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
