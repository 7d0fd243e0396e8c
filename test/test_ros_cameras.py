"""Camera topics of a ``_visual`` task over real DDS, and ``--video`` as users run it."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from spaceros_procgen_envs.video import tile_size

from .ros_helpers import client, latest_info, ros_domain, spawn, wait_for_node  # noqa: F401

from sensor_msgs.msg import CameraInfo, Image  # noqa: E402  (after the rclpy skip)
from std_msgs.msg import Float32MultiArray  # noqa: E402

from spaceros_procgen_envs.ros.convert import action_msg  # noqa: E402

WIDTH, HEIGHT = 40, 30


def decode(msg: Image) -> np.ndarray:
    """A ``sensor_msgs/Image`` back to an array, as any ROS user (or cv_bridge) would."""
    dtype, channels = {"rgb8": (np.uint8, 3), "32FC1": (np.float32, 1)}[msg.encoding]
    row = np.frombuffer(bytes(msg.data), dtype).reshape(msg.height,
                                                        msg.step // np.dtype(dtype).itemsize)
    image = row[:, :msg.width * channels]
    return image.reshape(msg.height, msg.width, channels) if channels > 1 else image


def stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec


def test_camera_topics_carry_the_python_api_pictures(spawn, client):
    """Lockstep over ROS, step 2 of env 1: the rgb8 and 32FC1 images decode to exactly the
    arrays ``gymnasium.make_vec`` returns for the same seed and actions; camera_info matches."""
    num_envs, seed = 2, 7
    proc = spawn("run_spaceros.py", "--task", "perseverance_visual", "--num_envs", str(num_envs),
                 "--seed", str(seed), "--lockstep", "--backend", "sync", "--camera_rate", "50",
                 "--camera_resolution", str(WIDTH), str(HEIGHT))
    info = latest_info(wait_for_node(client, proc))
    assert info["cameras"] == ["scene", "front"] and info["camera_rate_hz"] == 50
    assert all(not key.startswith("camera_") for key, _ in info["observation_layout"])
    base = "env1/robot/camera_front"
    rgb = client.record(Image, f"{base}/image_raw")
    depth = client.record(Image, f"{base}/depth/image_raw")
    infos = client.record(CameraInfo, f"{base}/camera_info")
    scene = client.record(Image, "env0/robot/camera_scene/image_raw")
    actions = np.random.default_rng(1).uniform(-1, 1, (2, num_envs, 2)).astype(np.float32)
    for k, action in enumerate(actions):
        client.publish(Float32MultiArray, "envs/action", action_msg(action))
        assert client.spin_until(lambda: len(rgb) > k and len(depth) > k and len(infos) > k
                                 and len(scene) > k, 20), f"no images for step {k}"

    env = gymnasium.make_vec("spaceros/perseverance_visual", num_envs=num_envs,
                             vectorization_mode="vector_entry_point", backend="thread", seed=seed,
                             camera_resolution=(WIDTH, HEIGHT))
    env.reset(seed=seed)
    for action in actions:
        obs, *_ = env.step(action)
    env.close()

    assert rgb[-1].encoding == "rgb8" and rgb[-1].step == WIDTH * 3
    assert depth[-1].encoding == "32FC1" and depth[-1].step == WIDTH * 4
    assert stamp_ns(rgb[-1]) == stamp_ns(depth[-1]) == 2 * 20_000_000, "stamped with sim time"
    np.testing.assert_array_equal(decode(rgb[-1]), obs["camera_front_rgb"][1])
    np.testing.assert_array_equal(decode(depth[-1]), obs["camera_front_depth"][1])
    np.testing.assert_array_equal(decode(scene[-1]), obs["camera_scene_rgb"][0])
    cam = infos[-1]
    assert (cam.width, cam.height) == (WIDTH, HEIGHT)
    focal = (HEIGHT / 2) / np.tan(np.radians(90.0) / 2)  # the hazard camera's 90 deg fovy
    assert cam.k[0] == pytest.approx(focal) and cam.k[4] == pytest.approx(focal)
    assert (cam.k[2], cam.k[5]) == ((WIDTH - 1) / 2, (HEIGHT - 1) / 2)
    assert cam.header.frame_id == rgb[-1].header.frame_id == "env1/camera_front_optical_frame"


def test_camera_rate_is_a_fraction_of_the_step_rate(spawn, client):
    proc = spawn("run_spaceros.py", "--task", "ingenuity_visual", "--lockstep", "--backend",
                 "sync", "--camera_rate", "10", "--camera_resolution", "16", "16")
    wait_for_node(client, proc)
    images = client.record(Image, "env0/robot/camera_bottom/image_raw")
    for _ in range(10):
        client.publish(Float32MultiArray, "envs/action", action_msg(np.zeros((1, 4), np.float32)))
        client.spin_for(0.05)
    client.spin_until(lambda: len(images) >= 2, 10)
    client.spin_for(0.3)
    assert [stamp_ns(m) // 20_000_000 for m in images] == [5, 10], "every fifth step at 10 Hz"


def test_agent_video_has_one_tile_per_env_and_one_frame_per_five_steps(spawn, tmp_path):
    imageio = pytest.importorskip("imageio.v2", reason="the video extra (imageio) is not installed")
    path = tmp_path / "run.mp4"
    num_envs, steps = 5, 20
    proc = spawn("agent_random.py", "--task", "perseverance", "--num_envs", str(num_envs),
                 "--headless", "--lockstep", "--steps", str(steps), "--video", str(path))
    assert proc.wait(120) == 0, proc.stderr()
    reader = imageio.get_reader(str(path), format="FFMPEG")
    frames = list(reader.iter_data())
    assert reader.get_meta_data()["fps"] == 10
    assert len(frames) == 1 + steps // 5, "the first picture, then one every fifth step"
    width, height = tile_size(num_envs)
    assert frames[0].shape == (2 * height + 2, 3 * width + 4, 3), "5 envs: 2 rows x 3 columns"
    last = frames[-1].astype(int)
    tiles = [last[r * (height + 2):r * (height + 2) + height,
                  c * (width + 2):c * (width + 2) + width] for r in range(2) for c in range(3)]
    for k, tile in enumerate(tiles[:num_envs]):
        assert tile.std() > 10, f"tile {k} is blank"
    assert tiles[5].std() < 3, "the sixth cell of the grid is empty"
    centres = [t[height // 4:, :].mean(axis=(0, 1)) for t in tiles[:num_envs]]
    assert len({tuple(np.round(c)) for c in centres}) == num_envs, "five different worlds"
    assert np.abs(frames[0].astype(int) - last).mean() > 1.0, "the video shows motion"


def test_video_path_in_a_missing_directory_is_refused_before_anything_starts(spawn, tmp_path):
    proc = spawn("agent_random.py", "--headless", "--video", str(tmp_path / "no" / "run.mp4"))
    assert proc.wait(60) == 2
    err = proc.stderr().strip()
    assert "--video" in err and "does not exist" in err and err.count("\n") == 0, err
