"""Compose a MuJoCo world in code (``mujoco.MjSpec``) from a domain and cached assets.

World frame: z up, origin at the centre of the terrain's flat work area (height 0).
Collision bits (``contype``/``conaffinity``) used across the package:

* ``GROUND`` (1): terrain and static scenery; collides with robots and free objects;
* ``ROBOT`` (2): robot parts that touch the world (wheels, feet, fingers);
* ``OBJECT`` (4): free objects (samples, debris, pegs).

Static scenery never collides with other static scenery (MuJoCo skips pairs within the
world body), which is what keeps scattered boulders cheap.
"""

from __future__ import annotations

import numpy as np
import mujoco

from ..assets.types import Heightmap, MeshPart
from ..domains import Domain
from .robots.base import TIMESTEP_S

GROUND, ROBOT, OBJECT = 1, 2, 4
HFIELD_BASE_M = 0.5  # thickness of the heightfield box below its lowest point
VISUAL_GROUP, COLLISION_GROUP = 2, 3


def new_spec(domain: Domain, name: str, timestep_s: float = TIMESTEP_S) -> mujoco.MjSpec:
    """An empty world with the domain's gravity, sky, sun and solver settings."""
    spec = mujoco.MjSpec()
    spec.modelname = name
    spec.option.timestep = timestep_s
    spec.option.gravity = (0.0, 0.0, -domain.gravity_mps2)
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_PYRAMIDAL
    spec.option.iterations = 30
    spec.option.ls_iterations = 10
    spec.visual.global_.offwidth = 1280
    spec.visual.global_.offheight = 960
    spec.visual.map.znear = 0.0005  # near plane, x model extent (~20 m): 1 cm, cameras sit close
    spec.visual.headlight.ambient = (0.15, 0.15, 0.15)
    spec.visual.headlight.diffuse = (0.2, 0.2, 0.2)
    _add_sky(spec, domain)
    _add_sun(spec, domain)
    return spec


def _add_sky(spec: mujoco.MjSpec, domain: Domain) -> None:
    sky = np.asarray(domain.sky_rgb)
    tex = spec.add_texture(name="sky", type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
                           builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT, width=64, height=64)
    tex.rgb1 = tuple(np.clip(sky * 1.1 + 0.02, 0, 1))
    tex.rgb2 = tuple(np.clip(sky * 0.6, 0, 1))


def _add_sun(spec: mujoco.MjSpec, domain: Domain) -> None:
    sun = spec.worldbody.add_light(name="sun")
    sun.type = mujoco.mjtLightType.mjLIGHT_DIRECTIONAL
    sun.pos = (0.0, 0.0, 20.0)
    sun.dir = tuple(sun_direction(np.mean(domain.sun_elevation_deg), 45.0))
    sun.diffuse = (domain.sun_intensity,) * 3
    sun.specular = (0.2, 0.2, 0.2)
    sun.castshadow = True


def sun_direction(elevation_deg: float, azimuth_deg: float) -> np.ndarray:
    """Unit vector the sunlight travels along (pointing down for a sun above the horizon)."""
    el, az = np.radians(elevation_deg), np.radians(azimuth_deg)
    return -np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def randomize_sun(model: mujoco.MjModel, domain: Domain, rng: np.random.Generator) -> None:
    """Draw a new sun: elevation ~ U(domain range) deg, azimuth ~ U(0, 360) deg."""
    elevation = rng.uniform(*domain.sun_elevation_deg)
    model.light_dir[0] = sun_direction(elevation, rng.uniform(0.0, 360.0))


def add_terrain(spec: mujoco.MjSpec, terrain: Heightmap, friction: float = 1.0) -> mujoco.MjsGeom:
    """Add ``terrain`` as a heightfield geom in the world body (collision bit GROUND)."""
    heights = np.asarray(terrain.heights_m, np.float64)
    low, high = float(heights.min()), float(heights.max())
    relief = max(high - low, 1e-3)
    rows, cols = heights.shape
    hfield = spec.add_hfield(name="terrain")
    hfield.nrow, hfield.ncol = rows, cols
    hfield.size = (terrain.size_m[0] / 2, terrain.size_m[1] / 2, relief, HFIELD_BASE_M)
    hfield.userdata = ((heights - low) / relief).ravel().tolist()  # row 0 at y = -size/2
    geom = spec.worldbody.add_geom(name="terrain", type=mujoco.mjtGeom.mjGEOM_HFIELD,
                                   hfieldname="terrain", pos=(0.0, 0.0, low))
    geom.rgba = terrain.rgba
    geom.friction = (friction, 0.005, 0.0001)
    _bits(geom, GROUND, ROBOT | OBJECT)
    return geom


def add_work_pad(spec: mujoco.MjSpec, radius_m: float, rgba) -> mujoco.MjsGeom:
    """An invisible box under the flat work area that free objects collide with instead of the
    heightfield (box-vs-mesh is far cheaper than heightfield-vs-mesh; the surface is identical)."""
    geom = spec.worldbody.add_geom(name="work_pad", type=mujoco.mjtGeom.mjGEOM_BOX,
                                   size=(radius_m * 0.7, radius_m * 0.7, 0.05), pos=(0, 0, -0.05))
    geom.rgba = (*rgba[:3], 0.0)
    geom.group = COLLISION_GROUP
    _bits(geom, OBJECT, OBJECT)
    return geom


def add_floor(spec: mujoco.MjSpec, rgba, size_m: float = 20.0) -> mujoco.MjsGeom:
    """A plane at z = 0 (used only when a task asks for ground without a terrain asset)."""
    geom = spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE,
                                   size=(size_m / 2, size_m / 2, 0.1))
    geom.rgba = rgba
    _bits(geom, GROUND, ROBOT | OBJECT)
    return geom


def add_mesh_part(spec: mujoco.MjSpec, body: mujoco.MjsBody, name: str, part: MeshPart, *,
                  collide: int = OBJECT, affinity: int = GROUND | ROBOT | OBJECT,
                  density_kgpm3: float = 2500.0, friction: float = 1.0) -> list[mujoco.MjsGeom]:
    """Add ``part`` to ``body``: a visual-only mesh plus its convex collision pieces.

    Args:
        collide, affinity: the pieces' ``contype``/``conaffinity`` bits (0, 0 for scenery
            that nothing needs to touch).
        density_kgpm3: density of the collision pieces (rock ~2500-3000, aluminium 2700).

    Returns:
        The collision geoms (their mass and inertia define the body's).
    """
    visual = _mesh_geom(spec, body, f"{name}/visual", part.visual.vertices, part.visual.faces)
    visual.rgba = part.rgba
    visual.group = VISUAL_GROUP
    visual.mass = 0.0
    visual.density = 0.0
    _bits(visual, 0, 0)
    pieces = []
    for k, piece in enumerate(part.collision):
        geom = _mesh_geom(spec, body, f"{name}/collision{k}", piece.vertices, piece.faces)
        geom.rgba = (*part.rgba[:3], 0.0)
        geom.group = COLLISION_GROUP
        geom.density = density_kgpm3
        geom.friction = (friction, 0.005, 0.0001)
        _bits(geom, collide, affinity)
        pieces.append(geom)
    return pieces


def _mesh_geom(spec, body, name: str, vertices: np.ndarray, faces: np.ndarray) -> mujoco.MjsGeom:
    mesh = spec.add_mesh(name=name)
    mesh.uservert = np.asarray(vertices, np.float32).ravel().tolist()
    mesh.userface = np.asarray(faces, np.int32).ravel().tolist()
    return body.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_MESH, meshname=name)


def _bits(geom: mujoco.MjsGeom, contype: int, conaffinity: int) -> None:
    geom.contype, geom.conaffinity = contype, conaffinity
