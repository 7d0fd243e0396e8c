"""The random and zero agents as users run them: real processes, real DDS, own ROS domain."""

from __future__ import annotations

import io
import os
import pty
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from spaceros_procgen_envs import get_task, list_tasks
from spaceros_procgen_envs.ros.agents import RewardStats, StatusLine, make_policy
from spaceros_procgen_envs.vector.backends import BACKENDS

from .ros_helpers import (ROOT, alive, client, descendants, latest_info, ros_domain,  # noqa: F401
                          spawn, wait_for_node)
from .teleop_helpers import NEEDS_X, domain_id, teleop_env, xvfb

DONE = re.compile(r"done, (\d+) steps x (\d+) envs")


def done_steps(text: str) -> tuple[int, int]:
    match = DONE.search(text)
    assert match, f"no final status line in:\n{text}"
    return int(match.group(1)), int(match.group(2))


@pytest.mark.parametrize("task", list_tasks())
def test_agent_random_runs_every_task(spawn, task):
    proc = spawn("agent_random.py", "--task", task, "--num_envs", "2", "--steps", "50",
                 "--realtime_factor", "2", "--headless")
    code = proc.wait(90)
    if get_task(task).multi_agent:  # PettingZoo-only tasks are refused as an argument error
        assert code == 2 and "parallel_env" in proc.stderr(), proc.stderr()
        return
    assert code == 0, proc.stderr()
    steps, envs = done_steps(proc.stdout())
    assert steps >= 50 and envs == 2
    assert "Traceback" not in proc.stderr()


def test_agent_zero_connects_to_a_running_node_in_lockstep(spawn, client):
    node = spawn("run_spaceros.py", "--num_envs", "3", "--lockstep")
    infos = wait_for_node(client, node)
    agent = spawn("agent_zero.py", "--connect", "--steps", "30")
    assert agent.wait(60) == 0, agent.stderr()
    assert done_steps(agent.stdout()) == (30, 3), "the node's num_envs, flags not given"
    client.spin_until(lambda: latest_info(infos)["step"] >= 30, 5)
    assert latest_info(infos)["step"] == 30, "lockstep: one step per published action"
    assert node.proc.poll() is None, "the agent leaves the node running"


def test_agent_connect_without_a_node_fails_in_one_line(spawn):
    agent = spawn("agent_random.py", "--connect", "--connect_timeout", "1",
                  "--ros-args", "-r", "__ns:=/nobody_here")  # immune to other tests' nodes
    assert agent.wait(30) == 1
    err = agent.stderr().strip()
    assert err.count("\n") == 0 and "run_spaceros.py" in err, err


@pytest.mark.parametrize("argv, fragment", [
    (["--num_envs", "0"], "--num_envs"),
    (["--realtime_factor", "0"], "--realtime_factor"),
    (["--steps", "-3"], "--steps"),
    (["--duration", "nan"], "--duration"),
    (["--task", "perseverence"], "did you mean 'perseverance'"),
    (["--backend", "gpu"], "--backend"),
])
def test_agent_bad_arguments_exit_2_in_one_line(argv, fragment):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "agent_random.py"), *argv],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert fragment.lower() in result.stderr.lower() and result.stderr.count("\n") == 1, \
        result.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_agent_stops_on_signal_within_2_s(spawn, signum):
    proc = spawn("agent_random.py", "--num_envs", "2", "--backend", "process"
                 if "process" in BACKENDS else "thread")
    end = time.monotonic() + 60
    while "spaceros_procgen_envs]" not in proc.stderr() and proc.proc.poll() is None:
        assert time.monotonic() < end, proc.stderr()
        time.sleep(0.05)
    time.sleep(0.5)
    kids = descendants(proc.pid)
    assert kids or "process" not in BACKENDS, "the process backend's workers run"
    t0 = time.monotonic()
    if signum == signal.SIGINT:  # Ctrl-C reaches the whole foreground process group
        os.killpg(proc.pid, signum)
    else:
        proc.signal(signum)
    assert proc.wait(5) == 0, proc.stderr()
    assert time.monotonic() - t0 < 2.0
    assert not [k for k in kids if alive(k)]
    assert "done," in proc.stdout()


def test_status_counts_episodes_and_averages_rewards_per_env_step():
    stats, out = RewardStats(), io.StringIO()
    stats.add_rewards([1.0, 3.0])
    stats.add_dones(bytes([1, 0]))
    stats.add_dones(bytes([1, 1]))
    status = StatusLine("agent", 2, out)
    status.update(10, stats, force=True)
    assert "episodes 3" in out.getvalue() and "mean reward +2.0000" in out.getvalue()
    stats.add_rewards([-1.0, -1.0])
    status.finish(11, 2.0, stats)
    last = out.getvalue().splitlines()[-1]
    assert "done, 11 steps x 2 envs" in last and "mean reward +0.5000" in last, last
    assert len(out.getvalue().splitlines()) == 2, "not a terminal: one line per update"


def test_random_policy_samples_the_action_space_per_env_and_zero_is_zero():
    actions = make_policy("random", 4, 7, seed=0)()
    assert actions.shape == (4, 7) and actions.dtype == np.float32
    assert (np.abs(actions) <= 1).all() and len({tuple(row) for row in actions}) == 4
    np.testing.assert_array_equal(make_policy("random", 4, 7, seed=0)(), actions)
    assert not make_policy("zero", 4, 7, seed=0)().any()


def test_status_line_is_rewritten_in_place_on_a_terminal(ros_domain):
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "agent_zero.py"),
                             "--duration", "2.5", "--realtime_factor", "2"],
                            stdout=follower, stderr=subprocess.DEVNULL, cwd=ROOT)
    os.close(follower)
    chunks = []
    try:
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    out = b"".join(chunks).decode(errors="replace")
    assert out.count("\r") >= 4 and "steps/s" in out and "mean reward" in out, out
    assert out.count("\n") <= 2, "one line, rewritten in place, then the final summary"


@NEEDS_X
def test_agent_opens_the_viewer_on_a_display_and_not_when_headless():
    from .conftest import script_cmd

    with xvfb() as display:
        for flags, expect_viewer in (((), True), (("--headless",), False)):
            env = teleop_env(domain_id(), DISPLAY=display)
            proc = subprocess.run(script_cmd("agent_zero.py", "--num_envs", "2", "--steps", "60",
                                             *flags), env=env, capture_output=True, text=True,
                                  timeout=180)
            assert proc.returncode == 0, proc.stderr[-2000:]
            assert ("viewer: showing env 0 of 2" in proc.stdout + proc.stderr) == expect_viewer
