"""ROS mode of ``benchmark.py``: the node in its own process, an agent in this one.

* lockstep: the agent publishes ``envs/action`` (N x dim) and waits for the step's batched
  ``envs/observation`` and ``envs/reward`` before the next one, the way an RL agent over ROS
  runs; env-steps/s of that loop is compared with the Python API's.
* real time: the node steps at 50 Hz with an agent publishing; the achieved rate is what the
  node reports in ``envs/info``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from . import require_rclpy

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


class _Node:
    """``run_spaceros.py`` in a subprocess on its own ROS domain; stopped with SIGINT."""

    def __init__(self, task: str, num_envs: int, domain_id: int, *flags: str):
        env = {**os.environ, "ROS_DOMAIN_ID": str(domain_id),
               "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
        cmd = [sys.executable, str(SCRIPTS / "run_spaceros.py"), "--task", task, "--num_envs",
               str(num_envs), "--backend", "thread", *flags]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class _Agent:
    """The agents' own node (``agent_random.py`` uses it too), spun on a thread of this process."""

    def __init__(self, domain_id: int):
        require_rclpy()
        import rclpy

        from .agents import _agent_node_class
        from .launcher import make_executor

        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = _agent_node_class()("spaceros_benchmark_agent", context=self.context)
        self.executor = make_executor(self.context)
        self.executor.add_node(self.node)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        while not self.stop.is_set():
            self.executor.spin_once(timeout_sec=0.05)

    def wait_ready(self, timeout_s: float = 120.0) -> dict:
        """Wait for the node's ``envs/info`` and for every batch topic to be matched."""
        node = self.node
        if not node.wait(lambda: node.info is not None, timeout_s, self.stop):
            raise RuntimeError("the ROS node did not come up")
        node.watch()
        if not node.wait(node.matched, timeout_s, self.stop):
            raise RuntimeError("the ROS node's topics did not connect")
        return node.info

    def lockstep(self, actions: np.ndarray) -> float:
        """Send each (N, dim) action and wait for its step (one /clock tick); env-steps/s."""
        node, start = self.node, time.perf_counter()
        for action in actions:
            target = node.ticks + 1
            node.send(action)
            if not node.wait(lambda: node.ticks >= target, 10.0, self.stop):
                raise RuntimeError("the ROS node stopped answering")
        return actions.shape[0] * actions.shape[1] / (time.perf_counter() - start)

    def realtime_rate(self, dim: int, num_envs: int, seconds: float) -> float:
        """Publish random actions for ``seconds``; the node's achieved steps per second."""
        rng = np.random.default_rng(0)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.node.send(rng.uniform(-1, 1, (num_envs, dim)).astype(np.float32))
            time.sleep(0.02)
        return float(self.node.info.get("rate_hz") or 0.0)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2.0)
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()


def measure_lockstep(task: str, num_envs: int, steps: int, domain_id: int) -> float:
    """env-steps/s of a lockstep agent over ROS (node and agent in two processes)."""
    node = _Node(task, num_envs, domain_id, "--lockstep")
    agent = _Agent(domain_id)
    try:
        dim = agent.wait_ready()["action_dim"]
        rng = np.random.default_rng(0)
        actions = rng.uniform(-1, 1, (steps + 20, num_envs, dim)).astype(np.float32)
        agent.lockstep(actions[:20])  # warm-up
        return agent.lockstep(actions[20:])
    finally:
        agent.close()
        node.close()


def measure_realtime(task: str, num_envs: int, seconds: float, domain_id: int) -> float:
    """Achieved batch steps/s of the node in real-time mode (target 50) with an agent on it."""
    node = _Node(task, num_envs, domain_id)
    agent = _Agent(domain_id)
    try:
        dim = agent.wait_ready()["action_dim"]
        agent.realtime_rate(dim, num_envs, 1.0)  # warm-up
        return agent.realtime_rate(dim, num_envs, seconds)
    finally:
        agent.close()
        node.close()
