"""Procedural peg and hole pairs. (Stub: being written.)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import MeshAsset


@dataclass(frozen=True)
class PegHoleCfg:
    clearance_m: float = 0.002


def peg_hole_cfg(clearance_m: float = 0.002) -> PegHoleCfg:
    return PegHoleCfg(clearance_m)


def generate_peg_hole(cfg: PegHoleCfg, rng: np.random.Generator) -> MeshAsset:
    raise NotImplementedError
