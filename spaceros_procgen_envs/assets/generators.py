"""The generator registry and :class:`AssetRequest`, the unit the cache stores.

A generator is a pure function ``(cfg, rng) -> Heightmap | MeshAsset``. Its *code
version* is a hash of its module's source, so editing a generator changes every key it
produces and the cache can never serve an asset made by older code.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import unknown_name
from .types import Asset

# name -> (module, function); modules import lazily so a worker loads only what it needs.
_GENERATORS: dict[str, tuple[str, str]] = {
    "terrain": ("spaceros_procgen_envs.assets.terrain", "generate_terrain"),
    "rock": ("spaceros_procgen_envs.assets.rocks", "generate_rock"),
    "debris": ("spaceros_procgen_envs.assets.debris", "generate_debris"),
    "peg_hole": ("spaceros_procgen_envs.assets.peg_hole", "generate_peg_hole"),
}


def list_generators() -> list[str]:
    return list(_GENERATORS)


def get_generator(name: str) -> Callable[[Any, np.random.Generator], Asset]:
    """Return the generator function called ``name``."""
    if name not in _GENERATORS:
        raise unknown_name("generator", name, _GENERATORS)
    module, func = _GENERATORS[name]
    return getattr(importlib.import_module(module), func)


@functools.cache
def code_version(name: str) -> str:
    """Hash of the generator's module source and of the modules it shares (16 hex chars)."""
    from . import meshutil, types

    module = importlib.import_module(_GENERATORS[name][0])
    digest = hashlib.sha256()
    for mod in (module, types, meshutil):
        digest.update(inspect.getsource(mod).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class AssetRequest:
    """One asset to make: which generator, with which config, from which seed.

    Attributes:
        generator: a name from :func:`list_generators`.
        cfg: the generator's frozen config dataclass.
        seed: entropy for ``numpy.random.default_rng``; ``(env_seed, index)`` so the
            k-th rock of env i never shares a stream with another asset.
    """

    generator: str
    cfg: Any
    seed: tuple[int, ...]

    @property
    def key(self) -> str:
        """Content address: generator, code version, every config field and the seed."""
        ident = {"generator": self.generator, "version": code_version(self.generator),
                 "cfg_type": type(self.cfg).__name__, "cfg": dataclasses.asdict(self.cfg),
                 "seed": list(self.seed)}
        blob = json.dumps(ident, sort_keys=True, default=_jsonable)
        return f"{self.generator}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"

    def generate(self) -> Asset:
        """Run the generator (no cache involved)."""
        rng = np.random.default_rng(list(self.seed))
        return get_generator(self.generator)(self.cfg, rng)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"config value {value!r} cannot be part of a cache key")
