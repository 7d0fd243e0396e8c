"""The native batch as a Stable-Baselines3 ``VecEnv`` (any backend, SAME_STEP autoreset).

SB3 wants the next episode's first observation in the step that ended an episode, the last one
in ``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"]`` for episodes cut
by the time limit: exactly Gymnasium's SAME_STEP mode, so the adapter only renames. It also
keeps what SB3's ``Monitor`` would (``infos[i]["episode"] = {"r", "l", "t"}``, return, length,
wall seconds) plus each reward term's episode sum and, for each of the task's stages
(``info["stage/<name>"]``), 1.0 when the episode reached it, computed on whole arrays per step.

Observations are flat for SB3 (``flat=True``, tasks without camera images): one ``Box`` of every
state key concatenated in the Dict space's key order (:class:`~.layout.FlatLayout`), so training
runs ``MlpPolicy``, ``VecNormalize`` normalises one array and the rollout buffer stores one.
``VecNormalize`` keeps a mean and variance per element either way (its running statistics are
elementwise over the batch axis), so its statistics, clipping and the normalised values are the
same for a Dict and for the flat Box, element for element. ``_visual`` tasks keep the Dict.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

import spaceros_procgen_envs  # noqa: F401  (registers the Gymnasium ids)

from .layout import FlatLayout


def make_native(task: str, num_envs: int, seed: int, backend: str = "thread",
                domain: str | None = None, autoreset_mode: str = "SameStep", **kwargs):
    """The native ``SpaceRosVectorEnv`` (``gymnasium.make_vec``) the adapter runs on."""
    return gym.make_vec(f"spaceros/{task}", num_envs=num_envs,
                        vectorization_mode="vector_entry_point", backend=backend, seed=seed,
                        domain=domain, autoreset_mode=autoreset_mode, progress=False, **kwargs)


class SpaceRosSB3VecEnv(VecEnv):
    """An SB3 ``VecEnv`` over a native batch in SAME_STEP mode.

    Args:
        venv: a ``SpaceRosVectorEnv`` made with ``autoreset_mode="SameStep"``
            (see :func:`make_native`).
        flat: hand SB3 one flat ``Box`` (:attr:`layout`) instead of the Dict, when the task
            has no camera images (then :attr:`layout` is None and the Dict stays).

    Example:
        >>> from stable_baselines3 import PPO  # doctest: +SKIP
        >>> env = SpaceRosSB3VecEnv(make_native("perseverance", 8, seed=0))
        >>> PPO("MlpPolicy", env, n_steps=64).learn(2048)
    """

    def __init__(self, venv, flat: bool = True):
        mode = getattr(venv, "autoreset_mode", None)
        if mode is None or mode.value != "SameStep":
            raise ValueError(f"SpaceRosSB3VecEnv needs a batch with autoreset_mode='SameStep', "
                             f"got {mode}; build it with make_native(...)")
        self.venv = venv
        self.render_mode = venv.render_mode
        space = venv.single_observation_space
        self.layout = FlatLayout.of(space) if flat else None
        super().__init__(venv.num_envs, space if self.layout is None else self.layout.box(space),
                         venv.single_action_space)
        self._terms = []  # reward term names, read from the first step's info
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, np.int64)
        self._term_sums = np.zeros((self.num_envs, 0))
        self._stages: list[str] = []  # stage flags (stage/<name>), read from the first step
        self._reached = np.zeros((self.num_envs, 0), bool)
        self._t0 = time.monotonic()
        self._actions: np.ndarray | None = None

    # --- the VecEnv protocol -------------------------------------------------------------------
    def reset(self):
        seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
        obs, info = self.venv.reset(seed=seeds)
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._reset_seeds()
        self._returns[:], self._lengths[:] = 0.0, 0
        self._term_sums[:] = 0.0
        self._reached[:] = False
        return self._obs(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, np.float32)
        self.venv.step_async(self._actions)

    def step_wait(self):
        obs, rewards, terminated, truncated, info = self.venv.step_wait()
        dones = terminated | truncated
        self._accumulate(rewards, info)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            self._finish_episodes(infos, dones, terminated, truncated, info)
        return self._obs(obs), rewards.astype(np.float32), dones, infos

    def _obs(self, obs: dict[str, np.ndarray]):
        return obs if self.layout is None else self.layout.flatten(obs)

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.venv, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs):
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._get_indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(self._get_indices(indices))

    def get_images(self):
        return list(self.venv.render() or [None] * self.num_envs)

    # --- episode statistics --------------------------------------------------------------------
    def _accumulate(self, rewards: np.ndarray, info: dict) -> None:
        if not self._terms:
            self._terms = [k for k in info if k.startswith("reward/")]
            self._term_sums = np.zeros((self.num_envs, len(self._terms)))
            self._stages = [k for k in info if k.startswith("stage/")]
            self._reached = np.zeros((self.num_envs, len(self._stages)), bool)
        self._returns += rewards
        self._lengths += 1
        if self._terms:
            self._term_sums += np.column_stack(self._last_step(info, self._terms))
        if self._stages:
            self._reached |= np.column_stack(self._last_step(info, self._stages))

    @staticmethod
    def _last_step(info: dict, keys: list[str]) -> list[np.ndarray]:
        """Each key's (n,) values of this step; an ended env's sit in ``final_info`` (SAME_STEP)."""
        source = info.get("final_info")
        if source is None:
            return [info[key] for key in keys]
        return [np.where(source[f"_{key}"], source[key], info[key]) if key in source
                else info[key] for key in keys]

    def _finish_episodes(self, infos, dones, terminated, truncated, info) -> None:
        final, final_obs = info["final_info"], info["final_obs"]
        elapsed = round(time.monotonic() - self._t0, 6)
        for i in np.flatnonzero(dones):
            episode = {"r": float(self._returns[i]), "l": int(self._lengths[i]), "t": elapsed}
            episode.update(zip(self._terms, self._term_sums[i].tolist()))
            episode.update(zip(self._stages, self._reached[i].astype(float).tolist()))
            infos[i] = {"terminal_observation": self._obs(final_obs[i]), "episode": episode,
                        "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                        "is_success": bool(final["is_success"][i])}
        self._returns[dones], self._lengths[dones] = 0.0, 0
        self._term_sums[dones] = 0.0
        self._reached[dones] = False
