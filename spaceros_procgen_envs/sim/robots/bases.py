"""Static platforms an arm is mounted on: a lander with a cargo bay, a spacecraft bus, a station module.

Each ``add_*`` function adds one static body (no joint: welded to ``parent``) built from primitives
and returns a :class:`Platform`: where to put the arm and the names of its useful sites. Geoms are
static scenery (contype=GROUND, conaffinity=ROBOT|OBJECT, see ``sim/scene.py``), so they touch the
arm and free objects; decorative geoms (antenna, far solar panels) have contype=conaffinity=0.
Frames: ``pos`` is the platform origin in the ``parent`` frame, z up; the arm faces +x.
``spec`` is taken for a uniform signature (platforms add no assets today).

Example::

    spec = mujoco.MjSpec()
    lander = add_lander(spec, spec.worldbody, pos=(0, 0, 0))
    arm = Arm(); arm.attach(spec, spec.worldbody, pos=lander.mount_pos)
    model = spec.compile()
    bay_xyz = model.site(lander.sites["cargo_bay"]).pos   # floor centre of the cargo bay
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mujoco

from ..scene import GROUND, OBJECT, ROBOT

FOIL_GOLD = (0.83, 0.66, 0.24, 1.0)
WHITE = (0.92, 0.92, 0.90, 1.0)
GREY = (0.50, 0.51, 0.53, 1.0)
DARK = (0.18, 0.18, 0.19, 1.0)
SOLAR_BLUE = (0.07, 0.11, 0.32, 1.0)
_BOX, _CYL, _CAP = (mujoco.mjtGeom.mjGEOM_BOX, mujoco.mjtGeom.mjGEOM_CYLINDER,
                    mujoco.mjtGeom.mjGEOM_CAPSULE)


@dataclass(frozen=True)
class Platform:
    """What a platform offers an arm.

    Attributes:
        mount_pos: arm base position in the ``parent`` frame passed to ``add_*``, m.
        sites: role -> full site name, e.g. ``{"cargo_bay": "lander/cargo_bay"}``.
        sizes: role -> dimensions, m (cargo bay: inner half x, inner half y, wall height).
    """

    mount_pos: tuple[float, float, float]
    sites: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class LanderCfg:
    """A four-legged lander; the arm and the cargo bay stand on a low shelf at its front (+x).

    A Panda-sized arm reaches the ground with its gripper pointing down only from <= ~0.4 m
    (measured: from 0.3 m it reaches ground points 0.3..0.65 m ahead), so the arm sits on a shelf
    below the 0.55 m deck rather than on the deck itself.

    Attributes:
        deck_height_m: top of the deck above the platform origin (the ground).
        deck_half_m: half side of the square deck.
        arm_height_m: top of the front shelf = arm base height above the ground.
        arm_x_m: arm base x from the lander centre.
        bay_offset_m: cargo bay floor centre relative to the arm base (x, y), on the shelf.
        bay_half_m: inner half size of the bay (x, y); bay_wall_m: wall height.
        work_distance_m: ``work_area`` site, on the ground this far ahead of the arm base.
    """

    deck_height_m: float = 0.55
    deck_half_m: float = 0.5
    arm_height_m: float = 0.3
    arm_x_m: float = 0.7
    bay_offset_m: tuple[float, float] = (0.05, -0.3)
    bay_half_m: tuple[float, float] = (0.12, 0.12)
    bay_wall_m: float = 0.08
    work_distance_m: float = 0.45


def _bits(collide: bool) -> dict[str, int]:
    return {"contype": GROUND if collide else 0, "conaffinity": ROBOT | OBJECT if collide else 0}


def _box(body, name, half, pos, rgba, collide=True, **kw):
    return body.add_geom(name=name, type=_BOX, size=list(half), pos=list(pos), rgba=list(rgba),
                         **_bits(collide), **kw)


def _rod(body, name, gtype, radius, p0, p1, rgba, collide=True):
    return body.add_geom(name=name, type=gtype, size=[radius, 0, 0], fromto=[*p0, *p1],
                         rgba=list(rgba), **_bits(collide))


def add_lander(spec: mujoco.MjSpec, parent: mujoco.MjsBody, pos=(0.0, 0.0, 0.0),
               cfg: LanderCfg | None = None, prefix: str = "lander/") -> Platform:
    """Add a lander (deck, legs, footpads, antenna) with an open-top cargo bay beside the arm.

    Returns:
        Platform with ``sites["cargo_bay"]`` (top of the bay floor, at its centre; the inner
        half sizes and wall height are ``sizes["cargo_bay"]``) and ``sites["work_area"]`` (a
        ground point ``work_distance_m`` = 0.45 m ahead of the arm base; with the gripper
        down the arm reaches the ground from 0.3 to 0.6 m ahead and +-0.25 m to the sides).
    """
    cfg = cfg or LanderCfg()
    h, w, t = cfg.deck_height_m, cfg.deck_half_m, 0.08  # deck top, half side, thickness (m)
    body = parent.add_body(name=f"{prefix}body", pos=list(pos))
    _box(body, f"{prefix}deck", (w, w, t / 2), (0, 0, h - t / 2), FOIL_GOLD)
    _box(body, f"{prefix}tank_section", (0.7 * w, 0.7 * w, 0.12), (0, 0, h - t - 0.12), WHITE)
    for k, (sx, sy) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1))):
        top = (0.8 * w * sx, 0.8 * w * sy, h - t)
        foot = (1.35 * w * sx, 1.35 * w * sy, 0.03)
        _rod(body, f"{prefix}leg{k}", _CAP, 0.025, top, foot, GREY)
        body.add_geom(name=f"{prefix}footpad{k}", type=_CYL, size=[0.09, 0.015, 0],
                      pos=[foot[0], foot[1], 0.015], rgba=list(DARK), **_bits(True))
    # High-gain antenna at the back: decorative only.
    _rod(body, f"{prefix}mast", _CYL, 0.015, (-0.7 * w, 0, h), (-0.7 * w, 0, h + 0.45), GREY, False)
    body.add_geom(name=f"{prefix}dish", type=_CYL, size=[0.16, 0.01, 0], pos=[-0.7 * w, 0, h + 0.47],
                  quat=[math.cos(0.4), 0, math.sin(0.4), 0], rgba=list(WHITE), **_bits(False))
    mount = (cfg.arm_x_m, 0.0, cfg.arm_height_m)
    _add_shelf(body, prefix, mount, cfg)
    site = _add_bay(body, prefix, (mount[0] + cfg.bay_offset_m[0], cfg.bay_offset_m[1], mount[2]), cfg)
    body.add_site(name=f"{prefix}work_area", pos=[mount[0] + cfg.work_distance_m, 0, 0],
                  size=[0.02] * 3, rgba=[0.2, 0.8, 0.2, 0.5], group=3)
    return Platform(mount_pos=_offset(pos, mount),
                    sites={"cargo_bay": site, "work_area": f"{prefix}work_area"},
                    sizes={"cargo_bay": (*cfg.bay_half_m, cfg.bay_wall_m)})


def _add_shelf(body: mujoco.MjsBody, prefix: str, mount, cfg: LanderCfg) -> None:
    """Shelf (4 cm plate, top at the arm base) hung from the deck's front edge by a bracket."""
    w, (x, _, z) = cfg.deck_half_m, mount
    y0 = min(cfg.bay_offset_m[1] - cfg.bay_half_m[1] - 0.02, -0.12)  # covers the arm and the bay
    y1 = max(cfg.bay_offset_m[1] + cfg.bay_half_m[1] + 0.02, 0.12)
    x0, x1 = w - 0.05, x + 0.12
    _box(body, f"{prefix}shelf", ((x1 - x0) / 2, (y1 - y0) / 2, 0.02),
         ((x0 + x1) / 2, (y0 + y1) / 2, z - 0.02), GREY)
    # 2 mm behind the deck's front face: coplanar faces flicker in the sun's shadow map
    _box(body, f"{prefix}bracket", (0.025, (y1 - y0) / 2, (cfg.deck_height_m - z) / 2 + 0.02),
         (w - 0.027, (y0 + y1) / 2, (cfg.deck_height_m + z) / 2 - 0.02), FOIL_GOLD)


def _add_bay(body: mujoco.MjsBody, prefix: str, centre, cfg: LanderCfg) -> str:
    """Open-top box: floor + 4 walls (1 cm thick) on the shelf; a site at the floor's top centre."""
    (hx, hy), hw, th = cfg.bay_half_m, cfg.bay_wall_m / 2, 0.005  # half sizes, m
    cx, cy, z = centre
    _box(body, f"{prefix}bay_floor", (hx + 2 * th, hy + 2 * th, th), (cx, cy, z + th), GREY,
         friction=[1.0, 0.005, 0.0001])
    floor_top = z + 2 * th
    for k, (dx, dy) in enumerate(((1, 0), (-1, 0), (0, 1), (0, -1))):
        half = (th, hy + 2 * th, hw) if dx else (hx + 2 * th, th, hw)
        centre = (cx + dx * (hx + th), cy + dy * (hy + th), floor_top + hw)
        _box(body, f"{prefix}bay_wall{k}", half, centre, FOIL_GOLD)
    name = f"{prefix}cargo_bay"
    body.add_site(name=name, pos=[cx, cy, floor_top], size=[0.02] * 3, rgba=[0.9, 0.2, 0.2, 0.5],
                  group=3)
    return name


def add_spacecraft(spec: mujoco.MjSpec, parent: mujoco.MjsBody, pos=(0.0, 0.0, 0.0),
                   prefix: str = "spacecraft/") -> Platform:
    """Add a servicer spacecraft: a 1.2 x 1.2 x 1.0 m foil bus with two solar wings along +-y.

    The bus is fixed (welded to ``parent``): a free-floating base would need the arm's reaction
    torques handled by an attitude controller, which the tasks do not model. ``pos`` is the bus
    centre; the arm stands on the top face near the +x edge.

    Returns:
        Platform with ``sites["capture_zone"]``: a point 0.55 m ahead of and 0.3 m above the arm
        base, well inside reach, where debris should arrive.
    """
    body = parent.add_body(name=f"{prefix}body", pos=list(pos))
    hx, hy, hz = 0.6, 0.6, 0.5  # bus half sizes, m
    _box(body, f"{prefix}bus", (hx, hy, hz), (0, 0, 0), FOIL_GOLD)
    _box(body, f"{prefix}top_plate", (hx * 0.98, hy * 0.98, 0.01), (0, 0, hz + 0.01), WHITE)
    for side in (1, -1):
        boom = ((0, side * hy, 0), (0, side * (hy + 0.4), 0))
        _rod(body, f"{prefix}boom{side:+d}", _CYL, 0.02, *boom, GREY, False)
        _box(body, f"{prefix}wing{side:+d}", (0.5, 1.2, 0.01), (0, side * (hy + 1.6), 0), SOLAR_BLUE,
             False)
    _rod(body, f"{prefix}nozzle", _CYL, 0.12, (0, 0, -hz), (0, 0, -hz - 0.15), DARK, False)
    mount = (hx - 0.15, 0.0, hz + 0.02)
    body.add_site(name=f"{prefix}capture_zone", pos=[mount[0] + 0.55, 0, mount[2] + 0.3],
                  size=[0.03] * 3, rgba=[0.2, 0.8, 0.2, 0.5], group=3)
    return Platform(mount_pos=_offset(pos, mount), sites={"capture_zone": f"{prefix}capture_zone"})


def add_station_module(spec: mujoco.MjSpec, parent: mujoco.MjsBody, pos=(0.0, 0.0, 0.0),
                       prefix: str = "station/") -> Platform:
    """Add a station module (cylinder along x, r = 1.4 m, 5 m long) with a truss and solar arrays.

    Sized for :func:`~.arm.gateway_arm_cfg` (about 2.8 m reach): the arm stands on top of the
    module at its middle. ``pos`` is the module's axis centre.

    Returns:
        Platform with ``sites["workspace"]`` (a point 1.6 m ahead of and 0.9 m above the arm base)
        and ``sites["docking_port"]`` (the centre of the module's +x end face).
    """
    body = parent.add_body(name=f"{prefix}body", pos=list(pos))
    r, half_len = 1.4, 2.5  # m
    body.add_geom(name=f"{prefix}hull", type=_CYL, size=[r, half_len, 0],  # axis along x
                  quat=[math.sqrt(0.5), 0, math.sqrt(0.5), 0], rgba=list(WHITE), **_bits(True))
    for k, x in enumerate((-half_len, half_len)):
        _rod(body, f"{prefix}ring{k}", _CYL, 0.8, (x, 0, 0), (x + math.copysign(0.3, x), 0, 0), GREY)
    # Truss across the back (-x) with two solar arrays: far from the arm, decorative only.
    _box(body, f"{prefix}truss", (0.15, 5.0, 0.15), (-half_len + 0.5, 0, r + 0.3), GREY, False)
    for side in (1, -1):
        _box(body, f"{prefix}array{side:+d}", (0.9, 2.2, 0.01), (-half_len + 0.5, side * 3.2, r + 0.3),
             SOLAR_BLUE, False)
    mount = (0.6, 0.0, r)
    body.add_site(name=f"{prefix}workspace", pos=[mount[0] + 1.6, 0, r + 0.9], size=[0.05] * 3,
                  rgba=[0.2, 0.8, 0.2, 0.5], group=3)
    body.add_site(name=f"{prefix}docking_port", pos=[half_len + 0.3, 0, 0], size=[0.05] * 3, group=3)
    return Platform(mount_pos=_offset(pos, mount),
                    sites={"workspace": f"{prefix}workspace", "docking_port": f"{prefix}docking_port"})


def _offset(origin, local) -> tuple[float, float, float]:
    """Platform-local point -> parent frame (platform bodies are not rotated)."""
    return tuple(float(o + l) for o, l in zip(origin, local))
