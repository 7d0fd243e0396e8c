"""A saved policy: one folder with the SB3 model, its observation normaliser and what it is for.

Layout of ``DIR``::

    policy.json       task, domain, algo, seeds, observation keys and layout, action size, versions
    model.zip         the SB3 model (``PPO.save`` / ``SAC.save``)
    vecnormalize.pkl  the ``VecNormalize`` statistics the model was trained with

``--policy`` takes that folder, its ``model.zip`` or a ``train.py`` run folder (whose final
policy is ``RUN/policy``). Everything that can go wrong with a path is a
:class:`PolicyError` with one line naming the path and the fix.

A policy of a task without camera images takes one flat vector (the state keys concatenated,
:class:`~.layout.FlatLayout`, recorded as ``observation_layout``); :meth:`LoadedPolicy.act`
flattens a Dict observation the same way. Policies whose model takes the Dict (``_visual``
tasks, and policies saved before flat observations, whose ``policy.json`` has no layout) act on
the Dict as before.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, dataclass, field
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import ProcgenError

META, MODEL, NORMALIZER = "policy.json", "model.zip", "vecnormalize.pkl"
FORMAT = 1
HELD_OUT_SEED_OFFSET = 1_000_000  # held-out worlds: train seed + this (+ i); never trained on


class PolicyError(ProcgenError, ValueError):
    """A ``--policy`` path that is not a usable saved policy, or one for another task."""


@dataclass
class PolicyMeta:
    """What a saved policy was trained on (``policy.json``)."""

    task: str
    algo: str
    domain: str | None
    train_seed: int
    num_envs: int
    env_steps: int
    observation_keys: list[str]
    action_dim: int
    held_out_seed: int = -1
    package_version: str = __version__
    format: int = FORMAT
    extra: dict[str, Any] = field(default_factory=dict)
    # a flat policy's input: [[key, [dims]], ...] in order (FlatLayout.to_json); [] when the
    # model takes the Dict (a _visual task, or a policy saved before flat observations)
    observation_layout: list[list] = field(default_factory=list)

    def __post_init__(self):
        if self.held_out_seed < 0:
            self.held_out_seed = self.train_seed + HELD_OUT_SEED_OFFSET


def save(directory: str | Path, model, normalizer, meta: PolicyMeta) -> Path:
    """Write the policy into ``directory`` (created; files replaced); returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / MODEL)
    normalizer.save(str(directory / NORMALIZER))
    tmp = directory / (META + ".tmp")
    tmp.write_text(json.dumps(asdict(meta), indent=2) + "\n")
    tmp.replace(directory / META)
    return directory


def resolve(path: str | Path) -> Path:
    """The policy folder ``path`` names (a policy folder, its model.zip, or a run folder).

    Raises:
        PolicyError: nothing there, or no saved policy in it.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise PolicyError(f"--policy {path}: no such file or folder; give the folder train.py "
                          f"wrote (RUN_DIR/policy) or its {MODEL}")
    if path.is_file():
        path = path.parent
    if not (path / META).is_file() and (path / "policy" / META).is_file():
        path = path / "policy"
    for name in (META, MODEL, NORMALIZER):
        if not (path / name).is_file():
            raise PolicyError(f"--policy {path}: not a saved policy (no {name}); give the folder "
                              f"train.py wrote (RUN_DIR/policy)")
    return path


def read_meta(path: str | Path) -> PolicyMeta:
    """The :class:`PolicyMeta` of the policy at ``path`` (see :func:`resolve`)."""
    folder = resolve(path)
    try:
        data = json.loads((folder / META).read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, this version reads {FORMAT}")
        return PolicyMeta(**data)
    except (ValueError, TypeError) as exc:
        raise PolicyError(f"--policy {folder}: unreadable {META} ({exc}); retrain or "
                          f"re-save the policy") from None


def check_task(meta: PolicyMeta, task: str | None, path: str | Path) -> str:
    """The task to run: ``task`` if given and equal to the policy's, else the policy's.

    Raises:
        PolicyError: ``task`` differs from the task the policy was trained on.
    """
    if task is not None and task != meta.task:
        raise PolicyError(f"--policy {path} was trained on --task {meta.task}, not --task "
                          f"{task}; drop --task or give a policy trained on {task}")
    return meta.task


class LoadedPolicy:
    """A saved policy ready to act: ``act(obs)`` -> deterministic (n, action_dim) float32.

    Inference runs on one torch thread, so the same observations give the same actions to
    the bit in every process (eval.py, agent_policy.py).
    """

    def __init__(self, path: str | Path):
        import torch

        from .algos import ALGOS

        self.path = resolve(path)
        self.meta = read_meta(self.path)
        torch.set_num_threads(1)
        try:
            self.model = ALGOS[self.meta.algo].load(self.path / MODEL, device="cpu")
            with open(self.path / NORMALIZER, "rb") as f:
                self.normalizer = pickle.load(f)
        except Exception as exc:  # a truncated zip, a foreign pickle, ...
            raise PolicyError(f"--policy {self.path}: cannot load it ({type(exc).__name__}: "
                              f"{exc}); retrain or re-save the policy") from None
        self.normalizer.training = False
        self.layout = self._layout()
        # the observations act() takes: the Dict of the policy's keys, in order
        self.observation_space = self.model.observation_space if self.layout is None \
            else self.layout.dict_space()

    def _layout(self):
        """The flat input's layout; None when the model takes the Dict."""
        import gymnasium as gym

        from .layout import FlatLayout

        space = self.model.observation_space
        if isinstance(space, gym.spaces.Dict):
            return None
        layout = FlatLayout.from_json(self.meta.observation_layout or [])
        if not isinstance(space, gym.spaces.Box) or layout.size != space.shape[-1]:
            raise PolicyError(f"--policy {self.path}: the model takes {space} but {META} gives "
                              f"a layout of {layout.size} floats; retrain or re-save the policy")
        return layout

    def act(self, obs: Mapping[str, np.ndarray] | np.ndarray) -> np.ndarray:
        """Deterministic actions for a batch of raw (unnormalised) observations: a Dict of
        ``(n, *shape)`` arrays, or for a flat policy also its ``(n, size)`` flat vectors."""
        if self.layout is not None and isinstance(obs, Mapping):
            obs = self.layout.flatten(obs)
        actions, _ = self.model.predict(self.normalizer.normalize_obs(obs), deterministic=True)
        return np.asarray(actions, np.float32)
