"""Terrain heightmaps per domain style: fractal relief, craters, dunes, ridges, rock bumps.

Every style runs one pipeline (:func:`generate_terrain`) whose layers a preset switches on:
band-limited spectral (fBm) noise for relief and small-scale roughness, ridged noise, wind-aligned
dunes, craters with a power-law size distribution, rock bumps, and finally a flat work-area disc
at the origin (height exactly 0 m) blended into the surroundings with a smoothstep ring.
Pure numpy/scipy, seeded only through the ``rng`` argument.

Example:
    >>> import numpy as np
    >>> hm = generate_terrain(terrain_cfg("moon", 30.0), np.random.default_rng([0, 0]))
    >>> hm.heights_m.shape, hm.height_at(0.0, 0.0)
    ((129, 129), 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from ..domains import DOMAINS
from ..errors import unknown_name
from .types import Heightmap

STYLES = ("moon", "mars", "asteroid", "earth")
MAX_CELL_M = 0.25  # grid cells are at most this wide; cells per side is a power of two


@dataclass(frozen=True)
class TerrainCfg:
    """Parameters of one terrain patch; a layer with zero height/density is skipped.

    Attributes:
        style: preset name, one of :data:`STYLES`.
        size_m: side of the square patch, metres, centred on the origin.
        cells: grid cells per side; the heightmap has ``cells + 1`` samples per side.
        relief_rms_m: rms height of the fBm relief, metres.
        relief_wavelength_m: (min, max) wavelengths of the relief band, metres.
        relief_beta: spectral slope of relief and roughness, power ~ k^-beta.
        roughness_rms_m: rms height of the small-scale roughness, metres.
        roughness_wavelength_m: longest roughness wavelength, metres (shortest: 2 cells).
        ridge_height_m: height of ridged-noise crests above their troughs, metres.
        ridge_wavelength_m: typical ridge spacing, metres.
        dune_height_m: dune crest-to-trough height, metres.
        dune_wavelength_m: (min, max) of the crest spacing ~ U, metres.
        dune_lee_fraction: fraction of a dune wavelength taken by the steep lee face (0..1).
        crater_density_per_m2: mean crater count per square metre (count ~ Poisson).
        crater_radius_m: (r_min, r_max) rim radius bounds, metres.
        crater_power: crater radii follow N(>r) ~ r^-power on [r_min, r_max].
        crater_depth_ratio: (min, max) depth / diameter ~ U (fresh simple craters ~0.2).
        crater_rim_ratio: rim height / diameter (Pike 1977: ~0.036 for fresh craters).
        crater_soften_m: gaussian blur sigma applied to the crater layer, metres (eroded look).
        rock_density_per_m2: mean rock-bump count per square metre (count ~ Poisson).
        rock_radius_m: (min, max) rock footprint radius, N(>r) ~ r^-2, metres.
        work_area_radius_m: radius of the exactly flat disc at the origin, metres.
        work_area_blend_m: width of the smoothstep ring around it, metres.
        rgba: base ground colour.
        rgba_jitter: relative per-seed colour jitter (brightness ~ U(1 +- jitter)).
    """

    style: str
    size_m: float
    cells: int
    relief_rms_m: float = 0.0
    relief_wavelength_m: tuple[float, float] = (3.0, 30.0)
    relief_beta: float = 3.0
    roughness_rms_m: float = 0.0
    roughness_wavelength_m: float = 1.0
    ridge_height_m: float = 0.0
    ridge_wavelength_m: float = 8.0
    dune_height_m: float = 0.0
    dune_wavelength_m: tuple[float, float] = (4.0, 8.0)
    dune_lee_fraction: float = 0.3
    crater_density_per_m2: float = 0.0
    crater_radius_m: tuple[float, float] = (0.3, 3.0)
    crater_power: float = 2.0
    crater_depth_ratio: tuple[float, float] = (0.1, 0.2)
    crater_rim_ratio: float = 0.035
    crater_soften_m: float = 0.0
    rock_density_per_m2: float = 0.0
    rock_radius_m: tuple[float, float] = (0.15, 0.4)
    work_area_radius_m: float = 1.75
    work_area_blend_m: float = 1.5
    rgba: tuple[float, float, float, float] = (0.5, 0.5, 0.5, 1.0)
    rgba_jitter: float = 0.04


_PRESETS: dict[str, dict] = {
    # Regolith plains: gentle fBm, fresh-to-degraded bowl craters 0.3-3 m, fine roughness.
    "moon": dict(relief_rms_m=0.12, relief_wavelength_m=(3.0, 30.0), relief_beta=3.2,
                 roughness_rms_m=0.015, roughness_wavelength_m=1.0,
                 crater_density_per_m2=0.04, crater_radius_m=(0.3, 3.0), crater_power=2.0,
                 crater_depth_ratio=(0.1, 0.2), crater_rim_ratio=0.035),
    # Aeolian plains: ripples/TAR-scale dunes, wind-worn ridges, few eroded craters, rocks.
    "mars": dict(relief_rms_m=0.08, relief_wavelength_m=(4.0, 30.0), relief_beta=3.0,
                 roughness_rms_m=0.01, roughness_wavelength_m=0.8,
                 ridge_height_m=0.15, ridge_wavelength_m=10.0,
                 dune_height_m=0.35, dune_wavelength_m=(4.0, 8.0), dune_lee_fraction=0.3,
                 crater_density_per_m2=0.003, crater_radius_m=(1.0, 3.0),
                 crater_depth_ratio=(0.04, 0.08), crater_rim_ratio=0.015, crater_soften_m=0.4,
                 rock_density_per_m2=0.05, rock_radius_m=(0.2, 0.5)),
    # Rubble-pile surface: rough, large relief, big deep craters, many boulders.
    "asteroid": dict(relief_rms_m=0.35, relief_wavelength_m=(3.0, 30.0), relief_beta=2.8,
                     roughness_rms_m=0.04, roughness_wavelength_m=1.0,
                     crater_density_per_m2=0.008, crater_radius_m=(1.0, 5.0),
                     crater_depth_ratio=(0.12, 0.22), crater_rim_ratio=0.03,
                     rock_density_per_m2=0.06, rock_radius_m=(0.15, 0.5)),
    # Grassland: long gentle rolling hills, almost no roughness.
    "earth": dict(relief_rms_m=0.25, relief_wavelength_m=(8.0, 60.0), relief_beta=4.0,
                  roughness_rms_m=0.008, roughness_wavelength_m=0.8),
}


def terrain_cfg(style: str, size_m: float) -> TerrainCfg:
    """The preset terrain of ``style`` on a square patch ``size_m`` wide.

    Args:
        style: one of :data:`STYLES` (``moon``, ``mars``, ``asteroid``, ``earth``).
        size_m: side of the patch, metres (> 0).

    Returns:
        A frozen :class:`TerrainCfg`; vary it with ``dataclasses.replace``.

    Example:
        >>> terrain_cfg("mars", 30.0).cells
        128
    """
    if style not in _PRESETS:
        raise unknown_name("terrain style", style, STYLES)
    if not size_m > 0:
        raise ValueError(f"size_m must be a positive length in metres, got {size_m!r}")
    cells = 2 ** max(5, math.ceil(math.log2(size_m / MAX_CELL_M)))
    rgba = tuple(float(c) for c in DOMAINS[style].ground_rgba)
    return TerrainCfg(style=style, size_m=float(size_m), cells=cells, rgba=rgba, **_PRESETS[style])


# Rough variants (the ``_hard`` tasks): about twice the relief and three times the small-scale
# roughness of each preset, more rock bumps; still drivable by the rocker-bogie rover (52.5 cm
# wheels, 60 cm belly clearance). Overrides of the preset, applied with ``dataclasses.replace``.
_ROUGH: dict[str, dict] = {
    "moon": dict(relief_rms_m=0.22, roughness_rms_m=0.04, crater_density_per_m2=0.06,
                 rock_density_per_m2=0.05, rock_radius_m=(0.2, 0.45)),
    "mars": dict(relief_rms_m=0.16, roughness_rms_m=0.03, ridge_height_m=0.25,
                 rock_density_per_m2=0.12, rock_radius_m=(0.2, 0.55)),
    "asteroid": dict(relief_rms_m=0.45, roughness_rms_m=0.07, rock_density_per_m2=0.1),
    "earth": dict(relief_rms_m=0.35, relief_wavelength_m=(5.0, 60.0), roughness_rms_m=0.03,
                  rock_density_per_m2=0.03, rock_radius_m=(0.15, 0.4)),
}


def rough_terrain_cfg(style: str, size_m: float) -> TerrainCfg:
    """The rough variant of :func:`terrain_cfg`: larger relief, more small-scale roughness and
    more rock bumps than the ``style`` preset (the ``_hard`` tasks' ground).

    Example:
        >>> rough_terrain_cfg("mars", 30.0).relief_rms_m > terrain_cfg("mars", 30.0).relief_rms_m
        True
    """
    return replace(terrain_cfg(style, size_m), **_ROUGH[style])


def generate_terrain(cfg: TerrainCfg, rng: np.random.Generator) -> Heightmap:
    """Generate one heightmap from ``cfg``, drawing every random number from ``rng``.

    Args:
        cfg: a :class:`TerrainCfg`, usually from :func:`terrain_cfg`.
        rng: the only source of randomness; same cfg and seed give identical bytes.

    Returns:
        A :class:`Heightmap` of ``(cells + 1, cells + 1)`` float32 heights, 0 m on the work area.

    Example:
        >>> hm = generate_terrain(terrain_cfg("earth", 12.0), np.random.default_rng(1))
        >>> hm.work_area_m
        (0.0, 0.0, 1.75)
    """
    grid = _Grid(cfg.size_m, cfg.cells + 1)
    h = _relief(cfg, grid, rng) + _ridges(cfg, grid, rng) + _dunes(cfg, grid, rng)
    crater_layer, craters = _craters(cfg, grid, rng)
    h += crater_layer + _rocks(cfg, grid, rng)
    h = _flatten_work_area(h, grid, cfg.work_area_radius_m, cfg.work_area_blend_m)
    return Heightmap(
        heights_m=np.ascontiguousarray(h, np.float32),
        size_m=(cfg.size_m, cfg.size_m),
        work_area_m=(0.0, 0.0, float(cfg.work_area_radius_m)),
        rgba=_jitter_rgba(cfg.rgba, cfg.rgba_jitter, rng),
        craters=craters.astype(np.float32).reshape(-1, 3),
    )


class _Grid:
    """Sample coordinates of an ``n x n`` patch ``size_m`` wide; rows along +y, cols along +x."""

    def __init__(self, size_m: float, n: int):
        self.n, self.size_m = n, size_m
        self.cell_m = size_m / (n - 1)
        self.x = np.linspace(-size_m / 2, size_m / 2, n)  # column coordinates, m
        self.y = self.x.copy()  # row coordinates, m
        self.X, self.Y = np.meshgrid(self.x, self.y)  # (rows, cols)

    def zeros(self) -> np.ndarray:
        return np.zeros((self.n, self.n))


def _band_noise(rng: np.random.Generator, grid: _Grid, wavelength_m: tuple[float, float],
                beta: float) -> np.ndarray:
    """Zero-mean, unit-rms Gaussian field, power ~ k^-beta for wavelengths in [lo, hi] m.

    Spectral synthesis: filtered white noise, periodic over the patch.
    """
    ky = np.fft.fftfreq(grid.n, grid.cell_m)[:, None]  # cycles / m
    kx = np.fft.rfftfreq(grid.n, grid.cell_m)[None, :]
    k = np.hypot(kx, ky)
    lo, hi = wavelength_m
    band = (k >= 1.0 / hi) & (k <= 1.0 / lo) & (k > 0)
    amp = np.where(band, np.maximum(k, 1e-12) ** (-beta / 2), 0.0)
    field = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((grid.n, grid.n))) * amp,
                          s=(grid.n, grid.n))
    std = field.std()
    return field / std if std > 0 else field


def _relief(cfg: TerrainCfg, grid: _Grid, rng: np.random.Generator) -> np.ndarray:
    """fBm relief plus roughness down to the 2-cell Nyquist wavelength, metres."""
    h = grid.zeros()
    if cfg.relief_rms_m > 0:
        h += cfg.relief_rms_m * _band_noise(rng, grid, cfg.relief_wavelength_m, cfg.relief_beta)
    if cfg.roughness_rms_m > 0:
        band = (2 * grid.cell_m, cfg.roughness_wavelength_m)
        h += cfg.roughness_rms_m * _band_noise(rng, grid, band, cfg.relief_beta)
    return h


def _ridges(cfg: TerrainCfg, grid: _Grid, rng: np.random.Generator) -> np.ndarray:
    """Ridged noise: sharp crests along the zero lines of a band-limited field, metres."""
    if cfg.ridge_height_m <= 0:
        return grid.zeros()
    wl = cfg.ridge_wavelength_m
    ridge = (1.0 - np.abs(np.tanh(_band_noise(rng, grid, (wl / 2, 2 * wl), 2.0)))) ** 2
    return cfg.ridge_height_m * (ridge - ridge.mean())


def _dunes(cfg: TerrainCfg, grid: _Grid, rng: np.random.Generator) -> np.ndarray:
    """Transverse dunes: crests across a random wind azimuth ~ U(0, 2 pi), metres.

    Along the wind the profile rises over the gentle stoss face and drops over the steep lee
    face (``dune_lee_fraction`` of a wavelength); crests wander by ~0.2 wavelengths and their
    height varies by ~25 %.
    """
    if cfg.dune_height_m <= 0:
        return grid.zeros()
    azimuth = rng.uniform(0.0, 2 * np.pi)  # wind direction from +x, rad
    wl = rng.uniform(*cfg.dune_wavelength_m)  # crest spacing, m
    along = grid.X * np.cos(azimuth) + grid.Y * np.sin(azimuth)
    wander = 0.2 * wl * _band_noise(rng, grid, (2 * wl, 8 * wl), 2.0)
    phase = np.mod((along + wander) / wl + rng.uniform(), 1.0)
    stoss = 1.0 - cfg.dune_lee_fraction
    f = np.where(phase < stoss, phase / stoss, (1.0 - phase) / cfg.dune_lee_fraction)
    profile = f * f * (3 - 2 * f) - 0.5  # smoothstep rounds crests and troughs
    modulation = 1.0 + 0.25 * _band_noise(rng, grid, (2 * wl, 8 * wl), 2.0)
    return cfg.dune_height_m * profile * modulation


def _power_law(rng: np.random.Generator, k: int, bounds: tuple[float, float],
               power: float) -> np.ndarray:
    """``k`` radii with N(>r) ~ r^-power, bounded to [r_min, r_max] (inverse-CDF sampling)."""
    a, b = bounds[0] ** -power, bounds[1] ** -power
    return (b + rng.uniform(size=k) * (a - b)) ** (-1.0 / power)


def _centres_outside(rng: np.random.Generator, radii: np.ndarray, half_m: float,
                     keep_out_m: float) -> np.ndarray:
    """Uniform centres in the patch whose disc of radius r misses the disc ``keep_out_m``.

    Rejection sampling of 32 candidates per radius; a radius with no valid candidate is
    dropped (returned rows: (x, y, r)).
    """
    cand = rng.uniform(-half_m, half_m, size=(len(radii), 32, 2))
    ok = np.hypot(cand[..., 0], cand[..., 1]) > keep_out_m + radii[:, None]
    pick = cand[np.arange(len(radii)), ok.argmax(axis=1)]
    return np.column_stack([pick, radii])[ok.any(axis=1)]


def _stamp(h: np.ndarray, grid: _Grid, cx: float, cy: float, extent_m: float,
           profile: Callable[[np.ndarray], np.ndarray]) -> None:
    """Add ``profile(distance_m)`` to ``h`` in the square window of half-width ``extent_m``."""
    c0, c1 = np.searchsorted(grid.x, [cx - extent_m, cx + extent_m])
    r0, r1 = np.searchsorted(grid.y, [cy - extent_m, cy + extent_m])
    if c1 <= c0 or r1 <= r0:
        return
    d = np.hypot(grid.x[None, c0:c1] - cx, grid.y[r0:r1, None] - cy)
    h[r0:r1, c0:c1] += profile(d)


def _crater_profile(s: np.ndarray, depth_m: float, rim_m: float) -> np.ndarray:
    """Height at s = distance / radius: parabolic bowl from -depth to the rim crest at s = 1,
    ejecta blanket ~ rim * s^-3 outside, faded to exactly 0 over s in [2, 3]."""
    bowl = -depth_m + (depth_m + rim_m) * s**2
    fade = 1.0 - _smoothstep(s - 2.0)
    ejecta = rim_m * np.maximum(s, 1.0) ** -3 * fade
    return np.where(s < 1.0, bowl, ejecta)


def _craters(cfg: TerrainCfg, grid: _Grid, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """Crater layer (m) and its (x, y, r) rows; bowls stay outside the work area."""
    h, count = grid.zeros(), rng.poisson(cfg.crater_density_per_m2 * cfg.size_m**2)
    radii = _power_law(rng, count, cfg.crater_radius_m, cfg.crater_power)
    craters = _centres_outside(rng, radii, cfg.size_m / 2, cfg.work_area_radius_m)
    depth_ratio = rng.uniform(*cfg.crater_depth_ratio, size=len(craters))
    for (cx, cy, r), ratio in zip(craters, depth_ratio):
        depth, rim = ratio * 2 * r, cfg.crater_rim_ratio * 2 * r
        _stamp(h, grid, cx, cy, 3 * r, lambda d, r=r, a=depth, b=rim: _crater_profile(d / r, a, b))
    if cfg.crater_soften_m > 0:
        h = ndimage.gaussian_filter(h, cfg.crater_soften_m / grid.cell_m, mode="nearest")
    return h, craters


def _rocks(cfg: TerrainCfg, grid: _Grid, rng: np.random.Generator) -> np.ndarray:
    """Rock bumps baked into the heightmap: domes h * (1 - s^2)^2, h ~ U(0.3, 0.6) r, metres.

    Positions ~ U over the patch; footprint radius r ~ power law N(>r) ~ r^-2.
    """
    h, count = grid.zeros(), rng.poisson(cfg.rock_density_per_m2 * cfg.size_m**2)
    radii = _power_law(rng, count, cfg.rock_radius_m, 2.0)
    centres = rng.uniform(-cfg.size_m / 2, cfg.size_m / 2, size=(count, 2))
    heights = rng.uniform(0.3, 0.6, size=count) * radii
    for (cx, cy), r, top in zip(centres, radii, heights):
        _stamp(h, grid, cx, cy, r,
               lambda d, r=r, top=top: top * np.clip(1.0 - (d / r) ** 2, 0.0, None) ** 2)
    return h


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _flatten_work_area(h: np.ndarray, grid: _Grid, radius_m: float, blend_m: float) -> np.ndarray:
    """Shift the terrain so its mean around the work area is 0, then force the disc to exactly
    0 m and blend back to the raw terrain over ``blend_m`` with a smoothstep weight."""
    d = np.hypot(grid.X, grid.Y)
    near = d <= radius_m + blend_m
    h = h - (h[near].mean() if near.any() else 0.0)
    weight = _smoothstep((d - radius_m) / max(blend_m, 1e-9))
    return np.where(d <= radius_m, 0.0, h * weight)


def _jitter_rgba(rgba: tuple[float, float, float, float], jitter: float,
                 rng: np.random.Generator) -> tuple[float, float, float, float]:
    """Brightness ~ U(1 +- jitter) times per-channel tint ~ U(1 +- jitter / 2); alpha kept."""
    scale = rng.uniform(1 - jitter, 1 + jitter) * rng.uniform(1 - jitter / 2, 1 + jitter / 2, 3)
    rgb = np.clip(np.asarray(rgba[:3]) * scale, 0.0, 1.0)
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]), float(rgba[3]))
