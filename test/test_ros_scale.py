"""A node of many envs: per-env topics for the first ``per_env_topics`` envs only (every env is on
the batched envs/* topics), so it starts and shuts down quickly at any N. Real processes, DDS."""

from __future__ import annotations

import signal
import time

import pytest

from .ros_helpers import alive, client, descendants, latest_info, ros_domain, spawn  # noqa: F401
from .ros_helpers import wait_for_node

from std_msgs.msg import Float32MultiArray  # noqa: E402  (after the rclpy skip)


def _topics(client, timeout: float = 10.0, expect: str = "/env0/robot/pose") -> set[str]:
    names: set[str] = set()

    def seen() -> bool:
        names.update(name for name, _ in client.node.get_topic_names_and_types())
        return expect in names

    client.spin_until(seen, timeout)
    client.spin_for(1.0)
    seen()
    return names


def test_per_env_topics_stop_at_the_cap_and_envs_topics_serve_every_env(spawn, client):
    proc = spawn("run_spaceros.py", "--num_envs", "3", "--per_env_topics", "2", "--lockstep")
    infos = wait_for_node(client, proc)
    assert latest_info(infos)["num_envs"] == 3
    names = _topics(client)
    assert {"/env0/robot/pose", "/env1/robot/pose", "/env1/reward"} <= names
    assert not any(name.startswith("/env2/") for name in names), sorted(names)
    services = {name for name, _ in client.node.get_service_names_and_types()}
    assert "/env1/reset" in services and "/env2/reset" not in services
    observations = client.record(Float32MultiArray, "envs/observation")
    client.publish(Float32MultiArray, "envs/action", Float32MultiArray(data=[0.0] * 6))
    assert client.spin_until(lambda: observations, 20), "no envs/observation after a step"
    assert observations[-1].layout.dim[0].size == 3, "envs/observation covers every env"
    assert "the first 2 envs: per_env_topics" in proc.stderr()


def test_a_node_of_many_envs_starts_steps_and_exits_cleanly(spawn, client):
    """128 envs (64 with their own topics): it steps, and Ctrl-C ends it, and every process it
    started, within 2 s with exit code 0."""
    proc = spawn("run_spaceros.py", "--num_envs", "128", "--lockstep")
    wait_for_node(client, proc, timeout=240)
    names = _topics(client, expect="/env63/robot/pose")
    assert "/env63/robot/pose" in names and "/env64/robot/pose" not in names
    observations = client.record(Float32MultiArray, "envs/observation")
    client.publish(Float32MultiArray, "envs/action", Float32MultiArray(data=[0.0] * 256))
    assert client.spin_until(lambda: observations, 30)
    assert observations[-1].layout.dim[0].size == 128
    children = descendants(proc.pid)
    start = time.monotonic()
    proc.signal(signal.SIGINT)
    code = proc.wait(10)
    took = time.monotonic() - start
    assert code == 0, proc.stderr()[-2000:]
    assert took < 2.0 + 0.5, f"shutdown took {took:.2f} s"  # 0.5 s: waitpid of a loaded host
    assert not [pid for pid in children if alive(pid)]
