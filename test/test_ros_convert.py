"""Message <-> numpy conversions and the held-command table, without a ROS graph."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from spaceros_procgen_envs import get_task, list_tasks

from .ros_helpers import ROOT

from geometry_msgs.msg import Twist  # noqa: E402  (after the rclpy skip in ros_helpers)
from rosgraph_msgs.msg import Clock  # noqa: E402

from spaceros_procgen_envs.ros.commands import CommandTable, check_env_index  # noqa: E402
from spaceros_procgen_envs.ros.convert import (RejectedMessage, action_msg,  # noqa: E402
                                               action_rows, array_msg, clock_msg, flags_msg,
                                               image_msg, joint_names,
                                               joint_state_msg, pose_msg, time_msg, twist_map,
                                               twist_msg, twist_to_array)

SINGLE_ROBOT = [t for t in list_tasks() if not get_task(t).multi_agent]


def robot_of(task: str):
    spec = get_task(task)
    return spec.task_class()(spec, spec.resolve_domain(None), {}).robot


# --- Twist -> action ---------------------------------------------------------------------------
@pytest.mark.parametrize("task", SINGLE_ROBOT)
def test_every_task_robot_has_a_twist_map(task):
    spec, robot = get_task(task), robot_of(task)
    tmap = twist_map(robot)
    assert tmap.kind == spec.robot_kind
    assert set(tmap.action_index) <= set(range(spec.action_dim))
    assert (tmap.gripper_index is not None) == ("gripper" in spec.action_names)
    assert tmap.gripper_index not in tmap.action_index
    twist = np.zeros(6)
    twist[list(tmap.twist_index)] = tmap.max_speed  # every mapped axis at its top speed
    np.testing.assert_allclose(tmap.values(twist), 1.0, rtol=1e-6)


def test_rover_twist_uses_its_max_speeds():
    robot = robot_of("perseverance")
    tmap = twist_map(robot)
    half = twist_to_array(twist_msg((0.5 * robot.cfg.max_lin_vel_mps, 9.0, 9.0),
                                    (9.0, 9.0, -0.25 * robot.cfg.max_ang_vel_radps)))
    np.testing.assert_allclose(tmap.values(half), [0.5, -0.25], rtol=1e-6)


def test_helicopter_twist_maps_xyz_and_yaw_rate():
    robot = robot_of("ingenuity")
    c = robot.cfg
    twist = twist_to_array(twist_msg((c.max_vel_xy_mps, -c.max_vel_xy_mps / 2, c.max_vel_z_mps),
                                     (5.0, 5.0, c.max_yaw_rate_radps / 4)))
    np.testing.assert_allclose(twist_map(robot).values(twist), [1.0, -0.5, 1.0, 0.25], rtol=1e-6)


def test_arm_twist_is_the_tcp_twist():
    robot = robot_of("sample_collection")
    c = robot.cfg
    twist = twist_to_array(twist_msg((c.max_lin_speed_mps, 0, -c.max_lin_speed_mps),
                                     (0, c.max_ang_speed_radps / 2, 0)))
    np.testing.assert_allclose(twist_map(robot).values(twist), [1, 0, -1, 0, 0.5, 0], atol=1e-6)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_twist_is_rejected(bad):
    with pytest.raises(RejectedMessage) as err:
        twist_to_array(twist_msg((0.0, 0.0, 0.0), (0.0, 0.0, bad)))
    assert err.value.reason == "non_finite"


# --- Float32MultiArray -> actions ------------------------------------------------------------
def test_action_rows_broadcast_and_per_env():
    np.testing.assert_array_equal(action_rows([0.5, -2.0], 2, 3), [[0.5, -2.0]])
    rows = action_rows(np.arange(6, dtype=np.float32), 2, 3)
    np.testing.assert_array_equal(rows, [[0, 1], [2, 3], [4, 5]])


@pytest.mark.parametrize("data, num_envs, expected", [
    ([1.0, 2.0, 3.0], 3, "expected 2 (one action for all) or 6 (3 envs x 2)"),
    ([], 3, "has 0 values"),
    ([1.0] * 6, 1, "expected 2"),  # env{i}/action takes one action only
])
def test_wrong_length_is_rejected_with_the_expected_length(data, num_envs, expected):
    with pytest.raises(RejectedMessage) as err:
        action_rows(data, 2, num_envs)
    assert err.value.reason == "wrong_length" and expected in str(err.value)


def test_non_finite_action_is_rejected_naming_the_rows():
    data = np.zeros(6, np.float32)
    data[3] = np.nan
    with pytest.raises(RejectedMessage) as err:
        action_rows(data, 2, 3)
    assert err.value.reason == "non_finite" and "rows [1]" in str(err.value)


def test_batch_flags_are_one_byte_per_env():
    msg = flags_msg(np.array([True, False, True]))
    assert list(msg.data) == [1, 0, 1] and msg.layout.dim[0].label == "env"
    rewards = array_msg(np.array([0.5, -1.0]), ("env",))
    assert list(rewards.data) == [0.5, -1.0] and rewards.layout.dim[0].size == 2


def test_action_msg_layout_round_trips():
    actions = np.arange(6, dtype=np.float32).reshape(3, 2)
    msg = action_msg(actions)
    dims = [(d.label, d.size, d.stride) for d in msg.layout.dim]
    assert dims == [("env", 3, 6), ("action", 2, 2)]
    np.testing.assert_array_equal(action_rows(msg.data, 2, 3), actions)


# --- the held command table --------------------------------------------------------------------
def rover_table(num_envs: int = 3) -> CommandTable:
    return CommandTable(num_envs, 2, twist_map(robot_of("perseverance")))


def test_env_command_changes_only_that_env():
    table = rover_table()
    table.set_twist(np.array([0.5, 0, 0, 0, 0, 0.0]), env=2)
    np.testing.assert_array_equal(table.snapshot(), [[0, 0], [0, 0], [0.5, 0]])
    table.set_action([0.1, 0.2], env=0)
    np.testing.assert_allclose(table.snapshot(), [[0.1, 0.2], [0, 0], [0.5, 0]])


def test_broadcast_command_changes_every_env():
    table = rover_table()
    table.set_twist(np.array([1.0, 0, 0, 0, 0, 0.0]))
    np.testing.assert_array_equal(table.snapshot()[:, 0], [1, 1, 1])
    table.set_action(np.arange(6, dtype=np.float32))
    np.testing.assert_array_equal(table.snapshot(), [[0, 1], [2, 3], [4, 5]])


def test_rejected_action_leaves_the_held_command():
    table = rover_table()
    table.set_action([0.3, 0.4])
    with pytest.raises(RejectedMessage):
        table.set_action([np.nan, 0.0])
    with pytest.raises(RejectedMessage):
        table.set_action([0.0], env=1)
    np.testing.assert_allclose(table.snapshot(), [[0.3, 0.4]] * 3)


def test_gripper_writes_only_the_gripper_component():
    table = CommandTable(2, 7, twist_map(robot_of("sample_collection")))
    table.set_twist(np.array([0.1, 0, 0, 0, 0, 0]), env=None)
    table.set_gripper(True, env=1)
    snap = table.snapshot()
    assert snap[1, 6] == 1.0 and snap[0, 6] == 0.0 and snap[0, 0] == snap[1, 0] > 0
    table.set_twist(np.zeros(6), env=1)
    assert table.snapshot()[1, 6] == 1.0, "a twist keeps the held gripper"
    table.set_gripper(False)
    assert (table.snapshot()[:, 6] == -1.0).all()


def test_gripper_on_a_rover_is_refused():
    with pytest.raises(ValueError, match="no gripper"):
        rover_table().set_gripper(True)


@pytest.mark.parametrize("env", [3, -1, 1.0, True, "1"])
def test_unknown_env_index_is_refused_clearly(env):
    with pytest.raises(IndexError, match=r"this node runs 3 envs \(0\.\.2\)"):
        check_env_index(env, 3)
    with pytest.raises(IndexError):
        rover_table().set_twist(np.zeros(6), env=env)


@pytest.mark.parametrize("change, fragment", [
    ({"num_envs": 0}, "parameter num_envs: expected an integer >= 1, got 0"),
    ({"realtime_factor": 0.0}, "parameter realtime_factor: expected a number > 0"),
    ({"backend": "gpu"}, "parameter backend: expected one of"),
    ({"task": "perseverence"}, "Did you mean 'perseverance'"),
    ({"task": "ingenuity", "domain": "orbit"}, "cannot run in domain 'orbit'"),
])
def test_bad_node_parameters_are_refused_clearly(change, fragment):
    from dataclasses import replace

    from spaceros_procgen_envs.errors import ProcgenError
    from spaceros_procgen_envs.ros.node import NodeCfg

    with pytest.raises(ProcgenError, match=fragment.replace("(", r"\(")):
        replace(NodeCfg(), **change).checked()


# --- builders -------------------------------------------------------------------------------------
def test_time_is_exact_in_nanoseconds():
    stamp = time_msg(123_456_789 * 20_000_000)  # step 123456789 at 50 Hz
    assert (stamp.sec, stamp.nanosec) == (2_469_135, 780_000_000)
    msg = clock_msg(3 * 20_000_000)
    assert isinstance(msg, Clock) and (msg.clock.sec, msg.clock.nanosec) == (0, 60_000_000)


def test_joint_state_names_and_arrays():
    names = joint_names(("robot/joint1", "robot/finger_left", "wheel_fl"), "robot/")
    assert names == ["joint1", "finger_left", "wheel_fl"]
    msg = joint_state_msg(names, 20_000_000, np.array([1.0, 2, 3]), np.zeros(3), np.ones(3))
    assert list(msg.name) == names and list(msg.position) == [1.0, 2.0, 3.0]
    assert msg.header.stamp.nanosec == 20_000_000
    again = joint_state_msg((), 40_000_000, np.zeros(3), np.zeros(3), np.zeros(3), msg=msg)
    assert again is msg and list(msg.name) == names and list(msg.position) == [0.0] * 3
    with pytest.raises(ValueError, match="3 entries"):
        joint_state_msg(names, 0, np.zeros(2), np.zeros(3), np.zeros(3))


def test_pose_takes_a_mujoco_wxyz_quaternion():
    msg = pose_msg(0, np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.1, 0.2, 0.3]))
    q = msg.pose.orientation
    assert msg.header.frame_id == "world" and msg.pose.position.z == 3.0
    assert (q.w, q.x, q.y, q.z) == (0.5, 0.1, 0.2, 0.3)


@pytest.mark.parametrize("shape, dtype, encoding, bytes_per_pixel", [
    ((4, 5), np.uint8, "mono8", 1), ((4, 5, 1), np.uint8, "mono8", 1),
    ((4, 5, 3), np.uint8, "rgb8", 3), ((4, 5, 4), np.uint8, "rgba8", 4),
    ((4, 5), np.float32, "32FC1", 4), ((4, 5), np.uint16, "mono16", 2)])
def test_image_row_step_matches_the_encoding(shape, dtype, encoding, bytes_per_pixel):
    msg = image_msg(np.zeros(shape, dtype), 0, "cam")
    assert msg.encoding == encoding and (msg.height, msg.width) == (4, 5)
    assert msg.step == 5 * bytes_per_pixel and len(msg.data) == msg.step * msg.height


def test_image_with_an_unsupported_type_is_refused():
    with pytest.raises(ValueError, match="got shape"):
        image_msg(np.zeros((4, 5, 2), np.uint8), 0, "cam")


# --- running without ROS ---------------------------------------------------------------------
def test_core_and_scripts_work_without_rclpy(tmp_path):
    """A missing rclpy: the core imports, --help works, running says what to install."""
    fake = tmp_path / "no_ros" / "rclpy"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'rclpy'\")\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(fake.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
    core = subprocess.run([sys.executable, "-c", "import spaceros_procgen_envs.vector.env, "
                           "spaceros_procgen_envs.cli, spaceros_procgen_envs.ros.launcher"],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    assert core.returncode == 0, core.stderr
    script = [sys.executable, str(ROOT / "scripts" / "agent_random.py")]
    assert subprocess.run([*script, "--help"], env=env, capture_output=True, cwd=ROOT,
                          ).returncode == 0
    run = subprocess.run([*script, "--steps", "1"], env=env, capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "ros" in run.stderr and "run.sh" in run.stderr, \
        run.stderr
