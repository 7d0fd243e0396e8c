"""``./run.sh ros2 topic list | echo | hz`` without a ROS 2 install, over real DDS.

The node is a real ``run_spaceros.py`` process; the commands run through ``run.sh`` exactly as a
user types them, each on this test's own ROS_DOMAIN_ID.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import time

import numpy as np
import pytest

from .ros_helpers import ROOT, client, ros_domain, spawn, wait_for_node  # noqa: F401

from geometry_msgs.msg import PoseStamped  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from spaceros_procgen_envs.ros.cli_tools import format_message, message_class  # noqa: E402


def ros2(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """``./run.sh ros2 ARGS`` with no ``ros2`` on PATH (as on a machine without ROS)."""
    return subprocess.run([str(ROOT / "run.sh"), "ros2", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=_env_without_ros2(), **kwargs)


def ros2_listening(done, *args: str) -> subprocess.CompletedProcess:
    """``ros2 ARGS --spin-time S`` for S = 3, 6, 10 s until ``done(output)``; the last output."""
    for spin in ("3", "6", "10"):
        out = ros2(*args, "--spin-time", spin)
        if out.returncode != 0 or done(out):
            break
    return out


def _env_without_ros2() -> dict:
    path = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if not os.path.exists(os.path.join(d, "ros2"))]
    return {**os.environ, "PATH": os.pathsep.join(path)}


# --- text of messages (no graph) -------------------------------------------------------------
def test_format_message_nests_and_quotes():
    msg = PoseStamped()
    msg.header.frame_id = "world"
    msg.pose.position.x = 1.5
    lines = format_message(msg)
    assert lines[:4] == ["header:", "  stamp:", "    sec: 0", "    nanosec: 0"]
    assert "  frame_id: 'world'" in lines
    assert "    x: 1.5" in lines


def test_format_message_truncates_long_sequences():
    msg = JointState(name=["a", "b"], position=list(np.arange(300.0)))
    lines = format_message(msg, truncate=3)
    start = lines.index("position:")
    assert lines[start + 1:start + 5] == ["- 0.0", "- 1.0", "- 2.0", "- '...'"]
    assert "- 'a'" in lines and "velocity: []" in lines


def test_message_class_accepts_both_spellings_and_names_a_bad_one():
    assert message_class("std_msgs/msg/String") is String
    assert message_class("std_msgs/String") is String
    with pytest.raises(Exception, match="not installed"):
        message_class("std_msgs/msg/NoSuchThing")


# --- the commands over DDS -------------------------------------------------------------------
def test_topic_list_names_the_node_topics(spawn, client):
    proc = spawn("run_spaceros.py", "--headless", "--num_envs", "2", "--duration", "120")
    wait_for_node(client, proc)
    # discovery of the node's ~40 endpoints can take longer than one spin on a loaded machine:
    # ask again, listening longer, before judging the list
    out = ros2_listening(lambda out: "/env1/robot/cmd_vel [" in out.stdout
                         and "/clock [" in out.stdout, "topic", "list", "-t")
    assert out.returncode == 0, out.stderr
    assert "/envs/info [std_msgs/msg/String]" in out.stdout
    assert "/env1/robot/cmd_vel [geometry_msgs/msg/Twist]" in out.stdout
    assert "/clock [rosgraph_msgs/msg/Clock]" in out.stdout
    nodes = ros2_listening(  # the node's name is discovered apart from its topics
        lambda out: "/spaceros_procgen_envs" in out.stdout.split(), "node", "list")
    assert "/spaceros_procgen_envs" in nodes.stdout.split(), nodes.stderr


def test_topic_echo_once_prints_one_message_as_yaml(client):
    text = "hello from the test"
    proc = subprocess.Popen([str(ROOT / "run.sh"), "ros2", "topic", "echo", "/h13/echo_test",
                             "std_msgs/msg/String", "--once"], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env_without_ros2(), start_new_session=True)
    try:
        pub = client.publisher(String, "/h13/echo_test")
        end = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < end:
            if pub.get_subscription_count():
                pub.publish(String(data=text))
            client.spin_for(0.1)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    assert out == f"data: '{text}'\n---\n"


def test_topic_echo_finds_the_type_and_hz_measures_the_clock(spawn, client):
    proc = spawn("run_spaceros.py", "--headless", "--duration", "120")
    wait_for_node(client, proc)
    echo = ros2("topic", "echo", "envs/info", "--once", "--spin-time", "3")
    assert echo.returncode == 0, echo.stderr
    assert echo.stdout.startswith("data: '{\"task\": \"perseverance\""), echo.stdout[:200]
    hz = subprocess.Popen([str(ROOT / "run.sh"), "ros2", "topic", "hz", "/clock"], cwd=ROOT,
                          text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=_env_without_ros2(), start_new_session=True)
    try:
        out = _read_hz_report(hz, 60)
    finally:
        os.killpg(hz.pid, signal.SIGINT)
        _, err = hz.communicate(timeout=10)
    rate = re.search(r"average rate: ([0-9.]+)\n\tmin: [0-9.]+s max: [0-9.]+s", out)
    assert rate and float(rate.group(1)) > 0, out + err
    assert hz.returncode == 0, err


def _read_hz_report(hz: subprocess.Popen, timeout: float) -> str:
    """``ros2 topic hz`` output up to its first full report (both lines), or what came."""
    out, end = "", time.monotonic() + timeout
    while "window:" not in out and time.monotonic() < end:
        line = hz.stdout.readline()
        if not line:
            break
        out += line
    return out


def test_hz_started_before_the_node_waits_for_its_topic(spawn, client):
    """A user types ``ros2 topic hz /clock`` while the node is still starting: the tool waits
    for the topic to appear in the graph, says so, then measures it."""
    hz = subprocess.Popen([str(ROOT / "run.sh"), "ros2", "topic", "hz", "/clock",
                           "--spin-time", "0.5"], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=_env_without_ros2(), start_new_session=True)
    try:
        time.sleep(1.0)  # the tool looks at the graph before the node exists
        assert hz.poll() is None, hz.communicate()[1]
        proc = spawn("run_spaceros.py", "--headless", "--duration", "120")
        wait_for_node(client, proc)
        out = _read_hz_report(hz, 60)
    finally:
        os.killpg(hz.pid, signal.SIGINT)
        _, err = hz.communicate(timeout=10)
    assert re.search(r"average rate: [0-9.]+\n\tmin: ", out), out + err
    assert "waiting for /clock to appear on ROS_DOMAIN_ID" in err, err
    assert hz.returncode == 0, err


def test_an_unknown_topic_and_an_unhandled_command_are_one_line_errors():
    t0 = time.monotonic()
    missing = ros2("topic", "echo", "/h13/never_published", "--wait-timeout", "1",
                   "--spin-time", "0.5")
    assert missing.returncode == 2
    assert time.monotonic() - t0 < 30, "the wait ends at --wait-timeout"
    lines = missing.stderr.strip().splitlines()
    assert lines[-1].startswith("error: topic /h13/never_published is not published on "
                                "ROS_DOMAIN_ID"), missing.stderr
    assert "not seen within 1 s" in lines[-1] and "--wait-timeout" in lines[-1]
    other = ros2("bag", "play", "x")
    assert other.returncode == 2
    assert "'ros2 bag play' is not handled without a ROS 2 install" in other.stderr
    assert "Traceback" not in missing.stderr + other.stderr


def test_a_ros_install_keeps_its_own_ros2(tmp_path):
    fake = tmp_path / "ros2"  # stands in for the ROS install's command: records its arguments
    fake.write_text("#!/bin/sh\necho \"real ros2: $*\"\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run([str(ROOT / "run.sh"), "ros2", "topic", "list"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.stdout == "real ros2: topic list\n", out.stderr
