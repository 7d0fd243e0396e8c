"""``agent_policy.py``: a saved policy drives the ROS node (``envs/observation`` in,
``envs/action`` out), in its own node or a running ``run_spaceros.py`` (``--connect``).

After connecting it calls ``sim/reset`` (the reply's observation is its first input), then acts
on every observation: in ``--lockstep`` each action makes the next step, so the run takes
exactly the actions ``eval.py`` takes on the same seeds and ``--num_envs`` (see
:func:`~.evaluate.start_batch`); in real time it answers the newest observation.

Example::

    ./run.sh ros2 run spaceros_procgen_envs agent_policy.py --policy runs/x/policy --lockstep
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Sequence

import numpy as np

from ..cli import make_parser
from ..errors import ProcgenError
from ..ros.agents import StatusLine, _agent_node_class, _connect
from ..ros.launcher import RosSession, add_ros_flags, parse_args, split_ros_args
from .cli import add_install_flag, add_policy_flags, fail, policy_meta, require_rl

PROG = "agent_policy.py"
OBS_TIMEOUT_S = 5.0  # no observation within this: the node is gone
DISCOVERY_WAIT_S = 1.0  # --connect: time for the node to see our subscription before sim/reset


class ObservationInbox:
    """The newest ``envs/observation`` message (thread-safe), split back into the policy's keys."""

    def __init__(self, layout: list[list], space, num_envs: int):
        self.cond, self.count, self.flat = threading.Condition(), 0, None
        self.layout, self.space, self.num_envs = [(k, int(n)) for k, n in layout], space, num_envs

    def on_message(self, msg) -> None:
        flat = np.asarray(msg.data, np.float32).reshape(self.num_envs, -1)
        with self.cond:
            self.flat, self.count = flat, self.count + 1
            self.cond.notify_all()

    def wait_newer(self, count: int, timeout_s: float, stop: threading.Event) -> bool:
        end = time.monotonic() + timeout_s
        with self.cond:
            while self.count <= count:
                left = end - time.monotonic()
                if left <= 0 or stop.is_set():
                    return False
                self.cond.wait(min(left, 0.05))
        return True

    def take(self) -> tuple[int, dict[str, np.ndarray]]:
        with self.cond:
            flat, count = self.flat, self.count
        obs, offset = {}, 0
        for key, size in self.layout:
            obs[key] = flat[:, offset:offset + size].reshape(self.num_envs,
                                                            *self.space[key].shape)
            offset += size
        return count, obs


def policy_parser() -> argparse.ArgumentParser:
    parser = make_parser("Drive every env with a saved policy over ROS 2 (envs/observation in, "
                         "envs/action out), starting the simulation node here or using a running "
                         "one (--connect). With --lockstep it takes exactly eval.py's actions on "
                         "the same seeds. ROS arguments go after --ros-args.", prog=PROG)
    add_ros_flags(parser, connect=True)
    add_policy_flags(parser)
    add_install_flag(parser)
    parser.set_defaults(num_envs=16)
    return parser


def check_node(parser, info: dict, meta, space) -> None:
    """Refuse a node that runs another task or observes other keys (exit 2)."""
    if info["task"] != meta.task:
        fail(parser, ProcgenError(f"the node runs --task {info['task']}, the policy was trained "
                                  f"on {meta.task}; start run_spaceros.py with --task {meta.task}"))
    keys = [key for key, _ in info["observation_layout"]]
    if sorted(keys) != sorted(space.spaces):
        fail(parser, ProcgenError(f"the node's observations {keys} are not the policy's "
                                  f"{list(space.spaces)}"))


def first_observation(session, agent, inbox: ObservationInbox) -> int:
    """Call ``sim/reset`` and wait for the observation it publishes; returns its count."""
    from std_srvs.srv import Empty

    client = agent.create_client(Empty, "sim/reset")
    if not client.wait_for_service(timeout_sec=OBS_TIMEOUT_S):
        raise ProcgenError("the node offers no sim/reset service")
    node = session.node
    if node is not None:  # our own node: wait until it sees our subscription
        agent.wait(lambda: node._batch.observation.get_subscription_count() > 0,
                   OBS_TIMEOUT_S, session.stop)
    else:
        session.stop.wait(DISCOVERY_WAIT_S)
    before, replied = inbox.count, threading.Event()
    client.call_async(Empty.Request()).add_done_callback(lambda _: replied.set())
    if not (replied.wait(OBS_TIMEOUT_S) and inbox.wait_newer(before, OBS_TIMEOUT_S, session.stop)):
        if session.stop.is_set():
            return before
        raise ProcgenError("sim/reset published no envs/observation; is the node still running?")
    return inbox.count - 1


def drive(session, agent, policy, inbox: ObservationInbox, lockstep: bool, args,
          status: StatusLine) -> tuple[list[np.ndarray], float]:
    """Act on every new observation until a signal, ``--steps`` or ``--duration``."""
    seen, sent, t0 = first_observation(session, agent, inbox), [], time.monotonic()
    end = None if args.duration is None else t0 + args.duration
    start_ticks = agent.ticks
    while not session.stop.is_set():
        if (args.steps is not None and len(sent) >= args.steps) or \
                (end is not None and time.monotonic() >= end):
            break
        session.check()
        if not inbox.wait_newer(seen, OBS_TIMEOUT_S, session.stop):
            if session.stop.is_set():
                break
            raise ProcgenError(f"no envs/observation within {OBS_TIMEOUT_S:g} s; is the node "
                               "still running?")
        seen, obs = inbox.take()
        actions = policy.act(obs)
        agent.send(actions)
        sent.append(actions)
        status.update(agent.ticks - start_ticks, agent.stats)
    if lockstep and sent:  # the last action's step: its observation closes the run
        inbox.wait_newer(seen, OBS_TIMEOUT_S, session.stop)
    return sent, time.monotonic() - t0


def agent_policy_main(argv: Sequence[str] | None = None) -> int:
    """``agent_policy.py``."""
    import sys

    parser = policy_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    pre, _ = parser.parse_known_args(split_ros_args(argv)[0])
    meta = policy_meta(parser, pre)  # --policy and --task checked; the policy's defaults
    parser.set_defaults(task=pre.task, seed=pre.seed, domain=pre.domain)
    args, ros_args = parse_args(parser, argv)
    require_rl(parser, args)
    from std_msgs.msg import Float32MultiArray

    from ..ros.topics import STEP_QOS
    from .bundle import LoadedPolicy, PolicyError

    try:
        policy = LoadedPolicy(args.policy)
    except PolicyError as exc:
        fail(parser, exc)
    with RosSession(args, ros_args, start_node=not args.connect) as session:
        session.open_viewer()
        agent = session.add_node(_agent_node_class()("policy_agent"))
        holder: list[ObservationInbox] = []
        agent.subs.append(agent.create_subscription(
            Float32MultiArray, "envs/observation",
            lambda m: holder and holder[0].on_message(m), STEP_QOS))
        info = _connect(session, agent, args)
        if info is None:
            return 0
        check_node(parser, info, meta, policy.observation_space)
        holder.append(ObservationInbox(info["observation_layout"], policy.observation_space,
                                       info["num_envs"]))
        status = StatusLine(PROG, info["num_envs"])
        sent, seconds = drive(session, agent, policy, holder[0], info["mode"] == "lockstep",
                              args, status)
        status.finish(len(sent), seconds, agent.stats)
    if args.save_actions:
        np.save(args.save_actions, np.array(sent, np.float32))
    return 0
