"""Procedural orbital debris fragments. (Stub: being written.)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import MeshAsset


@dataclass(frozen=True)
class DebrisCfg:
    kind: str


def debris_cfg(kind: str = "any") -> DebrisCfg:
    return DebrisCfg(kind)


def generate_debris(cfg: DebrisCfg, rng: np.random.Generator) -> MeshAsset:
    raise NotImplementedError
