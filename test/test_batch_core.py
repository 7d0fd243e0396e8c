"""The batch-first core: a slice of worlds is one ``mujoco.batch.Batch`` whose batched task
logic (controllers, observations, reward terms, success) equals the per-env logic it replaces,
and whose physics equals a loop of ``mj_step`` to the bit."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from spaceros_procgen_envs.registry import generate_assets
from spaceros_procgen_envs.assets.types import Heightmap
from spaceros_procgen_envs.registry import get_task, list_tasks
from spaceros_procgen_envs.sim import vecmath
from spaceros_procgen_envs.sim.batchview import BatchView
from spaceros_procgen_envs.world import build_worlds
from spaceros_procgen_envs.vector.batch import allocate
from spaceros_procgen_envs.vector.batch_slice import make_slice

BATCHED = [t for t in list_tasks() if get_task(t).task_class().BATCHED]
WORLDS = 3


def _worlds(task: str):
    assets, _ = generate_assets(task, WORLDS, 5, None, workers=1, progress=False)
    return build_worlds(task, assets, 5)


@pytest.mark.parametrize("task", BATCHED)
def test_batch_step_equals_a_loop_of_mj_step_to_the_bit(task):
    envs = _worlds(task)
    for env in envs:
        env.reset(seed=1)
    view = BatchView([env.model for env in envs], nthread=2)
    for i, env in enumerate(envs):
        view.set_state(i, env.data)
    view.forward(np.arange(WORLDS))
    ctrl = np.random.default_rng(0).uniform(-1, 1, (10, WORLDS, view.model.nu))
    for step in ctrl:
        view.ctrl[:] = step
        assert not view.step().any()
        for env, row in zip(envs, step):
            env.data.ctrl[:] = row
            mujoco.mj_step(env.model, env.data, nstep=view.substeps)
    for i, env in enumerate(envs):
        assert np.array_equal(view.qpos[i], env.data.qpos)
        assert np.array_equal(view.xpos[i], env.data.xpos)


@pytest.mark.parametrize("task", BATCHED)
def test_batched_task_logic_equals_the_per_env_logic(task):
    """Same worlds, same resets, same actions: the slice (one Batch, whole-batch numpy) and
    every env on its own (SimEnv.step) give the same observations, rewards and flags."""
    envs, alone = _worlds(task), _worlds(task)
    piece = make_slice(envs)
    out = allocate(WORLDS, envs[0].observation_space, envs[0].info_keys)
    piece.reset(out, [3] * WORLDS)
    for env in alone:
        env.reset(seed=3)
    actions = np.random.default_rng(1).uniform(-1, 1, (25, WORLDS, envs[0].action_dim))
    for t, act in enumerate(actions.astype(np.float32)):
        piece.step(act, out)
        for i, env in enumerate(alone):
            obs, reward, term, trunc, info = env.step(act[i])
            for key in env.obs_keys:
                np.testing.assert_allclose(out.obs[key][i], obs[key], rtol=1e-5, atol=1e-5,
                                           err_msg=f"{task} step {t} env {i} {key}")
            assert out.rewards[i] == pytest.approx(reward, rel=1e-5, abs=1e-6)
            assert (out.terminated[i], out.truncated[i]) == (term, trunc)


def test_rotate_inverse_matches_mujoco():
    rng = np.random.default_rng(0)
    quat = rng.normal(size=(20, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    vec = rng.normal(size=(20, 3))
    out = vecmath.rotate_inverse(quat, vec)
    for q, v, o in zip(quat, vec, out):
        ref, inverse = np.zeros(3), np.zeros(4)
        mujoco.mju_negQuat(inverse, q)
        mujoco.mju_rotVecQuat(ref, v, inverse)
        np.testing.assert_allclose(o, ref, atol=1e-12)


def test_rotation_vector_turns_one_orientation_into_the_other():
    rng = np.random.default_rng(3)
    q_from, q_to = (q / np.linalg.norm(q, axis=1, keepdims=True)
                    for q in rng.normal(size=(2, 30, 4)))
    rot = vecmath.rotation_vector(q_from, q_to)
    angle = np.linalg.norm(rot, axis=1)
    assert (angle <= np.pi + 1e-12).all()
    for r, a, q0, q1 in zip(rot, angle, q_from, q_to):
        turn, out = np.zeros(4), np.zeros(4)
        mujoco.mju_axisAngle2Quat(turn, r / a, a)
        mujoco.mju_mulQuat(out, turn, q0)
        np.testing.assert_allclose(out * np.sign(out @ q1), q1, atol=1e-12)
    np.testing.assert_allclose(vecmath.rotation_vector(q_from, q_from), 0.0, atol=1e-12)
    np.testing.assert_allclose(vecmath.rotation_vector(q_from, -q_from), 0.0, atol=1e-12)


def test_mat_to_quat_round_trips():
    rng = np.random.default_rng(2)
    quat = rng.normal(size=(30, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    quat *= np.sign(quat[:, :1])
    mats = np.zeros((30, 9))
    for q, m in zip(quat, mats):
        mujoco.mju_quat2Mat(m, q)
    np.testing.assert_allclose(vecmath.mat_to_quat(mats), quat, atol=1e-12)


def test_heights_at_matches_the_heightmap():
    rng = np.random.default_rng(3)
    maps = [Heightmap(rng.normal(size=(9, 11)).astype(np.float32), (8.0, 6.0), (0, 0, 1),
                      (1, 1, 1, 1)) for _ in range(4)]
    x, y = rng.uniform(-5, 5, 4), rng.uniform(-4, 4, 4)
    got = vecmath.heights_at(np.stack([m.heights_m for m in maps]),
                             np.array([m.size_m for m in maps]), x, y)
    np.testing.assert_allclose(got, [m.height_at(a, b) for m, a, b in zip(maps, x, y)],
                               rtol=1e-6)


def test_heading_frame_and_tilt():
    yaw90 = np.array([[np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)]])  # facing +y
    np.testing.assert_allclose(vecmath.heading_frame(yaw90, np.array([0.0]), np.array([2.0])),
                               [[2.0, 0.0]], atol=1e-12)  # a goal at +y is straight ahead
    on_side = np.array([[np.cos(np.pi / 4), np.sin(np.pi / 4), 0, 0]])  # rolled 90 deg
    np.testing.assert_allclose(vecmath.tilt_cos(np.vstack([yaw90, on_side])), [1.0, 0.0],
                               atol=1e-12)


def test_assets_are_made_while_a_threaded_batch_lives(tmp_path):
    """MuJoCo's batch threads do not survive fork: with a thread-backend env open, new assets
    are made in this process instead of a forked pool that would hang."""
    import subprocess
    import sys

    code = (
        "import gymnasium as gym, numpy as np, spaceros_procgen_envs\n"
        "from spaceros_procgen_envs import forksafe\n"
        "from spaceros_procgen_envs.registry import generate_assets\n"
        "env = gym.make_vec('spaceros/ingenuity', num_envs=2, backend='thread',\n"
        "                   vectorization_mode='vector_entry_point', progress=False)\n"
        "env.reset(seed=0); env.step(np.zeros((2, 4), np.float32))\n"
        "assert forksafe.native_threads_alive()\n"
        "_, report = generate_assets('debris_capture', 3, 900, None, workers=2, progress=False)\n"
        "print(report)\n")
    env = {**__import__("os").environ, "SPACEROS_PROCGEN_CACHE_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_fork_server_workers_use_the_parents_cache_of_now(tmp_path, monkeypatch):
    """The fork server keeps the environment it started with; its workers must still build
    and cache worlds where the parent's SPACEROS_PROCGEN_CACHE_DIR points now."""
    import gymnasium

    from spaceros_procgen_envs.assets import cache

    def run(directory):
        monkeypatch.setenv(cache.ENV_VAR, str(directory))
        env = gymnasium.make_vec("spaceros/ingenuity", num_envs=2, backend="process",
                                 vectorization_mode="vector_entry_point", progress=False,
                                 start_method="forkserver")
        env.reset(seed=0)
        env.close()
        return sorted(p.name for p in directory.rglob("*.world"))

    first, second = tmp_path / "first", tmp_path / "second"
    assert run(first)
    assert run(second) == run(first), "the second batch's workers wrote into another cache"
