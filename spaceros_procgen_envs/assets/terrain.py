"""Terrain heightmaps per domain style. (Stub: being written.)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import Heightmap


@dataclass(frozen=True)
class TerrainCfg:
    style: str
    size_m: float


def terrain_cfg(style: str, size_m: float) -> TerrainCfg:
    return TerrainCfg(style, size_m)


def generate_terrain(cfg: TerrainCfg, rng: np.random.Generator) -> Heightmap:
    raise NotImplementedError
