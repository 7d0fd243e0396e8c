"""Contract tests over the whole registry: Gymnasium API, determinism, backends (SPEC 5, 9)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import spaceros_procgen_envs
from spaceros_procgen_envs.errors import UnknownNameError

TASKS = spaceros_procgen_envs.list_tasks()


def make_vec(task: str, num_envs: int, backend: str, **kwargs):
    return gym.make_vec(f"spaceros/{task}", num_envs=num_envs,
                        vectorization_mode="vector_entry_point", backend=backend, **kwargs)


def rollout(env, steps: int, seed: int = 0) -> list[np.ndarray]:
    """Observations, rewards and flags of a fixed random action sequence."""
    actions = np.random.default_rng(seed).uniform(-1, 1, (steps, *env.action_space.shape))
    obs, _ = env.reset(seed=seed)
    trace = [np.concatenate([v.ravel() for v in obs.values()])]
    for action in actions.astype(np.float32):
        obs, reward, term, trunc, info = env.step(action)
        trace += [np.concatenate([v.ravel() for v in obs.values()]), np.asarray(reward),
                  np.asarray(term), np.asarray(trunc)]
    return trace


@pytest.mark.parametrize("task", TASKS)
def test_single_env_passes_gymnasium_check_env(task):
    env = gym.make(f"spaceros/{task}")
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("task", TASKS)
def test_sync_and_thread_backends_are_bit_identical(task):
    sync, thread = make_vec(task, 3, "sync"), make_vec(task, 3, "thread", workers=2)
    try:
        for a, b in zip(rollout(sync, 12), rollout(thread, 12)):
            np.testing.assert_array_equal(a, b)
    finally:
        sync.close(), thread.close()


@pytest.mark.parametrize("task", TASKS)
def test_different_envs_get_different_worlds(task):
    env = make_vec(task, 2, "sync")
    m0, m1 = (e.model for e in env.unwrapped.envs)
    assert m0.nmesh + m0.nhfield > 0, "a task without procedural geometry"
    differs = (m0.nmeshvert != m1.nmeshvert or m0.nhfielddata != m1.nhfielddata
               or not np.array_equal(m0.mesh_vert, m1.mesh_vert)
               or not np.array_equal(m0.hfield_data, m1.hfield_data))
    assert differs
    env.close()


def test_same_seed_same_rollout_and_other_seed_differs():
    first = rollout(make_vec("perseverance", 2, "thread"), 10, seed=3)
    second = rollout(make_vec("perseverance", 2, "thread"), 10, seed=3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    other = rollout(make_vec("perseverance", 2, "thread", seed=7), 10, seed=3)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_vector_env_follows_the_gymnasium_vector_contract():
    env = make_vec("perseverance", 4, "thread")
    assert isinstance(env, gym.vector.VectorEnv)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert env.single_action_space.shape == (2,)
    assert env.action_space.shape == (4, 2)
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    obs, reward, term, trunc, info = env.step(env.action_space.sample())
    assert reward.shape == term.shape == trunc.shape == (4,)
    assert all(v.shape[0] == 4 for v in obs.values())
    assert info["reward/action_rate"].shape == (4,) and info["_reward/action_rate"].all()
    env.close()


def test_episodes_truncate_at_the_time_limit_and_autoreset_next_step():
    env = make_vec("perseverance", 2, "sync")
    env.reset(seed=0)
    limit = env.unwrapped.envs[0].max_steps
    zeros = np.zeros(env.action_space.shape, np.float32)
    for _ in range(limit - 1):
        _, _, term, trunc, _ = env.step(zeros)
        assert not trunc.any() and not term.any()
    _, _, _, trunc, _ = env.step(zeros)
    assert trunc.all()
    obs, reward, term, trunc, _ = env.step(zeros)  # the autoreset step
    assert not trunc.any() and (reward == 0).all()
    assert env.unwrapped.envs[0].steps == 0
    env.close()


def test_nan_action_names_the_env_and_wrong_shape_names_the_expected():
    env = make_vec("perseverance", 3, "sync")
    env.reset(seed=0)
    bad = np.zeros((3, 2), np.float32)
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="env 2"):
        env.step(bad)
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        env.step(np.zeros((3, 7), np.float32))
    single = gym.make("spaceros/perseverance").unwrapped
    single.reset(seed=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        single.step(np.array([np.inf, 0.0], np.float32))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        single.step(np.zeros(3, np.float32))
    env.close()


def test_out_of_range_actions_are_clipped():
    a, b = make_vec("perseverance", 1, "sync"), make_vec("perseverance", 1, "sync")
    a.reset(seed=0), b.reset(seed=0)
    for _ in range(5):
        obs_a, *_ = a.step(np.full((1, 2), 50.0, np.float32))
        obs_b, *_ = b.step(np.ones((1, 2), np.float32))
    for key in obs_a:
        np.testing.assert_array_equal(obs_a[key], obs_b[key])


def test_diverging_simulation_resets_that_env_only():
    env = make_vec("perseverance", 2, "sync")
    env.reset(seed=0)
    zeros = np.zeros((2, 2), np.float32)
    env.step(zeros)
    view = env.unwrapped.backend.slices[0].view  # the slice's mujoco.batch.Batch arrays
    view.qvel[1] = 1e30  # blow env 1's state up the way an unstable controller would
    obs, reward, term, trunc, info = env.step(zeros)
    assert info["diverged"].tolist() == [False, True]
    assert all(np.isfinite(v).all() for v in obs.values())
    assert trunc.tolist() == [False, True]


def test_unknown_backend_lists_the_real_ones():
    with pytest.raises(UnknownNameError, match="Did you mean 'thread'"):
        make_vec("perseverance", 1, "threads")


@pytest.mark.parametrize("task", TASKS)
def test_rgb_array_render_shows_the_scene(task):
    env = gym.make(f"spaceros/{task}", render_mode="rgb_array", width=160, height=120)
    env.reset(seed=0)
    first = env.render()
    assert first.shape == (120, 160, 3) and first.dtype == np.uint8
    assert first.std() > 5, "a blank image"
    env.close()
