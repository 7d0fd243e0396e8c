"""Robot cameras render real pictures and metric depth (CPU rendering through EGL)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from spaceros_procgen_envs.assets.pipeline import generate_assets
from spaceros_procgen_envs.registry import get_task
from spaceros_procgen_envs.sim import cameras

ROOT_BODY = {"rover": "robot/chassis", "multicopter": "robot/base", "manipulator": "robot/base"}


def world_with_cameras(task: str, resolution=(64, 64)):
    spec = get_task(task)
    assets, _ = generate_assets(spec, 1, progress=False, workers=1)
    sim_task = spec.task_class()(spec, spec.resolve_domain(None), assets[0])
    mj_spec = sim_task.build()
    kind = sim_task.robot.kind
    names = cameras.add_robot_cameras(mj_spec, kind, "robot/", ROOT_BODY[kind])
    model = mj_spec.compile()
    data = mujoco.MjData(model)
    sim_task.bind(model)
    sim_task.reset(model, data, np.random.default_rng(0))
    mujoco.mj_forward(model, data)
    renderer = cameras.CameraRenderer(model, names, resolution)
    rgb = [np.zeros((*resolution[::-1], 3), np.uint8) for _ in names]
    depth = [np.zeros(resolution[::-1], np.float32) for _ in names]
    return sim_task, model, data, renderer, names, rgb, depth


@pytest.mark.parametrize("task, expected", [
    ("perseverance", ["robot/camera_scene", "robot/camera_front"]),
    ("ingenuity", ["robot/camera_scene", "robot/camera_bottom"]),
    ("sample_collection", ["robot/camera_scene", "robot/camera_wrist"]),
])
def test_each_robot_kind_gets_its_cameras_and_they_are_not_blank(task, expected):
    _, _, data, renderer, names, rgb, depth = world_with_cameras(task)
    assert names == expected
    renderer.render(data, rgb, depth)
    for image, dist in zip(rgb, depth):
        assert image.std() > 3, "a blank image"
        assert np.isfinite(dist).all() and dist.min() > 0
    renderer.close()


def test_downward_camera_depth_matches_height_above_ground_and_changes_when_flying():
    task, model, data, renderer, names, rgb, depth = world_with_cameras("ingenuity")
    bottom = names.index("robot/camera_bottom")
    cam = model.camera("robot/camera_bottom")
    renderer.render(data, rgb, depth)
    height = data.cam_xpos[cam.id][2] - task.waypoint.ground_height(*data.cam_xpos[cam.id][:2])
    centre = depth[bottom][32, 32]
    assert centre == pytest.approx(height, abs=0.02)
    landed = rgb[bottom].copy()
    data.qpos[2] += 2.0  # lift the helicopter 2 m
    mujoco.mj_forward(model, data)
    renderer.render(data, rgb, depth)
    assert depth[bottom][32, 32] == pytest.approx(centre + 2.0, abs=0.05)
    assert np.abs(rgb[bottom].astype(int) - landed).mean() > 1.0, "the picture did not change"
    renderer.close()
