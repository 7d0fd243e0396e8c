"""Integration: ``run_spaceros.py`` in its own process, a client node here, real DDS.

Each test has its own ROS domain (see ros_helpers). Poses are compared in the plane: a
rover that moved drove at least 0.3 m; one that did not stays within 5 cm.
"""

from __future__ import annotations

import math
import os
import signal
import time

import gymnasium
import numpy as np
import pytest

from spaceros_procgen_envs.vector.backends import BACKENDS

from .ros_helpers import (alive, client, descendants, latest_info, ros_domain,  # noqa: F401
                          spawn, wait_for_node)

from geometry_msgs.msg import PoseStamped, Twist  # noqa: E402  (after the rclpy skip)
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Bool, Float32, Float32MultiArray, UInt8MultiArray  # noqa: E402
from std_srvs.srv import Empty  # noqa: E402

from spaceros_procgen_envs.ros.convert import action_msg, twist_msg  # noqa: E402

MOVED_M, STILL_M = 0.3, 0.05
FORWARD = twist_msg(linear=(1.0, 0.0, 0.0))


def start_node(spawn, client, *args: str):
    proc = spawn("run_spaceros.py", *args)
    return proc, wait_for_node(client, proc)


def record_poses(client, num_envs: int) -> list[list[PoseStamped]]:
    return [client.record(PoseStamped, f"env{i}/robot/pose") for i in range(num_envs)]


def xy(pose: PoseStamped) -> np.ndarray:
    return np.array([pose.pose.position.x, pose.pose.position.y])


def planar_moves(poses, since: list[np.ndarray]) -> list[float]:
    return [float(np.linalg.norm(xy(p[-1]) - ref)) for p, ref in zip(poses, since)]


def test_env_cmd_vel_moves_only_that_env(spawn, client):
    proc, _ = start_node(spawn, client, "--num_envs", "3", "--realtime_factor", "2")
    poses = record_poses(client, 3)
    assert client.spin_until(lambda: all(len(p) > 10 for p in poses), 20)
    start = [xy(p[-1]) for p in poses]
    client.publish(Twist, "env1/robot/cmd_vel", FORWARD)
    assert client.spin_until(lambda: planar_moves(poses, start)[1] > MOVED_M, 20), \
        f"env1 did not move: {planar_moves(poses, start)}"
    moves = planar_moves(poses, start)
    assert moves[0] < STILL_M and moves[2] < STILL_M, f"other envs moved too: {moves}"


@pytest.mark.parametrize("topic", ["envs/robot/cmd_vel", "robot/cmd_vel"])
def test_broadcast_cmd_vel_moves_every_env(spawn, client, topic):
    """Lockstep: each broadcast message is one step of every env (50 messages = 1 s)."""
    proc, _ = start_node(spawn, client, "--num_envs", "2", "--lockstep")
    poses = record_poses(client, 2)
    client.call(Empty, "sim/reset")  # publishes every env's pose
    assert client.spin_until(lambda: all(poses), 10)
    start = [xy(p[-1]) for p in poses]
    for _ in range(50):
        client.publish(Twist, topic, FORWARD)
    assert client.spin_until(lambda: all(len(p) >= 51 for p in poses), 20)
    moves = planar_moves(poses, start)
    assert all(m > MOVED_M for m in moves), f"not every env moved: {moves}"


def finger(state: JointState) -> float:
    return state.position[list(state.name).index("finger_left")]


def test_env_gripper_closes_only_that_env(spawn, client):
    proc, info = start_node(spawn, client, "--task", "sample_collection", "--num_envs", "2")
    states = [client.record(JointState, f"env{i}/robot/joint_states") for i in range(2)]
    assert client.spin_until(lambda: all(len(s) > 5 for s in states), 20)
    opened = finger(states[0][-1])
    assert opened > 0.02, f"gripper should start open: {opened}"
    assert "joint1" in states[0][-1].name and "finger_right" in states[0][-1].name
    client.publish(Bool, "env1/robot/gripper", Bool(data=True))
    assert client.spin_until(lambda: finger(states[1][-1]) < 0.2 * opened, 10), \
        f"env1 did not close: {finger(states[1][-1])}"
    assert finger(states[0][-1]) > 0.9 * opened, "env0 closed too"
    client.publish(Bool, "envs/robot/gripper", Bool(data=True))
    assert client.spin_until(lambda: finger(states[0][-1]) < 0.2 * opened, 10)


def test_reset_services(spawn, client):
    proc, _ = start_node(spawn, client, "--num_envs", "2", "--lockstep")
    poses = record_poses(client, 2)
    client.call(Empty, "sim/reset")
    assert client.spin_until(lambda: all(poses), 10)
    home = [xy(p[-1]) for p in poses]
    for _ in range(50):
        client.publish(Twist, "envs/robot/cmd_vel", FORWARD)
    assert client.spin_until(lambda: all(len(p) >= 51 for p in poses), 20)
    assert all(m > MOVED_M for m in planar_moves(poses, home))

    client.call(Empty, "env1/reset")
    assert client.spin_until(lambda: len(poses[1]) >= 52, 10)
    assert planar_moves(poses, home)[1] < 1e-6, "env1/reset puts env1 home"
    client.publish(Twist, "envs/robot/cmd_vel", Twist())  # one step shows every env's state
    assert client.spin_until(lambda: len(poses[0]) >= 52 and len(poses[1]) >= 53, 10)
    moves = planar_moves(poses, home)
    assert moves[1] < STILL_M and moves[0] > MOVED_M, f"env1/reset must reset env1 only: {moves}"
    client.call(Empty, "sim/reset")
    assert client.spin_until(lambda: len(poses[0]) >= 53, 10)
    assert max(planar_moves(poses, home)) < 1e-6
    assert client.node.create_client(Empty, "env2/reset").wait_for_service(0.5) is False


@pytest.mark.parametrize("task", ["perseverance", "sample_collection"])
def test_lockstep_gives_the_python_api_rewards(spawn, client, task):
    """Same seed, same actions: lockstep over ROS = gymnasium.make_vec, bit for bit, on the
    per-env and on the batch topics (rewards, flags, observations)."""
    num_envs, steps, seed = 2, 40, 42
    proc, infos = start_node(spawn, client, "--task", task, "--num_envs", str(num_envs),
                             "--seed", str(seed), "--lockstep", "--backend", "sync")
    dim = latest_info(infos)["action_dim"]
    actions = np.random.default_rng(0).uniform(-1.2, 1.2, (steps, num_envs, dim)).astype(np.float32)
    rewards = [client.record(Float32, f"env{i}/reward") for i in range(num_envs)]
    truncated = [client.record(Bool, f"env{i}/truncated") for i in range(num_envs)]
    batch_rewards = client.record(Float32MultiArray, "envs/reward")
    batch_terminated = client.record(UInt8MultiArray, "envs/terminated")
    observations = client.record(Float32MultiArray, "envs/observation")
    clocks = client.record(Clock, "/clock")
    for k in range(steps):
        client.publish(Float32MultiArray, "envs/action", action_msg(actions[k]))
        assert client.spin_until(lambda: all(len(r) > k for r in rewards), 10), f"no step {k}"
    every = [clocks, batch_rewards, batch_terminated, observations, *truncated]
    client.spin_until(lambda: all(len(x) >= steps for x in every), 5)

    env = gymnasium.make_vec(f"spaceros/{task}", num_envs=num_envs,
                             vectorization_mode="vector_entry_point", backend="thread", seed=seed)
    env.reset(seed=seed)
    results = [env.step(a) for a in actions]
    env.close()
    python = np.array([r[1] for r in results], np.float32)
    np.testing.assert_array_equal(np.array([[m.data for m in r] for r in rewards]).T, python)
    np.testing.assert_array_equal([list(m.data) for m in batch_rewards], python)
    np.testing.assert_array_equal([list(m.data) for m in batch_terminated],
                                  [r[2] for r in results])
    flat = np.concatenate([results[-1][0][key].reshape(num_envs, -1) for key in results[-1][0]], 1)
    np.testing.assert_array_equal(np.reshape(observations[-1].data, flat.shape), flat)
    assert len(clocks) == steps, "exactly one step per envs/action message"
    assert clocks[-1].clock.sec * 10**9 + clocks[-1].clock.nanosec == steps * 20_000_000


def test_clock_and_info_follow_sim_time_under_a_namespace(spawn, client):
    proc = spawn("run_spaceros.py", "--num_envs", "1",  # the ROS parameter wins over the flag
                 "--ros-args", "-r", "__ns:=/sim", "-p", "num_envs:=2")
    infos = wait_for_node(client, proc, info_topic="/sim/envs/info")
    clocks = client.record(Clock, "/clock")
    rewards = client.record(Float32, "/sim/env1/reward")
    t0 = time.monotonic()
    assert client.spin_until(lambda: len(clocks) >= 60, 20)
    wall = time.monotonic() - t0
    ns = [c.clock.sec * 10**9 + c.clock.nanosec for c in clocks]
    assert set(np.diff(ns)) == {20_000_000}, "one /clock message per 20 ms step"
    assert 0.4 < (ns[-1] - ns[0]) / 1e9 / wall < 2.0, "sim time runs at about real time"
    assert rewards, "env topics live under the namespace"
    client.spin_for(0.6)
    info = latest_info(infos)
    assert info["mode"] == "realtime" and info["num_envs"] == 2
    assert math.isclose(info["sim_time_s"], info["step"] * 0.02)
    assert info["target_rate_hz"] == pytest.approx(50.0)
    assert info["rate_hz"] > 25.0, f"achieved rate too low: {info['rate_hz']}"


def test_bad_messages_are_counted_and_harmless(spawn, client):
    proc, infos = start_node(spawn, client, "--num_envs", "2")
    poses = record_poses(client, 2)
    nan_twist = twist_msg(linear=(float("nan"), 0.0, 0.0))
    for _ in range(10):
        client.publish(Float32MultiArray, "envs/action", action_msg([np.nan, 0.0]))
        client.publish(Float32MultiArray, "envs/action", action_msg([0.1, 0.2, 0.3]))
        client.publish(Twist, "env0/robot/cmd_vel", nan_twist)
        client.publish(Float32MultiArray, "env1/action", action_msg([[1.0, 0.0], [1.0, 0.0]]))
    assert client.spin_until(lambda: latest_info(infos)["dropped_total"] >= 40, 10), \
        latest_info(infos)
    assert latest_info(infos)["dropped"] == {"non_finite": 20, "wrong_length": 20}
    assert client.spin_until(lambda: all(len(p) > 2 for p in poses), 10)
    start = [xy(p[-1]) for p in poses]
    client.publish(Float32MultiArray, "env1/action", action_msg([5.0, 0.0]))  # clipped to 1
    assert client.spin_until(lambda: planar_moves(poses, start)[1] > MOVED_M, 20)
    assert planar_moves(poses, start)[0] < STILL_M
    assert proc.proc.poll() is None
    logged = proc.stderr().count("dropped a message")
    assert 1 <= logged <= 3, f"drops must be logged at most once a second, got {logged} lines"


def wait_alive_children(proc, seconds: float) -> set[int]:
    end, kids = time.monotonic() + seconds, set()
    while time.monotonic() < end:
        kids |= descendants(proc.pid)
        time.sleep(0.05)
    return kids


@pytest.mark.parametrize("backend", [b for b in ("thread", "process") if b in BACKENDS])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_node_within_2_s(spawn, client, signum, backend):
    """SIGINT goes to the whole process group, as Ctrl-C on a terminal does; SIGTERM to the
    node alone, as ``kill`` does."""
    proc, _ = start_node(spawn, client, "--num_envs", "2", "--backend", backend)
    kids = wait_alive_children(proc, 0.5)
    t0 = time.monotonic()
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signum)
    else:
        proc.signal(signum)
    code = proc.wait(5)
    elapsed = time.monotonic() - t0
    assert code == 0, proc.stderr()
    assert elapsed < 2.0, f"shutdown took {elapsed:.2f} s"
    time.sleep(0.2)
    assert not [k for k in kids if alive(k)], "child processes left behind"
    assert "Traceback" not in proc.stderr()
    assert "most recent call first" not in proc.stderr(), "the shutdown watchdog fired"


@pytest.mark.parametrize("delay_s", [0.3, 1.0, 2.0, 3.0, 4.5])
def test_sigterm_during_startup_stops_within_2_s(spawn, delay_s):
    """SIGTERM at any moment of the start (imports, rclpy init, the worlds being built, the
    node's first steps) ends the node within 2 s and leaves no process behind: before the
    handler exists SIGTERM's default ends it; after, the build unwinds and is torn down."""
    backend = "process" if "process" in BACKENDS else "thread"
    proc = spawn("run_spaceros.py", "--num_envs", "2", "--backend", backend)
    kids = wait_alive_children(proc, delay_s)
    t0 = time.monotonic()
    proc.signal(signal.SIGTERM)
    code = proc.wait(5)
    elapsed = time.monotonic() - t0
    assert elapsed < 2.0, f"shutdown took {elapsed:.2f} s\n{proc.stderr()}"
    assert code in (0, 130, -signal.SIGTERM), f"exit code {code}\n{proc.stderr()}"
    time.sleep(0.2)
    assert not [k for k in kids if alive(k)], "child processes left behind"
    assert "Traceback" not in proc.stderr() and "most recent call first" not in proc.stderr()


@pytest.mark.skipif("process" not in BACKENDS, reason="no process backend")
def test_dead_worker_stops_the_node_naming_it(spawn, client):
    proc, _ = start_node(spawn, client, "--num_envs", "2", "--backend", "process")
    workers = sorted(descendants(proc.pid))
    assert workers, "the process backend runs worker processes"
    os.kill(workers[0], signal.SIGKILL)
    assert proc.wait(10) == 1
    last = proc.stderr().strip().splitlines()[-1]
    assert last.startswith("error: simulation stopped: WorkerError") and "worker" in last, last
    time.sleep(0.2)
    assert not [w for w in workers if alive(w)], "the other workers are stopped too"


def test_reset_of_an_unknown_env_is_refused(ros_domain):
    """The Python side of env{i}/reset: an index outside 0..N-1 raises, nothing is reset."""
    import rclpy
    from rclpy.context import Context

    from spaceros_procgen_envs.ros.node import NodeCfg, SpaceRosNode

    context = Context()
    rclpy.init(context=context, domain_id=ros_domain)
    node = SpaceRosNode(NodeCfg(num_envs=2, lockstep=True), context=context)
    try:
        with pytest.raises(IndexError, match=r"this node runs 2 envs \(0\.\.1\)"):
            node.reset_envs([0, 2])
        assert node.resets == 0
        node.reset_envs([1])
        assert node.resets == 1
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
