"""The arm tasks' batched methods against their per-env ones, on real worlds in one real Batch.

A slice of procedural worlds runs in one ``mujoco.batch.Batch`` (through BatchView) beside the
same worlds as per-env ``MjData``. Driven by the same controls, the states are bit-identical,
so the batched observations, reward terms and success must equal the per-env ones; the batched
controller (its Jacobian built from the links' axes, the per-env one from ``mj_jacSite``) must
give the same joint targets to rounding, and drive the TCP as the per-env one does.
"""

from __future__ import annotations

import functools
import gc
import weakref

import numpy as np
import pytest

from spaceros_procgen_envs import list_tasks
from spaceros_procgen_envs.registry import generate_assets
from spaceros_procgen_envs.registry import get_task
from spaceros_procgen_envs.sim.batchview import BatchView
from spaceros_procgen_envs.world import build_worlds
from spaceros_procgen_envs.tasks.manipulation import ManipulationTask

WORLDS = 3
ARM_TASKS = [t for t in list_tasks() if issubclass(get_task(t).task_class(), ManipulationTask)]


@functools.lru_cache(maxsize=None)
def _assets(task: str):
    return generate_assets(task, WORLDS, 0, None, workers=1, progress=False)[0]


def make_slice(task: str, seed: int = 0):
    """(per-env SimEnvs, BatchView over their models, the lead task), all reset alike."""
    envs = build_worlds(task, _assets(task), 0)
    view = BatchView([env.model for env in envs])
    lead = envs[0].task
    view.const = _stack([env.task.batch_constants() for env in envs])
    for i, env in enumerate(envs):
        env.reset(seed=seed + i)
        view.set_state(i, env.data)
    view.forward(np.arange(WORLDS))
    view.episode = _stack([env.task.episode_state(env.model, env.data) for env in envs])
    return envs, view, lead


def _stack(rows: list[dict]) -> dict[str, np.ndarray]:
    return {key: np.stack([row[key] for row in rows]) for key in rows[0]}


def _per_env_step(envs, view, actions):
    """Per-env controller and physics; the batch steps with the very same controls."""
    prev = np.stack([env.prev_action for env in envs])
    for env, action in zip(envs, actions):
        env.begin(action)
    view.ctrl[:] = np.stack([env.data.ctrl for env in envs])
    assert not view.step().any()
    for env in envs:
        env.physics()
    results = [env.finish(action) for env, action in zip(envs, actions)]
    return prev, results


def _assert_obs_equal(lead, view, envs):
    batch = lead.observe_batch(view)
    rows = [env.task.observe(env.model, env.data) for env in envs]
    assert set(batch) == set(rows[0])
    for key, value in batch.items():
        assert value.dtype == np.float32 and value.shape == (WORLDS, *rows[0][key].shape), key
        np.testing.assert_allclose(value, np.stack([r[key] for r in rows]), atol=1e-6, err_msg=key)


@pytest.mark.parametrize("task", ARM_TASKS)
def test_batch_observations_terms_and_success_equal_the_per_env_ones(task):
    envs, view, lead = make_slice(task)
    _assert_obs_equal(lead, view, envs)
    rng = np.random.default_rng(7)
    for step in range(30):
        actions = rng.uniform(-1, 1, (WORLDS, 7)).astype(np.float32)
        prev, results = _per_env_step(envs, view, actions)
        np.testing.assert_array_equal(view.qpos, np.stack([env.data.qpos for env in envs]))
        _assert_obs_equal(lead, view, envs)
        terms = lead.reward_terms_batch(view, actions, prev)
        assert len(terms) == len(lead.reward_names) and all(t.shape == (WORLDS,) for t in terms)
        np.testing.assert_allclose(np.stack(terms, 1), [r[0] for r in results], rtol=1e-12,
                                   atol=1e-12)
        np.testing.assert_array_equal(lead.success_batch(view), [r[1] for r in results])


def test_the_batched_grasp_sees_the_held_peg():
    envs, view, lead = make_slice("peg_in_hole")
    assert lead.batch_state(view)["grasped"].all()
    for _ in range(5):
        _per_env_step(envs, view, np.tile([0, 0, 0, 0, 0, 0, 1.0], (WORLDS, 1)).astype(np.float32))
    assert lead.observe_batch(view)["grasped"].tolist() == [[1.0]] * WORLDS
    for _ in range(25):  # open: the peg drops
        _per_env_step(envs, view, np.tile([0, 0, 0, 0, 0, 0, -1.0], (WORLDS, 1)).astype(np.float32))
    assert not lead.batch_state(view)["grasped"].any()
    assert not any(env.task.grasped(env.data) for env in envs)


@pytest.mark.parametrize("task", ARM_TASKS)
def test_batch_control_gives_the_per_env_joint_targets(task):
    envs, view, lead = make_slice(task)
    rng = np.random.default_rng(3)
    for _ in range(20):
        actions = rng.uniform(-1, 1, (WORLDS, 7)).astype(np.float32)
        before = view.ctrl.copy()
        lead.control_batch(view, actions)
        batch = view.ctrl.copy()
        view.ctrl[:] = before
        _per_env_step(envs, view, actions)
        per_env = np.stack([env.data.ctrl for env in envs])
        arm = lead.robot._act_slice
        change = np.abs(per_env[:, arm] - before[:, arm]).max()
        assert change > 0.0
        assert np.abs(batch[:, arm] - per_env[:, arm]).max() <= 1e-9 * change
        np.testing.assert_array_equal(batch[:, lead.robot._grip_act], per_env[:, lead.robot._grip_act])


@pytest.mark.parametrize("task", ["sample_collection", "gateway"])
def test_batch_control_moves_the_tcp_like_the_per_env_controller(task):
    envs, view, lead = make_slice(task)
    start = lead.robot.ee_pos_batch(view).copy()
    actions = np.tile([1.0, 0, 0, 0, 0, 0, -1], (WORLDS, 1)).astype(np.float32)
    for _ in range(25):  # 0.5 s at full +x speed
        lead.control_batch(view, actions)
        assert not view.step().any()
        for env, action in zip(envs, actions):
            env.begin(action)
            env.physics()
    moved = lead.robot.ee_pos_batch(view) - start
    speed = lead.robot.cfg.max_lin_speed_mps
    assert np.all(moved[:, 0] > 0.8 * speed * 0.5), moved
    assert np.abs(moved[:, 1:]).max() < 0.05 * speed * 0.5 * 4, moved
    per_env = np.stack([env.task.ee_pos(env.data) for env in envs]) - start
    np.testing.assert_allclose(moved, per_env, atol=1e-6)


def test_joint_state_and_base_pose_batches_equal_the_per_env_ones():
    envs, view, lead = make_slice("sample_collection")
    rng = np.random.default_rng(5)
    for _ in range(5):
        _per_env_step(envs, view, rng.uniform(-1, 1, (WORLDS, 7)).astype(np.float32))
    for got, want in zip(lead.robot.joint_state_batch(view),
                         zip(*[env.task.robot.joint_state(env.model, env.data) for env in envs])):
        assert got.shape == (WORLDS, 9)
        np.testing.assert_array_equal(got, np.stack(want))
    for got, want in zip(lead.robot.base_pose_batch(view),
                         zip(*[env.task.robot.base_pose(env.model, env.data) for env in envs])):
        np.testing.assert_array_equal(got, np.stack(want))


def test_a_memoised_batch_state_does_not_keep_the_view_alive():
    """A cycle view -> memo -> state -> view would keep the Batch (and its threads) alive after
    the slice closes; a fork for asset generation then hangs."""
    envs, view, lead = make_slice("sample_collection")
    assert lead.batch_state(view)["grasped"].shape == (WORLDS,)
    ref = weakref.ref(view)
    gc.disable()
    try:
        del view
        assert ref() is None, "the view outlived its last reference"
    finally:
        gc.enable()
