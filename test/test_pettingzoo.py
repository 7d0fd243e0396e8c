"""PettingZoo contract and behaviour of every multi-robot task (``parallel_env``)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest

import spaceros_procgen_envs
from spaceros_procgen_envs import get_task, list_tasks, parallel_env
from spaceros_procgen_envs.errors import UnknownNameError

pettingzoo = pytest.importorskip("pettingzoo", reason="pip install pettingzoo")
from pettingzoo.test import parallel_api_test  # noqa: E402

MULTI = list_tasks(multi_agent=True)
ROVER_TEAMS = [name for name in MULTI if get_task(name).robot_kind == "rover"]


def to_waypoint(obs: dict, sign: float = 1.0) -> np.ndarray:
    """Steer towards the waypoint (``sign`` -1: reverse away from it), [lin_vel, ang_vel]."""
    x, y = obs["target_rel"]
    bearing = np.arctan2(y, x)
    return np.array([sign * max(np.cos(bearing), 0.0), np.clip(2.0 * bearing, -1, 1)], np.float32)


def positions(env) -> np.ndarray:
    return np.array([r.base_pose(env.model, env.data)[0] for r in env.task.robots])


def rollout(env, seed: int, actions: np.ndarray) -> list:
    """(obs, rewards, terminated, truncated) of every step of ``actions`` (steps, agents, dim)."""
    out = [env.reset(seed=seed)[0]]
    for step in actions:
        out.append(env.step({a: step[k] for k, a in enumerate(env.possible_agents)
                             if a in env.agents})[:4])
    return out


def test_multi_robot_tasks_are_listed_apart_and_have_no_gym_id():
    assert "rover_team" in MULTI and "rover_team" not in list_tasks()
    assert all(f"spaceros/{name}" not in gym.registry for name in MULTI)


def test_package_imports_without_pettingzoo_and_says_how_to_install():
    code = ("import sys; sys.modules['pettingzoo'] = None\n"
            "import spaceros_procgen_envs as s\n"
            "from spaceros_procgen_envs.multi_agent import PettingZooUnavailableError\n"
            "try:\n    s.parallel_env()\nexcept PettingZooUnavailableError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install pettingzoo" in out.stdout and out.stdout.count("\n") == 1
    code = "import sys, spaceros_procgen_envs; print('pettingzoo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("task", MULTI)
def test_parallel_api(task):
    env = parallel_env(task, seed=1, time_limit_s=2.0)  # 100 steps: truncation is exercised
    assert isinstance(env, pettingzoo.ParallelEnv)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "live agent was not given ..." etc. are failures here
        parallel_api_test(env, num_cycles=150)
    assert env.agents == []
    env.reset(seed=0)
    assert env.state().shape == env.state_space.shape and np.isfinite(env.state()).all()


@pytest.mark.parametrize("task", MULTI)
def test_same_seed_same_rollout(task):
    a, b = parallel_env(task, seed=7), parallel_env(task, seed=7)
    dim = a.action_space(a.possible_agents[0]).shape[0]
    actions = np.random.default_rng(0).uniform(-1, 1, (60, len(a.possible_agents), dim))
    first, second, again = rollout(a, 3, actions), rollout(b, 3, actions), rollout(a, 3, actions)
    for x, y, z in zip(first[1:], second[1:], again[1:]):
        assert x[1:] == y[1:] == z[1:]  # rewards, terminated, truncated
        for agent, obs in x[0].items():
            for key, value in obs.items():
                np.testing.assert_array_equal(value, y[0][agent][key])
                np.testing.assert_array_equal(value, z[0][agent][key])
    assert np.ptp([s[0]["robot0"]["base_pos"] for s in first[1:]], axis=0).max() > 0.05


@pytest.mark.parametrize("task", MULTI)
def test_different_seeds_give_different_worlds(task):
    a, b = parallel_env(task, seed=7), parallel_env(task, seed=8)
    assert not np.array_equal(a.model.hfield_data, b.model.hfield_data)
    obs_a, obs_b = a.reset(seed=0)[0], b.reset(seed=0)[0]
    assert not np.array_equal(obs_a["robot0"]["base_pos"], obs_b["robot0"]["base_pos"])
    assert not np.array_equal(obs_a["robot0"]["base_pos"], a.reset(seed=1)[0]["robot0"]["base_pos"])


@pytest.mark.parametrize("task", ROVER_TEAMS)
@pytest.mark.parametrize("num_agents", [2, 4])
def test_team_size_and_spawn_apart(task, num_agents):
    env = parallel_env(task, num_agents=num_agents, seed=2)
    obs, _ = env.reset(seed=0)
    assert env.possible_agents == [f"robot{k}" for k in range(num_agents)] == env.agents
    assert obs["robot0"]["teammates_rel"].shape == (2 * (num_agents - 1),)
    xy = positions(env)[:, :2]
    gaps = [np.linalg.norm(xy[i] - xy[j]) for i in range(num_agents) for j in range(i)]
    assert min(gaps) > 4.0  # a rover is 2.8 m x 2.7 m


@pytest.mark.parametrize("task", ROVER_TEAMS)
def test_each_action_moves_only_its_own_rover(task):
    env = parallel_env(task, seed=3)
    drive = {a: np.zeros(2, np.float32) for a in env.possible_agents}
    env.reset(seed=0)
    for _ in range(50):
        env.step(drive)
    still = positions(env)
    env.reset(seed=0)
    start = positions(env)
    drive["robot0"] = np.array([1.0, 0.0], np.float32)
    for _ in range(50):  # 1 s at up to 1 m/s
        env.step(drive)
    moved = positions(env)
    assert np.linalg.norm(moved[0, :2] - start[0, :2]) > 0.5
    assert np.abs(moved[1:] - still[1:]).max() < 1e-3


@pytest.mark.parametrize("task", ROVER_TEAMS)
def test_driving_at_the_waypoint_earns_progress(task):
    env = parallel_env(task, seed=4)
    obs, _ = env.reset(seed=0)
    progress = dict.fromkeys(env.possible_agents, 0.0)
    sign = {"robot0": 1.0, "robot1": -1.0, "robot2": 0.0}  # towards, away, parked
    for _ in range(100):
        actions = {a: sign[a] * to_waypoint(obs[a]) for a in env.agents}
        obs, rewards, *_, infos = env.step(actions)
        assert all(np.isfinite(r) for r in rewards.values())
        for a in env.possible_agents:
            progress[a] += infos[a]["reward/progress"] * env.dt  # m approached
    assert progress["robot0"] > 0.8 and progress["robot1"] < -0.3
    assert abs(progress["robot2"]) < 0.05


@pytest.mark.parametrize("task", ROVER_TEAMS)
def test_agents_that_reach_their_waypoint_leave_and_park(task):
    env = parallel_env(task, seed=5)
    obs, _ = env.reset(seed=0)
    for _ in range(1200):
        live = list(env.agents)
        obs, rewards, terminated, truncated, infos = env.step(
            {a: to_waypoint(obs[a]) for a in env.agents})
        assert set(obs) == set(rewards) == set(terminated) == set(infos) == set(live)
        done = [a for a in live if terminated[a]]
        if done:
            break
    else:
        pytest.fail("no rover reached its waypoint in 24 s")
    assert all(infos[a]["is_success"] for a in done)
    assert env.agents == [a for a in live if a not in done]
    with pytest.raises(ValueError, match="not live"):
        env.step({a: np.zeros(2) for a in live})
    for _ in range(100):
        if env.agents:
            obs, *_ = env.step({a: to_waypoint(obs[a]) for a in env.agents})
    parked = env.task.robots[env.possible_agents.index(done[0])]
    assert np.linalg.norm(parked.observe(env.model, env.data)["base_lin_vel"]) < 0.1


@pytest.mark.parametrize("task", ROVER_TEAMS)
def test_rovers_collide_with_each_other(task):
    env = parallel_env(task, num_agents=2, seed=6)  # spawned opposite each other, facing out
    env.reset(seed=0)
    reverse = {a: np.array([-1.0, 0.0], np.float32) for a in env.possible_agents}
    closest, bumped = np.inf, False
    for _ in range(400):  # 8 s reversing towards each other
        *_, infos = env.step(reverse)
        xy = positions(env)[:, :2]
        closest = min(closest, np.linalg.norm(xy[0] - xy[1]))
        bumped |= infos["robot0"]["reward/bump"] < 0
    assert bumped and closest > 1.5


def test_time_limit_truncates_every_agent():
    env = parallel_env("rover_team", seed=1, time_limit_s=0.1)  # 5 steps
    env.reset(seed=0)
    for step in range(5):
        *_, truncated, _ = env.step({a: np.zeros(2) for a in env.agents})
    assert all(truncated.values()) and len(truncated) == 3 and env.agents == []


def test_bad_input_is_refused_with_what_was_expected():
    with pytest.raises(ValueError, match="num_agents must be an int from 2 to 4"):
        parallel_env("rover_team", num_agents=5)
    with pytest.raises(UnknownNameError, match="rover_team"):
        parallel_env("perseverance")
    env = parallel_env("rover_team", seed=1)
    env.reset(seed=0)
    with pytest.raises(UnknownNameError, match="robot1"):
        env.action_space("robot_1")
    actions = {a: np.zeros(2) for a in env.agents}
    with pytest.raises(ValueError, match="agent 'robot1'.*NaN"):
        env.step({**actions, "robot1": np.array([np.nan, 0.0])})
    with pytest.raises(ValueError, match=r"agent 'robot2'.*shape \(2,\)"):
        env.step({**actions, "robot2": np.zeros(3)})
    with pytest.raises(ValueError, match="missing"):
        env.step({"robot0": np.zeros(2)})
    assert spaceros_procgen_envs.parallel_env is parallel_env


def test_rgb_array_render_shows_the_team():
    env = parallel_env("rover_team", seed=1, render_mode="rgb_array", width=160, height=120)
    env.reset(seed=0)
    image = env.render()
    assert image.shape == (120, 160, 3) and image.dtype == np.uint8 and image.std() > 5
    env.close()
