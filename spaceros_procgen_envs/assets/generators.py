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
        """Content address: generator, code version, every config field and the seed.

        It hashes ``json.dumps({"cfg", "cfg_type", "generator", "seed", "version"},
        sort_keys=True)``; the part before ``"seed"`` is the same for every env of a batch, so
        it is serialised once per (generator, cfg) (:func:`_ident_head`), and a key costs one
        short string and one hash.
        """
        blob = (f'{_ident_head(self.generator, self.cfg)}, "seed": '
                f'{json.dumps(list(self.seed), default=_jsonable)}, "version": '
                f'{json.dumps(code_version(self.generator))}}}')
        return f"{self.generator}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"

    def generate(self) -> Asset:
        """Run the generator (no cache involved)."""
        rng = np.random.default_rng(list(self.seed))
        return get_generator(self.generator)(self.cfg, rng)


# (generator, cfg type, cfg) -> the serialised key fields before "seed". Configs are frozen
# dataclasses, so equal configs serialise alike (0.0 and -0.0 compare equal: no config tells
# them apart). An unhashable config (a list or array field) is serialised every time.
_HEADS: dict[tuple, str] = {}


def _ident_head(generator: str, cfg: Any) -> str:
    """``json.dumps`` of the key's generator and config fields, without its closing brace."""
    try:
        memo = (generator, type(cfg), cfg)
        return _HEADS[memo]
    except TypeError:
        memo = None
    except KeyError:
        pass
    ident = {"cfg": dataclasses.asdict(cfg), "cfg_type": type(cfg).__name__,
             "generator": generator}
    head = json.dumps(ident, sort_keys=True, default=_jsonable)[:-1]
    if memo is not None:
        _HEADS[memo] = head
    return head


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"config value {value!r} cannot be part of a cache key")
