"""Two simulations on one ROS domain, and ``--connect`` to the wrong one: found, not silent.

Two nodes on one domain and namespace share every topic: agents see double rates and poses
from two worlds, and one key press drives both. While the node runs the launcher looks at the
graph (:class:`ClashWatch`) and exits (code 2) with the fix when it finds, in another process,

* another node with this node's fully qualified name,
* another simulation publishing this node's ``envs/info`` (same namespace, remapped name),
* (agents and teleop, which bring their own driver) publishers on this node's input topics
  in its first ``INPUTS_WINDOW_S``: somebody else's agent, or another robot's teleop on
  ``robot/cmd_vel``.

Of two simulations that find each other, only the younger (by ``started_unix_s`` in their
``envs/info``) gives way.

``--connect`` refuses a ``--task`` or ``--num_envs`` the user gave that differs from the running
node's (its ``envs/info``), naming both.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Sequence

from ..errors import ProcgenError

CLASH_WINDOW_S = 20.0  # s after the node's start: looked at 5 times a second (then once)
INPUTS_WINDOW_S = 10.0  # s: foreign publishers count only this early (later: clients of ours)
INPUT_TOPICS = ("envs/action", "envs/robot/cmd_vel", "robot/cmd_vel", "env0/action",
                "env0/robot/cmd_vel")


class UsageConflict(ProcgenError):
    """The command cannot run as given here (a clash, a mismatch): one line, exit code 2."""

    exit_code = 2


def _fqn(name: str, namespace: str) -> str:
    return f"{namespace.rstrip('/')}/{name}"


def fix_hint(namespace: str) -> str:
    """How to run apart: another ROS_DOMAIN_ID, or a namespace of its own."""
    domain = int(os.environ.get("ROS_DOMAIN_ID", "0") or 0)
    other = domain + 1 if domain < 101 else 1
    ns = "/sim2" if namespace in ("", "/") else f"{namespace.rstrip('/')}_2"
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "<command>"
    return (f"run this one apart: ROS_DOMAIN_ID={other} {prog} ..., or in a namespace of its "
            f"own: {prog} ... --ros-args -r __ns:={ns} (its agents need the same)")


UNKNOWN = "_NODE_NAME_UNKNOWN_"  # an endpoint seen before its node's name (discovery order)


def own_prefix(node) -> bytes:
    """The GUID prefix of this process's DDS participant (every node of one rclpy context
    shares it): a publisher on a topic of its own shows it at once."""
    topic = f"/_spaceros_procgen_self_{os.getpid()}_{id(node)}"
    from std_msgs.msg import Empty

    pub = node.create_publisher(Empty, topic, 1)
    try:
        return bytes(node.get_publishers_info_by_topic(topic)[0].endpoint_gid)[:12]
    finally:
        node.destroy_publisher(pub)


def find_clash(node, prefix: bytes, external_drivers: bool, final: bool = True,
               older=lambda: True) -> str | None:
    """What on the graph clashes with ``node`` (a :class:`~.node.SpaceRosNode`), or None.

    Args:
        node: the simulation node.
        prefix: :func:`own_prefix`: endpoints of this process are never a clash.
        external_drivers: publishers on the input topics are expected (``run_spaceros.py``
            serves outside agents); else any other process's publisher there is foreign.
        final: also report endpoints whose node is not named yet (else wait for the name,
            which may turn out to be this node's own name: the clearer message).
        older: true when another simulation started before this one: of two clashing
            simulations only the younger gives way.
    """
    fqn, ns = node.get_fully_qualified_name(), node.get_namespace()
    domain = os.environ.get("ROS_DOMAIN_ID", "0")
    # every node publishes /rosout and /parameter_events: another process's with our name
    same = [name for topic in ("/rosout", "/parameter_events")
            for name in _publishers(node, topic, prefix, final) if name == fqn]
    if same and older():
        return (f"another node {fqn} already runs on ROS_DOMAIN_ID {domain}: two simulations "
                f"would share every topic; {fix_hint(ns)}")
    info = node.resolve_topic_name("envs/info")
    others = _publishers(node, info, prefix, final)
    if others and older():
        return (f"another simulation ({others[0]}) already publishes {info} on ROS_DOMAIN_ID "
                f"{domain}: two would share every topic; {fix_hint(ns)}")
    if external_drivers:
        return None
    for topic in INPUT_TOPICS:
        resolved = node.resolve_topic_name(topic)
        pubs = _publishers(node, resolved, prefix, final)
        if pubs:
            return (f"{resolved} already has a publisher ({pubs[0]}) on ROS_DOMAIN_ID {domain} "
                    f"that is not this program's: it would drive these envs too; "
                    f"{fix_hint(ns)}")
    return None


def _publishers(node, topic: str, prefix: bytes, final: bool) -> list[str]:
    """Other processes' publishers on ``topic``, as node names."""
    return [_fqn(p.node_name, p.node_namespace) for p in node.get_publishers_info_by_topic(topic)
            if bytes(p.endpoint_gid)[:12] != prefix and (final or p.node_name != UNKNOWN)]


class ClashWatch:
    """Looks at the graph in a thread while the node runs (5 Hz for ``CLASH_WINDOW_S``, then
    1 Hz): discovery on a busy host takes 1 to 10 s. The first clash calls
    ``on_clash(UsageConflict)`` (the launcher stops and exits 2). Foreign publishers count in
    the first ``INPUTS_WINDOW_S`` only; an older simulation counts whenever it shows up.
    """

    def __init__(self, node, external_drivers: bool, on_clash, stop: threading.Event,
                 window_s: float = CLASH_WINDOW_S):
        self.node, self.external_drivers, self.on_clash = node, external_drivers, on_clash
        self.prefix, self.stop = own_prefix(node), stop
        self.start, self.end = time.monotonic(), time.monotonic() + window_s
        self.me = (getattr(node, "started_unix_s", 0.0), os.getpid())
        self.others: dict[tuple, bool] = {}  # other simulations' (started, pid) from envs/info
        from std_msgs.msg import String

        from .topics import INFO_QOS

        self.sub = node.create_subscription(String, "envs/info", self._on_info, INFO_QOS)
        self.thread = threading.Thread(target=self._run, name="spaceros-clash-watch",
                                       daemon=True)
        self.thread.start()

    def close(self, timeout_s: float = 0.5) -> None:
        """Stop looking (sets ``stop``) and wait for the thread: it must not be in the
        middle of a graph query while the node is destroyed."""
        self.stop.set()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout_s)

    def _on_info(self, msg) -> None:
        import json

        info = json.loads(msg.data)
        key = (info.get("started_unix_s", 0.0), info.get("pid", 0))
        if key != self.me:
            self.others[key] = True

    def _older(self) -> bool:
        """Another simulation started first (ties: the lower pid), by its ``envs/info``."""
        return any(other < self.me for other in list(self.others))

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                last, early = now >= self.end, now - self.start < INPUTS_WINDOW_S
                clash = find_clash(self.node, self.prefix, self.external_drivers or not early,
                                   final=last, older=self._older)
                if clash is not None:
                    return self.on_clash(UsageConflict(clash))
                # after the window, once a second: an older simulation discovered late still
                # makes this (younger) one give way
                self.stop.wait(1.0 if last else 0.2)
        except Exception as exc:  # noqa: BLE001 - the node went away: the process is ending
            if not self.stop.is_set():
                self.node.get_logger().warning(f"the check for a second simulation stopped: "
                                               f"{exc!r}")


# --- --connect ------------------------------------------------------------------------------
def given_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The ``dest`` of every flag ``argv`` gives (defaults do not count)."""
    saved = [(action, action.default) for action in parser._actions]
    defaults, parser._defaults = parser._defaults, {}
    try:
        for action, _ in saved:
            action.default = argparse.SUPPRESS
        namespace, _ = parser.parse_known_args(list(argv))
    finally:
        for action, default in saved:
            action.default = default
        parser._defaults = defaults
    return set(vars(namespace))


def check_connected(args: argparse.Namespace, info: dict) -> None:
    """Refuse ``--task`` / ``--num_envs`` given on the command line that differ from the
    running node's (``info`` is its ``envs/info``).

    Raises:
        UsageConflict: naming the flag's value and the node's.
    """
    from ..registry import full_name

    given = getattr(args, "given", set())
    wrong = []
    if "task" in given and full_name(args.task) != info["task"]:
        wrong.append(("--task", args.task, info["task"]))
    if "num_envs" in given and args.num_envs != info["num_envs"]:
        wrong.append(("--num_envs", args.num_envs, info["num_envs"]))
    if wrong:
        asked = ", ".join(f"{flag} {mine}" for flag, mine, _ in wrong)
        runs = ", ".join(f"{flag[2:]} {theirs}" for flag, _, theirs in wrong)
        raise UsageConflict(
            f"--connect: the running node {info.get('node', '')} has {runs}, not {asked}; "
            f"drop {' and '.join(flag for flag, _, _ in wrong)} to drive it as it is, or start "
            "run_spaceros.py with those flags")
