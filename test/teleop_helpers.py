"""Processes, a ROS probe and a real X server for the teleop and viewer integration tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from contextlib import contextmanager

import numpy as np
import pytest
import rclpy

NEEDS_X = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")
                                  and shutil.which("xdpyinfo")),
                             reason="needs Xvfb, xdotool and xdpyinfo (apt: xvfb xdotool x11-utils)")
_domains = iter(range(1000))


def domain_id() -> int:
    """A ROS_DOMAIN_ID of this test alone (from the pid, so parallel runs differ too)."""
    return 1 + (os.getpid() * 13 + next(_domains)) % 100


class Probe:
    """A ROS client in the test process: records Twists, poses and envs/info of a domain."""

    def __init__(self, domain: int, num_envs: int, pose: str = "robot/pose"):
        from geometry_msgs.msg import PoseStamped, Twist
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import DurabilityPolicy, QoSProfile
        from std_msgs.msg import Bool, String

        self.ctx = rclpy.Context()
        self.ctx.init(domain_id=domain)
        self.node = rclpy.create_node("teleop_test_probe", context=self.ctx)
        self.lock = threading.Lock()
        self.twists: list[tuple[float, np.ndarray]] = []
        self.poses: list[list[tuple[float, np.ndarray]]] = [[] for _ in range(num_envs)]
        self.info: dict = {}
        self.grippers: list[bool] = []
        self.node.create_subscription(Twist, "envs/robot/cmd_vel", self._on_twist, 100)
        self.node.create_subscription(Bool, "envs/robot/gripper",
                                      lambda msg: self.grippers.append(msg.data), 10)
        for i in range(num_envs):
            self.node.create_subscription(PoseStamped, f"env{i}/{pose}",
                                          lambda msg, i=i: self._on_pose(i, msg), 10)
        self.node.create_subscription(String, "envs/info", self._on_info, QoSProfile(
            depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        self.executor = SingleThreadedExecutor(context=self.ctx)
        self.executor.add_node(self.node)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self):
        while not self.stopping.is_set():
            self.executor.spin_once(timeout_sec=0.05)

    def _on_twist(self, msg):
        lin, ang = msg.linear, msg.angular
        with self.lock:
            self.twists.append((time.monotonic(),
                                np.array([lin.x, lin.y, lin.z, ang.x, ang.y, ang.z])))

    def _on_pose(self, i, msg):
        p = msg.pose.position
        with self.lock:
            self.poses[i].append((time.monotonic(), np.array([p.x, p.y, p.z])))

    def _on_info(self, msg):
        import json

        with self.lock:
            self.info = json.loads(msg.data)

    def twists_between(self, t0: float, t1: float) -> list[tuple[float, np.ndarray]]:
        with self.lock:
            return [(t, v) for t, v in self.twists if t0 <= t <= t1]

    def position(self, i: int, at: float) -> np.ndarray:
        """Env i's last pose received at or before ``at``."""
        with self.lock:
            before = [p for t, p in self.poses[i] if t <= at]
        assert before, f"no pose of env {i} received before t={at:.2f}"
        return before[-1]

    def wait(self, condition, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.01)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")

    def close(self):
        self.stopping.set()
        self.thread.join(2)
        self.executor.shutdown(timeout_sec=1)
        self.node.destroy_node()
        self.ctx.try_shutdown()


class Output:
    """Collects a process's output from a file descriptor in a thread."""

    def __init__(self, fd: int):
        self.fd, self.text, self.lock = fd, "", threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.text += data.decode(errors="replace")

    def wait_for(self, needle: str, timeout_s: float, proc) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if needle in self.text:
                    return
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"{needle!r} not printed within {timeout_s} s "
                             f"(exit code {proc.poll()}); output:\n{self.text[-3000:]}")


@contextmanager
def process(cmd, **kwargs):
    """Popen that is always ended (SIGINT, then SIGKILL for its whole group)."""
    proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def stop_and_check(proc, out: Output) -> None:
    """SIGINT must end teleop cleanly within 2 s (SPEC 9)."""
    t0 = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)
    rc = proc.wait(5)
    assert time.monotonic() - t0 < 2.5, "teleop took longer than 2 s to stop"
    assert rc in (0, 130), f"exit code {rc}; output:\n{out.text[-3000:]}"


def teleop_env(domain: int, **extra: str) -> dict:
    env = {**os.environ, "ROS_DOMAIN_ID": str(domain), "PYTHONUNBUFFERED": "1", **extra}
    env.pop("DISPLAY", None) if "DISPLAY" not in extra else None
    return env


@contextmanager
def xvfb():
    """A fresh Xvfb on a free display number; yields ``:N``."""
    for number in range(90 + os.getpid() % 50, 300):
        if not os.path.exists(f"/tmp/.X11-unix/X{number}") and \
                not os.path.exists(f"/tmp/.X{number}-lock"):
            break
    display = f":{number}"
    with process(["Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        deadline = time.monotonic() + 10
        while subprocess.run(["xdpyinfo", "-display", display], capture_output=True).returncode:
            assert server.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.05)
        yield display


def xdotool(display: str, *args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, env={**os.environ, "DISPLAY": display},
                   timeout=10)
