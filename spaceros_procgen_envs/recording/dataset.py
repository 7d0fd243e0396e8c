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
import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

import gymnasium as gym

from . import h5writer
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

    The episodes' HDF5 writes (some twenty datasets and attributes each, about 15 ms) run in a
    process of their own when ``background`` (the default, :mod:`.h5writer`): the recording's
    process hands each flush over a socket and goes on stepping, and the writer uses the core
    that the batch leaves idle while Python runs. Until that process has started (a fraction
    of a second), writes are made here, in order, so a short run never waits for it. :meth:`close` waits for every
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
            h5writer.write_episodes(self.storage.data_path, rows, metas)

    def close(self) -> None:
        """Wait for the background writes (idempotent).

        Raises:
            OSError: a background write failed; what was written before it stays readable.
        """
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.close()


class _Worker:
    """The background writer: ``h5writer.py`` run as a plain subprocess (no fork: the batch's
    native threads would not survive it; not multiprocessing's spawn either, which would
    import this package and the calling script again), talking over a socket pair."""

    CLOSE_TIMEOUT_S = 120.0  # to finish what is queued

    def __init__(self, data: Path):
        ours, theirs = socket.socketpair()
        self.conn = Connection(ours.detach())
        fd = theirs.fileno()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(h5writer.__file__)), str(fd), str(data)],
            pass_fds=(fd,), stdin=subprocess.DEVNULL)
        theirs.close()
        self.error: str | None = None
        self.started = False  # the child said it is ready; from then on it does every write
        atexit.register(self._abandon)

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
        except OSError:
            self.error = f"the dataset writer process ended (exit code {self.proc.poll()})"
            raise OSError(self.error) from None

    def _collect(self) -> None:
        """Take what the child said (ready, an error) without waiting."""
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
            self._end(1.0)
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
        except (EOFError, OSError):
            code = self.proc.poll()
            if code not in (None, 0):
                self.error = self.error or f"the dataset writer process ended (exit code " \
                    f"{code}): episodes written before it are kept"
        finally:
            self._end(5.0)
        if self.error is not None:
            raise OSError(self.error)

    def _end(self, wait_s: float) -> None:
        self.conn.close()  # the child stops at the end of the pipe
        try:
            self.proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _abandon(self) -> None:
        """At interpreter exit without :meth:`close`: end the pipe; the child writes what it
        has and exits."""
        self._end(self.CLOSE_TIMEOUT_S)


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
