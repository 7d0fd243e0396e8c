"""The compiled-world cache: a warm start loads each env's compiled model, no MjSpec at all.

It lives beside the asset cache (:func:`~..assets.cache.cache_dir`, ``$SPACEROS_PROCGEN_CACHE_DIR``)
and is content-addressed like it. A world is named by a hash of everything that makes it
(:func:`faces_ident`): the task's full name (``_visual`` included), the domain, every asset key
of the env, the task options, MuJoCo's version and :func:`builder_version` (a hash of the
source of ``sim/``, ``tasks/``, ``domains.py`` and the env core ``world.py``, so a changed
builder never serves a stale world), plus the face total the batch pads every world to. Per
env there are three files:

* ``faces-<key>.faces``: the world's own (unpadded) mesh-face count, so the batch's face total
  is known before anything is built;
* ``world-<key>.world``: the camera names, the task's observation space and the task object
  after build + bind (pickled without its meshes, see ``Task.__getstate__``), and the size,
  CRC-32 and (size, mtime) stamp of the model file;
* ``world-<key>.<crc>.mjb``: the compiled model as ``mj_saveModel`` writes it.

``.faces`` and ``.world`` files are ``MAGIC | crc32 | payload``. Every file is written
atomically (:func:`~..assets.cache.write_atomic`); a bad header, a CRC mismatch, a model that
will not load or a task that will not unpickle is deleted with one warning and rebuilt. A model
file whose size and mtime are still those recorded when it was written is trusted without
reading it twice (its CRC costs ~2 ms a world here, a fifth of a 1024-env warm start); any
other (rewritten, truncated, copied without its times) has its CRC checked first.
Pickles are read only from this cache directory, which holds nothing but what this package
wrote there (the same trust as the asset cache).
"""

from __future__ import annotations

import functools
import hashlib
import json
import pickle
import warnings
import zlib
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, NamedTuple

import mujoco
import numpy as np

from ..assets import cache
from . import scene

MAGIC = b"SPPGW\x00\x01\n"  # format version 1
_HEADER = len(MAGIC) + 4  # magic, then the payload's CRC-32 (big-endian)
PACKAGE = Path(__file__).resolve().parents[1]
BUILDER_SOURCES = ("sim", "tasks", "domains.py", "world.py")  # relative to the package


class CorruptWorld(Exception):
    """A world cache file that is not intact (internal; never escapes)."""


@functools.cache
def builder_version() -> str:
    """Hash of the source of every module that builds worlds (16 hex chars)."""
    digest = hashlib.sha256()
    for source in BUILDER_SOURCES:
        root = PACKAGE / source
        paths = sorted(root.rglob("*.py")) if root.is_dir() else [root] if root.is_file() else []
        for path in paths:
            digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__qualname__, **asdict(value)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)  # an option without a stable form keys by its repr


def faces_ident(task: str, domain: str, asset_keys: dict[str, str],
                task_options: dict[str, Any]) -> str:
    """The world's identity without the face total: what its ``.faces`` entry is named by."""
    ident = {"task": task, "domain": domain, "assets": asset_keys, "options": task_options,
             "mujoco": mujoco.__version__, "builder": builder_version()}
    blob = json.dumps(ident, sort_keys=True, default=_jsonable)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def frame(payload: bytes) -> bytes:
    """``MAGIC | crc32 | payload``: what a ``.faces`` or ``.world`` file holds."""
    return MAGIC + zlib.crc32(payload).to_bytes(4, "big") + payload


def unframe(data: bytes) -> bytes:
    """The payload of :func:`frame`'s output; :class:`CorruptWorld` if it is not intact."""
    if len(data) < _HEADER or data[:len(MAGIC)] != MAGIC:
        raise CorruptWorld("bad header")
    payload = data[_HEADER:]
    if zlib.crc32(payload) != int.from_bytes(data[len(MAGIC):_HEADER], "big"):
        raise CorruptWorld("checksum mismatch")
    return payload


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise cache._cache_error(path.parent, exc) from None


def _discard(paths: list[Path], reason: str) -> None:
    warnings.warn(f"corrupt world cache file {paths[0]} ({reason}); rebuilding it",
                  RuntimeWarning, stacklevel=3)
    for path in paths:
        cache._remove_quietly(path)


class CachedWorld(NamedTuple):
    """One world as the cache holds it: the task object after build + bind, its padded model,
    the full names of its cameras, and what ``task.observation_space()`` returned."""

    task: Any
    model: mujoco.MjModel
    camera_names: list[str]
    state_space: Any


class WorldStore:
    """The cache entries of one batch's worlds (env ``i`` of the batch is entry ``i``).

    Args:
        task: the task's full name (``perseverance_visual`` keeps its suffix).
        domain: the resolved domain name.
        asset_keys: per env, asset name -> :attr:`~..assets.generators.AssetRequest.key`.
        task_options: the options the task objects are made with (part of the key).
    """

    def __init__(self, task: str, domain: str, asset_keys: list[dict[str, str]],
                 task_options: dict[str, Any]):
        self.directory = cache.cache_dir()
        self.idents = [faces_ident(task, domain, keys, task_options) for keys in asset_keys]
        self._spaces: dict[bytes, Any] = {}

    def __len__(self) -> int:
        return len(self.idents)

    def sliced(self, start: int, stop: int) -> WorldStore:
        """The entries of envs ``start..stop-1`` (their entry 0 is env ``start``)."""
        part = WorldStore.__new__(WorldStore)
        part.directory, part.idents = self.directory, self.idents[start:stop]
        part._spaces = {}
        return part

    def faces_path(self, i: int) -> Path:
        return self.directory / f"faces-{self.idents[i]}.faces"

    def world_path(self, i: int, total: int) -> Path:
        return self.directory / f"world-{self.world_key(i, total)}.world"

    def world_key(self, i: int, total: int) -> str:
        """Env ``i``'s world padded to ``total`` mesh faces."""
        return hashlib.sha256(f"{self.idents[i]}:{int(total)}".encode()).hexdigest()[:32]

    # --- face counts ----------------------------------------------------------------------
    def face_counts(self) -> list[int | None]:
        """Every env's unpadded mesh-face count, None where it is not cached."""
        return [self._faces(i) for i in range(len(self))]

    def _faces(self, i: int) -> int | None:
        path = self.faces_path(i)
        data = _read(path)
        if data is None:
            return None
        try:
            return int(unframe(data).decode())
        except (CorruptWorld, ValueError) as exc:
            _discard([path], str(exc))
            return None

    def put_faces(self, i: int, count: int) -> None:
        cache.write_atomic(self.faces_path(i), frame(str(int(count)).encode()))

    def missing(self) -> list[int]:
        """Envs that cannot start from the cache as it stands: face count unknown, or no
        world at the face total of the known counts."""
        counts = self.face_counts()
        known = [c for c in counts if c is not None]
        if len(known) < len(counts):
            return [i for i, c in enumerate(counts) if c is None]
        total = scene.face_total(known)
        return [i for i in range(len(self)) if not self.world_path(i, total).is_file()]

    # --- worlds ---------------------------------------------------------------------------
    def get(self, i: int, total: int) -> CachedWorld | None:
        """Env ``i``'s compiled world at ``total`` faces (its task restored, not yet bound to
        the model: the env core's ``SimEnv`` binds it), or None on a miss or a corrupt entry."""
        path = self.world_path(i, total)
        data = _read(path)
        if data is None:
            return None
        model_path = None
        try:
            entry = pickle.loads(unframe(data))
            model_path = path.with_name(entry["model_file"])
            self._check_model(model_path, entry)
            model = mujoco.MjModel.from_binary_path(str(model_path))
        except Exception as exc:  # corrupt, truncated, or written by an incompatible build
            reason = str(exc) or type(exc).__name__
            _discard([p for p in (path, model_path) if p is not None], reason)
            return None
        return CachedWorld(entry["task"], model, entry["camera_names"],
                           self._state_space(entry["state_space"]))

    def _state_space(self, pickled: bytes):
        """The task's observation space from its pickle, one object per distinct pickle: the
        worlds of a batch share one layout, so they share the (never mutated) space object."""
        space = self._spaces.get(pickled)
        if space is None:
            space = self._spaces[pickled] = pickle.loads(pickled)
        return space

    def _check_model(self, path: Path, entry: dict) -> None:
        """Raise :class:`CorruptWorld` unless the model file is the one ``entry`` describes:
        same (size, mtime) stamp as written, else same size and CRC."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise CorruptWorld("its model file is missing") from None
        if (stat.st_size, stat.st_mtime_ns) == tuple(entry["model_stamp"]):
            return
        size = entry["model_size"]
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CorruptWorld("its model file is missing") from None
        if len(data) != size or zlib.crc32(data) != entry["model_crc"]:
            raise CorruptWorld("model size or checksum mismatch")

    def put(self, i: int, total: int, env) -> None:
        """Store env ``i``'s world (built just now, before any reset) at ``total`` faces:
        ``env`` is the env core's ``SimEnv`` (its ``model``, ``cameras`` and ``task``)."""
        buffer = np.empty(mujoco.mj_sizeModel(env.model), np.uint8)
        mujoco.mj_saveModel(env.model, None, buffer)
        model_bytes = buffer.tobytes()
        crc = zlib.crc32(model_bytes)
        path = self.world_path(i, total)
        model_file = f"{path.stem}.{crc:08x}.mjb"
        cache.write_atomic(path.with_name(model_file), model_bytes)
        stat = path.with_name(model_file).stat()  # another writer's identical file: CRC path
        entry = {"model_file": model_file, "model_size": len(model_bytes), "model_crc": crc,
                 "model_stamp": (stat.st_size, stat.st_mtime_ns),
                 "camera_names": [env.model.camera(c).name for c in env.cameras.ids]
                 if env.cameras else [],  # full names (the rig keeps short ones)
                 "task": env.task, "state_space": pickle.dumps(env.task.observation_space())}
        cache.write_atomic(path, frame(pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)))

