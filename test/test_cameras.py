"""Camera observations of the ``_visual`` tasks: real pictures and metric depth, rendered on the
CPU (EGL) in every backend, identical across backends."""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import spaceros_procgen_envs  # noqa: F401  (registers the ids)
from spaceros_procgen_envs.sim.cameras import FAR_M

RES = (64, 48)  # (width, height): small and not square, so a swapped axis shows


def make_vec(task: str, num_envs: int = 2, backend: str = "sync", **kwargs):
    kwargs.setdefault("camera_resolution", RES)
    return gym.make_vec(f"spaceros/{task}_visual", num_envs=num_envs,
                        vectorization_mode="vector_entry_point", backend=backend, seed=3,
                        progress=False, **kwargs)


@pytest.mark.parametrize("task, cameras", [
    ("perseverance", ["scene", "front"]),
    ("ingenuity", ["scene", "bottom"]),
    ("sample_collection", ["scene", "wrist", "base"]),
    ("gateway", ["scene", "wrist", "base"]),
])
def test_visual_task_observes_rgb_and_depth_of_every_camera_of_its_robot(task, cameras):
    env = make_vec(task)
    try:
        obs, _ = env.reset(seed=0)
        space = env.single_observation_space
        for name in cameras:
            rgb, depth = obs[f"camera_{name}_rgb"], obs[f"camera_{name}_depth"]
            assert rgb.shape == (2, 48, 64, 3) and rgb.dtype == np.uint8
            assert depth.shape == (2, 48, 64) and depth.dtype == np.float32
            assert space[f"camera_{name}_rgb"].contains(rgb[0])
            assert space[f"camera_{name}_depth"].contains(depth[0])
            assert rgb.std(axis=(1, 2, 3)).min() > 3, f"camera {name} gave a blank picture"
            assert np.isfinite(depth).all() and depth.min() > 0 and depth.max() <= FAR_M
        assert obs["camera_scene_rgb"][0].tobytes() != obs["camera_scene_rgb"][1].tobytes(), \
            "two procedural worlds look the same"
        camera_keys = [k for k in space if k.startswith("camera_")]
        assert len(camera_keys) == 2 * len(cameras)
        assert list(env.unwrapped.envs[0].task.camera_names()) == cameras, \
            "list_envs.py shows these names (the robot's own facts and the task's world cameras)"
    finally:
        env.close()


def test_plain_task_has_no_camera_keys():
    env = gym.make_vec("spaceros/perseverance", num_envs=1, vectorization_mode="vector_entry_point",
                       backend="sync", progress=False)
    assert not [key for key in env.single_observation_space if key.startswith("camera_")]
    env.close()


def test_pictures_change_when_the_rover_drives_and_not_when_it_stands():
    env = make_vec("perseverance", num_envs=1)
    try:
        first, _ = env.reset(seed=0)
        still = np.zeros((1, 2), np.float32)
        for _ in range(3):  # the rover settles on its suspension
            obs, *_ = env.step(still)
        before = obs["camera_front_rgb"].astype(int)
        obs, *_ = env.step(still)
        assert np.abs(obs["camera_front_rgb"].astype(int) - before).mean() < 2.0
        for _ in range(60):  # 1.2 s at full speed ahead
            obs, *_ = env.step(np.array([[1.0, 0.0]], np.float32))
        moved = np.abs(obs["camera_front_rgb"].astype(int) - before).mean()
        assert moved > 5.0, f"the front camera barely changed ({moved:.2f}) while driving"
        assert np.abs(obs["camera_front_depth"] - first["camera_front_depth"]).max() > 0.05
    finally:
        env.close()


def test_downward_camera_depth_is_the_height_above_the_terrain():
    env = gym.make("spaceros/ingenuity_visual", camera_resolution=(65, 65), progress=False)
    sim = env.unwrapped.sim
    obs, _ = env.reset(seed=0)
    cam = sim.model.camera("robot/camera_bottom")
    x, y, z = sim.data.cam_xpos[cam.id]
    ground = sim.task.waypoint.ground_height(x, y)
    assert obs["camera_bottom_depth"][32, 32] == pytest.approx(z - ground, abs=0.01)
    landed = obs["camera_bottom_rgb"].astype(int)
    sim.data.qpos[2] += 2.0  # lift the helicopter 2 m and look again
    mujoco.mj_forward(sim.model, sim.data)
    lifted = sim._observe()
    assert lifted["camera_bottom_depth"][32, 32] == pytest.approx(z + 2.0 - ground, abs=0.02)
    assert np.abs(lifted["camera_bottom_rgb"].astype(int) - landed).mean() > 1.0
    env.close()


def pixel_ray(camera_xmat: np.ndarray, fovy_deg: float, width: int, height: int, row: int,
              col: int) -> np.ndarray:
    """World direction through the centre of pixel (row, col), scaled so its component along
    the optical axis is 1 (a pinhole camera with square pixels, as ``camera_info`` says)."""
    focal = (height / 2) / np.tan(np.radians(fovy_deg) / 2)
    local = np.array([(col + 0.5 - width / 2) / focal, -(row + 0.5 - height / 2) / focal, -1.0])
    return camera_xmat.reshape(3, 3) @ local


def test_depth_is_metres_along_the_optical_axis_like_a_ray_cast():
    """Each pixel's depth equals MuJoCo's own ray cast through that pixel (projected on the
    axis): the depth scale and the pinhole intrinsics are both right."""
    width, height = 40, 30
    env = gym.make("spaceros/perseverance_visual", camera_resolution=(width, height),
                   progress=False)
    sim = env.unwrapped.sim
    obs, _ = env.reset(seed=0)
    cam = sim.model.camera("robot/camera_front")
    origin = sim.data.cam_xpos[cam.id].copy()
    geomid = np.zeros(1, np.int32)
    chassis = sim.model.body("robot/chassis").id
    checked = 0
    for row, col in [(22, 20), (26, 8), (28, 33), (20, 14)]:  # ground in the flat work area
        direction = pixel_ray(sim.data.cam_xmat[cam.id], sim.model.cam_fovy[cam.id],
                              width, height, row, col)
        length = np.linalg.norm(direction)
        hit = mujoco.mj_ray(sim.model, sim.data, origin, direction / length, None, 1, chassis,
                            geomid)
        assert hit > 0
        assert obs["camera_front_depth"][row, col] == pytest.approx(hit / length, rel=0.01), \
            (row, col, sim.model.geom(geomid[0]).name)
        checked += 1
    assert checked == 4
    env.close()


def test_the_sky_reads_the_far_plane_and_the_ground_does_not():
    env = gym.make("spaceros/perseverance_visual", camera_resolution=(48, 48), progress=False)
    obs, _ = env.reset(seed=0)
    depth = obs["camera_scene_depth"]  # the chase camera: sky in the top rows, ground below
    assert (depth[0] == FAR_M).all(), "the sky is at the far plane"
    assert (depth[-1] < 30).all(), "the ground in front of the chase camera is near"
    env.close()


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_every_backend_renders_the_same_pixels_as_sync(backend):
    actions = np.random.default_rng(0).uniform(-1, 1, (4, 3, 2)).astype(np.float32)
    results = {}
    for name in ("sync", backend):
        env = make_vec("perseverance", num_envs=3, backend=name)
        try:
            env.reset(seed=1)
            for action in actions:
                obs, *_ = env.step(action)
            results[name] = obs
        finally:
            env.close()
    for key, value in results["sync"].items():
        np.testing.assert_array_equal(value, results[backend][key], err_msg=key)


def test_camera_resolution_is_checked_with_a_clear_message():
    with pytest.raises(ValueError, match=r"camera_resolution must be \(width, height\)"):
        make_vec("perseverance", num_envs=1, camera_resolution=(0, 64))
    with pytest.raises(ValueError, match="camera_resolution"):
        make_vec("perseverance", num_envs=1, camera_resolution="big")


def test_single_visual_env_passes_the_gymnasium_checker():
    env = gym.make("spaceros/ingenuity_visual", camera_resolution=RES, progress=False)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert obs["camera_bottom_rgb"].shape == (48, 64, 3)
    env.close()


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_vector_render_gives_one_picture_per_env_from_where_it_lives(backend):
    env = gym.make_vec("spaceros/sample_collection", num_envs=3, backend=backend,
                       vectorization_mode="vector_entry_point", render_mode="rgb_array", render_size=(96, 72),
                       progress=False)
    try:
        env.reset(seed=0)
        frames = env.render()
        assert len(frames) == 3
        for frame in frames:
            assert frame.shape == (72, 96, 3) and frame.dtype == np.uint8 and frame.std() > 3
        assert frames[0].tobytes() != frames[1].tobytes()
    finally:
        env.close()
