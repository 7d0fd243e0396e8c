"""Training and deployment with Stable-Baselines3 (the optional ``rl`` extra).

* :class:`~.vec_env.SpaceRosSB3VecEnv`: the native batch (any backend) as an SB3 ``VecEnv``;
* :mod:`.defaults`: per-task PPO / SAC settings, in one table;
* :mod:`.training`: ``train.py`` (progress bar, CSV log, checkpoints, learning curve,
  held-out evaluation); :mod:`.evaluate`: ``eval.py``; :mod:`.agent`: ``agent_policy.py``;
* :mod:`.bundle`: a saved policy (model, ``VecNormalize`` statistics, what it was trained on).

torch and SB3 are imported only by those modules; :func:`~.deps.ensure_rl` installs the
extra on first use. This module itself imports neither.

Example:
    >>> from spaceros_procgen_envs.rl.vec_env import SpaceRosSB3VecEnv, make_native  # doctest: +SKIP
    >>> from stable_baselines3 import PPO
    >>> env = SpaceRosSB3VecEnv(make_native("ingenuity", num_envs=8, seed=0, backend="sync"))
    >>> PPO("MlpPolicy", env, n_steps=32, batch_size=256).learn(512)
"""

from .deps import MissingRLDependency, ensure_rl

__all__ = ["MissingRLDependency", "ensure_rl"]
