"""Procedural peg and hole pairs with a set clearance.

The peg is a convex profile (polygon, rounded rectangle, ellipse or superellipse) extruded
along its part z axis. The hole is a square block with a through or blind cavity whose
cross-section is the same profile offset outward by exactly ``clearance_m`` (each edge
moved along its outward normal, neighbouring lines intersected).

Hole collision: rays from the profile centroid through each cavity vertex split the block
minus the cavity into one convex prism per cavity edge (cavity edge, two rays, the square
boundary between them), plus a floor slab under a blind cavity. The pieces tile the block
minus the cavity exactly: no overlap, no gap. The hole visual is one watertight
block-with-cavity mesh whose top face uses the same split.

Frames (metres): peg origin at its centre of mass, profile in xy, extruded along z from
``-peg_length_m / 2`` to ``+peg_length_m / 2``. Hole origin at the block centre, cavity axis
on z through (0, 0), opening in the top face ``z = hole_top_z_m``; the cavity is the peg's
profile (same xy orientation) grown by the clearance, so a peg with the identity rotation
relative to the hole, moved down the z axis, goes in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from ..errors import unknown_name
from . import meshutil
from .types import MeshAsset, MeshPart

PROFILES = ("regular", "irregular", "rounded_rectangle", "ellipse", "superellipse")

# Anodised aluminium finishes: blue, red, gold, black for the peg; bare and grey for the hole.
_PEG_COLOURS = ((0.15, 0.30, 0.65, 1.0), (0.65, 0.13, 0.12, 1.0), (0.76, 0.58, 0.25, 1.0),
                (0.13, 0.13, 0.14, 1.0))
_HOLE_COLOURS = ((0.72, 0.73, 0.75, 1.0), (0.30, 0.31, 0.33, 1.0))


@dataclass(frozen=True)
class PegHoleCfg:
    """Parameters of one peg/hole family; ranges are sampled ~ U(lo, hi) per pair.

    Attributes:
        clearance_m: gap between peg and cavity wall along every edge normal, metres.
        profile: ``any`` (drawn from the rng) or one of :data:`PROFILES`.
        profile_width_m: largest distance across the peg profile, metres.
        sides: vertex count range of ``regular`` and ``irregular`` polygons.
        round_sides: vertices of rounded profiles (before dropping near-collinear ones).
        min_turn_deg: smallest exterior angle kept at a profile vertex, degrees.
        peg_length_m: peg length along z, metres.
        block_size_m: side of the square hole block, metres.
        block_height_m: height of the hole block, metres.
        blind_prob: probability that the cavity is blind (has a floor).
        floor_m: floor thickness under a blind cavity, metres.
        color_jitter: brightness jitter fraction of the finish colours.
    """

    clearance_m: float = 0.002
    profile: str = "any"
    profile_width_m: tuple[float, float] = (0.025, 0.04)
    sides: tuple[int, int] = (3, 8)
    round_sides: int = 16
    min_turn_deg: float = 6.0
    peg_length_m: tuple[float, float] = (0.06, 0.10)
    block_size_m: tuple[float, float] = (0.12, 0.16)
    block_height_m: tuple[float, float] = (0.04, 0.06)
    blind_prob: float = 0.5
    floor_m: tuple[float, float] = (0.008, 0.015)
    color_jitter: float = 0.05


def peg_hole_cfg(clearance_m: float = 0.002, profile: str = "any") -> PegHoleCfg:
    """The preset peg/hole config.

    Args:
        clearance_m: peg-to-wall gap in metres, in (0, 0.01].
        profile: ``any`` or one of :data:`PROFILES`.

    >>> peg_hole_cfg(0.001).clearance_m
    0.001
    """
    if not 0.0 < clearance_m <= 0.01:
        raise ValueError(f"clearance_m must be in (0, 0.01] metres, got {clearance_m!r}; "
                         "pass e.g. clearance_m=0.002 for a 2 mm gap")
    if profile != "any" and profile not in PROFILES:
        raise unknown_name("peg profile", profile, ("any", *PROFILES))
    return PegHoleCfg(clearance_m=float(clearance_m), profile=profile)


def hole_pieces_of(cfg: PegHoleCfg) -> int:
    """Collision pieces of every hole of ``cfg``: a wedge per edge of the most-sided cavity plus a
    floor slab. A fixed count gives all worlds of a task one MjData layout; holes with fewer
    wedges have them split until there are this many."""
    return max(cfg.sides[1], cfg.round_sides) + 1


def generate_peg_hole(cfg: PegHoleCfg, rng: np.random.Generator) -> MeshAsset:
    """Generate one peg and its matching hole.

    Args:
        cfg: the peg/hole family.
        rng: the only source of randomness.

    Returns:
        A :class:`MeshAsset` with parts ``"peg"`` and ``"hole"`` and meta ``clearance_m``,
        ``hole_depth_m``, ``peg_length_m``, ``peg_radius_m`` (profile circumradius about
        the axis), ``peg_width_m`` (narrowest width across the profile), ``hole_top_z_m``,
        ``hole_block_size_m``, ``hole_block_height_m``, ``hole_through`` (1.0 or 0.0)
        and ``profile_index`` (into :data:`PROFILES`).

    >>> asset = generate_peg_hole(peg_hole_cfg(), np.random.default_rng([0, 0]))
    >>> sorted(asset.parts)
    ['hole', 'peg']
    """
    kind = cfg.profile if cfg.profile != "any" else PROFILES[int(rng.integers(len(PROFILES)))]
    if kind not in PROFILES:
        raise unknown_name("peg profile", kind, ("any", *PROFILES))
    profile = _profile(kind, cfg, rng)
    cavity = offset_polygon(profile, cfg.clearance_m)
    length = rng.uniform(*cfg.peg_length_m)
    size, height = rng.uniform(*cfg.block_size_m), rng.uniform(*cfg.block_height_m)
    floor = rng.uniform(*cfg.floor_m) if rng.random() < cfg.blind_prob else 0.0
    peg = meshutil.prism(profile, -0.5 * length, 0.5 * length)
    hole_visual, hole_pieces = _hole(cavity, size, height, floor)
    peg_rgba = meshutil.jitter_rgba(rng, _PEG_COLOURS[int(rng.integers(4))], cfg.color_jitter)
    hole_rgba = meshutil.jitter_rgba(rng, _HOLE_COLOURS[int(rng.integers(2))], cfg.color_jitter)
    meta = {"clearance_m": float(cfg.clearance_m), "hole_depth_m": float(height - floor),
            "peg_length_m": float(length),
            "peg_radius_m": float(np.max(np.linalg.norm(profile, axis=1))),
            "peg_width_m": float(_min_width(profile)), "hole_top_z_m": float(0.5 * height),
            "hole_block_size_m": float(size), "hole_block_height_m": float(height),
            "hole_through": float(floor == 0.0), "profile_index": float(PROFILES.index(kind))}
    parts = {"peg": MeshPart(peg, (peg,), peg_rgba),
             "hole": MeshPart(hole_visual, tuple(meshutil.exactly(hole_pieces, hole_pieces_of(cfg))),
                              hole_rgba)}
    return MeshAsset(parts, meta)


# --- profiles (counter-clockwise, convex, centroid at the origin) --------------------------

def _profile(kind: str, cfg: PegHoleCfg, rng: np.random.Generator) -> np.ndarray:
    raw = {"regular": _regular, "irregular": _irregular, "rounded_rectangle": _rounded_rect,
           "ellipse": _ellipse, "superellipse": _superellipse}[kind](cfg, rng)
    poly = _drop_flat_vertices(convex_hull_2d(raw), np.radians(cfg.min_turn_deg))
    poly = poly - _centroid(poly)
    turn = rng.uniform(0, 2 * np.pi)  # orientation in the xy plane ~ U(0, 2 pi)
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    poly = poly @ rot.T
    diameter = np.max(np.linalg.norm(poly[:, None] - poly[None], axis=2))
    return poly * (rng.uniform(*cfg.profile_width_m) / diameter)


def _regular(cfg: PegHoleCfg, rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(cfg.sides[0], cfg.sides[1] + 1))
    return _circle_points(np.linspace(0, 2 * np.pi, n, endpoint=False))


def _irregular(cfg: PegHoleCfg, rng: np.random.Generator) -> np.ndarray:
    """Vertices at random angles (gaps ~ U(0.6, 1.4), normalised) and radii ~ U(0.75, 1)."""
    n = int(rng.integers(cfg.sides[0], cfg.sides[1] + 1))
    gaps = rng.uniform(0.6, 1.4, n)
    angles = np.cumsum(gaps) / gaps.sum() * 2 * np.pi
    return _circle_points(angles) * rng.uniform(0.75, 1.0, n)[:, None]


def _rounded_rect(cfg: PegHoleCfg, rng: np.random.Generator) -> np.ndarray:
    """Half sides 1 x U(0.55, 1), corner radius ~ U(0.15, 0.6) * short half side."""
    half = np.array([1.0, rng.uniform(0.55, 1.0)])
    radius = rng.uniform(0.15, 0.6) * half[1]
    per_corner = max(2, cfg.round_sides // 4)
    points = []
    for k, sign in enumerate(((1, 1), (-1, 1), (-1, -1), (1, -1))):
        centre = np.array(sign) * (half - radius)
        arc = np.linspace(0.0, np.pi / 2, per_corner) + k * np.pi / 2
        points.append(centre + radius * _circle_points(arc))
    return np.vstack(points)


def _ellipse(cfg: PegHoleCfg, rng: np.random.Generator) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, cfg.round_sides, endpoint=False)
    return _circle_points(t) * np.array([1.0, rng.uniform(0.75, 1.0)])


def _superellipse(cfg: PegHoleCfg, rng: np.random.Generator) -> np.ndarray:
    """|x|^p + |y / b|^p = 1 with exponent p ~ U(2.5, 5), b ~ U(0.6, 1)."""
    t = np.linspace(0, 2 * np.pi, cfg.round_sides, endpoint=False)
    power = rng.uniform(2.5, 5.0)
    c, s = np.cos(t), np.sin(t)
    return np.column_stack([np.sign(c) * np.abs(c) ** (2 / power),
                            rng.uniform(0.6, 1.0) * np.sign(s) * np.abs(s) ** (2 / power)])


def _circle_points(angles: np.ndarray) -> np.ndarray:
    return np.column_stack([np.cos(angles), np.sin(angles)])


def convex_hull_2d(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise convex hull (Andrew's monotone chain), collinear points dropped."""
    pts = sorted(map(tuple, np.asarray(points, np.float64)))

    def half(seq):
        out: list = []
        for p in seq:
            while len(out) >= 2 and _cross(out[-2], out[-1], p) <= 1e-12:
                out.pop()
            out.append(p)
        return out[:-1]

    return np.array(half(pts) + half(pts[::-1]))


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _drop_flat_vertices(poly: np.ndarray, min_turn: float) -> np.ndarray:
    """Remove, one by one, the vertex with the smallest exterior angle below ``min_turn``."""
    while len(poly) > 3:
        into = poly - np.roll(poly, 1, axis=0)
        out = np.roll(poly, -1, axis=0) - poly
        turn = np.arctan2(into[:, 0] * out[:, 1] - into[:, 1] * out[:, 0],
                          np.sum(into * out, axis=1))
        k = int(np.argmin(turn))
        if turn[k] >= min_turn:
            break
        poly = np.delete(poly, k, axis=0)
    return poly


def _centroid(poly: np.ndarray) -> np.ndarray:
    """Area centroid of a simple polygon."""
    nxt = np.roll(poly, -1, axis=0)
    cross = poly[:, 0] * nxt[:, 1] - nxt[:, 0] * poly[:, 1]
    return ((poly + nxt) * cross[:, None]).sum(axis=0) / (3.0 * cross.sum())


def _min_width(poly: np.ndarray) -> float:
    """Narrowest width of a convex polygon (attained across one of its edges), metres."""
    edges = np.roll(poly, -1, axis=0) - poly
    normals = np.column_stack([edges[:, 1], -edges[:, 0]])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return float(np.min(np.ptp(poly @ normals.T, axis=0)))


def offset_polygon(poly: np.ndarray, distance: float) -> np.ndarray:
    """A convex CCW polygon with every edge moved ``distance`` outward (same vertex count).

    Vertex ``i`` of the result is where the offset lines of edges ``i - 1`` and ``i`` meet.
    """
    edges = np.roll(poly, -1, axis=0) - poly  # edge i: poly[i] -> poly[i + 1]
    normals = np.column_stack([edges[:, 1], -edges[:, 0]])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    offsets = np.sum(normals * poly, axis=1) + distance  # line i: normals[i] . x = offsets[i]
    prev_n, prev_o = np.roll(normals, 1, axis=0), np.roll(offsets, 1)
    out = np.empty_like(poly)
    for i in range(len(poly)):
        out[i] = np.linalg.solve(np.stack([prev_n[i], normals[i]]), [prev_o[i], offsets[i]])
    return out


# --- the hole block ------------------------------------------------------------------------

def _hole(cavity: np.ndarray, size: float, height: float, floor: float):
    """Watertight block-with-cavity visual and its exact convex tiling (metres)."""
    ring, wedges = _wedges(cavity, 0.5 * size)
    top, bottom = 0.5 * height, -0.5 * height
    cavity_bottom = bottom + floor
    pieces = [meshutil.prism(np.vstack([cavity[[i, (i + 1) % len(cavity)]], ring[w]]),
                             cavity_bottom, top) for i, w in enumerate(wedges)]
    if floor > 0.0:
        square = 0.5 * size * np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float64)
        pieces.append(meshutil.prism(square, bottom, cavity_bottom))
    return _block_mesh(cavity, ring, wedges, top, bottom, cavity_bottom), pieces


def _wedges(cavity: np.ndarray, half: float):
    """Square boundary ring (CCW) and, per cavity edge, the ring indices of its wedge.

    Wedge ``i`` is bounded by cavity edge ``i``, the rays from the origin through cavity
    vertices ``i`` and ``i + 1`` and the square between them; ``wedges[i]`` lists ring
    indices counter-clockwise from the ray through vertex ``i`` to the ray through ``i + 1``.
    """
    n = len(cavity)
    hits = cavity * (half / np.max(np.abs(cavity), axis=1))[:, None]  # ray meets the square
    corner_xy = half * np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float64)
    ang_hit = np.arctan2(hits[:, 1], hits[:, 0])
    ang_corner = np.arctan2(corner_xy[:, 1], corner_xy[:, 0])
    ring, hit_index = [], []
    for i in range(n):
        hit_index.append(len(ring))
        ring.append(hits[i])
        span = (ang_hit[(i + 1) % n] - ang_hit[i]) % (2 * np.pi)
        rel = (ang_corner - ang_hit[i]) % (2 * np.pi)
        for k in np.argsort(rel):
            if 1e-9 < rel[k] < span - 1e-9:
                ring.append(corner_xy[k])
    wedges = []
    for i in range(n):
        start, stop = hit_index[i], hit_index[(i + 1) % n]
        stop = stop if stop > start else len(ring)
        wedges.append(list(range(start, stop)) + [stop % len(ring)])
    return np.array(ring), wedges


def _block_mesh(cavity, ring, wedges, top, bottom, cavity_bottom) -> trimesh.Trimesh:
    """Closed mesh of the square block minus the cavity prism."""
    n, m = len(cavity), len(ring)
    blind = cavity_bottom > bottom
    # vertex blocks: cavity top, ring top, cavity bottom, ring bottom, [floor centre, base centre]
    ct, rt, cb, rb = 0, n, n + m, 2 * n + m
    verts = [_at(cavity, top), _at(ring, top), _at(cavity, cavity_bottom), _at(ring, bottom)]
    faces = []
    for i, w in enumerate(wedges):  # top face: one fan per wedge, CCW seen from +z
        faces += _fan([ct + i] + [rt + k for k in w] + [ct + (i + 1) % n])
        if not blind:  # bottom face of a through hole, facing -z
            faces += [f[::-1] for f in _fan([cb + i] + [rb + k for k in w] + [cb + (i + 1) % n])]
    faces += _walls(rt, rb, m, outward=True) + _walls(ct, cb, n, outward=False)
    if blind:
        centre = 2 * n + 2 * m
        verts.append(np.array([[0.0, 0.0, cavity_bottom], [0.0, 0.0, bottom]]))
        faces += [[centre, cb + k, cb + (k + 1) % n] for k in range(n)]
        faces += [[centre + 1, rb + (k + 1) % m, rb + k] for k in range(m)]
    return meshutil.oriented(trimesh.Trimesh(np.vstack(verts), np.array(faces), process=False))


def _at(xy: np.ndarray, z: float) -> np.ndarray:
    return np.column_stack([xy, np.full(len(xy), z)])


def _fan(loop: list[int]) -> list[list[int]]:
    return [[loop[0], loop[k], loop[k + 1]] for k in range(1, len(loop) - 1)]


def _walls(top0: int, bottom0: int, count: int, outward: bool) -> list[list[int]]:
    """Quads between a CCW top loop and the bottom loop below it, facing out or in."""
    faces = []
    for k in range(count):
        t, tn, b, bn = top0 + k, top0 + (k + 1) % count, bottom0 + k, bottom0 + (k + 1) % count
        quad = [[t, bn, tn], [t, b, bn]]
        faces += quad if outward else [f[::-1] for f in quad]
    return faces
