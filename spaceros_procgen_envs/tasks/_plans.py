"""Asset plans shared by several tasks (which procedural assets one env needs)."""

from __future__ import annotations

from dataclasses import replace

from ..assets.debris import debris_cfg
from ..assets.peg_hole import peg_hole_cfg
from ..assets.rocks import rock_cfg
from ..assets.terrain import rough_terrain_cfg, terrain_cfg
from ..domains import Domain

GROUND_DOMAINS = ("moon", "mars", "earth", "asteroid")
# Boulders that block a rover (taller than its chassis top, 1.1 m, once a third is sunk) or a
# low-flying helicopter: bounding box (length, width, height) ranges, m.
LARGE_BOULDER = dict(length_m=(1.5, 2.2), width_m=(1.0, 2.0), height_m=(1.4, 2.0))


def ground(domain: Domain, size_m: float, rough: bool = False) -> dict:
    """A terrain patch ``size_m`` wide (the rough variant of the domain's preset when
    ``rough``), or nothing in a domain without ground."""
    if not domain.has_ground:
        return {}
    make = rough_terrain_cfg if rough else terrain_cfg
    return {"terrain": ("terrain", make(domain.terrain_style, size_m))}


def boulders(domain: Domain, count: int, size: dict | None = None) -> dict:
    """``count`` scattered rocks (obstacles and scenery), none in a domain without ground;
    ``size`` overrides the boulder preset's extents (e.g. :data:`LARGE_BOULDER`)."""
    if not domain.has_ground:
        return {}
    cfg = replace(rock_cfg(domain.rock_style, "boulder"), rgba=domain.rock_rgba, **(size or {}))
    return {f"boulder{k}": ("rock", cfg) for k in range(count)}


def sample_rock(domain: Domain) -> dict:
    cfg = replace(rock_cfg(domain.rock_style, "sample"), rgba=domain.rock_rgba)
    return {"sample": ("rock", cfg)}


def debris(kind: str = "any") -> dict:
    return {"debris": ("debris", debris_cfg(kind))}


def peg_and_hole() -> dict:
    return {"peg_hole": ("peg_hole", peg_hole_cfg())}
