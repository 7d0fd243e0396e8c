"""train.py, eval.py and agent_policy.py as a user runs them: real processes, real ROS 2.

* agent_policy.py --lockstep drives the node (its own, or run_spaceros.py with --connect) with
  exactly the actions eval.py takes on the same seeds, across an episode's end;
* bad --policy paths, a policy for another task and a missing torch are one line, exit 2.

Needs the ``rl`` extra (torch, stable-baselines3) and rclpy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("stable_baselines3", reason="the rl extra is not installed: pip install '.[rl]'")

from spaceros_procgen_envs.rl.bundle import HELD_OUT_SEED_OFFSET  # noqa: E402
from spaceros_procgen_envs.rl.training import TrainConfig, train  # noqa: E402

from .conftest import script_cmd  # noqa: E402
from .ros_helpers import ros_domain, spawn  # noqa: E402,F401

TRAIN_SEED = 3
EPISODE_STEPS = 1500  # ingenuity's time limit (30 s at 50 Hz): the runs below cross its end


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    run = tmp_path_factory.mktemp("rl") / "run"
    policy_dir, _ = train(TrainConfig(task="ingenuity", num_envs=2, steps=64, seed=TRAIN_SEED,
                                      run_dir=str(run), backend="sync", eval_envs=0,
                                      max_episode_steps=20))
    return policy_dir


def run_script(name: str, *args: str, timeout: float = 300, **kwargs):
    return subprocess.run(script_cmd(name, *args), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)


def assert_one_line_exit_2(proc, *needles: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_lockstep_agent_takes_exactly_eval_actions_across_an_episode_end(policy, spawn, tmp_path):
    steps = str(EPISODE_STEPS + 3)  # the last step of the episode, the autoreset step, two more
    common = ("--policy", str(policy), "--num_envs", "2", "--backend", "sync", "--steps", steps)
    ours = run_script("eval.py", *common, "--save_actions", str(tmp_path / "eval.npy"))
    assert ours.returncode == 0, ours.stderr
    assert "2 episodes on 2 held-out worlds" in ours.stdout
    agent = spawn("agent_policy.py", *common, "--lockstep", "--headless",
                  "--save_actions", str(tmp_path / "ros.npy"))
    assert agent.wait(300) == 0, agent.stderr()
    expected, got = np.load(tmp_path / "eval.npy"), np.load(tmp_path / "ros.npy")
    assert expected.shape == (EPISODE_STEPS + 3, 2, 4)
    np.testing.assert_array_equal(got, expected)
    assert np.abs(expected).max() > 0  # a policy that acts, not zeros


def test_lockstep_agent_with_connect_matches_eval_on_the_node_seeds(policy, spawn, tmp_path):
    seed = str(TRAIN_SEED + HELD_OUT_SEED_OFFSET)
    node = spawn("run_spaceros.py", "--task", "ingenuity", "--num_envs", "2", "--seed", seed,
                 "--backend", "sync", "--lockstep", "--headless")
    ours = run_script("eval.py", "--policy", str(policy), "--num_envs", "2", "--steps", "40",
                      "--backend", "sync", "--save_actions", str(tmp_path / "eval.npy"))
    assert ours.returncode == 0, ours.stderr
    agent = spawn("agent_policy.py", "--policy", str(policy), "--connect", "--connect_timeout",
                  "120", "--steps", "40", "--save_actions", str(tmp_path / "ros.npy"))
    assert agent.wait(300) == 0, agent.stderr() + node.stderr()
    np.testing.assert_array_equal(np.load(tmp_path / "ros.npy"), np.load(tmp_path / "eval.npy"))


@pytest.mark.parametrize("script", ["eval.py", "agent_policy.py"])
def test_bad_policy_paths_and_another_task_are_one_line_exit_2(policy, script, tmp_path):
    assert_one_line_exit_2(run_script(script, "--policy", str(tmp_path / "nothing")),
                           "no such file or folder")
    assert_one_line_exit_2(run_script(script, "--policy", str(tmp_path)), "not a saved policy")
    assert_one_line_exit_2(run_script(script, "--policy", str(policy), "--task", "perseverance"),
                           "trained on --task ingenuity, not --task perseverance")
    broken = tmp_path / "broken"
    shutil.copytree(policy, broken)
    (broken / "model.zip").write_bytes((policy / "model.zip").read_bytes()[:100])
    assert_one_line_exit_2(run_script(script, "--policy", str(broken)),
                           "cannot load it")


@pytest.fixture
def without_torch(tmp_path):
    """An environment whose ``import torch`` fails as on a machine without it (a ``torch``
    package earlier on the path that raises the same ImportError)."""
    shadow = tmp_path / "shadow" / "torch"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    import os

    env = dict(os.environ, PYTHONPATH=str(shadow.parent))
    env.pop("SPACEROS_PROCGEN_INSTALL_RL", None)
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True)
    assert probe.returncode != 0
    return env


def test_missing_torch_is_one_line_exit_2_naming_the_install(policy, without_torch):
    for script, args in [("train.py", ("--task", "ingenuity", "--steps", "64")),
                         ("eval.py", ("--policy", str(policy))),
                         ("agent_policy.py", ("--policy", str(policy)))]:
        proc = run_script(script, *args, env=without_torch, timeout=120)
        assert_one_line_exit_2(proc, "torch", "pip install", "[rl]")


def test_train_script_trains_saves_and_evaluates_held_out(tmp_path):
    run = tmp_path / "run"
    proc = run_script("train.py", "--task", "ingenuity", "--num_envs", "2", "--steps", "64",
                      "--backend", "sync", "--run_dir", str(run), "--eval_envs", "2",
                      "--eval_steps", "10", "--seed", "9")
    assert proc.returncode == 0, proc.stderr
    assert "100%" in proc.stdout and "env-steps/s" in proc.stdout
    summary = [line for line in proc.stdout.splitlines() if "held-out" in line]
    assert len(summary) == 1 and f"seeds {9 + HELD_OUT_SEED_OFFSET}.." in summary[0]
    for name in ("progress.csv", "learning_curve.png", "eval.json", "policy/model.zip",
                 "policy/vecnormalize.pkl", "policy/policy.json", "checkpoints/latest"):
        assert (run / name).is_file(), name
    again = run_script("train.py", "--task", "ingenuity", "--run_dir", str(run), "--steps", "64")
    assert_one_line_exit_2(again, "already holds a run", "--resume")


def test_real_time_agent_answers_every_observation_and_stops_after_steps(policy, spawn):
    agent = spawn("agent_policy.py", "--policy", str(policy), "--num_envs", "2", "--steps", "50",
                  "--backend", "sync", "--headless")
    assert agent.wait(300) == 0, agent.stderr()
    assert "done, 50 steps x 2 envs" in agent.stdout(), agent.stdout()
