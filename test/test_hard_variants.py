"""The ``_hard`` mobile tasks: harder than their base tasks in the ways they document (rough
ground, more and larger boulders, a waypoint behind one of them, a low helicopter waypoint),
with a ``boulders_rel`` observation that is right, and a rover that stands on its start pose."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from spaceros_procgen_envs.registry import generate_assets
from spaceros_procgen_envs.assets.terrain import generate_terrain, rough_terrain_cfg, terrain_cfg
from spaceros_procgen_envs.registry import get_task
from spaceros_procgen_envs.sim import vecmath
from spaceros_procgen_envs.tasks.ingenuity_hard.env import reward_collision
from spaceros_procgen_envs.tasks.navigation import (BoulderField, nearest_boulders,
                                                    nearest_boulders_one, place_boulders,
                                                    sample_behind)
from spaceros_procgen_envs.world import build_worlds

HARD = {"perseverance_hard": "perseverance", "ingenuity_hard": "ingenuity"}
WORLDS, SEED = 8, 300


def _worlds(task: str, count: int = WORLDS, seed: int = SEED):
    assets, _ = generate_assets(task, count, seed, None, workers=1, progress=False)
    return build_worlds(task, assets, seed)


def _circles(env) -> np.ndarray:
    """(B, 3) every boulder's centre (x, y) and bounding-circle radius, m, read from the
    compiled world and the rock meshes (not from the task's own table)."""
    rows = []
    for name, asset in env.task.assets.items():
        if name.startswith("boulder"):
            verts = asset.parts["rock"].visual.vertices
            rows.append([*env.model.body(name).pos[:2], np.hypot(verts[:, 0], verts[:, 1]).max()])
    return np.array(rows)


def _line_clearance(circles: np.ndarray, goal: np.ndarray) -> float:
    """Least gap (m) between the segment origin -> ``goal`` (2,) and any boulder circle."""
    t = np.clip(circles[:, :2] @ goal / (goal @ goal), 0.0, 1.0)
    return float(np.min(np.hypot(*(circles[:, :2] - t[:, None] * goal).T) - circles[:, 2]))


@pytest.mark.parametrize("hard, base", HARD.items())
def test_hard_worlds_have_more_and_larger_boulders(hard, base):
    hard_env, base_env = _worlds(hard, 1)[0], _worlds(base, 1)[0]
    hard_c, base_c = _circles(hard_env), _circles(base_env)
    assert len(hard_c) >= 12 and len(hard_c) > 2 * len(base_c)
    assert hard_c[:, 2].min() > base_c[:, 2].max()  # every hard boulder beats every base one
    np.testing.assert_allclose(hard_env.task.boulders[:, :3], hard_c, atol=1e-9)


@pytest.mark.parametrize("hard, base", HARD.items())
def test_the_straight_line_to_the_waypoint_is_blocked_in_the_hard_task_only(hard, base):
    blocked = {}
    for task in (hard, base):
        hits = []
        for env in _worlds(task):
            circles = _circles(env)
            for episode in range(3):
                env.reset(seed=episode)
                hits.append(_line_clearance(circles, env.task.waypoint.pos[:2]) < 0.0)
        blocked[task] = np.mean(hits)
    assert blocked[hard] >= 0.9, blocked
    assert blocked[base] <= 0.25, blocked


@pytest.mark.parametrize("hard, base", HARD.items())
def test_the_hard_waypoint_is_further_and_clear_of_the_boulders(hard, base):
    far, near = [], []
    for task, out in ((hard, far), (base, near)):
        for env in _worlds(task, 4):
            for episode in range(4):
                env.reset(seed=episode)
                out.append(np.hypot(*env.task.waypoint.pos[:2]))
                if task == hard:  # reachable: not inside a boulder
                    gaps = np.hypot(*(_circles(env)[:, :2] - env.task.waypoint.pos[:2]).T)
                    assert np.min(gaps - _circles(env)[:, 2]) > 0.5
    lo, hi = get_task(hard).task_class().DISTANCE_M
    assert lo <= min(far) and max(far) <= hi
    assert np.mean(far) > np.mean(near) + 2.0


@pytest.mark.parametrize("style", ["mars", "moon", "earth", "asteroid"])
def test_rough_terrain_is_rougher_than_the_preset(style):
    def stats(make):
        std, slope = [], []
        for seed in range(4):
            hm = generate_terrain(make(style, 30.0), np.random.default_rng([seed, 0]))
            cell = hm.size_m[0] / (hm.heights_m.shape[0] - 1)
            gy, gx = np.gradient(hm.heights_m.astype(float), cell)
            std.append(hm.heights_m.std())
            slope.append(np.percentile(np.hypot(gx, gy), 95))
        return np.mean(std), np.mean(slope)

    (base_std, base_slope), (rough_std, rough_slope) = stats(terrain_cfg), stats(rough_terrain_cfg)
    assert rough_std > 1.15 * base_std and rough_slope > 1.15 * base_slope


def test_the_hard_tasks_ground_is_the_rough_preset():
    for hard, base in HARD.items():
        hard_t = _worlds(hard, 1)[0].task.assets["terrain"]
        base_t = _worlds(base, 1)[0].task.assets["terrain"]
        assert hard_t.heights_m.std() > base_t.heights_m.std()


def test_boulders_rel_on_a_hand_made_case():
    """A robot at (1, 0) facing +y (yaw 90 deg): a boulder at (1, 2) is 2 m ahead, one at
    (0, 0) is 1 m to its left (-x is left when facing +y); sorted nearest first, with radius and top above the base."""
    pos = np.array([[1.0, 0.0, 0.5]])
    quat = np.array([[np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)]])
    boulders = np.array([[[1.0, 2.0, 0.7, 1.5],    # 2 m ahead
                          [9.0, 9.0, 0.5, 1.0],    # far: left out with k = 2
                          [0.0, 0.0, 0.4, 0.9]]])  # 1 m to the left
    got = nearest_boulders(pos, quat, boulders, 2, tops=True)
    np.testing.assert_allclose(got[0], [[0.0, 1.0, 0.4, 0.4], [2.0, 0.0, 0.7, 1.0]], atol=1e-12)
    np.testing.assert_allclose(nearest_boulders(pos, quat, boulders, 2)[0], got[0][:, :3])
    np.testing.assert_allclose(nearest_boulders_one(pos[0], quat[0], boulders[0], 2, True),
                               got[0], atol=1e-12)


def test_boulders_rel_lists_the_first_of_equally_near_boulders_first():
    """Two boulders 2 m from a robot at the origin facing +x, one ahead and one behind: the
    one listed first in the world comes first, in the batch and in the per-env path."""
    pos, quat = np.zeros((1, 3)), np.array([[1.0, 0.0, 0.0, 0.0]])
    boulders = np.array([[[5.0, 5.0, 0.3, 1.0],     # far
                          [-2.0, 0.0, 0.6, 1.0],    # 2 m behind, listed first
                          [2.0, 0.0, 0.5, 1.0]]])   # 2 m ahead
    got = nearest_boulders(pos, quat, boulders, 2)
    np.testing.assert_allclose(got[0], [[-2.0, 0.0, 0.6], [2.0, 0.0, 0.5]], atol=1e-12)
    np.testing.assert_allclose(nearest_boulders_one(pos[0], quat[0], boulders[0], 2), got[0],
                               atol=1e-12)


def test_boulders_rel_batch_equals_the_per_env_path():
    rng = np.random.default_rng(4)
    n, count = 6, 14
    pos = rng.uniform(-5, 5, (n, 3))
    quat = rng.normal(size=(n, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    boulders = np.concatenate([rng.uniform(-10, 10, (n, count, 2)),
                               rng.uniform(0.5, 1.0, (n, count, 2))], axis=2)
    got = nearest_boulders(pos, quat, boulders, 4, tops=True)
    for i in range(n):
        np.testing.assert_allclose(got[i], nearest_boulders_one(pos[i], quat[i], boulders[i], 4,
                                                                True), atol=1e-12)
        dist = np.hypot(got[i, :, 0], got[i, :, 1])
        assert np.all(np.diff(dist) >= 0)  # sorted, and the same distances in any frame
        world = np.sort(np.hypot(*(boulders[i, :, :2] - pos[i, :2]).T))[:4]
        np.testing.assert_allclose(dist, world, atol=1e-12)


@pytest.mark.parametrize("task, shape", [("perseverance_hard", (4, 3)), ("ingenuity_hard", (4, 4))])
def test_the_env_observes_its_nearest_boulders(task, shape):
    env = _worlds(task, 1)[0]
    assert env.observation_space["boulders_rel"].shape == shape
    obs, _ = env.reset(seed=2)
    near = obs["boulders_rel"]
    assert near.shape == shape and near.dtype == np.float32
    # at the start (origin, facing +x): the world's four nearest boulders, nearest first
    circles = _circles(env)
    order = np.argsort(np.hypot(*circles[:, :2].T))[:4]
    base = env.task.robot.base_pose(env.model, env.data)[0]
    np.testing.assert_allclose(near[:, :3], circles[order] - [base[0], base[1], 0.0], atol=2e-3)
    if shape[1] == 4:  # tops above the helicopter's base
        np.testing.assert_allclose(near[:, 3], env.task.boulders[order, 3] - base[2], atol=1e-5)


def test_place_boulders_keeps_shields_in_their_ring_and_gaps_between_the_rest():
    field = BoulderField()
    radii = np.random.default_rng(0).uniform(0.8, 1.1, 14)
    centres = place_boulders(field, radii, np.random.default_rng(1))
    dist = np.hypot(*centres.T)
    lo, hi = field.shield_distance_m
    assert np.all((dist[:field.shields] >= lo) & (dist[:field.shields] <= hi))
    assert np.all(dist[field.shields:] >= field.ring_m[0])
    gaps = np.hypot(*(centres[:, None] - centres[None]).transpose(2, 0, 1)) - radii - radii[:, None]
    assert gaps[~np.eye(14, dtype=bool)].min() > 0.0  # no two boulders overlap
    boulders = np.column_stack([centres, radii, radii])
    for seed in range(20):  # every waypoint is behind a shield: the line passes its centre
        x, y = sample_behind(field, boulders, np.random.default_rng(seed))
        assert _line_clearance(boulders[:field.shields, :3], np.array([x, y])) < 0.0


def test_the_rover_stands_on_its_start_pose_in_16_worlds():
    env = gym.make_vec("spaceros/perseverance_hard", num_envs=16, seed=SEED,
                       vectorization_mode="vector_entry_point", backend="sync", progress=False)
    obs, _ = env.reset(seed=0)
    for _ in range(100):  # 2 s at rest
        obs, *_ = env.step(np.zeros((16, 2), np.float32))
    tilt = vecmath.tilt_cos(obs["base_quat"].astype(float))
    assert tilt.min() > 0.98, tilt
    assert np.abs(obs["base_lin_vel"]).max() < 0.05
    env.close()


def test_the_helicopter_waypoint_is_low_above_the_ground_there():
    lo, hi = get_task("ingenuity_hard").task_class().ALTITUDE_M
    assert (lo, hi) == (0.5, 1.2)
    tops = []
    for env in _worlds("ingenuity_hard", 4):
        terrain = env.task.assets["terrain"]
        for episode in range(5):
            env.reset(seed=episode)
            x, y, z = env.task.waypoint.pos
            assert lo <= z - terrain.height_at(x, y) <= hi
        tops += [top - terrain.height_at(x, y) for x, y, _, top in env.task.boulders]
    assert np.min(tops) > 0.5 * (lo + hi)  # every boulder stands above the mean waypoint
    assert np.median(tops) > 0.9 * hi


def test_reward_collision_counts_contacts_off_the_pad_only():
    pos = np.array([[0.3, 0.2, 0.2], [4.0, 0.0, 0.5], [4.0, 0.0, 0.5], [0.0, -2.0, 0.1]])
    touch = np.array([1.0, 1.0, 0.0, 2.0])
    np.testing.assert_array_equal(reward_collision(pos, touch), [0.0, 1.0, 0.0, 1.0])


def test_hard_variants_keep_the_base_reward_terms():
    for hard, base in HARD.items():
        hard_names = get_task(hard).task_class().REWARDS().__dict__
        base_names = get_task(base).task_class().REWARDS().__dict__
        assert set(base_names) <= set(hard_names)
        assert set(hard_names) - set(base_names) <= {"collision"}
