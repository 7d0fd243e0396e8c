"""Asset plans shared by several tasks (which procedural assets one env needs)."""

from __future__ import annotations

from dataclasses import replace

from ..assets.debris import debris_cfg
from ..assets.peg_hole import peg_hole_cfg
from ..assets.rocks import rock_cfg
from ..assets.terrain import terrain_cfg
from ..domains import Domain

GROUND_DOMAINS = ("moon", "mars", "earth", "asteroid")


def ground(domain: Domain, size_m: float) -> dict:
    """A terrain patch ``size_m`` wide, or nothing in a domain without ground."""
    if not domain.has_ground:
        return {}
    return {"terrain": ("terrain", terrain_cfg(domain.terrain_style, size_m))}


def boulders(domain: Domain, count: int) -> dict:
    """``count`` scattered rocks (obstacles and scenery), none in a domain without ground."""
    if not domain.has_ground:
        return {}
    cfg = replace(rock_cfg(domain.rock_style, "boulder"), rgba=domain.rock_rgba)
    return {f"boulder{k}": ("rock", cfg) for k in range(count)}


def sample_rock(domain: Domain) -> dict:
    cfg = replace(rock_cfg(domain.rock_style, "sample"), rgba=domain.rock_rgba)
    return {"sample": ("rock", cfg)}


def debris(kind: str = "any") -> dict:
    return {"debris": ("debris", debris_cfg(kind))}


def peg_and_hole() -> dict:
    return {"peg_hole": ("peg_hole", peg_hole_cfg())}
