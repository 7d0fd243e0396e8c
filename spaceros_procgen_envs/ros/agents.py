"""The random and the zero agent: they drive the simulation over ROS like any outside program.

An agent publishes one action per env on ``envs/action`` (a ``num_envs x action_dim``
``Float32MultiArray``) once per step of the node, at the agent rate: in real time it
answers every step it sees on ``/clock`` (50 Hz x ``realtime_factor``); when the node runs
``--lockstep`` its action makes the next step. It reads ``envs/reward``, ``envs/terminated``
and ``envs/truncated`` (every env in one message) like any subscriber and shows a status
line (steps/s, episodes, mean reward): rewritten in place on a terminal, one line every
2 s otherwise. The node is built in-process (its own executor thread, the
messages still cross DDS) or, with ``--connect``, is a running ``run_spaceros.py``.

Example::

    ./run.sh ros2 run spaceros_procgen_envs agent_random.py --task sample_collection --num_envs 4
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from ..cli import make_parser
from ..errors import ProcgenError
from .graph import check_connected
from .launcher import RosSession, add_ros_flags, parse_args
from .status import RewardStats, StatusLine  # noqa: F401 - part of this module's API

STEP_TIMEOUT_S = 5.0  # a step not seen on /clock within this means the node is gone


def make_policy(name: str, num_envs: int, action_dim: int, seed: int
                ) -> Callable[[], np.ndarray]:
    """A function returning the next (num_envs, action_dim) float32 actions.

    ``random`` samples the task's action space Box(-1, 1) for every env independently
    (seeded with ``seed``); ``zero`` returns zeros.
    """
    import gymnasium as gym

    if name == "zero":
        zeros = np.zeros((num_envs, action_dim), np.float32)
        return lambda: zeros
    if name == "random":
        space = gym.spaces.Box(-1.0, 1.0, (num_envs, action_dim), np.float32, seed=seed)
        return space.sample
    raise ValueError(f"unknown policy {name!r}; expected 'random' or 'zero'")


def _agent_node_class():
    """The agent's Node subclass (defined lazily: rclpy is imported only when running)."""
    import json

    import rclpy.node
    from rosgraph_msgs.msg import Clock
    from std_msgs.msg import Float32MultiArray, String, UInt8MultiArray

    from .convert import action_msg
    from .topics import CMD_QOS, INFO_QOS, STEP_QOS

    class AgentNode(rclpy.node.Node):
        """Publishes on ``envs/action``; counts ``/clock`` ticks; reads status, rewards, flags."""

        def __init__(self, name: str, **node_kwargs):
            super().__init__(name, **node_kwargs)
            self.cond = threading.Condition()
            self.ticks, self.info, self.stats = 0, None, RewardStats()
            self.pub = self.create_publisher(Float32MultiArray, "envs/action", CMD_QOS)
            self.subs = [self.create_subscription(Clock, "/clock", self._on_clock, STEP_QOS),
                         self.create_subscription(String, "envs/info", self._on_info, INFO_QOS)]

        def watch(self) -> None:
            """Read the batch outputs: every env's reward and flags in one message each."""
            self.subs += [
                self.create_subscription(Float32MultiArray, "envs/reward",
                                         lambda m: self.stats.add_rewards(m.data), STEP_QOS),
                *(self.create_subscription(UInt8MultiArray, f"envs/{flag}",
                                           lambda m: self.stats.add_dones(m.data), STEP_QOS)
                  for flag in ("terminated", "truncated"))]

        def matched(self) -> bool:
            return self.pub.get_subscription_count() > 0 and all(
                s.get_publisher_count() > 0 for s in self.subs)

        def _on_clock(self, msg) -> None:
            with self.cond:
                self.ticks += 1
                self.cond.notify_all()

        def _on_info(self, msg) -> None:
            with self.cond:
                self.info = json.loads(msg.data)
                self.cond.notify_all()

        def wait(self, predicate: Callable[[], bool], timeout_s: float,
                 stop: threading.Event) -> bool:
            """Wait until ``predicate()`` (True), ``stop`` or the timeout (False)."""
            end = time.monotonic() + timeout_s
            with self.cond:
                while not predicate():
                    left = end - time.monotonic()
                    if left <= 0 or stop.is_set():
                        return False
                    self.cond.wait(min(left, 0.05))
            return True

        def send(self, actions: np.ndarray) -> None:
            self.pub.publish(action_msg(actions))

    return AgentNode


def _connect(session: RosSession, agent, args) -> dict | None:
    """The node's status once the agent is wired to it (None: stopped by a signal)."""
    timeout = args.connect_timeout if args.connect else 30.0
    if not agent.wait(lambda: agent.info is not None, timeout, session.stop):
        if session.stop.is_set():
            return None
        raise ProcgenError(f"no spaceros_procgen_envs node answered on envs/info within "
                           f"{timeout:g} s; start run_spaceros.py with the same ROS_DOMAIN_ID and "
                           f"namespace, or drop --connect")
    info = agent.info
    if args.connect:
        check_connected(args, info)
    agent.watch()
    end = time.monotonic() + timeout
    while not agent.matched():
        if session.stop.wait(0.02):
            return None
        if time.monotonic() > end:
            raise ProcgenError(f"the node's topics did not connect within {timeout:g} s")
    return info


def _drive(session: RosSession, agent, act: Callable[[], np.ndarray], info: dict, args,
           status: StatusLine) -> tuple[int, float]:
    """Publish actions until a signal, --steps or --duration; returns (steps seen, seconds).

    One action per step of the node: in lockstep the action makes the step, in real time
    the agent answers each step it sees on ``/clock`` (so it never floods the node).
    """
    lockstep = info["mode"] == "lockstep"
    node = session.node
    failed = (lambda: node.failed is not None) if node is not None else (lambda: False)
    start, t0 = agent.ticks, time.monotonic()
    end = None if args.duration is None else t0 + args.duration
    while not session.stop.is_set():
        steps = agent.ticks - start
        status.update(steps, agent.stats)
        if (args.steps is not None and steps >= args.steps) or \
                (end is not None and time.monotonic() >= end):
            break
        session.check()
        target = agent.ticks + 1
        if lockstep:
            agent.send(act())
        if not agent.wait(lambda: agent.ticks >= target or failed(), STEP_TIMEOUT_S,
                          session.stop):
            if session.stop.is_set():
                break
            session.check()
            raise ProcgenError(f"the node took no step within {STEP_TIMEOUT_S:g} s; "
                               "is it still running?")
        if not lockstep:
            agent.send(act())
    session.check()
    return agent.ticks - start, time.monotonic() - t0


def agent_main(policy: str, argv: Sequence[str] | None = None) -> int:
    """``agent_<policy>.py``: start (or ``--connect`` to) the node and drive it over ROS."""
    prog = f"agent_{policy}.py"
    parser = make_parser(f"Drive every env with {policy} actions over ROS 2 (envs/action), "
                         "starting the simulation node here or using a running one (--connect); "
                         "prints steps/s, episodes and mean reward. ROS arguments go after "
                         "--ros-args.", prog=prog)
    add_ros_flags(parser, connect=True)
    args, ros_args = parse_args(parser, argv)
    with RosSession(args, ros_args, start_node=not args.connect) as session:
        session.open_viewer()
        agent = session.add_node(_agent_node_class()(f"{policy}_agent"))
        info = _connect(session, agent, args)
        if info is None:
            session.check()  # stopped by a clash (exit 2) or a failure, else by a signal
            return 0
        status = StatusLine(prog, info["num_envs"])
        act = make_policy(policy, info["num_envs"], info["action_dim"], args.seed)
        steps, seconds = _drive(session, agent, act, info, args, status)
        status.finish(steps, seconds, agent.stats)
    return 0


main_random = partial(agent_main, "random")
main_zero = partial(agent_main, "zero")
