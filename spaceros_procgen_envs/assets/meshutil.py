"""Small mesh helpers shared by the rock, debris and peg/hole generators.

Everything here is deterministic (no randomness at all; callers pass their ``rng``
draws in as numbers) and works in metres.
"""

from __future__ import annotations

import numpy as np
import trimesh

MAX_HULL_VERTICES = 64  # MuJoCo convex collision cost grows with the vertex count


def hull(points: np.ndarray, max_vertices: int = MAX_HULL_VERTICES) -> trimesh.Trimesh:
    """Convex hull of ``points`` with at most ``max_vertices`` vertices.

    A larger hull is thinned by farthest-point sampling that starts from the six
    axis-extreme vertices, so the bounding box of the result equals that of ``points``.

    Args:
        points: (n, 3) points, n >= 4, not all coplanar.
        max_vertices: vertex budget of the returned hull.

    Returns:
        A watertight convex mesh with outward normals.

    >>> hull(np.random.default_rng(0).normal(size=(500, 3)), 20).vertices.shape[0] <= 20
    True
    """
    mesh = trimesh.convex.convex_hull(np.asarray(points, np.float64))
    if len(mesh.vertices) <= max_vertices:
        return mesh
    keep = farthest_points(mesh.vertices, max_vertices)
    return trimesh.convex.convex_hull(mesh.vertices[keep])


def farthest_points(points: np.ndarray, count: int) -> np.ndarray:
    """Indices of ``count`` well-spread points, seeded with the axis extremes (sorted)."""
    seeds = np.unique(np.concatenate([points.argmin(axis=0), points.argmax(axis=0)]))
    chosen = list(seeds[:count])
    dist = np.min(np.linalg.norm(points[:, None] - points[chosen][None], axis=2), axis=1)
    while len(chosen) < count:
        best = int(np.argmax(dist))
        chosen.append(best)
        dist = np.minimum(dist, np.linalg.norm(points - points[best], axis=1))
    return np.sort(np.asarray(chosen))


def prism(polygon_xy: np.ndarray, z0: float, z1: float) -> trimesh.Trimesh:
    """Convex prism: a convex (k, 2) polygon extruded along +z from ``z0`` to ``z1``."""
    poly = np.asarray(polygon_xy, np.float64)
    bottom = np.column_stack([poly, np.full(len(poly), z0)])
    top = np.column_stack([poly, np.full(len(poly), z1)])
    return trimesh.convex.convex_hull(np.vstack([bottom, top]))


def beam(start: np.ndarray, end: np.ndarray, profile_xy: np.ndarray) -> trimesh.Trimesh:
    """Convex beam from ``start`` to ``end`` (metres) with a convex cross-section profile.

    The profile's x axis is mapped to a direction perpendicular to the beam chosen
    deterministically from the beam direction.
    """
    axis = np.asarray(end, np.float64) - np.asarray(start, np.float64)
    axis = axis / np.linalg.norm(axis)
    helper = np.eye(3)[int(np.argmin(np.abs(axis)))]
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    ring = profile_xy[:, :1] * u + profile_xy[:, 1:2] * v
    return trimesh.convex.convex_hull(np.vstack([ring + start, ring + end]))


def thick_sheet(grid: np.ndarray, normals: np.ndarray, thickness: float) -> trimesh.Trimesh:
    """Watertight solid made by thickening a (n, m, 3) grid surface along its normals.

    Args:
        grid: (n, m, 3) surface points, n, m >= 2, metres.
        normals: (n, m, 3) unit normals at those points.
        thickness: total thickness, metres (half on each side of the surface).

    Returns:
        A closed mesh: both skins, plus walls around the grid boundary.
    """
    n, m, _ = grid.shape
    outer = (grid + 0.5 * thickness * normals).reshape(-1, 3)
    inner = (grid - 0.5 * thickness * normals).reshape(-1, 3)
    idx = np.arange(n * m).reshape(n, m)
    a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]
    skin = np.concatenate([np.stack([a, b, c], -1), np.stack([a, c, d], -1)]).reshape(-1, 3)
    loop = np.concatenate([idx[:, 0], idx[-1, 1:], idx[-2::-1, -1], idx[0, -2:0:-1]])
    nxt = np.roll(loop, -1)
    off = n * m
    walls = np.concatenate([np.column_stack([loop, nxt + off, nxt]),
                            np.column_stack([loop, loop + off, nxt + off])])
    faces = np.concatenate([skin, skin[:, ::-1] + off, walls])
    return oriented(trimesh.Trimesh(np.vstack([outer, inner]), faces, process=False))


def oriented(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """``mesh`` with its faces flipped if its signed volume is negative (normals inward)."""
    if mesh.volume < 0:
        return trimesh.Trimesh(mesh.vertices, mesh.faces[:, ::-1].copy(), process=False)
    return mesh


def concatenate(meshes: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    """One mesh holding every input as a separate connected body (no vertex merging)."""
    verts, faces, offset = [], [], 0
    for mesh in meshes:
        verts.append(np.asarray(mesh.vertices, np.float64))
        faces.append(np.asarray(mesh.faces, np.int64) + offset)
        offset += len(mesh.vertices)
    return trimesh.Trimesh(np.vstack(verts), np.vstack(faces), process=False)


def translated(mesh: trimesh.Trimesh, offset: np.ndarray) -> trimesh.Trimesh:
    """A copy of ``mesh`` moved by ``offset`` metres (faces unchanged)."""
    return trimesh.Trimesh(np.asarray(mesh.vertices) + offset, mesh.faces.copy(), process=False)


def mass_centre(meshes: list[trimesh.Trimesh]) -> np.ndarray:
    """Volume-weighted centre of several closed meshes (overlaps counted twice), metres."""
    vols = np.array([abs(m.volume) for m in meshes])
    centres = np.array([m.center_mass for m in meshes])
    return (vols[:, None] * centres).sum(axis=0) / vols.sum()


def jitter_rgba(rng: np.random.Generator, rgba: tuple[float, ...],
                jitter: float) -> tuple[float, float, float, float]:
    """``rgba`` with brightness ~ U(1 - j, 1 + j) and per-channel tint ~ U(-j/8, j/8)."""
    rgb = np.asarray(rgba[:3], np.float64)
    rgb = rgb * rng.uniform(1 - jitter, 1 + jitter) + rng.uniform(-jitter / 8, jitter / 8, 3)
    r, g, b = (float(round(c, 4)) for c in np.clip(rgb, 0.0, 1.0))
    return (r, g, b, float(rgba[3]))


def split_convex(piece: trimesh.Trimesh) -> tuple[trimesh.Trimesh, trimesh.Trimesh]:
    """Cut a convex mesh in two convex halves by the plane through its vertex mean, normal to
    its longest principal axis; the halves tile the piece exactly."""
    vertices = np.asarray(piece.vertices, np.float64)
    centre = vertices.mean(axis=0)
    _, _, axes = np.linalg.svd(vertices - centre, full_matrices=False)
    side = (vertices - centre) @ axes[0]  # signed distance to the cut plane, metres
    edges = piece.edges_unique
    a, b = side[edges[:, 0]], side[edges[:, 1]]
    crossing = (a * b) < 0.0
    t = (a[crossing] / (a[crossing] - b[crossing]))[:, None]
    cut = vertices[edges[crossing, 0]] + t * (vertices[edges[crossing, 1]] - vertices[edges[crossing, 0]])
    on_plane = vertices[np.abs(side) <= 1e-12]
    return (hull(np.vstack([vertices[side > 1e-12], cut, on_plane])),
            hull(np.vstack([vertices[side < -1e-12], cut, on_plane])))


def exactly(pieces: list[trimesh.Trimesh], count: int) -> list[trimesh.Trimesh]:
    """``pieces`` split (the largest by volume first) until there are exactly ``count``.

    A fixed count per asset kind gives every world of a task the same MuJoCo geom count, so all
    of them share one MjData layout (what ``mujoco.batch.Batch.set_models`` needs).

    Raises:
        ValueError: when there are already more than ``count`` pieces (a generator bug).
    """
    pieces = list(pieces)
    if len(pieces) > count:
        raise ValueError(f"{len(pieces)} collision pieces exceed the fixed count {count}")
    while len(pieces) < count:
        k = int(np.argmax([abs(p.volume) for p in pieces]))
        pieces[k:k + 1] = split_convex(pieces[k])
    return pieces
