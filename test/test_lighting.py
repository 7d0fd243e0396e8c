"""Each domain is lit like the place: real MuJoCo pictures (CPU, EGL), 96 x 72 pixels.

Pictures for people (the viewer, ``render()``, the video) keep MuJoCo's default shadows;
camera observations switch shadows and reflections off, so both must read well.
"""

from __future__ import annotations

import gymnasium
import mujoco
import numpy as np
import pytest

from spaceros_procgen_envs import get_domain, get_task, list_domains, list_tasks
from spaceros_procgen_envs.sim import scene

HEIGHT, WIDTH = 72, 96


def home_task(domain: str) -> str:
    """A registered task whose default domain is ``domain``, else the first that runs there."""
    tasks = [t for t in list_tasks() if domain in get_task(t).domains]
    return next((t for t in tasks if get_task(t).default_domain == domain), tasks[0])


@pytest.fixture
def world():
    """``world(domain, task)`` -> the reset ``SimEnv`` of ``spaceros/<task>`` in ``domain``."""
    envs = []

    def make(domain: str, task: str | None = None):
        envs.append(gymnasium.make(f"spaceros/{task or home_task(domain)}", domain=domain))
        envs[-1].reset(seed=0)
        return envs[-1].unwrapped.sim

    yield make
    for env in envs:
        env.close()


def camera(lookat, distance: float, elevation: float, azimuth: float) -> mujoco.MjvCamera:
    cam = mujoco.MjvCamera()
    cam.lookat[:] = lookat
    cam.distance, cam.elevation, cam.azimuth = distance, elevation, azimuth
    return cam


def picture(sim, cam: mujoco.MjvCamera, shadows: bool = True, segment: bool = False,
            size: tuple[int, int] = (HEIGHT, WIDTH)) -> np.ndarray:
    """RGB (H, W, 3) uint8, or with ``segment`` MuJoCo's (H, W, 2) object id and type."""
    with mujoco.Renderer(sim.model, *size) as renderer:
        renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = shadows
        renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = shadows
        if segment:
            renderer.enable_segmentation_rendering()
        renderer.update_scene(sim.data, cam)
        return renderer.render()


def follow_view(sim) -> mujoco.MjvCamera:
    """The view ``render()`` shows: 4 m from the robot's base, 25 deg down."""
    return camera(sim.task.robot.base_pose(sim.model, sim.data)[0], 4.0, -25.0, 135.0)


def sun_at(sim, elevation_deg: float, azimuth_deg: float) -> None:
    scene.set_sun(sim.model, elevation_deg, azimuth_deg)
    mujoco.mj_forward(sim.model, sim.data)


def test_the_sky_overhead_is_black_in_space_and_butterscotch_on_mars(world):
    overhead = camera((0.0, 0.0, 40.0), 1.0, 89.0, 0.0)  # nothing but sky up there
    sky = {d: picture(world(d), overhead).reshape(-1, 3).mean(0) for d in ("moon", "orbit", "mars")}
    for airless in ("moon", "orbit"):
        assert sky[airless].max() < 10, f"{airless} sky is not black: mean RGB {sky[airless]}"
    red, green, blue = sky["mars"]
    assert red > blue + 40 and red > green > blue, f"Martian sky is not butterscotch: {sky['mars']}"
    assert sky["mars"].mean() > 80, "the dusty Martian sky is bright"


def test_stars_shine_in_orbit(world):
    # Stars are skybox texels: they need ~a pixel each (tiny observations average them away).
    sky = picture(world("orbit"), camera((0.0, 0.0, 40.0), 1.0, 60.0, 0.0), size=(240, 320))
    stars = sky.max(-1) > 60
    assert 5 <= stars.sum() < 0.01 * stars.size, "a few bright stars on a black sky"


def shadow(sim, elevation_deg: float) -> tuple[float, float]:
    """(fraction of the picture in shadow, its brightness with shadows on / off) under a sun
    ``elevation_deg`` high, seen from 5 m straight above the robot."""
    sun_at(sim, elevation_deg, 120.0)
    base = sim.task.robot.base_pose(sim.model, sim.data)[0]
    above = camera((base[0], base[1], 0.0), 5.0, -89.0, 90.0)
    lit, unlit = (picture(sim, above, shadows=s).astype(float).mean(-1) for s in (True, False))
    shaded = lit < 0.85 * unlit
    return float(shaded.mean()), float(lit[shaded].sum() / max(unlit[shaded].sum(), 1.0))


def test_low_lunar_sun_casts_deep_shadows_that_martian_dust_softens(world):
    task = home_task("moon")
    moon, mars = world("moon", task), world("mars", task)
    area, depth = shadow(moon, 25.0)
    assert area > 0.03, "the lander and arm cast a shadow on the regolith"
    assert depth < 0.45, f"lunar shadows are deep (no air to scatter light), got {depth:.2f}"
    mars_area, mars_depth = shadow(mars, 25.0)
    assert mars_area > 0.01, "Mars still shows the shadow"
    assert mars_depth > depth + 0.15, \
        f"sky light fills Martian shadows: {mars_depth:.2f} vs the Moon's {depth:.2f}"
    low = get_domain("moon").sun_elevation_deg[0]
    assert shadow(moon, low)[0] > 0.03, f"a {low} deg sun still casts (long) shadows"


def test_randomize_sun_keeps_the_sun_in_range_and_aims_its_shadow_map_at_the_scene(world):
    sim, domain = world("moon"), get_domain("moon")
    rng = np.random.default_rng(0)
    for _ in range(20):
        scene.randomize_sun(sim.model, domain, rng)
        direction, pos = sim.model.light_dir[0], sim.model.light_pos[0]
        elevation = np.degrees(np.arcsin(-direction[2]))
        assert domain.sun_elevation_deg[0] <= elevation <= domain.sun_elevation_deg[1]
        to_scene = sim.model.stat.center - pos  # the scene lies straight ahead of the light
        assert np.allclose(to_scene / np.linalg.norm(to_scene), direction)


@pytest.mark.parametrize("domain", list_domains())
def test_every_domain_reads_well_without_shadows(world, domain):
    sim = world(domain)
    view = follow_view(sim)
    assert picture(sim, view, shadows=False).std() > 8, "a blank picture"
    # Worst case: the lowest sun straight behind the robot, so the camera sees its unlit side.
    sun_at(sim, get_domain(domain).sun_elevation_deg[0], view.azimuth)
    rgb = picture(sim, view, shadows=False).astype(float).mean(-1)
    ids = picture(sim, view, shadows=False, segment=True)
    robot = np.array([sim.model.geom(i).name.startswith("robot/") for i in range(sim.model.ngeom)])
    mask = (ids[..., 1] == mujoco.mjtObj.mjOBJ_GEOM) & robot[np.clip(ids[..., 0], 0, None)]
    assert mask.sum() > 20, "the robot is in view"
    assert np.median(rgb[mask]) > 25 and np.percentile(rgb[mask], 5) > 12, \
        f"the robot's unlit side is not pitch black: median {np.median(rgb[mask]):.0f}"
