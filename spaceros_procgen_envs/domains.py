"""Domains: where a task takes place (gravity, terrain style, colours, sun).

Gravity values are standard surface gravities; ``orbit`` is free fall (no terrain).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import unknown_name


@dataclass(frozen=True)
class Domain:
    """One place a task can run in.

    Attributes:
        name: ``moon``, ``mars``, ``earth``, ``asteroid`` or ``orbit``.
        gravity_mps2: magnitude of gravity along -z, m/s^2.
        terrain_style: terrain generator preset, or ``None`` when there is no ground.
        rock_style: rock generator preset used for rocks in this domain.
        ground_rgba: base colour of the ground (linear RGBA, 0..1).
        rock_rgba: base colour of rocks.
        sky_rgb: colour of the sky at the zenith (linear RGB, 0..1).
        sun_elevation_deg: (min, max) sun elevation above the horizon, sampled on reset.
        sun_intensity: diffuse strength of the sun (1: a surface facing the sun shows its base
            colour; above 1 overexposes it, as a camera exposed for a dark ground does).
        horizon_rgb: colour of the sky at the horizon (dust and haze brighten it on Mars).
        star_density: fraction of the sky's texels that hold a star (0: no stars).
        ambient: light that reaches every surface, sunlit or not (scattered sky light, bounce
            light from the ground), as a fraction of full light; also the strength of the
            camera's dim headlight, which keeps shadowed faces readable.
        fill_rgb: colour times strength of the one shadowless fill light (sky light, light
            reflected by the ground, Earth glow).
        fill_from_below: the fill shines up from below (ground or a planet under an orbiting
            craft) instead of down from the sky.
    """

    name: str
    gravity_mps2: float
    terrain_style: str | None
    rock_style: str
    ground_rgba: tuple[float, float, float, float]
    rock_rgba: tuple[float, float, float, float]
    sky_rgb: tuple[float, float, float]
    sun_elevation_deg: tuple[float, float]
    sun_intensity: float
    horizon_rgb: tuple[float, float, float]
    star_density: float
    ambient: float
    fill_rgb: tuple[float, float, float]
    fill_from_below: bool

    @property
    def has_ground(self) -> bool:
        return self.terrain_style is not None


DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        # Lunar regolith is grey; the sun is low at the poles where landers go. No air: a black
        # sky, one hard sun, and only the light the sunlit regolith (albedo ~0.12) throws back.
        Domain("moon", 1.62496, "moon", "lunar", (0.42, 0.41, 0.39, 1.0), (0.33, 0.32, 0.31, 1.0),
               (0.0, 0.0, 0.0), (5.0, 25.0), 1.3, horizon_rgb=(0.0, 0.0, 0.0), star_density=4e-4,
               ambient=0.1, fill_rgb=(0.14, 0.14, 0.13), fill_from_below=True),
        # Martian soil is iron-oxide red under a butterscotch sky; suspended dust brightens the
        # horizon and scatters a third or more of the sunlight into the shadows.
        Domain("mars", 3.72076, "mars", "martian", (0.62, 0.36, 0.20, 1.0), (0.40, 0.25, 0.17, 1.0),
               (0.62, 0.45, 0.32), (20.0, 70.0), 0.75, horizon_rgb=(0.86, 0.69, 0.52),
               star_density=0.0, ambient=0.12, fill_rgb=(0.24, 0.18, 0.13), fill_from_below=False),
        # A blue sky whose scattered light tints the shadows; a paler, hazier horizon.
        Domain("earth", 9.80665, "earth", "lunar", (0.36, 0.42, 0.25, 1.0), (0.45, 0.44, 0.42, 1.0),
               (0.30, 0.50, 0.85), (30.0, 80.0), 0.9, horizon_rgb=(0.70, 0.80, 0.92),
               star_density=0.0, ambient=0.12, fill_rgb=(0.14, 0.18, 0.26), fill_from_below=False),
        # A carbonaceous (C-type) asteroid: very dark, very weak gravity (Ceres-like surface value).
        Domain("asteroid", 0.14219, "asteroid", "lunar", (0.22, 0.21, 0.20, 1.0), (0.18, 0.17, 0.16, 1.0),
               (0.0, 0.0, 0.0), (10.0, 60.0), 1.3, horizon_rgb=(0.0, 0.0, 0.0), star_density=4e-4,
               ambient=0.1, fill_rgb=(0.06, 0.06, 0.06), fill_from_below=True),
        # Free fall under a bright sun against the stars; the planet below glows faintly blue.
        Domain("orbit", 0.0, None, "lunar", (0.0, 0.0, 0.0, 0.0), (0.5, 0.5, 0.5, 1.0),
               (0.0, 0.0, 0.0), (-90.0, 90.0), 1.1, horizon_rgb=(0.0, 0.0, 0.0),
               star_density=1.5e-3, ambient=0.12, fill_rgb=(0.10, 0.14, 0.22),
               fill_from_below=True),
    )
}


def get_domain(name: str) -> Domain:
    """Return the domain called ``name``; unknown names raise with a "did you mean"."""
    try:
        return DOMAINS[name]
    except KeyError:
        raise unknown_name("domain", name, DOMAINS) from None


def list_domains() -> list[str]:
    return list(DOMAINS)
