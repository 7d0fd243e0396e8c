"""Where a recording lives, and the checks ``--record PATH`` makes before anything runs.

A recording is one directory::

    PATH/
      recording.json                      what was recorded, seeds, resets, episode index
      bag/metadata.yaml, bag/bag_0.mcap   rosbag2, MCAP storage (``ros2 bag play PATH/bag``)
      minari/spaceros/<task>-v0/data/     a Minari dataset (MINARI_DATASETS_PATH=PATH/minari)

so ``MINARI_DATASETS_PATH=PATH/minari`` makes ``minari.load_dataset("spaceros/<task>-v0")``
find it, and :func:`~spaceros_procgen_envs.recording.load_dataset` opens it from ``PATH``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import ProcgenError

MANIFEST = "recording.json"
BAG_DIR = "bag"
MINARI_DIR = "minari"
DATASET_NAMESPACE = "spaceros"


class RecordingError(ProcgenError, RuntimeError):
    """A recording that cannot be written or read (bad path, full disk, damaged files)."""


class RecordingPathError(RecordingError, ValueError):
    """``--record PATH`` names a place a recording cannot go."""


def dataset_id(task: str) -> str:
    """The Minari id of a recording of ``task`` (``perseverance_visual`` ->
    ``spaceros/perseverance_visual-v0``)."""
    return f"{DATASET_NAMESPACE}/{task}-v0"


def bag_dir(path: str | os.PathLike) -> Path:
    return Path(path) / BAG_DIR


def minari_root(path: str | os.PathLike) -> Path:
    """The directory to use as ``MINARI_DATASETS_PATH``."""
    return Path(path) / MINARI_DIR


def dataset_dir(path: str | os.PathLike, task: str) -> Path:
    """The Minari dataset's own directory (it holds ``data/``)."""
    return minari_root(path) / dataset_id(task)


def is_recording(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def check_record_path(path: str | os.PathLike, force: bool = False) -> Path:
    """Check that a recording can be written at ``path``; nothing is created.

    Args:
        path: the recording directory (it must not exist, be empty, or, with ``force``,
            hold an earlier recording).
        force: allow replacing an earlier recording at ``path``.

    Returns:
        ``path`` as an absolute :class:`~pathlib.Path`.

    Raises:
        RecordingPathError: one line naming the path, what is wrong and the fix.
    """
    target = Path(path).expanduser().absolute()
    parent = target.parent
    if not parent.is_dir():
        raise RecordingPathError(f"directory {parent} does not exist; create it or pick "
                                 "another PATH")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RecordingPathError(f"directory {parent} is not writable; pick another PATH")
    if target.exists() and not target.is_dir():
        raise RecordingPathError(f"{target} is a file, expected a recording directory; pick "
                                 "another PATH")
    if target.is_dir() and any(target.iterdir()):
        if not is_recording(target):
            raise RecordingPathError(f"{target} is a non-empty directory that holds no "
                                     f"recording ({MANIFEST}); pick a new PATH")
        if not force:
            raise RecordingPathError(f"{target} holds a recording already; add --force to "
                                     "overwrite it or pick a new PATH")
        if not os.access(target, os.W_OK | os.X_OK):
            raise RecordingPathError(f"{target} is not writable; pick another PATH")
    return target


def prepare(path: str | os.PathLike, force: bool = False) -> Path:
    """:func:`check_record_path`, then remove an earlier recording (``force``) and create the
    directory. Returns the absolute path."""
    target = check_record_path(path, force)
    if target.is_dir() and is_recording(target):
        shutil.rmtree(target)
    target.mkdir(exist_ok=True)
    return target


class DiskGuard:
    """Stops a recording while the disk still has room to finish it cleanly.

    Writers :meth:`count` what they will write; :meth:`check` compares the free space with
    what is still held in memory (the bag's open chunk, unwritten episode rows) plus a reserve
    for closing (the bag's index, the dataset's metadata), looking the free space up once per
    ``check_every_bytes`` counted.

    Args:
        path: any path on the recording's file system.
        reserve_bytes: free space kept for closing.
        check_every_bytes: how often (in bytes counted) free space is looked up.
    """

    def __init__(self, path: Path, reserve_bytes: int = 4 << 20,
                 check_every_bytes: int = 1 << 18):
        self.path, self.reserve, self.every = path, int(reserve_bytes), int(check_every_bytes)
        self._since = self.every  # look at the first check
        self.written = 0  # bytes counted so far

    def count(self, nbytes: int) -> None:
        """Account for ``nbytes`` written now or later."""
        self._since += nbytes
        self.written += nbytes

    def check(self, pending_bytes: int) -> None:
        """Raise :class:`RecordingError` when ``pending_bytes`` (held in memory, still to be
        written) and the reserve no longer fit in the free space."""
        if self._since < self.every:
            return
        self._since = 0
        free = shutil.disk_usage(self.path).free
        if free < self.reserve + pending_bytes:
            raise RecordingError(f"the disk holding {self.path} is nearly full ({free >> 10} KiB "
                                 "free): recording stopped, everything before kept")
