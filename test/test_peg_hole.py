"""Unit tests of the peg/hole generator: the clearance is exact and the hole pieces tile it."""

import dataclasses

import numpy as np
import pytest

from spaceros_procgen_envs.assets.peg_hole import PROFILES, generate_peg_hole, peg_hole_cfg
from spaceros_procgen_envs.errors import UnknownNameError

SEEDS = range(3)
META_KEYS = {"clearance_m", "hole_depth_m", "peg_length_m", "peg_radius_m", "peg_width_m",
             "hole_top_z_m", "hole_block_size_m", "hole_block_height_m", "hole_through",
             "profile_index"}


def _pair(profile, seed, clearance=0.002, **changes):
    cfg = dataclasses.replace(peg_hole_cfg(clearance, profile), **changes)
    return generate_peg_hole(cfg, np.random.default_rng([seed, 2]))


def _ring(points_xy):
    """Points of a convex ring sorted counter-clockwise about their mean."""
    d = points_xy - points_xy.mean(axis=0)
    return points_xy[np.argsort(np.arctan2(d[:, 1], d[:, 0]))]


def _peg_profile(asset):
    verts = asset.parts["peg"].visual.vertices
    return _ring(verts[np.isclose(verts[:, 2], verts[:, 2].max())][:, :2])


def _cavity_profile(asset):
    """Cavity vertices of the hole's top face: the top vertices not on the block's square."""
    verts = asset.parts["hole"].visual.vertices
    top = verts[np.isclose(verts[:, 2], asset.meta["hole_top_z_m"])][:, :2]
    inner = np.max(np.abs(top), axis=1) < 0.5 * asset.meta["hole_block_size_m"] - 1e-9
    return _ring(top[inner])


def _edge_distances(points, poly):
    """(points, edges) signed distance of each point inside each CCW edge (positive inside)."""
    edges = np.roll(poly, -1, axis=0) - poly
    inward = np.column_stack([-edges[:, 1], edges[:, 0]])
    inward /= np.linalg.norm(inward, axis=1, keepdims=True)
    return points @ inward.T - np.sum(inward * poly, axis=1)


def _outside_margin(piece, points):
    """Largest face-plane signed distance: <= 0 inside the convex piece, > 0 outside."""
    normals = piece.face_normals
    return np.max(points @ normals.T - np.sum(normals * piece.vertices[piece.faces[:, 0]], axis=1),
                  axis=1)


def _cavity_points(asset, rng, count=300):
    cavity = _cavity_profile(asset)
    lo, hi = cavity.min(axis=0), cavity.max(axis=0)
    xy = rng.uniform(lo, hi, (count * 3, 2))
    xy = xy[np.min(_edge_distances(xy, cavity), axis=1) > 0][:count]
    top = asset.meta["hole_top_z_m"]
    z = rng.uniform(top - asset.meta["hole_depth_m"], top, len(xy))
    return np.column_stack([xy, z]), cavity


@pytest.mark.parametrize("profile", PROFILES)
def test_same_seed_same_pair_and_other_seed_other_pair(profile):
    a, b, c = _pair(profile, 1), _pair(profile, 1), _pair(profile, 2)
    for name in ("peg", "hole"):
        pa, pb = a.parts[name], b.parts[name]
        assert np.array_equal(pa.visual.vertices, pb.visual.vertices)
        assert np.array_equal(pa.visual.faces, pb.visual.faces)
        assert all(np.array_equal(p.vertices, q.vertices)
                   for p, q in zip(pa.collision, pb.collision))
        assert pa.rgba == pb.rgba
    assert a.meta == b.meta
    assert not np.array_equal(a.parts["peg"].visual.vertices, c.parts["peg"].visual.vertices)


@pytest.mark.parametrize("profile", PROFILES)
def test_peg_is_a_graspable_convex_prism_along_z(profile):
    for seed in SEEDS:
        asset = _pair(profile, seed)
        peg, meta = asset.parts["peg"], asset.meta
        assert set(meta) == META_KEYS and meta["profile_index"] == PROFILES.index(profile)
        (piece,) = peg.collision
        assert piece.is_convex and piece.is_watertight and len(piece.vertices) <= 64
        assert peg.visual.is_watertight
        assert 0.06 <= meta["peg_length_m"] <= 0.10
        assert peg.visual.extents[2] == pytest.approx(meta["peg_length_m"])
        assert np.linalg.norm(peg.visual.center_mass) < 1e-9
        profile_xy = _peg_profile(asset)
        across = np.max(np.linalg.norm(profile_xy[:, None] - profile_xy[None], axis=2))
        assert 0.025 - 1e-9 <= across <= 0.04 + 1e-9
        assert meta["peg_radius_m"] == pytest.approx(np.max(np.linalg.norm(profile_xy, axis=1)))
        assert 0.01 <= meta["peg_width_m"] <= across
        assert 3 <= len(profile_xy) <= 24


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("clearance", [0.0005, 0.002, 0.005])
def test_cavity_is_the_peg_profile_grown_by_exactly_the_clearance(profile, clearance):
    for seed in SEEDS:
        asset = _pair(profile, seed, clearance)
        peg, cavity = _peg_profile(asset), _cavity_profile(asset)
        assert len(peg) == len(cavity)
        dist = _edge_distances(peg, cavity)
        assert np.all(dist > 0)  # every peg corner strictly inside the cavity
        assert np.allclose(dist.min(axis=0), clearance, rtol=0, atol=1e-9)  # per cavity edge
        assert asset.meta["clearance_m"] == clearance
        assert asset.meta["hole_depth_m"] < asset.meta["peg_length_m"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("blind_prob", [0.0, 1.0])
def test_hole_pieces_exactly_tile_the_block_minus_the_cavity(profile, blind_prob):
    rng = np.random.default_rng(7)
    for seed in SEEDS:
        asset = _pair(profile, seed, blind_prob=blind_prob)
        hole, meta = asset.parts["hole"], asset.meta
        size, height = meta["hole_block_size_m"], meta["hole_block_height_m"]
        assert meta["hole_through"] == 1.0 - blind_prob
        assert (meta["hole_depth_m"] == pytest.approx(height)) == (blind_prob == 0.0)
        for piece in hole.collision:
            assert piece.is_convex and piece.is_watertight and len(piece.vertices) <= 64
        assert len(hole.collision) <= 25
        inside, cavity = _cavity_points(asset, rng)
        for piece in hole.collision:  # nothing solid inside the cavity
            assert np.all(_outside_margin(piece, inside) > -1e-9)
        block = rng.uniform(-0.5, 0.5, (2000, 3)) * np.array([size, size, height])
        in_cavity = (np.min(_edge_distances(block[:, :2], cavity), axis=1) > -1e-7) & (
            block[:, 2] > meta["hole_top_z_m"] - meta["hole_depth_m"] - 1e-7)
        solid = block[~in_cavity]
        margins = np.min([_outside_margin(p, solid) for p in hole.collision], axis=0)
        assert np.all(margins <= 1e-9)  # every solid point is in some piece
        area = 0.5 * np.sum(cavity[:, 0] * np.roll(cavity[:, 1], -1)
                            - np.roll(cavity[:, 0], -1) * cavity[:, 1])
        expected = size * size * height - area * meta["hole_depth_m"]
        assert sum(p.volume for p in hole.collision) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("blind_prob", [0.0, 1.0])
def test_hole_visual_is_one_watertight_block_with_the_cavity(profile, blind_prob):
    asset = _pair(profile, 0, blind_prob=blind_prob)
    visual, meta = asset.parts["hole"].visual, asset.meta
    assert visual.is_watertight and visual.is_winding_consistent
    assert len(visual.split(only_watertight=False)) == 1
    assert visual.volume == pytest.approx(sum(p.volume for p in asset.parts["hole"].collision),
                                          rel=1e-9)
    assert visual.bounds[1][2] == pytest.approx(meta["hole_top_z_m"])
    assert visual.extents == pytest.approx([meta["hole_block_size_m"]] * 2
                                           + [meta["hole_block_height_m"]])
    assert 0.12 <= meta["hole_block_size_m"] <= 0.16
    assert 0.04 <= meta["hole_block_height_m"] <= 0.06


def test_any_draws_every_profile():
    cfg = peg_hole_cfg()
    kinds = {generate_peg_hole(cfg, np.random.default_rng([s, 2])).meta["profile_index"]
             for s in range(30)}
    assert kinds == set(range(len(PROFILES)))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="clearance_m"):
        peg_hole_cfg(-0.001)
    with pytest.raises(UnknownNameError, match="Did you mean 'ellipse'"):
        peg_hole_cfg(0.002, "elipse")
