"""Procedural rocks. (Stub: being written.)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import MeshAsset


@dataclass(frozen=True)
class RockCfg:
    style: str
    size: str


def rock_cfg(style: str, size: str) -> RockCfg:
    return RockCfg(style, size)


def generate_rock(cfg: RockCfg, rng: np.random.Generator) -> MeshAsset:
    raise NotImplementedError
