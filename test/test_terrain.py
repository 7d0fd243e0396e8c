"""Unit tests of the terrain generators: determinism, bounds, work area, craters, dunes."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from spaceros_procgen_envs.assets.generators import AssetRequest
from spaceros_procgen_envs.assets.terrain import (
    MAX_CELL_M, STYLES, TerrainCfg, generate_terrain, terrain_cfg)
from spaceros_procgen_envs.assets.types import Heightmap
from spaceros_procgen_envs.domains import DOMAINS
from spaceros_procgen_envs.errors import UnknownNameError

# style -> (min rms outside the work area, max |height|), metres, on a 30 m patch.
RELIEF_BOUNDS_M = {"moon": (0.06, 2.0), "mars": (0.06, 1.2), "asteroid": (0.15, 3.5),
                   "earth": (0.08, 1.5)}
SIZES_M = (12.0, 30.0)


def make(style: str, seed: int = 0, size_m: float = 30.0, **overrides) -> Heightmap:
    cfg = dataclasses.replace(terrain_cfg(style, size_m), **overrides)
    return generate_terrain(cfg, np.random.default_rng([seed, 0]))


def grid_xy(hm: Heightmap) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = hm.heights_m.shape
    x = np.linspace(-hm.size_m[0] / 2, hm.size_m[0] / 2, cols)
    y = np.linspace(-hm.size_m[1] / 2, hm.size_m[1] / 2, rows)
    return np.meshgrid(x, y)


def gradient_anisotropy(h: np.ndarray, cell_m: float) -> tuple[float, float]:
    """(major / minor eigenvalue of the gradient structure tensor, skewness of the slope
    along the major axis)."""
    gy, gx = np.gradient(h.astype(float), cell_m)
    tensor = np.cov(np.stack([gx.ravel(), gy.ravel()]), bias=True)
    eigval, eigvec = np.linalg.eigh(tensor)
    slope = gx * eigvec[0, 1] + gy * eigvec[1, 1]
    return eigval[1] / eigval[0], float(np.mean(slope**3) / np.mean(slope**2) ** 1.5)


def test_every_style_has_bounds():
    assert set(RELIEF_BOUNDS_M) == set(STYLES)
    assert set(STYLES) <= set(DOMAINS)


@pytest.mark.parametrize("style", STYLES)
def test_same_seed_gives_identical_bytes(style):
    a, b = make(style, seed=7), make(style, seed=7)
    assert a.heights_m.tobytes() == b.heights_m.tobytes()
    assert a.craters.tobytes() == b.craters.tobytes()
    assert a.rgba == b.rgba


@pytest.mark.parametrize("style", STYLES)
def test_different_seeds_differ(style):
    a, b = make(style, seed=1), make(style, seed=2)
    assert np.abs(a.heights_m - b.heights_m).max() > 0.05
    assert a.rgba != b.rgba


@pytest.mark.parametrize("size_m", SIZES_M)
@pytest.mark.parametrize("style", STYLES)
def test_shape_dtype_and_finite(style, size_m):
    cfg = terrain_cfg(style, size_m)
    hm = generate_terrain(cfg, np.random.default_rng(0))
    assert hm.heights_m.shape == (cfg.cells + 1, cfg.cells + 1)
    assert hm.heights_m.dtype == np.float32 and np.isfinite(hm.heights_m).all()
    assert hm.size_m == (size_m, size_m)
    assert max(hm.cell_m) <= MAX_CELL_M and hm.heights_m.shape[0] <= 257
    assert hm.craters.dtype == np.float32 and hm.craters.shape[1] == 3
    assert hm.work_area_m == (0.0, 0.0, cfg.work_area_radius_m)


@pytest.mark.parametrize("style", STYLES)
def test_heights_bounded_and_not_flat(style):
    min_rms, max_abs = RELIEF_BOUNDS_M[style]
    for seed in range(6):
        hm = make(style, seed)
        x, y = grid_xy(hm)
        outside = np.hypot(x, y) > hm.work_area_m[2] + terrain_cfg(style, 30.0).work_area_blend_m
        assert np.abs(hm.heights_m).max() < max_abs
        assert hm.heights_m[outside].std() > min_rms


@pytest.mark.parametrize("size_m", SIZES_M)
@pytest.mark.parametrize("style", STYLES)
def test_work_area_is_flat_at_zero_and_blends(style, size_m):
    for seed in range(3):
        hm = make(style, seed, size_m)
        x, y = grid_xy(hm)
        d = np.hypot(x, y)
        radius = hm.work_area_m[2]
        inside = hm.heights_m[d <= radius]
        assert inside.size > 100
        assert np.abs(inside).max() < 1e-6 and np.ptp(inside) < 1e-6
        assert hm.height_at(0.0, 0.0) == 0.0
        # smoothstep ring: still nearly flat a quarter metre past the edge
        assert np.abs(hm.heights_m[(d > radius) & (d < radius + 0.25)]).max() < 0.05


def test_work_area_radius_is_configurable():
    hm = make("asteroid", 3, work_area_radius_m=3.0)
    x, y = grid_xy(hm)
    assert np.abs(hm.heights_m[np.hypot(x, y) <= 3.0]).max() == 0.0
    assert np.abs(hm.heights_m[np.hypot(x, y) > 6.0]).max() > 0.1


def test_unknown_style_raises_with_suggestion():
    with pytest.raises(UnknownNameError, match="Did you mean 'moon'"):
        terrain_cfg("mooon", 30.0)
    with pytest.raises(ValueError, match="size_m"):
        terrain_cfg("moon", 0.0)


@pytest.mark.parametrize("style", STYLES)
def test_cfg_is_json_serialisable_and_keys_the_cache(style):
    cfg = terrain_cfg(style, 30.0)
    assert isinstance(cfg, TerrainCfg)
    json.dumps(dataclasses.asdict(cfg))
    key = AssetRequest("terrain", cfg, (0, 0)).key
    assert key != AssetRequest("terrain", cfg, (1, 0)).key
    assert key != AssetRequest("terrain", dataclasses.replace(cfg, relief_rms_m=0.5), (0, 0)).key


@pytest.mark.parametrize("style", STYLES)
def test_colour_is_the_domain_ground_with_jitter(style):
    base = np.asarray(DOMAINS[style].ground_rgba)
    hm = make(style, 5)
    assert hm.rgba[3] == base[3]
    assert np.allclose(hm.rgba[:3], base[:3], rtol=0.1, atol=0.0)


@pytest.mark.parametrize("style", STYLES)
def test_round_trips_through_cache_arrays(style):
    hm = make(style, 4)
    back = Heightmap.from_arrays(hm.to_arrays())
    assert back.heights_m.tobytes() == hm.heights_m.tobytes()
    assert back.rgba == hm.rgba and back.craters.tobytes() == hm.craters.tobytes()


def test_moon_crater_count_radii_and_power_law():
    cfg = terrain_cfg("moon", 30.0)
    r_min, r_max = cfg.crater_radius_m
    expected = cfg.crater_density_per_m2 * cfg.size_m**2  # Poisson mean
    radii = []
    for seed in range(10):
        craters = make("moon", seed).craters
        assert abs(len(craters) - expected) < 4 * np.sqrt(expected)
        x, y, r = craters.T
        assert r.min() >= r_min - 1e-6 and r.max() <= r_max + 1e-6
        assert (np.hypot(x, y) > cfg.work_area_radius_m + r).all()  # bowls miss the work area
        assert (np.abs(craters[:, :2]) <= cfg.size_m / 2).all()
        radii.append(r)
    radii = np.concatenate(radii)
    assert np.median(radii) < 0.25 * (r_min + r_max)
    # N(>r) ~ r^-2 on [r_min, r_max]: compare the survival function at 2 and 4 r_min
    for k in (2.0, 4.0):
        a, b, r = r_min**-2, r_max**-2, k * r_min
        assert abs(np.mean(radii > r) - (r**-2 - b) / (a - b)) < 0.06


def _crater_rings(hm: Heightmap, cfg: TerrainCfg, min_r_m: float):
    """(r, mean height at the centre, on the rim, at 2.5-3.5 r) for big craters clear of the
    work area and its blend ring."""
    x, y = grid_xy(hm)
    keep_out = cfg.work_area_radius_m + cfg.work_area_blend_m
    for cx, cy, r in hm.craters:
        if r >= min_r_m and np.hypot(cx, cy) > keep_out + 3 * r:
            s = np.hypot(x - cx, y - cy) / r
            yield (r, hm.heights_m[s < 0.3].mean(), hm.heights_m[(s > 0.9) & (s < 1.15)].mean(),
                   hm.heights_m[(s > 2.5) & (s < 3.5)].mean())


def test_moon_craters_are_bowls_with_raised_rims():
    cfg = terrain_cfg("moon", 30.0)
    smooth = dataclasses.replace(cfg, relief_rms_m=0.0, roughness_rms_m=0.0)
    depth_gaps, rim_rises = [], []  # (rim - centre) / diameter; (rim - outside) / rim height
    for seed in range(8):
        hm = generate_terrain(cfg, np.random.default_rng([seed, 0]))
        depth_gaps += [(rim - ctr) / (2 * r) for r, ctr, rim, _ in _crater_rings(hm, cfg, 1.0)]
        hm = generate_terrain(smooth, np.random.default_rng([seed, 0]))
        rim_rises += [(rim - out) / (cfg.crater_rim_ratio * 2 * r)
                      for r, _, rim, out in _crater_rings(hm, smooth, 1.0)]
    assert len(depth_gaps) >= 8 and len(rim_rises) >= 8
    assert min(depth_gaps) > 0.03  # rim above centre by > 3 % of the diameter
    assert np.mean(np.array(rim_rises) > 0.3) > 0.8 and np.mean(rim_rises) > 0.5


def test_mars_dunes_are_anisotropic_and_asymmetric():
    for seed in range(5):
        hm = make("mars", seed)
        ratio, _ = gradient_anisotropy(hm.heights_m, hm.cell_m[0])
        assert ratio > 1.8
        moon = make("moon", seed)
        assert gradient_anisotropy(moon.heights_m, moon.cell_m[0])[0] < 1.5
    only_dunes = dict(relief_rms_m=0.0, roughness_rms_m=0.0, ridge_height_m=0.0,
                      crater_density_per_m2=0.0, rock_density_per_m2=0.0,
                      work_area_radius_m=0.0, work_area_blend_m=0.0)
    for seed in range(5):
        hm = make("mars", seed, **only_dunes)
        ratio, skew = gradient_anisotropy(hm.heights_m, hm.cell_m[0])
        assert ratio > 5.0 and abs(skew) > 0.8  # steep lee faces, gentle stoss faces


def test_mars_craters_are_few_and_softened():
    counts = [len(make("mars", seed).craters) for seed in range(10)]
    assert 0 < np.mean(counts) < 8
    craters_only = dict(relief_rms_m=0.0, roughness_rms_m=0.0, ridge_height_m=0.0,
                        dune_height_m=0.0, rock_density_per_m2=0.0, crater_density_per_m2=0.01)
    sharp = make("mars", 2, **craters_only, crater_soften_m=0.0)
    soft = make("mars", 2, **craters_only)
    assert len(soft.craters) > 3 and soft.craters.tobytes() == sharp.craters.tobytes()
    assert np.abs(np.diff(soft.heights_m)).max() < np.abs(np.diff(sharp.heights_m)).max()


def test_earth_has_no_craters_and_gentle_slopes():
    for seed in range(3):
        hm = make("earth", seed)
        assert len(hm.craters) == 0
        gy, gx = np.gradient(hm.heights_m.astype(float), hm.cell_m[0])
        assert np.hypot(gx, gy).max() < 0.6  # < ~30 degrees everywhere
