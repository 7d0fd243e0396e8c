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

import atexit
import multiprocessing as mp
import os
import signal
import time
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

    The episodes' HDF5 writes (some twenty datasets and attributes each, about 10 ms) run in a
    process of their own when ``background`` (the default): the recording's process hands
    each flush over a pipe and goes on stepping, and the writer uses the core that the batch
    leaves idle while Python runs. Until that process has started (a second or two), writes
    are made here, in order, so a short run never waits for it. :meth:`close` waits for every
    write; an error there (a full disk) surfaces at the next :meth:`write` or at
    :meth:`close`.

    Args:
        path: the recording directory.
        task: full task name (``perseverance``, ``perseverance_visual``).
        observation_space, action_space: the single env's spaces.
        spec: :func:`env_spec` (for ``recover_environment``).
        metadata: extra dataset metadata (description, ...).
        background: write in a separate process (False: in this one, as each call comes).
    """

    def __init__(self, path: Path, task: str, observation_space: gym.Space,
                 action_space: gym.Space, spec, metadata: dict, background: bool = True):
        minari = require_minari()
        from minari.dataset.minari_storage import MinariStorage

        data = dataset_dir(path, task) / "data"
        data.parent.mkdir(parents=True)
        self.storage = MinariStorage.new(data, observation_space=observation_space,
                                         action_space=action_space, env_spec=spec,
                                         data_format="hdf5", jpeg_encoding=False)
        self.storage.update_metadata({"dataset_id": dataset_id(task),
                                      "minari_version": minari.__version__, **metadata})
        self._worker = _Worker(data) if background else None

    def write(self, chunks: list[tuple], metas: list[dict]) -> None:
        """Append ``(episode, chunk)`` rows (see :class:`~.episodes.EpisodeBook`) and set each
        episode's metadata.

        Raises:
            OSError: an earlier background write failed (nothing more is written).
        """
        rows = [(ep.id, chunk) for ep, chunk in chunks]
        if self._worker is not None and self._worker.ready():
            self._worker.send(rows, metas)
        else:  # no worker, or not started yet (it has not opened the file: no overlap)
            write_episodes(self.storage, rows, metas)

    def close(self) -> None:
        """Wait for the background writes (idempotent).

        Raises:
            OSError: a background write failed; what was written before it stays readable.
        """
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.close()


def write_episodes(storage, rows: list[tuple[int, dict]], metas: list[dict]) -> None:
    """Append ``(episode id, chunk)`` rows to ``storage`` (a ``MinariStorage``, HDF5) and set
    each episode's metadata, in one opening of its file.

    The groups and datasets are the ones Minari's HDF5 storage writes for an ``EpisodeBuffer``
    (``episode_<id>`` with ``id``, ``seed``, ``total_steps`` attributes; ``observations`` /
    ``infos`` groups per dict key; resizable datasets, appended to by a later chunk), made with
    h5py's low-level calls: its high-level ``create_dataset`` costs about four times as much,
    and an episode is some twenty datasets.
    """
    import h5py

    added = 0
    with h5py.File(storage._file_path, "a", track_order=True) as file:
        for (episode_id, chunk), meta in zip(rows, metas):
            name = f"episode_{episode_id}"
            group = file[name] if name in file else _new_group(file, name)
            group.attrs["id"] = episode_id
            if chunk["seed"] is not None:
                group.attrs["seed"] = chunk["seed"]
            steps = len(chunk["rewards"])
            group.attrs["total_steps"] = steps  # as Minari: this chunk's; meta has the sum
            added += steps
            _write_tree(group, {key: chunk[key] for key in (
                "observations", "actions", "rewards", "terminations", "truncations", "infos")})
            group.attrs.update(meta)
        episodes = len(file.keys())
    storage.update_metadata({"total_steps": storage.total_steps + added,
                             "total_episodes": episodes, "dataset_size": storage.get_size()})


class _Worker:
    """The background writer: a spawned process (no fork: the batch's native threads would
    not survive it) that runs :func:`write_episodes` for each message, in order."""

    CLOSE_TIMEOUT_S = 120.0  # to finish what is queued

    def __init__(self, data: Path):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, str(data)), daemon=True,
                                name="spaceros-dataset-writer")
        self.proc.start()
        child.close()
        self.error: str | None = None
        self.started = False  # the child said it is ready; from then on it does every write
        atexit.register(self._abandon)  # before multiprocessing's exit hook joins the child

    def ready(self) -> bool:
        """Whether the child has started (checked without waiting)."""
        if not self.started:
            self._collect()
        return self.started

    def send(self, rows: list, metas: list[dict]) -> None:
        self._collect()
        if self.error is not None:
            raise OSError(self.error)
        try:
            self.conn.send(("write", rows, metas))
        except (BrokenPipeError, EOFError, OSError):
            self.error = f"the dataset writer process ended (exit code {self.proc.exitcode})"
            raise OSError(self.error) from None

    def _collect(self) -> None:
        """Take the error a write reported, if any (without waiting)."""
        try:
            while self.conn.poll():
                kind, text = self.conn.recv()
                self.started |= kind == "ready"
                if kind == "error" and self.error is None:
                    self.error = text
        except (EOFError, OSError):
            pass

    def close(self) -> None:
        atexit.unregister(self._abandon)
        if not self.ready():  # it never wrote: no need to wait for it to start
            self.conn.close()
            self.proc.join(1.0)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()
            return
        try:
            self.conn.send(("close",))
            deadline = time.monotonic() + self.CLOSE_TIMEOUT_S
            while self.conn.poll(max(0.0, deadline - time.monotonic())):
                kind, text = self.conn.recv()
                if kind == "error" and self.error is None:
                    self.error = text
                if kind == "closed":
                    break
            else:
                self.error = self.error or "the dataset writer did not finish within " \
                    f"{self.CLOSE_TIMEOUT_S:.0f} s"
        except (BrokenPipeError, EOFError, OSError):
            if self.proc.exitcode not in (None, 0):
                self.error = self.error or f"the dataset writer process ended (exit code " \
                    f"{self.proc.exitcode}): episodes written before it are kept"
        finally:
            self.conn.close()
            self.proc.join(5.0)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()
        if self.error is not None:
            raise OSError(self.error)

    def _abandon(self) -> None:
        """At interpreter exit without :meth:`close`: end the pipe; the child writes what it
        has and exits."""
        self.conn.close()
        self.proc.join(self.CLOSE_TIMEOUT_S)


def _serve(conn, data: str) -> None:
    """The writer process: write each message's episodes until ``close`` or the end of the
    pipe. Ctrl-C and SIGTERM do not stop it mid-file: the recording process closes it (or, if
    that process is gone, the pipe ends); a SIGTERM only bounds how long it waits for that."""
    from minari.dataset.minari_storage import MinariStorage

    stop_by = [float("inf")]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop_by.__setitem__(0, time.monotonic() + 10.0))
    storage, error = MinariStorage.read(data), None
    conn.send(("ready", None))
    while True:
        try:
            if not conn.poll(0.2):
                if time.monotonic() > stop_by[0]:
                    break
                continue
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message[0] == "close":
            conn.send(("closed", None))
            break
        assert message[0] == "write", message[0]
        if error is None:
            try:
                write_episodes(storage, message[1], message[2])
            except Exception as exc:  # noqa: BLE001 - reported to the recording, which stops
                error = f"writing the dataset failed ({exc}): recording stopped, episodes " \
                    "written before kept"
                conn.send(("error", error))
    conn.close()


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
