"""Reward terms of the mobile tasks: pure functions of batch arrays, each on hand-made arrays."""

from __future__ import annotations

import numpy as np

from spaceros_procgen_envs.tasks.base import reward_action_rate
from spaceros_procgen_envs.tasks.ingenuity.env import reward_ground_clearance
from spaceros_procgen_envs.tasks.navigation import reward_progress, reward_upright
from spaceros_procgen_envs.tasks.perseverance.env import reward_heading

LEVEL = np.array([1.0, 0.0, 0.0, 0.0])
ROLLED_90 = np.array([np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0])


def test_progress_is_the_approach_speed():
    got = reward_progress(np.array([5.0, 5.0, 5.0]), np.array([4.9, 5.0, 5.1]), 0.02)
    np.testing.assert_allclose(got, [5.0, 0.0, -5.0])


def test_upright_is_zero_level_and_one_on_the_side():
    np.testing.assert_allclose(reward_upright(np.stack([LEVEL, ROLLED_90])), [0.0, 1.0],
                               atol=1e-12)


def test_heading_is_the_cosine_of_the_bearing_error():
    rel = np.array([[3.0, 0.0], [0.0, 2.0], [-1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(reward_heading(rel), [1.0, 0.0, -1.0, np.sqrt(0.5)], atol=1e-6)


def test_action_rate_is_the_squared_change():
    now = np.array([[1.0, 0.0], [0.5, 0.5]])
    before = np.array([[0.0, 0.0], [0.5, -0.5]])
    np.testing.assert_allclose(reward_action_rate(now, before), [1.0, 1.0])


def test_ground_clearance_only_counts_low_flight_away_from_the_pad():
    pos = np.array([[0.2, 0.0, 0.1], [3.0, 0.0, 0.1], [3.0, 0.0, 2.0]])
    np.testing.assert_allclose(reward_ground_clearance(pos, pos[:, 2]), [0.0, 1.0, 0.0])
