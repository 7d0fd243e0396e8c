"""Unit tests of the procedural rock generator: determinism, watertightness, preset sizes."""

import dataclasses

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from spaceros_procgen_envs.assets.rocks import SIZES, STYLES, generate_rock, rock_cfg
from spaceros_procgen_envs.assets.types import MeshAsset
from spaceros_procgen_envs.errors import UnknownNameError

SEEDS = range(5)
PRESETS = [(style, size) for style in STYLES for size in SIZES]


def _rock(style, size, seed, **changes):
    cfg = dataclasses.replace(rock_cfg(style, size), **changes)
    return generate_rock(cfg, np.random.default_rng([seed, 0]))


def _narrowest_horizontal_width(vertices):
    """Exact narrowest width of the xy projection (attained across a 2-D hull edge)."""
    xy = vertices[:, :2]
    hull = xy[ConvexHull(xy).vertices]
    edges = np.roll(hull, -1, axis=0) - hull
    normals = np.column_stack([edges[:, 1], -edges[:, 0]])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return float(np.min(np.ptp(hull @ normals.T, axis=0)))


@pytest.mark.parametrize("style,size", PRESETS)
def test_same_seed_same_rock_and_other_seed_other_rock(style, size):
    a, b, c = _rock(style, size, 3), _rock(style, size, 3), _rock(style, size, 4)
    pa, pb, pc = a.parts["rock"], b.parts["rock"], c.parts["rock"]
    assert np.array_equal(pa.visual.vertices, pb.visual.vertices)
    assert np.array_equal(pa.visual.faces, pb.visual.faces)
    assert np.array_equal(pa.collision[0].vertices, pb.collision[0].vertices)
    assert pa.rgba == pb.rgba and a.meta == b.meta
    assert not np.array_equal(pa.visual.vertices, pc.visual.vertices)


@pytest.mark.parametrize("style,size", PRESETS)
def test_rock_is_watertight_modest_and_centred(style, size):
    for seed in SEEDS:
        rock = _rock(style, size, seed).parts["rock"].visual
        assert rock.is_watertight and rock.is_winding_consistent and rock.volume > 0
        assert 300 <= len(rock.vertices) <= 700
        assert np.linalg.norm(rock.center_mass) < 1e-6 * np.max(rock.extents)


@pytest.mark.parametrize("style", STYLES)
def test_sample_fits_a_parallel_gripper(style):
    for seed in SEEDS:
        asset = _rock(style, "sample", seed)
        verts = asset.parts["rock"].visual.vertices
        assert 0.038 <= _narrowest_horizontal_width(verts) <= 0.06
        extents = np.ptp(verts, axis=0)
        assert 0.04 <= extents[0] <= 0.07 and extents[1] <= 0.06
        assert 0.03 - 1e-9 <= extents[2] <= 0.05 + 1e-9
        assert np.allclose(extents, [asset.meta["length_m"], asset.meta["width_m"],
                                     asset.meta["height_m"]])


@pytest.mark.parametrize("style", STYLES)
def test_boulder_size(style):
    for seed in SEEDS:
        extents = _rock(style, "boulder", seed).parts["rock"].visual.extents
        assert 0.2 - 1e-9 <= extents.max() <= 0.6 + 1e-9
        assert extents.min() >= 0.1 - 1e-9


@pytest.mark.parametrize("style,size", PRESETS)
def test_collision_is_one_small_inscribed_hull(style, size):
    for seed in SEEDS:
        part = _rock(style, size, seed).parts["rock"]
        (piece,) = part.collision
        assert piece.is_convex and piece.is_watertight and len(piece.vertices) <= 64
        visual_verts = {tuple(v) for v in part.visual.vertices}
        assert all(tuple(v) in visual_verts for v in piece.vertices)  # never outside the rock
        assert piece.volume >= 0.85 * part.visual.convex_hull.volume
        assert np.allclose(piece.bounds, part.visual.bounds)


@pytest.mark.parametrize("style", STYLES)
def test_flat_cut_gives_a_flat_base(style):
    for seed in SEEDS:
        cut = _rock(style, "sample", seed, facets=(0, 0), flat_cut_prob=1.0)
        smooth = _rock(style, "sample", seed, facets=(0, 0), flat_cut_prob=0.0)
        assert cut.meta["flat_cut"] == 1.0 and smooth.meta["flat_cut"] == 0.0
        mesh = cut.parts["rock"].visual
        biggest = int(np.argmax(mesh.facets_area))
        assert mesh.facets_area[biggest] > 0.05 * mesh.area
        assert mesh.facets_normal[biggest][2] < -0.9  # faces down
        plain = smooth.parts["rock"].visual
        assert plain.facets_area.max(initial=0.0) < 0.02 * plain.area


def test_martian_rocks_are_redder_than_lunar():
    for seed in SEEDS:
        lunar = _rock("lunar", "sample", seed).parts["rock"].rgba
        martian = _rock("martian", "sample", seed).parts["rock"].rgba
        assert martian[0] - martian[2] > lunar[0] - lunar[2] + 0.1
        assert all(0.0 <= c <= 1.0 for c in lunar + martian)


def test_rock_survives_the_cache_round_trip():
    asset = _rock("martian", "boulder", 1)
    again = MeshAsset.from_arrays(asset.to_arrays())
    assert np.array_equal(again.parts["rock"].visual.vertices, asset.parts["rock"].visual.vertices)
    assert again.meta == asset.meta and again.parts["rock"].rgba == asset.parts["rock"].rgba


def test_generator_leaves_the_global_rng_alone():
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    _rock("lunar", "sample", 0)
    assert np.random.random() == before


@pytest.mark.parametrize("style,size,hint", [("lunr", "sample", "lunar"),
                                             ("martian", "boulders", "boulder")])
def test_unknown_style_or_size_says_did_you_mean(style, size, hint):
    with pytest.raises(UnknownNameError, match=f"Did you mean '{hint}'"):
        rock_cfg(style, size)
