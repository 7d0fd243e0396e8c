"""ROS mode of ``benchmark.py``: the node in its own process, an agent in this one.

* lockstep: the agent publishes ``envs/action`` (N x dim) and waits for the step's batched
  ``envs/observation`` and ``envs/reward`` before the next one, the way an RL agent over ROS
  runs; env-steps/s of that loop is compared with the Python API's.
* real time: the node steps at 50 Hz with an agent publishing; the achieved rate is what the
  node reports in ``envs/info``.
"""

from __future__ import annotations

import json
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
    """A client node that sends actions and counts the steps the node publishes."""

    def __init__(self, domain_id: int):
        require_rclpy()
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from std_msgs.msg import Float32MultiArray, String

        from .topics import CMD_QOS, INFO_QOS, STEP_QOS

        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node("spaceros_benchmark_agent", context=self.context)
        self.steps, self.info = 0, {}
        self.cond = threading.Condition()
        self.node.create_subscription(Float32MultiArray, "envs/reward", self._on_step, STEP_QOS)
        self.node.create_subscription(Float32MultiArray, "envs/observation", lambda m: None,
                                      STEP_QOS)
        self.node.create_subscription(String, "envs/info", self._on_info, INFO_QOS)
        self.pub = self.node.create_publisher(Float32MultiArray, "envs/action", CMD_QOS)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        while not self.stop.is_set():
            self.executor.spin_once(timeout_sec=0.05)

    def _on_step(self, msg) -> None:
        with self.cond:
            self.steps += 1
            self.cond.notify_all()

    def _on_info(self, msg) -> None:
        with self.cond:
            self.info = json.loads(msg.data)
            self.cond.notify_all()

    def wait_ready(self, timeout_s: float = 120.0) -> dict:
        """Wait for the node's first ``envs/info`` and matched subscriptions."""
        deadline = time.monotonic() + timeout_s
        with self.cond:
            self.cond.wait_for(lambda: self.info, timeout_s)
        while self.pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self.info:
            raise RuntimeError("the ROS node did not come up")
        time.sleep(0.5)  # let the remaining subscriptions match
        return self.info

    def lockstep(self, actions: np.ndarray) -> float:
        """Send each (N, dim) action and wait for its step; returns env-steps/s."""
        from .convert import action_msg

        messages = [action_msg(a) for a in actions]
        start = time.perf_counter()
        for msg in messages:
            with self.cond:
                target = self.steps + 1
            self.pub.publish(msg)
            with self.cond:
                if not self.cond.wait_for(lambda: self.steps >= target, 10.0):
                    raise RuntimeError("the ROS node stopped answering")
        return actions.shape[0] * actions.shape[1] / (time.perf_counter() - start)

    def realtime_rate(self, dim: int, num_envs: int, seconds: float) -> float:
        """Publish random actions for ``seconds``; the node's achieved steps per second."""
        from .convert import action_msg

        rng = np.random.default_rng(0)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.pub.publish(action_msg(rng.uniform(-1, 1, (num_envs, dim)).astype(np.float32)))
            time.sleep(0.02)
        with self.cond:
            return float(self.info.get("rate_hz") or 0.0)

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
