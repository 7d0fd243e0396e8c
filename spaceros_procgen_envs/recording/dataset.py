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
import numpy as np

from .paths import RecordingError, dataset_dir, dataset_id, minari_root


CHUNK_BYTES = 64 << 10  # HDF5 chunk of a new dataset at most (HDF5 allocates whole chunks)


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

        data = dataset_dir(path, task) / "data"
        data.parent.mkdir(parents=True)
        self.storage = MinariStorage.new(data, observation_space=observation_space,
                                         action_space=action_space, env_spec=spec,
                                         data_format="hdf5", jpeg_encoding=False)
        self.storage.update_metadata({"dataset_id": dataset_id(task),
                                      "minari_version": minari.__version__, **metadata})

    def write(self, chunks: list[tuple], metas: list[dict]) -> None:
        """Append ``(episode, chunk)`` rows (see :class:`~.episodes.EpisodeBook`) and set each
        episode's metadata, in one opening of the HDF5 file.

        The groups and datasets are the ones Minari's HDF5 storage writes for an
        ``EpisodeBuffer`` (``episode_<id>`` with ``id``, ``seed``, ``total_steps`` attributes;
        ``observations``/``infos`` groups per dict key; resizable datasets, appended to by a
        later chunk), made with h5py's low-level calls: its high-level ``create_dataset``
        costs about four times as much, and an episode is some twenty datasets.
        """
        import h5py

        added = 0
        with h5py.File(self.storage._file_path, "a", track_order=True) as file:
            for (ep, chunk), meta in zip(chunks, metas):
                name = f"episode_{ep.id}"
                group = file[name] if name in file else _new_group(file, name)
                group.attrs["id"] = ep.id
                if chunk["seed"] is not None:
                    group.attrs["seed"] = chunk["seed"]
                steps = len(chunk["rewards"])
                group.attrs["total_steps"] = steps  # as Minari: this chunk's; meta has the sum
                added += steps
                _write_tree(group, {key: chunk[key] for key in (
                    "observations", "actions", "rewards", "terminations", "truncations",
                    "infos")})
                group.attrs.update(meta)
            episodes = len(file.keys())
        self.storage.update_metadata({"total_steps": self.storage.total_steps + added,
                                      "total_episodes": episodes,
                                      "dataset_size": self.storage.get_size()})


def _new_group(parent, name: str):
    """A group whose attributes stay in its object header (compact) up to 64 of them: an
    episode has about twenty, past HDF5's default of 8 that moves them to a slower heap."""
    import h5py

    plist = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    plist.set_attr_phase_change(64, 48)
    return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=plist))


def _write_tree(group, tree: dict) -> None:
    """Nested dicts of arrays as groups of datasets under ``group``; a dataset that exists
    is extended (rows appended on its first axis)."""
    for key, value in tree.items():
        if isinstance(value, dict):
            _write_tree(group[key] if key in group else group.create_group(key), value)
        else:
            _write_rows(group, key, np.ascontiguousarray(value))


def _write_rows(group, name: str, rows: np.ndarray) -> None:
    import h5py

    if name in group:
        dataset = group[name]
        dataset.resize((dataset.shape[0] + len(rows), *dataset.shape[1:]))
        dataset[-len(rows):] = rows
        return
    shape = rows.shape
    space = h5py.h5s.create_simple(shape, (h5py.h5s.UNLIMITED,) + shape[1:])
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    row_bytes = max(1, rows.dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64)))
    plist.set_chunk((int(np.clip(CHUNK_BYTES // row_bytes, 1, max(1, len(rows)))),)
                    + tuple(max(1, d) for d in shape[1:]))
    dataset = h5py.h5d.create(group.id, name.encode(), h5py.h5t.py_create(rows.dtype, logical=True),
                              space, dcpl=plist)
    try:
        if rows.size:
            dataset.write(h5py.h5s.ALL, h5py.h5s.ALL, rows)
    finally:  # before the file closes, even when the write fails (a full disk)
        dataset.close()


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
