"""Procedural rocks: noisy, anisotropic, faceted or pitted, optionally flat-cut.

A rock starts as a unit icosphere whose vertices move along their radial direction:
multi-octave noise (sums of sine waves along rng-drawn directions), gaussian pits
(vesicles) and plane cuts (facets and an optional flat base). A plane cut moves every
vertex beyond the plane radially onto it; the surface stays star-shaped about the centre,
so the mesh keeps its topology and stays watertight. The result is scaled per axis to
rng-drawn extents and moved so its centre of mass is the part origin.

Part frame: ``"rock"``, origin at the centre of mass, +x along the longest horizontal
extent, +y along the narrowest horizontal extent, +z up (a flat base cut faces -z).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import trimesh

from ..errors import unknown_name
from . import meshutil
from .types import MeshAsset, MeshPart

STYLES = ("lunar", "martian")
SIZES = ("sample", "boulder")


@dataclass(frozen=True)
class RockCfg:
    """Parameters of one rock family; every range is sampled ~ U(lo, hi) per rock.

    Attributes:
        style: preset name, ``lunar`` (angular, grey) or ``martian`` (rounded, pitted, red).
        size: preset name, ``sample`` (fits an 8 cm gripper) or ``boulder``.
        length_m: longest horizontal extent (along x), metres.
        width_m: narrowest horizontal extent (along y), metres; clipped to
            [min_aspect * length, length].
        height_m: vertical extent (along z), metres; clipped to <= length.
        min_aspect: smallest width / length ratio.
        subdivisions: icosphere subdivisions (3 -> 642 vertices, 1280 faces).
        noise_amplitude: radial displacement of the first octave, fraction of the radius.
        noise_octaves: octaves; each doubles the frequency and multiplies the amplitude
            by ``roughness``.
        roughness: amplitude gain per octave.
        ridged: 0 = smooth rolling noise, 1 = ridged noise with sharp creases.
        facets: number of planar facets (random plane cuts), integer range.
        facet_depth: facet plane distance from the centre, fraction of the mean radius.
        pits: number of vesicles (gaussian dimples), integer range.
        pit_depth: vesicle depth, fraction of the radius.
        pit_radius_rad: vesicle angular radius seen from the centre, radians.
        flat_cut_prob: probability of a flat base cut (normal within ~10 deg of -z).
        flat_cut_depth: base plane distance below the centre, fraction of the radius.
        rgba: base colour (linear RGBA).
        color_jitter: brightness jitter fraction; per-channel tint jitter is an eighth of it.
        max_hull_vertices: vertex budget of the convex collision hull.
    """

    style: str = "lunar"
    size: str = "sample"
    length_m: tuple[float, float] = (0.045, 0.07)
    width_m: tuple[float, float] = (0.043, 0.056)
    height_m: tuple[float, float] = (0.03, 0.05)
    min_aspect: float = 0.55
    subdivisions: int = 3
    noise_amplitude: float = 0.12
    noise_octaves: int = 4
    roughness: float = 0.55
    ridged: float = 0.7
    facets: tuple[int, int] = (4, 9)
    facet_depth: tuple[float, float] = (0.68, 0.9)
    pits: tuple[int, int] = (0, 0)
    pit_depth: tuple[float, float] = (0.04, 0.08)
    pit_radius_rad: tuple[float, float] = (0.18, 0.32)
    flat_cut_prob: float = 0.5
    flat_cut_depth: tuple[float, float] = (0.45, 0.75)
    rgba: tuple[float, float, float, float] = (0.36, 0.35, 0.34, 1.0)
    color_jitter: float = 0.12
    max_hull_vertices: int = meshutil.MAX_HULL_VERTICES


# Style presets: lunar rocks are impact-fractured breccia (angular, grey); martian rocks
# are wind-rounded basalts with gas vesicles, coated in red iron-oxide dust.
_STYLE = {
    "lunar": {},
    "martian": dict(noise_amplitude=0.11, noise_octaves=3, roughness=0.45, ridged=0.0,
                    facets=(0, 2), facet_depth=(0.82, 0.95), pits=(6, 14), pit_depth=(0.06, 0.12),
                    pit_radius_rad=(0.16, 0.28), flat_cut_prob=0.4,
                    rgba=(0.50, 0.30, 0.20, 1.0), color_jitter=0.10),
}
# Size presets: a sample fits a parallel gripper with an 8 cm opening across its width.
_SIZE = {
    "sample": {},
    "boulder": dict(length_m=(0.2, 0.6), width_m=(0.12, 0.6), height_m=(0.1, 0.45)),
}


def rock_cfg(style: str, size: str) -> RockCfg:
    """The preset rock config for ``style`` and ``size``.

    Args:
        style: one of :data:`STYLES`.
        size: one of :data:`SIZES`.

    Returns:
        A :class:`RockCfg`; vary it with ``dataclasses.replace``.

    >>> rock_cfg("martian", "boulder").length_m
    (0.2, 0.6)
    """
    if style not in _STYLE:
        raise unknown_name("rock style", style, STYLES)
    if size not in _SIZE:
        raise unknown_name("rock size", size, SIZES)
    return dataclasses.replace(RockCfg(style=style, size=size), **_STYLE[style], **_SIZE[size])


def generate_rock(cfg: RockCfg, rng: np.random.Generator) -> MeshAsset:
    """Generate one rock.

    Args:
        cfg: the rock family.
        rng: the only source of randomness.

    Returns:
        A :class:`MeshAsset` with one part ``"rock"`` (watertight visual, one convex
        collision hull) and meta ``length_m``, ``width_m``, ``height_m`` (bounding box)
        and ``flat_cut`` (1.0 when the base was cut flat).

    >>> asset = generate_rock(rock_cfg("lunar", "sample"), np.random.default_rng([0, 0]))
    >>> asset.parts["rock"].visual.is_watertight
    True
    """
    sphere = trimesh.creation.icosphere(subdivisions=cfg.subdivisions)
    dirs = np.asarray(sphere.vertices, np.float64)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    radius = 1.0 + _noise(cfg, dirs, rng) - _pits(cfg, dirs, rng)
    radius = np.maximum(radius, 0.35)
    radius = _facets(cfg, dirs, radius, rng)
    flat = rng.random() < cfg.flat_cut_prob
    if flat:
        radius = _flat_cut(cfg, dirs, radius, rng)
    extents = _extents(cfg, rng)
    verts = _fit_extents(dirs * radius[:, None], extents)
    mesh = trimesh.Trimesh(verts, np.asarray(sphere.faces, np.int64), process=False)
    mesh = meshutil.translated(mesh, -mesh.center_mass)
    collision = (meshutil.hull(mesh.vertices, cfg.max_hull_vertices),)
    rgba = meshutil.jitter_rgba(rng, cfg.rgba, cfg.color_jitter)
    meta = {"length_m": float(extents[0]), "width_m": float(extents[1]),
            "height_m": float(extents[2]), "flat_cut": float(flat)}
    return MeshAsset({"rock": MeshPart(mesh, collision, rgba)}, meta)


def _noise(cfg: RockCfg, dirs: np.ndarray, rng: np.random.Generator,
           waves: int = 12) -> np.ndarray:
    """Radial displacement: per octave, ``waves`` sines along random unit directions."""
    total = np.zeros(len(dirs))
    for octave in range(cfg.noise_octaves):
        k = _unit(rng.normal(size=(waves, 3)))
        phase = rng.uniform(0.0, 2 * np.pi, waves)  # phase ~ U(0, 2 pi)
        freq = 1.6 * 2.0 ** octave  # radians per unit radius
        smooth = np.sin(freq * dirs @ k.T + phase).sum(axis=1) / np.sqrt(waves / 2)
        ridge = 0.8 - np.abs(smooth)  # crest where smooth crosses zero
        wave = (1 - cfg.ridged) * smooth + cfg.ridged * ridge
        total += cfg.noise_amplitude * cfg.roughness ** octave * wave
    return total


def _pits(cfg: RockCfg, dirs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Depth of gaussian vesicles centred on random directions, fraction of the radius."""
    count = int(rng.integers(cfg.pits[0], cfg.pits[1] + 1))
    centres = _unit(rng.normal(size=(count, 3)))
    depth = rng.uniform(*cfg.pit_depth, count)
    width = rng.uniform(*cfg.pit_radius_rad, count)
    angle = np.arccos(np.clip(dirs @ centres.T, -1.0, 1.0))
    return (depth * np.exp(-((angle / width) ** 2))).sum(axis=1)


def _facets(cfg: RockCfg, dirs: np.ndarray, radius: np.ndarray,
            rng: np.random.Generator) -> np.ndarray:
    """Cut the rock with planes of random normal at ~U(facet_depth) * mean radius."""
    count = int(rng.integers(cfg.facets[0], cfg.facets[1] + 1))
    normals = _unit(rng.normal(size=(count, 3)))
    depths = rng.uniform(*cfg.facet_depth, count) * radius.mean()
    for normal, depth in zip(normals, depths):
        radius = _clip(dirs, radius, normal, depth)
    return radius


def _flat_cut(cfg: RockCfg, dirs: np.ndarray, radius: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """Flat base: plane normal = -z tilted by ~N(0, 0.1) rad about x and y."""
    normal = _unit(np.array([*rng.normal(0.0, 0.1, 2), -1.0]))
    depth = rng.uniform(*cfg.flat_cut_depth) * radius.mean()
    return _clip(dirs, radius, normal, depth)


def _clip(dirs: np.ndarray, radius: np.ndarray, normal: np.ndarray,
          depth: float) -> np.ndarray:
    """Move vertices beyond the plane ``normal . p = depth`` radially onto it."""
    cos = dirs @ normal
    limit = np.full_like(radius, np.inf)
    ahead = cos > 1e-9
    limit[ahead] = depth / cos[ahead]
    return np.minimum(radius, limit)


def _extents(cfg: RockCfg, rng: np.random.Generator) -> np.ndarray:
    """Bounding box (length, width, height) in metres, length >= width and height."""
    length = rng.uniform(*cfg.length_m)
    width = np.clip(rng.uniform(*cfg.width_m), cfg.min_aspect * length, length)
    height = min(rng.uniform(*cfg.height_m), length)
    return np.array([length, width, height])


def _fit_extents(verts: np.ndarray, extents: np.ndarray) -> np.ndarray:
    """Scale per axis so the bounding box is ``extents``, the narrow axis on y."""
    span = verts.max(axis=0) - verts.min(axis=0)
    if span[0] < span[1]:  # put the wider horizontal axis on x (a proper rotation)
        verts = verts[:, [1, 0, 2]] * np.array([1.0, -1.0, 1.0])
        span = span[[1, 0, 2]]
    return verts * (extents / span)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)
