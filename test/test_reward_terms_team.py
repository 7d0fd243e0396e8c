"""Unit tests of the rover team's reward terms and geometry on hand-made (worlds, agents, ...)
arrays (``tasks/rover_team/terms.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spaceros_procgen_envs.tasks.rover_team import terms as T
from spaceros_procgen_envs.tasks.rover_team.env import RoverTeamRewards, RoverTeamTask


def yaw_quat(angle_rad: float) -> list[float]:
    """wxyz quaternion of a rotation by ``angle_rad`` about world z."""
    return [math.cos(angle_rad / 2), 0.0, 0.0, math.sin(angle_rad / 2)]


def test_progress_is_approach_speed_for_active_agents_and_zero_when_parked():
    prev = np.array([[10.0, 10.0, 10.0], [5.0, 5.0, 5.0]])
    dist = np.array([[9.0, 10.5, 8.0], [5.0, 4.0, 6.0]])
    active = np.array([[True, True, False], [True, True, True]])
    out = T.reward_progress(prev, dist, active, dt=0.5)
    np.testing.assert_allclose(out, [[2.0, -1.0, 0.0], [0.0, 2.0, -2.0]])


def test_team_progress_is_each_worlds_mean_over_its_active_rovers():
    progress = np.array([[2.0, -1.0, 7.0], [1.0, 3.0, 5.0], [4.0, 4.0, 4.0]])
    active = np.array([[True, True, False], [True, True, True], [False, False, False]])
    out = T.reward_team_progress(progress, active)
    np.testing.assert_allclose(out, [[0.5] * 3, [3.0] * 3, [0.0] * 3])  # parked rover: ignored
    out[0, 0] = 99.0  # a fresh array, not a broadcast view
    assert out[0, 1] == 0.5


def test_heading_is_the_cosine_of_the_bearing_error():
    rel = np.array([[[3.0, 0.0], [0.0, 2.0]], [[-1.0, 0.0], [1.0, 1.0]]])
    np.testing.assert_allclose(T.reward_heading(rel), [[1.0, 0.0], [-1.0, math.sqrt(0.5)]],
                               atol=1e-8)


def test_upright_is_zero_level_and_one_on_its_side():
    side = [math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0]  # 90 deg about x
    tilt = [math.cos(math.pi / 6), 0.0, math.sin(math.pi / 6), 0.0]  # 60 deg about y
    quat = np.array([[yaw_quat(1.0), side], [tilt, [1.0, 0.0, 0.0, 0.0]]])
    np.testing.assert_allclose(T.reward_upright(quat), [[0.0, 1.0], [0.5, 0.0]], atol=1e-12)


def test_bump_and_the_pair_sensors_mark_both_rovers_of_a_touching_pair():
    pairs = np.array([[0, 1], [0, 2], [1, 2]])
    found = np.array([[0.0, 0.0, 2.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    hit = T.bumped(found, pairs, 3)
    np.testing.assert_array_equal(hit, [[False, True, True], [True, True, False], [False] * 3])
    assert T.reward_bump(hit).dtype == np.float64
    np.testing.assert_array_equal(T.reward_bump(hit), hit.astype(float))


def test_action_rate_sums_over_each_agents_action():
    action = np.array([[[1.0, 0.0], [0.5, 0.5]]], np.float32)
    prev = np.array([[[0.0, 0.0], [0.5, -0.5]]], np.float32)
    out = T.reward_action_rate(action, prev)
    assert out.shape == (1, 2) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1.0, 1.0]])


def test_waypoint_and_teammates_in_each_rovers_heading_frame():
    # world 0: rover 0 at the origin facing +y, rover 1 at (2, 0) facing +x, rover 2 at (0, -3)
    pos = np.array([[[0.0, 0, 0], [2.0, 0, 0], [0.0, -3, 0]]])
    quat = np.array([[yaw_quat(math.pi / 2), yaw_quat(0.0), yaw_quat(math.pi)]])
    target = np.array([[[0.0, 5, 1], [2.0, 4, 0], [1.0, -3, 0]]])
    np.testing.assert_allclose(T.target_rel(pos, quat, target),
                               [[[5.0, 0.0], [0.0, 4.0], [-1.0, 0.0]]], atol=1e-12)
    np.testing.assert_allclose(T.planar_distance(pos, target), [[5.0, 4.0, 1.0]])
    mates = T.teammates_rel(pos, quat)
    assert mates.shape == (1, 3, 4)
    # rover 0 (facing +y) sees rover 1 at its right (y -2) and rover 2 behind (x -3)
    np.testing.assert_allclose(mates[0, 0], [0.0, -2.0, -3.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(mates[0, 1], [-2.0, 0.0, -2.0, -3.0], atol=1e-12)
    np.testing.assert_allclose(mates[0, 2], [0.0, -3.0, -2.0, -3.0], atol=1e-12)
    np.testing.assert_array_equal(T.others(3), [[1, 2], [0, 2], [0, 1]])


def test_yaw_and_heading_frame_work_on_any_leading_shape():
    angles = np.array([[0.3, -2.0], [3.0, 1.2]])
    quat = np.array([[yaw_quat(a) for a in row] for row in angles])
    np.testing.assert_allclose(T.yaw(quat), angles, atol=1e-12)
    delta = np.ones((2, 2, 2))
    rel = T.heading_xy(T.yaw(quat), delta)
    np.testing.assert_allclose(np.linalg.norm(rel, axis=-1), math.sqrt(2.0))


def test_every_weighted_term_has_its_pure_function_on_the_task():
    for name in vars(RoverTeamRewards()):
        term = getattr(RoverTeamTask, f"reward_{name}")
        assert term is getattr(T, f"reward_{name}"), name


@pytest.mark.parametrize("k", [2, 4])
def test_teammates_rel_lists_every_other_rover_once(k):
    pos = np.zeros((2, k, 3))
    pos[:, :, 0] = np.arange(k)  # rovers on the x axis, all facing +x
    quat = np.tile([1.0, 0.0, 0.0, 0.0], (2, k, 1))
    mates = T.teammates_rel(pos, quat).reshape(2, k, k - 1, 2)
    for i in range(k):
        np.testing.assert_allclose(mates[:, i, :, 0], [[j - i for j in range(k) if j != i]] * 2)
