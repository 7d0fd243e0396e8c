"""The content-addressed disk cache of procedural assets.

One file per :class:`~.generators.AssetRequest`, named ``<request.key>.asset`` in
:func:`cache_dir`. A file is ``MAGIC | sha256(payload) | payload`` where the payload is
an uncompressed ``np.savez`` of ``asset.to_arrays()``. Loading checks the magic and the
digest, so a truncated or corrupt file is detected, deleted and regenerated.

Writes are atomic: each writer fills its own temp file (``.<key>.<pid>.<random>.tmp``,
same directory) and ``os.replace``-s it onto the entry, so two processes making the
same asset at once both succeed and a reader never sees half a file.

Example::

    from spaceros_procgen_envs.registry import get_task
    request = get_task("peg_in_hole").asset_requests(42)["peg_hole"]
    asset, was_cached = get_or_create(request)
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import warnings
from pathlib import Path

import numpy as np
import platformdirs

from ..errors import CacheError
from .generators import AssetRequest
from .types import Asset, asset_from_arrays

ENV_VAR = "SPACEROS_PROCGEN_CACHE_DIR"
APP_NAME = "spaceros_procgen_envs"
SUFFIX = ".asset"
TEMP_SUFFIX = ".tmp"
MAGIC = b"SPPGA\x00\x01\n"  # format version 1
_HEADER = len(MAGIC) + hashlib.sha256().digest_size


class CorruptEntry(Exception):
    """A cache file that is not a complete, intact entry (internal; never escapes)."""


def cache_dir() -> Path:
    """The cache directory: ``$SPACEROS_PROCGEN_CACHE_DIR`` or the user cache dir.

    The variable is read on every call, so tests and scripts can change it at run time.
    The directory is not created here (see :func:`ensure_cache_dir`).

    Returns:
        An absolute path.
    """
    override = os.environ.get(ENV_VAR, "").strip()
    base = os.path.expanduser(override) if override else platformdirs.user_cache_dir(APP_NAME)
    return Path(os.path.abspath(base))


def ensure_cache_dir() -> Path:
    """Create the cache directory if needed and prove it is writable (probe file).

    Returns:
        The cache directory.

    Raises:
        CacheError: the directory cannot be created or written (one-line message).
    """
    directory = cache_dir()
    probe = directory / f".probe.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as exc:
        raise _cache_error(directory, exc) from None
    return directory


def entry_path(request: AssetRequest, directory: Path | None = None) -> Path:
    """Where ``request``'s asset lives in the cache (the file may not exist)."""
    return (directory or cache_dir()) / f"{request.key}{SUFFIX}"


def encode(asset: Asset) -> bytes:
    """The payload of a cache file: uncompressed ``np.savez`` of ``asset.to_arrays()``."""
    return encode_arrays(asset.to_arrays())


def encode_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """The payload for an asset already in ``to_arrays()`` form."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def decode(payload: bytes) -> Asset:
    """Rebuild the asset from a payload made by :func:`encode` (no pickles allowed)."""
    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        return asset_from_arrays({name: npz[name] for name in npz.files})


def read_entry(path: Path) -> Asset | None:
    """Load one cache file; ``None`` when it does not exist.

    Raises:
        CorruptEntry: bad magic, bad digest (truncated or flipped bytes), or bad payload.
        CacheError: the file exists but cannot be read.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _cache_error(path.parent, exc) from None
    if len(data) < _HEADER or data[:len(MAGIC)] != MAGIC:
        raise CorruptEntry("bad header")
    payload = data[_HEADER:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC):_HEADER]:
        raise CorruptEntry("digest mismatch")
    try:
        return decode(payload)
    except Exception as exc:  # a payload that hashes right but will not parse
        raise CorruptEntry(f"unreadable payload: {exc}") from None


def write_entry(path: Path, payload: bytes) -> None:
    """Atomically write ``MAGIC | sha256 | payload`` to ``path``.

    Raises:
        CacheError: the directory cannot be created or written.
    """
    write_atomic(path, MAGIC + hashlib.sha256(payload).digest() + payload)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file of this writer's own in the same
    directory and ``os.replace`` (concurrent writers all succeed; a reader never sees half).

    Raises:
        CacheError: the directory cannot be created or written.
    """
    temp = path.with_name(f".{path.stem}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    try:
        _write_new(temp, data)
        os.replace(temp, path)
    except OSError as exc:
        raise _cache_error(path.parent, exc) from None
    finally:
        _remove_quietly(temp)


def load(request: AssetRequest) -> Asset | None:
    """The cached asset for ``request``, or ``None`` on a miss.

    A corrupt or truncated file is deleted (with one warning naming it) and reported
    as a miss, so the caller regenerates it.

    Args:
        request: what to look up.

    Returns:
        The asset, or ``None``.
    """
    path = entry_path(request)
    try:
        return read_entry(path)
    except CorruptEntry as exc:
        warnings.warn(f"corrupt asset cache file {path} ({exc}); regenerating it",
                      RuntimeWarning, stacklevel=2)
        path.unlink(missing_ok=True)
        return None


def store(request: AssetRequest, asset: Asset) -> dict[str, np.ndarray]:
    """Write ``asset`` as the cache entry of ``request`` (atomic; last writer wins).

    Args:
        request: the request ``asset`` was generated from.
        asset: the generated asset.

    Returns:
        The ``to_arrays()`` form that was written (``asset_from_arrays`` of it equals a
        later :func:`load`).

    Raises:
        CacheError: the cache directory cannot be written.
    """
    arrays = asset.to_arrays()
    write_entry(entry_path(request), encode_arrays(arrays))
    return arrays


def get_or_create(request: AssetRequest) -> tuple[Asset, bool]:
    """The asset for ``request`` from the cache, generating and storing it on a miss.

    Args:
        request: what to make.

    Returns:
        ``(asset, was_cached)``; a fresh asset is rebuilt from its stored arrays, so a
        miss and a later hit give the very same object layout.
    """
    asset = load(request)
    if asset is not None:
        return asset, True
    return asset_from_arrays(store(request, request.generate())), False


def _write_new(temp: Path, data: bytes) -> None:
    try:
        handle = open(temp, "xb")
    except FileNotFoundError:  # the cache dir vanished or was never made
        temp.parent.mkdir(parents=True, exist_ok=True)
        handle = open(temp, "xb")
    with handle:
        handle.write(data)


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # e.g. its directory is a file: then it was never created
        pass


def _cache_error(directory: Path, exc: OSError) -> CacheError:
    reason = exc.strerror or type(exc).__name__
    source = f"${ENV_VAR}" if os.environ.get(ENV_VAR, "").strip() else "the default cache dir"
    return CacheError(
        f"cannot use the asset cache {directory} ({source}): {reason}. Fix: set {ENV_VAR} "
        f"to a writable directory, e.g. export {ENV_VAR}=/tmp/spaceros_procgen_cache")
