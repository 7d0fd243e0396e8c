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
        sky_rgb: colour of the sky / background.
        sun_elevation_deg: (min, max) sun elevation above the horizon, sampled on reset.
        sun_intensity: diffuse light strength, 0..1.
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

    @property
    def has_ground(self) -> bool:
        return self.terrain_style is not None


DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        # Lunar regolith is grey; the sun is low at the poles where landers go.
        Domain("moon", 1.62496, "moon", "lunar", (0.42, 0.41, 0.39, 1.0), (0.33, 0.32, 0.31, 1.0),
               (0.0, 0.0, 0.0), (5.0, 25.0), 1.0),
        # Martian soil is iron-oxide red under a butterscotch sky.
        Domain("mars", 3.72076, "mars", "martian", (0.62, 0.36, 0.20, 1.0), (0.40, 0.25, 0.17, 1.0),
               (0.78, 0.60, 0.45), (20.0, 70.0), 0.8),
        Domain("earth", 9.80665, "earth", "lunar", (0.36, 0.42, 0.25, 1.0), (0.45, 0.44, 0.42, 1.0),
               (0.53, 0.72, 0.92), (30.0, 80.0), 0.9),
        # A carbonaceous (C-type) asteroid: very dark, very weak gravity (Ceres-like surface value).
        Domain("asteroid", 0.14219, "asteroid", "lunar", (0.22, 0.21, 0.20, 1.0), (0.18, 0.17, 0.16, 1.0),
               (0.0, 0.0, 0.0), (10.0, 60.0), 1.0),
        Domain("orbit", 0.0, None, "lunar", (0.0, 0.0, 0.0, 0.0), (0.5, 0.5, 0.5, 1.0),
               (0.0, 0.0, 0.0), (-90.0, 90.0), 1.0),
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
