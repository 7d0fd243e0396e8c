"""The Minari dataset's HDF5 writes: in the recording's process, or as a process of its own.

This file imports nothing of the package (only numpy and h5py), so the background writer
starts in a fraction of a second: ``python h5writer.py FD DATA`` serves
``multiprocessing.connection`` messages on the socket ``FD`` for the dataset directory
``DATA`` (``("write", rows, metas)``, ``("close",)``; replies ``("ready", None)``,
``("error", text)``, ``("closed", None)``), writing each message's episodes in order.

The groups and datasets are the ones Minari's HDF5 storage writes for an ``EpisodeBuffer``
(``episode_<id>`` with ``id``, ``seed``, ``total_steps`` attributes; ``observations`` /
``infos`` groups per dict key; resizable datasets, appended to by a later chunk), made with
h5py's low-level calls: its high-level ``create_dataset`` costs about four times as much, and
an episode is some twenty datasets. ``metadata.json`` gets Minari's running totals
(``total_steps``, ``total_episodes``, ``dataset_size`` in MB, as Minari computes them).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import numpy as np

CHUNK_BYTES = 64 << 10  # HDF5 chunk of a new dataset at most (HDF5 allocates whole chunks)
MAIN_FILE = "main_data.hdf5"  # Minari's HDF5 storage file in the dataset's data directory
METADATA_FILE = "metadata.json"


def write_episodes(data: str | Path, rows: list[tuple[int, dict]], metas: list[dict]) -> None:
    """Append ``(episode id, chunk)`` rows to the Minari HDF5 dataset in directory ``data``
    and set each episode's metadata, in one opening of its file."""
    import h5py

    data = Path(data)
    added = 0
    with h5py.File(data / MAIN_FILE, "a", track_order=True) as file:
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
    meta_path = data / METADATA_FILE
    metadata = json.loads(meta_path.read_text())
    size = sum(f.stat().st_size for f in data.glob("**/*")) / 1e6  # Minari's get_size
    metadata.update(total_steps=int(metadata.get("total_steps", 0)) + added,
                    total_episodes=episodes, dataset_size=float(np.round(size, 1)))
    tmp = meta_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(metadata))
    tmp.replace(meta_path)


def serve(conn, data: str) -> None:
    """The writer process: write each message's episodes until ``close`` or the end of the
    pipe. Ctrl-C and SIGTERM do not stop it mid-file: the recording process closes it (or, if
    that process is gone, the pipe ends); a SIGTERM only bounds how long it waits for that."""
    import h5py  # noqa: F401  (loaded before saying ready)

    stop_by = [float("inf")]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop_by.__setitem__(0, time.monotonic() + 10.0))
    error = None
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
                write_episodes(data, message[1], message[2])
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




if __name__ == "__main__":
    from multiprocessing.connection import Connection

    serve(Connection(int(sys.argv[1])), sys.argv[2])
