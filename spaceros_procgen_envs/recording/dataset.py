"""The Minari side of a recording: a dataset written chunk by chunk, and opening it again.

Stored with Minari's HDF5 storage and ``jpeg_encoding=False``, so camera images are the exact
arrays. Each episode's metadata (``dataset.storage.get_episode_metadata``) holds ``env``,
``world_seed``, ``episode_seed`` (of the env's last seeded reset), ``resets_since_seed``,
``t0`` (batch step of its first observation), ``started_by`` (``reset``/``autoreset``),
``end`` (``terminated``, ``truncated``, ``reset``: cut by a reset, ``interrupted``: the run
stopped), ``success``, ``length``, ``task``, ``domain``, ``package_version`` and
``asset_keys`` (JSON: asset name -> cache key of the env's world).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import gymnasium as gym

from .paths import RecordingError, dataset_dir, dataset_id, minari_root


def require_minari():
    """Import minari (with h5py), or fail with what to install."""
    try:
        import h5py  # noqa: F401  (Minari's HDF5 storage)
        import minari
    except ImportError as exc:
        raise RecordingError(f"recording needs minari and h5py ({exc.name} is missing): pip "
                             "install 'spaceros_procgen_envs[record]'") from None
    return minari


def env_spec(task: str, make_kwargs: dict) -> gym.envs.registration.EnvSpec:
    """The single env's spec (``gymnasium.make(spec)`` rebuilds env 0's world)."""
    spec = gym.spec(f"spaceros/{task}")
    kwargs = {"task": task, "seed": int(make_kwargs.get("seed", 42))}
    for key in ("domain", "camera_resolution"):
        if make_kwargs.get(key) is not None:
            kwargs[key] = list(make_kwargs[key]) if key == "camera_resolution" \
                else make_kwargs[key]
    return replace(spec, kwargs=kwargs)


class DatasetWriter:
    """A new Minari dataset of ``task`` in the recording at ``path``.

    Args:
        path: the recording directory.
        task: full task name (``perseverance``, ``perseverance_visual``).
        observation_space, action_space: the single env's spaces.
        spec: :func:`env_spec` (for ``recover_environment``).
        metadata: extra dataset metadata (description, ...).
    """

    def __init__(self, path: Path, task: str, observation_space: gym.Space,
                 action_space: gym.Space, spec, metadata: dict):
        minari = require_minari()
        from minari.dataset.minari_storage import MinariStorage

        from minari.data_collector import EpisodeBuffer

        self._buffer = EpisodeBuffer
        data = dataset_dir(path, task) / "data"
        data.parent.mkdir(parents=True)
        self.storage = MinariStorage.new(data, observation_space=observation_space,
                                         action_space=action_space, env_spec=spec,
                                         data_format="hdf5", jpeg_encoding=False)
        self.storage.update_metadata({"dataset_id": dataset_id(task),
                                      "minari_version": minari.__version__, **metadata})

    def write(self, chunks: list[tuple], metas: list[dict]) -> None:
        """Append ``(episode, chunk)`` rows (see :class:`~.episodes.EpisodeBook`) and set each
        episode's metadata."""
        buffers = [self._buffer(id=ep.id, seed=chunk["seed"],
                                observations=chunk["observations"], actions=chunk["actions"],
                                rewards=chunk["rewards"], terminations=chunk["terminations"],
                                truncations=chunk["truncations"], infos=chunk["infos"])
                   for ep, chunk in chunks]
        self.storage.update_episodes(buffers)
        self.storage.update_episode_metadata(metas, [ep.id for ep, _ in chunks])


def load_dataset(path: str | os.PathLike, task: str | None = None):
    """The Minari dataset of the recording at ``path`` (a ``minari.MinariDataset``).

    Equivalent to ``MINARI_DATASETS_PATH=PATH/minari`` and
    ``minari.load_dataset("spaceros/<task>-v0")``.

    Raises:
        RecordingError: no dataset there.
    """
    minari = require_minari()
    if task is None:
        from .manifest import read_manifest

        task = read_manifest(path)["task"]
    data = dataset_dir(path, task) / "data"
    if not (data / "metadata.json").is_file():
        raise RecordingError(f"no Minari dataset at {data} (MINARI_DATASETS_PATH="
                             f"{minari_root(path)}, id {dataset_id(task)})")
    return minari.MinariDataset(data)
