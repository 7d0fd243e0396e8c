"""The multi-robot core (``TeamSlice``): several rover_team worlds in one ``mujoco.batch.Batch``
step exactly as each world alone through ``parallel_env``, and a diverging world is detected by
the batch, reset alone, and reported without a NaN."""

from __future__ import annotations

import numpy as np
import pytest

from spaceros_procgen_envs.registry import generate_assets
from spaceros_procgen_envs.world import build_worlds
from spaceros_procgen_envs.team_slice import TeamSlice

pytest.importorskip("pettingzoo", reason="parallel_env needs pettingzoo: pip install pettingzoo")
from spaceros_procgen_envs import parallel_env  # noqa: E402

TASK, SEED, WORLDS, AGENTS, STEPS = "rover_team", 20, 3, 3, 40


def team(worlds: int = WORLDS, nthread: int = 2) -> TeamSlice:
    assets, _ = generate_assets(TASK, worlds, SEED, None, workers=1, progress=False)
    return TeamSlice(build_worlds(TASK, assets, SEED, num_agents=AGENTS), nthread=nthread)


def actions(steps: int = STEPS, worlds: int = WORLDS) -> np.ndarray:
    """(steps, worlds, agents, 2) random drive commands in [-1, 1]."""
    return np.random.default_rng(1).uniform(-1, 1, (steps, worlds, AGENTS, 2)).astype(np.float32)


def test_worlds_in_one_batch_step_exactly_as_each_world_alone():
    batch, plan = team(), actions()
    batch.reset(np.arange(WORLDS), [5] * WORLDS)
    seen = [batch.observe()]
    for step in plan:
        terms, success, diverged = batch.step(step)
        assert not diverged.any()
        seen.append(batch.observe())
    for i in range(WORLDS):
        env = parallel_env(TASK, num_agents=AGENTS, seed=SEED + i)
        obs, _ = env.reset(seed=5)
        for t, step in enumerate(plan):
            for k, agent in enumerate(env.possible_agents):
                for key, value in obs[agent].items():
                    np.testing.assert_array_equal(value, seen[t][key][i, k], err_msg=f"{key}")
            obs, *_ = env.step({a: step[i, k] for k, a in enumerate(env.possible_agents)})
    moved = np.linalg.norm(seen[-1]["base_pos"][..., :2] - seen[0]["base_pos"][..., :2], axis=-1)
    assert moved.min() > 0.005 and moved.max() > 0.1  # every rover drove (m)
    assert not np.array_equal(seen[-1]["base_pos"][0], seen[-1]["base_pos"][1])  # own worlds


def test_a_diverging_world_is_reset_alone_and_flagged():
    blown, calm = team(2, nthread=1), team(2, nthread=1)
    plan = actions(10, 2)
    for slice_ in (blown, calm):
        slice_.reset(np.arange(2), [0, 0])
        for step in plan[:5]:
            slice_.step(step)
    blown.view.qvel[1] = 1e30  # world 1 blows up in the next step
    terms, success, diverged = blown.step(plan[5])
    expected = calm.step(plan[5])
    np.testing.assert_array_equal(diverged, [False, True])
    assert all((term[1] == 0.0).all() for term in terms) and not success[1].any()
    for term, ref in zip(terms, expected[0]):
        np.testing.assert_array_equal(term[0], ref[0])  # world 0 goes on untouched
    obs = blown.observe()
    assert all(np.isfinite(value).all() for value in obs.values())
    assert np.abs(obs["base_lin_vel"][1]).max() < 1e-6  # world 1 starts a new episode at rest


def test_parallel_env_truncates_every_live_agent_when_the_world_diverges():
    env = parallel_env(TASK, num_agents=AGENTS, seed=SEED)
    env.reset(seed=0)
    env.step({a: np.zeros(2) for a in env.agents})
    env.team.view.qvel[0] = np.nan
    obs, rewards, terminated, truncated, infos = env.step({a: np.zeros(2) for a in env.agents})
    assert set(obs) == set(env.possible_agents) and env.agents == []
    assert all(truncated.values()) and not any(terminated.values())
    assert all(info["diverged"] and not info["is_success"] for info in infos.values())
    assert all(r == 0.0 for r in rewards.values())
    assert all(np.isfinite(v).all() for o in obs.values() for v in o.values())
    obs, _ = env.reset(seed=0)
    assert env.agents == env.possible_agents
    assert np.isfinite(env.step({a: np.zeros(2) for a in env.agents})[1]["robot0"])


def test_agent_axis_gives_each_rover_what_its_own_batched_methods_give():
    batch = team(2, nthread=1)
    batch.reset(np.arange(2), [3, 4])
    for step in actions(5, 2):
        batch.step(step)
    task, v = batch.task, batch.view
    pos, quat = task.poses_batch(v)
    obs = task.observe_batch(v)
    for k, robot in enumerate(task.robots):
        own_pos, own_quat = robot.base_pose_batch(v)
        np.testing.assert_array_equal(pos[:, k], own_pos)
        np.testing.assert_array_equal(quat[:, k], own_quat)
        for key, value in robot.observe_batch(v).items():
            np.testing.assert_array_equal(obs[key][:, k], value, err_msg=key)
    drive = actions(1, 2)[0]
    task.control_batch(v, drive)
    together = v.ctrl.copy()
    v.ctrl[:] = 0.0
    for k, robot in enumerate(task.robots):
        robot.control_batch(v, drive[:, k])
    np.testing.assert_array_equal(together, v.ctrl)
    assert np.abs(together).max() > 0.1


def test_agent_axis_refuses_robots_that_differ():
    from spaceros_procgen_envs.tasks.rover_team.axis import AgentAxis

    model = team(1, nthread=1).view.model
    with pytest.raises(ValueError, match="expected identical robots"):
        AgentAxis(model, ["robot0/", "no_such_robot/"])


def test_each_world_reads_its_live_state_from_its_batch_row():
    batch = team(2, nthread=1)
    batch.reset(np.arange(2), [0, 1])
    batch.step(actions(1, 2)[0])
    for i, world in enumerate(batch.worlds):
        np.testing.assert_array_equal(world.live.qpos, batch.view.qpos[i])
        assert world.live.time == batch.view.time[i] > 0.0
