"""Compose a MuJoCo world in code (``mujoco.MjSpec``) from a domain and cached assets.

World frame: z up, origin at the centre of the terrain's flat work area (height 0).
Collision bits (``contype``/``conaffinity``) used across the package:

* ``GROUND`` (1): terrain and static scenery; collides with robots and free objects;
* ``ROBOT`` (2): robot parts that touch the world (wheels, feet, fingers);
* ``OBJECT`` (4): free objects (samples, debris, pegs).

Static scenery never collides with other static scenery (MuJoCo skips pairs within the
world body), which is what keeps scattered boulders cheap.

Lighting, per domain: light 0 is the sun (directional, the only shadow caster; every reset
draws a new one, :func:`randomize_sun`), light 1 a shadowless fill (sky light, or light from
the ground or planet below), and the headlight a dim ambient that keeps unlit faces readable.
Pictures look right with shadows on (viewer, video) and off (camera observations).
"""

from __future__ import annotations

import functools

import numpy as np
import mujoco

from ..assets.types import Heightmap, MeshPart
from ..domains import Domain
from .robots.base import TIMESTEP_S

GROUND, ROBOT, OBJECT = 1, 2, 4
HFIELD_BASE_M = 0.5  # thickness of the heightfield box below its lowest point
VISUAL_GROUP, COLLISION_GROUP = 2, 3

SKY_PX, SKY_STARS_PX = 64, 256  # skybox face size; stars need ~4 screen px per texel at 640 x 480
HAZE_SIN = 0.25  # horizon haze fades as exp(-sin(elevation) / 0.25): half gone at ~10 deg
HORIZON_BAND_SIN = 0.02  # below the horizon the haze gives way to ground within ~2 deg
GROUND_BEYOND_TERRAIN = 0.5  # distant ground in the sky: ground colour x 0.5 (half lit)
STAR_SEED = 20_240_611  # the same star field in every world
SUN_DISTANCE_M = 20.0  # up-sun offset of the light before the first randomize_sun
SHADOW_HALF_WIDTH = 0.5  # half-width of the sun's shadow map, x model extent
SHADOW_MAP_PX = 3072  # side of the sun's shadow map (MuJoCo's default 4096 costs ~15% more a frame)
NEAR_M, FAR_M = 0.01, 200.0  # clip planes in every world: cameras sit close to parts


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
    _add_sky(spec, domain)
    _add_sun(spec, domain)
    _add_fill(spec, domain)
    return spec


def compile_world(spec: mujoco.MjSpec) -> mujoco.MjModel:
    """Compile a world made by :func:`new_spec` and put its clip planes at :data:`NEAR_M` and
    :data:`FAR_M` (MuJoCo scales them by the model's extent, which differs between worlds, and
    only a compiled model knows it)."""
    model = spec.compile()
    model.vis.map.znear = NEAR_M / model.stat.extent
    model.vis.map.zfar = FAR_M / model.stat.extent
    return model


def _add_sky(spec: mujoco.MjSpec, domain: Domain) -> None:
    width = SKY_STARS_PX if domain.star_density > 0 else SKY_PX
    tex = spec.add_texture(name="sky", type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
                           width=width, height=6 * width, nchannel=3)
    tex.data = _sky_bytes(domain, width)
    horizon = (*domain.horizon_rgb, 1.0)
    spec.visual.rgba.fog = horizon  # only seen when a viewer turns fog or haze on
    spec.visual.rgba.haze = horizon


@functools.lru_cache(maxsize=8)
def _sky_bytes(domain: Domain, width: int) -> bytes:
    return sky_texels(domain, width).tobytes()  # the same for every world of a domain: ~30 ms once


def sky_texels(domain: Domain, width: int) -> np.ndarray:
    """The skybox of ``domain``: (6 * width, width, 3) uint8, six square faces stacked.

    Above the horizon the colour runs from ``horizon_rgb`` to ``sky_rgb`` at the zenith (the
    haze fades over ~10 deg of elevation). Below it, a domain with ground sees a dim blend of
    ground and horizon colour (so the edge of the terrain does not open onto a void); orbit
    sees sky all round. Stars are single texels, brightness ~ U(0.3, 1)^2, from a fixed seed.
    """
    sin_el = _sky_elevation_sin(width)[..., None]
    zenith, horizon = np.asarray(domain.sky_rgb), np.asarray(domain.horizon_rgb)
    rgb = zenith + (horizon - zenith) * np.exp(-np.abs(sin_el) / HAZE_SIN)
    sky = np.ones_like(sin_el, bool)
    if domain.has_ground:
        sky = sin_el > 0
        below = 0.5 * (GROUND_BEYOND_TERRAIN * np.asarray(domain.ground_rgba[:3]) + horizon)
        band = np.exp(-np.abs(sin_el) / HORIZON_BAND_SIN)
        rgb = np.where(sky, rgb, below + (horizon - below) * band)
    rng = np.random.default_rng(STAR_SEED)
    stars = sky[..., 0] & (rng.random(sin_el.shape[:2]) < domain.star_density)
    rgb[stars] += rng.uniform(0.3, 1.0, (int(stars.sum()), 1)) ** 2
    return np.round(np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8)


def _sky_elevation_sin(width: int) -> np.ndarray:
    """sin(elevation) of every skybox texel, (6 * width, width).

    Of MuJoCo's six stacked faces, 2 is the top and 3 the bottom; the other four are the
    sides, texel row 0 at their top edge."""
    a = (np.arange(width) + 0.5) * 2.0 / width - 1.0   # texel centres in [-1, 1]
    u, v = np.meshgrid(a, a)                            # u across, v down the face
    side = -v / np.sqrt(1.0 + u**2 + v**2)
    up = 1.0 / np.sqrt(1.0 + u**2 + v**2)
    return np.concatenate([side, side, up, -up, side, side])


def _add_sun(spec: mujoco.MjSpec, domain: Domain) -> None:
    """The sun: light 0, directional, the one light that casts shadows.

    Its shadow map spans ``SHADOW_HALF_WIDTH`` x the model's extent on each side of the model
    centre (:func:`randomize_sun` aims it there), which covers the whole terrain (the extent
    is about its diagonal): texels of 1.4 cm on the 42 m Martian rover scene and 5.5 mm on the
    17 m lunar lander scene keep shadow edges hard at 640 x 480.
    """
    spec.visual.map.shadowclip = SHADOW_HALF_WIDTH
    spec.visual.quality.shadowsize = SHADOW_MAP_PX
    sun = spec.worldbody.add_light(name="sun")
    sun.type = mujoco.mjtLightType.mjLIGHT_DIRECTIONAL
    direction = sun_direction(np.mean(domain.sun_elevation_deg), 45.0)
    sun.dir = tuple(direction)
    sun.pos = tuple(-SUN_DISTANCE_M * direction)
    sun.diffuse = (domain.sun_intensity,) * 3
    sun.ambient = (0.0, 0.0, 0.0)  # MuJoCo drops a shadowed light's ambient in its shadow
    sun.specular = (0.15, 0.15, 0.15)  # a glint on metal, none to speak of on matte ground
    sun.castshadow = True


def _add_fill(spec: mujoco.MjSpec, domain: Domain) -> None:
    """The shadowless light: ``domain.ambient`` on every surface plus as much again from the
    camera (the headlight), and light 1, the domain's fill from straight above or below."""
    spec.visual.headlight.ambient = (domain.ambient,) * 3
    spec.visual.headlight.diffuse = (domain.ambient,) * 3
    spec.visual.headlight.specular = (0.0, 0.0, 0.0)
    fill = spec.worldbody.add_light(name="fill")
    fill.type = mujoco.mjtLightType.mjLIGHT_DIRECTIONAL
    fill.dir = (0.0, 0.0, 1.0) if domain.fill_from_below else (0.0, 0.0, -1.0)
    fill.diffuse = domain.fill_rgb
    fill.ambient = (0.0, 0.0, 0.0)
    fill.specular = (0.0, 0.0, 0.0)
    fill.castshadow = False


def sun_direction(elevation_deg: float, azimuth_deg: float) -> np.ndarray:
    """Unit vector the sunlight travels along (pointing down for a sun above the horizon)."""
    el, az = np.radians(elevation_deg), np.radians(azimuth_deg)
    return -np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def randomize_sun(model: mujoco.MjModel, domain: Domain, rng: np.random.Generator) -> None:
    """Draw a new sun (:func:`set_sun`): elevation ~ U(domain range) deg, azimuth ~ U(0, 360)."""
    set_sun(model, rng.uniform(*domain.sun_elevation_deg), rng.uniform(0.0, 360.0))


def set_sun(model: mujoco.MjModel, elevation_deg: float, azimuth_deg: float) -> None:
    """Put the sun (light 0) at ``elevation_deg`` above the horizon, ``azimuth_deg`` from +x.

    The light also moves to one model extent up-sun of the model centre: MuJoCo renders a
    directional light's shadow map from the light's position, so there it sees the whole
    scene. Takes effect at the next ``mj_forward`` / ``mj_step``.
    """
    direction = sun_direction(elevation_deg, azimuth_deg)
    model.light_dir[0] = direction
    model.light_pos[0] = model.stat.center - model.stat.extent * direction


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


# The unused filler mesh: a tetrahedron plus zero-area faces. Face BVHs size MjData
# (bvh_active), so worlds whose meshes have different face counts get different layouts; the
# filler tops every world of a batch up to one total. No geom uses it: physics is unchanged.
FILLER_MESH = "layout/filler"
_TETRA = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32) * 0.01
_TETRA_FACES = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], np.int32)
FACE_QUANTUM = 4096  # totals are rounded up to this, so most batches of a task agree


def mesh_faces(spec: mujoco.MjSpec) -> int:
    """Triangles of every mesh in ``spec``."""
    return sum(len(mesh.userface) // 3 for mesh in spec.meshes)


def face_total(counts) -> int:
    """The face total worlds with these face counts are padded to (filler included)."""
    need = max(counts) + len(_TETRA_FACES)
    return -(-need // FACE_QUANTUM) * FACE_QUANTUM


def pad_faces(spec: mujoco.MjSpec, total: int) -> None:
    """Add the filler mesh so that ``spec``'s meshes hold exactly ``total`` triangles."""
    extra = total - mesh_faces(spec) - len(_TETRA_FACES)
    if extra < 0:
        raise ValueError(f"world has {mesh_faces(spec)} mesh faces, more than the total {total}")
    mesh = spec.add_mesh(name=FILLER_MESH)
    mesh.uservert = _TETRA.ravel().tolist()
    mesh.userface = np.vstack([_TETRA_FACES, np.zeros((extra, 3), np.int32)]).ravel().tolist()


def add_free_body(spec: mujoco.MjSpec, name: str, pos) -> mujoco.MjsBody:
    """A free-floating body ``name`` (joint ``name/joint``) at ``pos`` (world, m).

    It gets a site-only child body: MuJoCo treats a childless free body whose principal axes
    happen to align with its frame (a symmetric peg) as "simple", with a diagonal mass matrix
    and a smaller MjData. The child keeps every world of a task on one layout.
    """
    body = spec.worldbody.add_body(name=name, pos=list(pos))
    body.add_freejoint(name=f"{name}/joint")
    body.add_body(name=f"{name}/layout").add_site(name=f"{name}/layout")
    return body


def _mesh_geom(spec, body, name: str, vertices: np.ndarray, faces: np.ndarray) -> mujoco.MjsGeom:
    mesh = spec.add_mesh(name=name)
    mesh.uservert = np.asarray(vertices, np.float32).ravel().tolist()
    mesh.userface = np.asarray(faces, np.int32).ravel().tolist()
    return body.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_MESH, meshname=name)


def _bits(geom: mujoco.MjsGeom, contype: int, conaffinity: int) -> None:
    geom.contype, geom.conaffinity = contype, conaffinity
