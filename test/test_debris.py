"""Unit tests of the debris generator: determinism, watertight bodies, graspable features."""

import numpy as np
import pytest

from spaceros_procgen_envs.assets.debris import KINDS, debris_cfg, generate_debris
from spaceros_procgen_envs.errors import UnknownNameError

SEEDS = range(6)


def _debris(kind, seed):
    return generate_debris(debris_cfg(kind), np.random.default_rng([seed, 1]))


def _min_width(piece):
    """Narrowest width of a convex piece across one of its face normals, metres."""
    return float(np.min(np.ptp(piece.vertices @ piece.face_normals.T, axis=0)))


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_debris_and_other_seed_other_debris(kind):
    a, b, c = _debris(kind, 2), _debris(kind, 2), _debris(kind, 3)
    pa, pb = a.parts["debris"], b.parts["debris"]
    assert np.array_equal(pa.visual.vertices, pb.visual.vertices)
    assert np.array_equal(pa.visual.faces, pb.visual.faces)
    assert len(pa.collision) == len(pb.collision)
    assert all(np.array_equal(p.vertices, q.vertices) for p, q in zip(pa.collision, pb.collision))
    assert pa.rgba == pb.rgba and a.meta == b.meta
    assert not np.array_equal(pa.visual.vertices, c.parts["debris"].visual.vertices)


@pytest.mark.parametrize("kind", KINDS)
def test_each_body_is_watertight(kind):
    for seed in SEEDS:
        bodies = _debris(kind, seed).parts["debris"].visual.split(only_watertight=False)
        assert len(bodies) >= 1
        for body in bodies:
            assert body.is_watertight and body.is_winding_consistent and body.volume > 0


@pytest.mark.parametrize("kind", KINDS)
def test_size_and_kind(kind):
    for seed in SEEDS:
        asset = _debris(kind, seed)
        assert asset.meta["kind_index"] == KINDS.index(kind)
        extent = asset.parts["debris"].visual.extents.max()
        assert 0.15 <= extent <= 0.4 + 1e-9
        assert asset.meta["size_m"] == pytest.approx(extent)


@pytest.mark.parametrize("kind", KINDS)
def test_collision_is_few_small_convex_pieces_inside_the_visual(kind):
    for seed in SEEDS:
        part = _debris(kind, seed).parts["debris"]
        lo, hi = part.visual.bounds
        assert 1 <= len(part.collision) <= 8
        for piece in part.collision:
            assert piece.is_convex and piece.is_watertight and len(piece.vertices) <= 64
            assert np.all(piece.vertices >= lo - 1e-9) and np.all(piece.vertices <= hi + 1e-9)
        covered = np.ptp(np.vstack([p.vertices for p in part.collision]), axis=0)
        assert np.all(covered >= 0.8 * part.visual.extents)


@pytest.mark.parametrize("kind", KINDS)
def test_has_a_feature_a_gripper_can_close_on(kind):
    for seed in SEEDS:
        widths = [_min_width(p) for p in _debris(kind, seed).parts["debris"].collision]
        assert 0.003 <= min(widths) <= 0.03  # a strut, a panel edge or a pipe


def test_any_draws_every_kind_and_metal_colours():
    assets = [_debris("any", seed) for seed in range(12)]
    assert {a.meta["kind_index"] for a in assets} == set(range(len(KINDS)))
    for asset in assets:
        rgba = asset.parts["debris"].rgba
        assert all(0.0 <= c <= 1.0 for c in rgba) and rgba[3] == 1.0


def test_centred_on_its_bodies():
    for kind in KINDS:
        visual = _debris(kind, 0).parts["debris"].visual
        bodies = visual.split(only_watertight=False)
        vols = np.array([b.volume for b in bodies])
        centre = (vols[:, None] * np.array([b.center_mass for b in bodies])).sum(0) / vols.sum()
        assert np.linalg.norm(centre) < 1e-9


def test_unknown_kind_says_did_you_mean():
    with pytest.raises(UnknownNameError, match="Did you mean 'truss'"):
        debris_cfg("trus")
