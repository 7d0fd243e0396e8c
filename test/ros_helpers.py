"""Shared pieces of the ROS tests: a ROS domain per test, script processes that are always
killed on teardown, and a client node in the test process.

Every test gets its own ``ROS_DOMAIN_ID`` (1..100, from the process id and a counter) so
parallel test runs never hear each other; discovery stays on this machine.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy", reason="ROS 2 (rclpy) is not installed")

from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from spaceros_procgen_envs.ros.topics import CMD_QOS, INFO_QOS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RECORD_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
_ids = itertools.count()


def next_domain_id() -> int:
    """A ROS domain id in 1..100 that differs between tests and between pytest processes."""
    return 1 + (os.getpid() * 37 + next(_ids) * 11 + int(time.time() // 600)) % 100


@pytest.fixture
def ros_domain(monkeypatch) -> int:
    """This test's ROS domain, set in the environment the scripts inherit."""
    domain = next_domain_id()
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    return domain


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class ScriptProcess:
    """``scripts/<name>`` in a new session, output in files; :meth:`kill` ends the group."""

    def __init__(self, tmp_path: Path, name: str, *args: str):
        self.name = name
        self.out_path, self.err_path = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        self._out, self._err = open(self.out_path, "wb"), open(self.err_path, "wb")
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / name), *args],
                                     cwd=ROOT, stdout=self._out, stderr=self._err,
                                     start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} still running after {timeout} s\n--- stderr\n{self.stderr()}")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
        self._out.close()
        self._err.close()


@pytest.fixture
def spawn(tmp_path, ros_domain):
    """``spawn("run_spaceros.py", "--num_envs", "2")``: a script process, killed at teardown."""
    procs: list[ScriptProcess] = []

    def start(name: str, *args: str) -> ScriptProcess:
        procs.append(ScriptProcess(tmp_path, name, *args))
        return procs[-1]

    yield start
    for proc in procs:
        proc.kill()


class Client:
    """A node in the test process with helpers to publish, record and wait.

    Args:
        domain: the ROS domain to join.
    """

    def __init__(self, domain: int):
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain)
        self.node = Node("test_client", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._pubs: dict[str, object] = {}

    def record(self, msg_type, topic: str, qos=RECORD_QOS) -> list:
        """Subscribe and return the list every message on ``topic`` is appended to (a deep
        reliable queue, so a burst between two spins loses nothing)."""
        got: list = []
        self.node.create_subscription(msg_type, topic, got.append, qos)
        return got

    def publisher(self, msg_type, topic: str, qos=CMD_QOS):
        if topic not in self._pubs:
            self._pubs[topic] = self.node.create_publisher(msg_type, topic, qos)
        return self._pubs[topic]

    def publish(self, msg_type, topic: str, msg, timeout: float = 10.0) -> None:
        """Publish once the node's subscription is matched (so nothing is lost)."""
        pub = self.publisher(msg_type, topic)
        assert self.spin_until(lambda: pub.get_subscription_count() > 0, timeout), \
            f"nobody subscribes to {topic}"
        pub.publish(msg)

    def spin_until(self, predicate, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                return False
            self.executor.spin_once(timeout_sec=0.01)
        return True

    def spin_for(self, seconds: float) -> None:
        self.spin_until(lambda: False, seconds)

    def call(self, srv_type, name: str, timeout: float = 10.0):
        client = self.node.create_client(srv_type, name)
        assert self.spin_until(client.service_is_ready, timeout), f"service {name} not found"
        future = client.call_async(srv_type.Request())
        assert self.spin_until(future.done, timeout), f"service {name} did not answer"
        return future.result()

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def client(ros_domain):
    c = Client(ros_domain)
    yield c
    c.close()


def wait_for_node(client: Client, proc: ScriptProcess, timeout: float = 60.0,
                  info_topic: str = "envs/info") -> list:
    """Wait until the node answers on ``envs/info``; returns the list recording it."""
    infos = client.record(String, info_topic, INFO_QOS)
    ok = client.spin_until(lambda: infos or proc.proc.poll() is not None, timeout)
    if not ok or not infos:
        pytest.fail(f"node not ready (exit code {proc.proc.poll()})\n--- stderr\n{proc.stderr()}")
    return infos


def latest_info(infos: list) -> dict:
    return json.loads(infos[-1].data)
