"""Procedural orbital debris: bent panel fragments, torn tank shells and truss pieces.

Panels and tank shells are thickened grid surfaces (:func:`meshutil.thick_sheet`), each
a single watertight solid; their collision is a few convex hulls of column groups of the
grid. A truss is a set of convex beams plus small node blocks. In every case the visual
mesh is the *concatenation* of watertight bodies (one per sheet, beam or node, which may
overlap at joints): each connected body is watertight, the union is not one manifold.

Part frame: ``"debris"``, origin at the volume-weighted centre of its bodies, axes as
built (a panel lies roughly in the xy plane, a tank's axis is z); the simulator chooses
the tumbling orientation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from ..errors import unknown_name
from . import meshutil
from .types import MeshAsset, MeshPart

KINDS = ("panel", "tank", "truss")
COLLISION_PIECES = 8  # every fragment, so all worlds of a task share one MjData layout

# Spacecraft surface finishes: gold/amber MLI foil, bare aluminium, white paint,
# solar-cell blue, carbon-fibre black.
_COLOURS = {
    "panel": ((0.83, 0.64, 0.22, 1.0), (0.88, 0.88, 0.86, 1.0), (0.10, 0.15, 0.32, 1.0)),
    "tank": ((0.70, 0.72, 0.75, 1.0), (0.88, 0.88, 0.86, 1.0), (0.83, 0.64, 0.22, 1.0)),
    "truss": ((0.70, 0.72, 0.75, 1.0), (0.88, 0.88, 0.86, 1.0), (0.15, 0.15, 0.16, 1.0)),
}


@dataclass(frozen=True)
class DebrisCfg:
    """Parameters of one debris family; ranges are sampled ~ U(lo, hi) per fragment.

    Attributes:
        kind: ``any`` (one of :data:`KINDS` drawn from the rng), ``panel``, ``tank`` or
            ``truss``.
        size_m: largest extent of the mid-surface / node layout, metres (the solid adds
            up to one thickness or strut width).
        panel_thickness_m: panel plate thickness, metres (a gripper grabs its edge).
        shell_thickness_m: tank wall thickness, metres.
        strut_width_m: truss beam width / diameter, metres.
        bend_deg: panel bend angle, degrees (sign ~ fair coin).
        shell_span_deg: angular span of a cylindrical tank shell fragment, degrees.
        dome_span_deg: angular span of a domed or spherical shell fragment, degrees.
        max_extent_m: the whole fragment is scaled down to fit this extent, metres.
        color_jitter: brightness jitter fraction of the finish colour.
    """

    kind: str = "any"
    size_m: tuple[float, float] = (0.16, 0.36)
    panel_thickness_m: tuple[float, float] = (0.004, 0.018)
    shell_thickness_m: tuple[float, float] = (0.004, 0.012)
    strut_width_m: tuple[float, float] = (0.014, 0.028)
    bend_deg: tuple[float, float] = (20.0, 75.0)
    shell_span_deg: tuple[float, float] = (100.0, 200.0)
    dome_span_deg: tuple[float, float] = (50.0, 90.0)
    max_extent_m: float = 0.4
    color_jitter: float = 0.06


def debris_cfg(kind: str = "any") -> DebrisCfg:
    """The preset debris config for ``kind`` (``any`` or one of :data:`KINDS`).

    >>> debris_cfg("truss").kind
    'truss'
    """
    if kind != "any" and kind not in KINDS:
        raise unknown_name("debris kind", kind, ("any", *KINDS))
    return DebrisCfg(kind=kind)


def generate_debris(cfg: DebrisCfg, rng: np.random.Generator) -> MeshAsset:
    """Generate one debris fragment.

    Args:
        cfg: the debris family.
        rng: the only source of randomness.

    Returns:
        A :class:`MeshAsset` with one part ``"debris"`` (visual = concatenation of
        watertight bodies, collision = exactly :data:`COLLISION_PIECES` convex hulls of at most
        64 vertices)
        and meta ``kind_index`` (index into :data:`KINDS`) and ``size_m``.

    >>> asset = generate_debris(debris_cfg("panel"), np.random.default_rng([0, 0]))
    >>> len(asset.parts["debris"].collision) == COLLISION_PIECES
    True
    """
    kind = cfg.kind if cfg.kind != "any" else KINDS[int(rng.integers(len(KINDS)))]
    if kind not in KINDS:
        raise unknown_name("debris kind", kind, ("any", *KINDS))
    size = rng.uniform(*cfg.size_m)
    builder = {"panel": _panel, "tank": _tank, "truss": _truss}[kind]
    bodies, pieces = builder(cfg, size, rng)
    visual = meshutil.concatenate(bodies)
    centre = meshutil.mass_centre(bodies)
    scale = min(1.0, cfg.max_extent_m / np.max(visual.extents))  # pipes may stick out
    visual = _moved(visual, centre, scale)
    collision = tuple(_moved(p, centre, scale)
                      for p in meshutil.exactly(pieces, COLLISION_PIECES))
    palette = _COLOURS[kind]
    rgba = meshutil.jitter_rgba(rng, palette[int(rng.integers(len(palette)))], cfg.color_jitter)
    meta = {"kind_index": float(KINDS.index(kind)), "size_m": float(np.max(visual.extents))}
    return MeshAsset({"debris": MeshPart(visual, collision, rgba)}, meta)


def _moved(mesh: trimesh.Trimesh, centre: np.ndarray, scale: float) -> trimesh.Trimesh:
    return trimesh.Trimesh((mesh.vertices - centre) * scale, mesh.faces.copy(), process=False)


# --- panel: a torn plate bent along a slanted line ---------------------------------------

def _panel(cfg: DebrisCfg, size: float, rng: np.random.Generator):
    cols, rows = 21, 5
    length, width = 1.0, rng.uniform(0.45, 0.9)  # unit layout, scaled to ``size`` below
    s = np.linspace(0.0, 1.0, cols)[:, None]
    t = np.linspace(0.0, 1.0, rows)[None, :]
    tear = 1.0 - np.abs(rng.normal(0.0, 0.12, cols))[:, None]  # jagged far edge
    end = 1.0 - np.abs(rng.normal(0.0, 0.06, rows))[None, :]  # jagged right end
    u = s * length * end
    v = t * width * np.clip(tear, 0.6, 1.0)
    grid, normals = _bend(np.stack([u, v, np.zeros_like(u)], -1), cfg, rng)
    grid = grid * (size / np.max(np.ptp(grid.reshape(-1, 3), axis=0)))
    thickness = rng.uniform(*cfg.panel_thickness_m)
    body = meshutil.thick_sheet(grid, normals, thickness)
    groups = int(rng.integers(3, 6))  # collision segments along the length
    return [body], _sheet_pieces(grid, normals, thickness, groups, 1)


def _bend(grid: np.ndarray, cfg: DebrisCfg, rng: np.random.Generator):
    """Cylindrically bend a flat (z = 0) grid across a line slanted ~U(-0.3, 0.3) rad."""
    slant = rng.uniform(-0.3, 0.3)
    normal_in_plane = np.array([np.cos(slant), np.sin(slant), 0.0])
    start = rng.uniform(0.35, 0.6)  # bend line position along u, fraction of the length
    angle = np.radians(rng.uniform(*cfg.bend_deg)) * rng.choice([-1.0, 1.0])
    bend_len = rng.uniform(0.05, 0.15)  # arc length of the bend zone, unit layout
    radius = bend_len / abs(angle)
    up = np.array([0.0, 0.0, 1.0])
    d = (grid - np.array([start, 0.0, 0.0])) @ normal_in_plane  # signed distance past the line
    a = np.clip(d, 0.0, bend_len) / radius  # unsigned sheet rotation, 0 before the line
    tail = np.maximum(d - bend_len, 0.0)  # straight part after the bend zone
    along = radius * np.sin(a) + tail * np.cos(a)
    rise = np.sign(angle) * (radius * (1 - np.cos(a)) + tail * np.sin(a))
    flat = grid - np.maximum(d, 0.0)[..., None] * normal_in_plane
    out = flat + along[..., None] * normal_in_plane + rise[..., None] * up
    normals = (-np.sign(angle) * np.sin(a))[..., None] * normal_in_plane + np.cos(a)[..., None] * up
    return out, normals


def _sheet_pieces(grid: np.ndarray, normals: np.ndarray, thickness: float,
                  col_groups: int, row_groups: int) -> list[trimesh.Trimesh]:
    """Convex hulls of a thick sheet split into ``col_groups`` x ``row_groups`` blocks."""
    outer = grid + 0.5 * thickness * normals
    inner = grid - 0.5 * thickness * normals
    cuts_c = np.linspace(0, grid.shape[0] - 1, col_groups + 1).round().astype(int)
    cuts_r = np.linspace(0, grid.shape[1] - 1, row_groups + 1).round().astype(int)
    pieces = []
    for c0, c1 in zip(cuts_c[:-1], cuts_c[1:]):
        for r0, r1 in zip(cuts_r[:-1], cuts_r[1:]):
            block = np.concatenate([outer[c0:c1 + 1, r0:r1 + 1], inner[c0:c1 + 1, r0:r1 + 1]])
            pieces.append(meshutil.hull(block.reshape(-1, 3)))
    return pieces


# --- tank: a torn shell of a cylinder, a cylinder with a dome, or a sphere -----------------

def _tank(cfg: DebrisCfg, size: float, rng: np.random.Generator):
    shape = ("cylinder", "domed", "sphere")[int(rng.integers(3))]
    profile = _meridian(shape, rng)  # (k, 2) points (r, z) of a unit-radius tank wall
    span_deg = rng.uniform(*(cfg.shell_span_deg if shape == "cylinder" else cfg.dome_span_deg))
    phi = rng.uniform(0, 2 * np.pi) + np.radians(np.linspace(0.0, span_deg, int(span_deg / 8)))
    grid, normals = _revolve(profile, phi)
    spacing = profile[-1, 1] - profile[-2, 1]
    grid[:, -1, 2] -= spacing * rng.uniform(0.0, 0.6, len(phi))  # torn top rim
    grid = grid * (size / np.max(np.ptp(grid.reshape(-1, 3), axis=0)))
    thickness = rng.uniform(*cfg.shell_thickness_m)
    shell = meshutil.thick_sheet(grid, normals, thickness)
    # ~30 deg of arc per hull keeps each hull about as thin as the wall plus ~1 cm
    col_groups = int(np.clip(np.ceil(span_deg / 30.0), 2, 6 if shape == "cylinder" else 3))
    pieces = _sheet_pieces(grid, normals, thickness, col_groups, 1 if shape == "cylinder" else 2)
    pipe = _pipe(cfg, grid, normals, thickness, rng)
    return [shell, pipe], pieces + [pipe]


def _pipe(cfg: DebrisCfg, grid: np.ndarray, normals: np.ndarray, thickness: float,
          rng: np.random.Generator) -> trimesh.Trimesh:
    """A torn-off feed pipe sticking out of the wall: the gripper's handle on a tank."""
    i = int(rng.integers(1, grid.shape[0] - 1))
    j = int(rng.integers(1, grid.shape[1] - 1))
    length = rng.uniform(0.04, 0.08)  # metres out of the wall
    width = rng.uniform(*cfg.strut_width_m)
    base = grid[i, j] - 0.5 * thickness * normals[i, j]
    return meshutil.beam(base, base + (thickness + length) * normals[i, j], _polygon(8, width))


def _revolve(profile: np.ndarray, phi: np.ndarray):
    """Grid (len(phi), k, 3) and outward normals of the profile (r, z) swept over ``phi``."""
    dr, dz = np.gradient(profile[:, 0]), np.gradient(profile[:, 1])
    norm = np.hypot(dr, dz)
    nr, nz = dz / norm, -dr / norm  # outward normal of a wall going up
    cos, sin = np.cos(phi)[:, None], np.sin(phi)[:, None]
    r, z = profile[:, 0][None, :], profile[:, 1][None, :]
    grid = np.stack([r * cos, r * sin, np.broadcast_to(z, (len(phi), len(profile)))], -1)
    normals = np.stack([nr * cos, nr * sin, np.broadcast_to(nz, (len(phi), len(profile)))], -1)
    return grid.copy(), normals


def _meridian(shape: str, rng: np.random.Generator) -> np.ndarray:
    """Wall profile (r, z) from bottom to top for a tank of radius 1."""
    if shape == "cylinder":
        height = rng.uniform(0.8, 2.0)  # height / radius
        return np.column_stack([np.ones(4), np.linspace(0.0, height, 4)])
    start = np.radians(rng.uniform(15.0, 35.0))  # torn-off port around the pole
    stop = np.pi / 2 if shape == "domed" else np.radians(rng.uniform(110.0, 150.0))
    beta = np.linspace(start, stop, 7)
    dome = np.column_stack([np.sin(beta), -np.cos(beta)])
    if shape == "sphere":
        return dome
    height = rng.uniform(0.4, 1.2)
    wall = np.column_stack([np.ones(3), np.linspace(0.0, height, 4)[1:]])
    return np.vstack([dome, wall])


# --- truss: beams between a few nodes ---------------------------------------------------

def _truss(cfg: DebrisCfg, size: float, rng: np.random.Generator):
    nodes = _truss_nodes(int(rng.integers(3, 6)), rng)
    edges = _truss_edges(len(nodes), rng)
    nodes = nodes * (size / np.max(np.ptp(nodes, axis=0)))
    width = rng.uniform(*cfg.strut_width_m)
    profile = _polygon(int(rng.choice([4, 6, 8])), width)  # box beam or faceted tube
    beams = []
    for i, j in edges:
        axis = (nodes[j] - nodes[i]) / np.linalg.norm(nodes[j] - nodes[i])
        beams.append(meshutil.beam(nodes[i] - 0.5 * width * axis,
                                   nodes[j] + 0.5 * width * axis, profile))
    block = trimesh.creation.box(extents=np.full(3, 1.6 * width))
    joints = [meshutil.translated(block, p) for p in nodes]
    return beams + joints, beams


def _polygon(sides: int, width: float) -> np.ndarray:
    """Regular polygon with flat-to-flat ``width`` metres (apothem width / 2)."""
    ang = np.linspace(0, 2 * np.pi, sides, endpoint=False) + np.pi / sides
    return 0.5 * width / np.cos(np.pi / sides) * np.column_stack([np.cos(ang), np.sin(ang)])


def _truss_nodes(count: int, rng: np.random.Generator) -> np.ndarray:
    """Node layout in a unit box, nodes at least 0.35 apart (rejection, bounded tries)."""
    nodes = [rng.uniform(-0.5, 0.5, 3) * np.array([1.0, 1.0, 0.5])]
    for _ in range(200):
        if len(nodes) == count:
            break
        p = rng.uniform(-0.5, 0.5, 3) * np.array([1.0, 1.0, 0.5])
        if min(np.linalg.norm(p - q) for q in nodes) >= 0.35:
            nodes.append(p)
    return np.array(nodes)


def _truss_edges(count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """A random spanning tree over the nodes plus up to two extra members (<= 6 beams)."""
    edges = [(int(rng.integers(k)), k) for k in range(1, count)]
    extra = [(i, j) for i in range(count) for j in range(i + 1, count) if (i, j) not in edges]
    order = rng.permutation(len(extra))
    for k in order[: min(int(rng.integers(0, 3)), 6 - len(edges))]:
        edges.append(extra[int(k)])
    return edges
