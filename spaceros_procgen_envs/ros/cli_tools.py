"""``ros2 topic list | echo | hz`` over rclpy, for machines without a ROS 2 install.

``./run.sh ros2 topic ...`` lands here when no ``ros2`` command exists (a ROS install keeps its
real ``ros2``). The commands and flags are the ones users type from habit:

    ros2 topic list [-t] [-c]                 every topic of the ROS domain (with types, count)
    ros2 topic echo TOPIC [TYPE] [--once]     messages as YAML-like text, ``---`` between them
    ros2 topic hz TOPIC [TYPE] [-w N]         the receive rate, once a second
    ros2 node list                            every node of the domain

``TYPE`` is ``pkg/msg/Name`` (or ``pkg/Name``); without it the type is read from the graph:
``echo`` and ``hz`` wait until the topic shows up there (``--wait-timeout S``, default 30 s:
discovery on a busy machine takes seconds, and a node started just before may still be
building its worlds), saying so on stderr once they have waited ``--spin-time`` s; then one
line and exit code 2. Discovery takes a moment without ROS's daemon: ``--spin-time S`` says
how long ``list`` looks (s).

Example::

    ./run.sh ros2 topic echo /env0/robot/pose --once
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence

from ..errors import ProcgenError

HANDLED = ("topic list", "topic echo", "topic hz", "node list")
DEFAULT_SPIN_S = 2.5  # s: how long a command looks at the graph (discovery: 1 to 3 s when busy)
TOPIC_WAIT_S = 30.0  # s: echo / hz without a type wait this long for the topic to appear
POLL_S = 0.05  # s between two looks at the graph
QUIET_S = 0.5  # s: ``topic list`` keeps looking while a new topic came within this


class CliError(ProcgenError):
    """Bad use of a command: one line, exit code 2."""


# --- messages as text -----------------------------------------------------------------------
def message_class(type_name: str):
    """``std_msgs/msg/String`` (or ``std_msgs/String``) -> the message class.

    Raises:
        CliError: the name is malformed or its package is not installed.
    """
    parts = type_name.strip("/").split("/")
    if len(parts) == 2:
        parts.insert(1, "msg")
    if len(parts) != 3 or not all(parts):
        raise CliError(f"message type {type_name!r}: expected pkg/msg/Name, e.g. "
                       "std_msgs/msg/String")
    try:
        return getattr(importlib.import_module(f"{parts[0]}.{parts[1]}"), parts[2])
    except (ImportError, AttributeError):
        raise CliError(f"message type {type_name!r} is not installed here (no Python module "
                       f"{parts[0]}.{parts[1]} with {parts[2]})") from None


def _scalar(value) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else (".nan" if value != value else
                                                         ("-.inf" if value < 0 else ".inf"))
    if isinstance(value, bytes):
        return repr(value)
    return str(value.item() if hasattr(value, "item") else value)


def format_message(msg, truncate: int = 128, indent: int = 0) -> list[str]:
    """A ROS message as YAML-like lines (as ``ros2 topic echo`` prints it).

    Sequences longer than ``truncate`` show their first ``truncate`` items, then ``'...'``.
    """
    pad, lines = "  " * indent, []
    for name in msg.get_fields_and_field_types():
        value = getattr(msg, name)
        if hasattr(value, "get_fields_and_field_types"):
            lines.append(f"{pad}{name}:")
            lines += format_message(value, truncate, indent + 1)
        elif isinstance(value, (list, tuple)) or hasattr(value, "__len__") and \
                not isinstance(value, (str, bytes)):
            lines += _format_sequence(name, list(value), truncate, indent)
        else:
            lines.append(f"{pad}{name}: {_scalar(value)}")
    return lines


def _format_sequence(name: str, items: list, truncate: int, indent: int) -> list[str]:
    pad = "  " * indent
    if not items:
        return [f"{pad}{name}: []"]
    shown, more = items[:truncate], len(items) > truncate
    if hasattr(shown[0], "get_fields_and_field_types"):
        lines = [f"{pad}{name}:"]
        for item in shown:
            body = format_message(item, truncate, indent + 2)
            lines.append(f"{pad}- {body[0].strip()}")
            lines += [f"{pad}  {line[len(pad) + 4:]}" if line.startswith(pad + "    ")
                      else line for line in body[1:]]
        return lines + ([f"{pad}- '...'"] if more else [])
    return [f"{pad}{name}:"] + [f"{pad}- {_scalar(v)}" for v in shown] + \
        ([f"{pad}- '...'"] if more else [])


# --- the graph ------------------------------------------------------------------------------
class GraphNode:
    """rclpy on its own context with one node and a spinning thread; a context manager."""

    def __init__(self, name: str = "spaceros_procgen_cli"):
        from . import require_rclpy

        require_rclpy()
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        self.context.init(args=["spaceros_procgen_cli"])
        self.node = rclpy.create_node(name, context=self.context,
                                      start_parameter_services=False)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while not self.stop.is_set():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:  # noqa: BLE001 - the context is shutting down
                return

    def topics(self) -> dict[str, list[str]]:
        """topic -> its types, as the graph knows them now (our own node's topics excluded
        only where nobody else uses them: ``/parameter_events``, ``/rosout`` stay)."""
        return dict(self.node.get_topic_names_and_types())

    def resolve(self, topic: str) -> str:
        return self.node.resolve_topic_name(topic)

    def __enter__(self) -> GraphNode:
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self._thread.join(1.0)
        self.executor.shutdown(timeout_sec=0.5)
        self.node.destroy_node()
        self.context.try_shutdown()


def look(graph: GraphNode, spin_s: float) -> dict[str, list[str]]:
    """The graph's topics after ``spin_s`` s of discovery, then while new ones still come
    (at most 3 x ``spin_s``)."""
    longest_s = 3 * spin_s
    start = last_change = time.monotonic()
    seen = graph.topics()
    while True:
        now = time.monotonic()
        if now - start >= spin_s and now - last_change >= QUIET_S or now - start >= longest_s:
            return seen
        time.sleep(POLL_S)
        current = graph.topics()
        if set(current) != set(seen):
            last_change = time.monotonic()
        seen = current


def wait_for_topic(graph: GraphNode, name: str, timeout_s: float, stop: threading.Event,
                   note_after_s: float = DEFAULT_SPIN_S) -> list[str] | None:
    """The types of topic ``name`` once the graph shows it; None after ``timeout_s`` or when
    ``stop`` is set. After ``note_after_s`` without it, one line on stderr says what it waits
    for.

    Discovery has no fixed duration: on a loaded machine the first DDS announcements between
    two processes can be lost, and the next ones come seconds later.
    """
    start = time.monotonic()
    noted = False
    while not stop.is_set():
        types = graph.topics().get(name)
        if types:
            return types
        waited = time.monotonic() - start
        if waited >= timeout_s:
            return None
        if not noted and waited >= note_after_s:
            print(f"waiting for {name} to appear on ROS_DOMAIN_ID {_domain()} (up to "
                  f"{timeout_s:g} s) ...", file=sys.stderr, flush=True)
            noted = True
        stop.wait(POLL_S)
    return None


def _topic_type(graph: GraphNode, args, stop: threading.Event):
    """The message class for ``args.topic``: the given type, else the graph's (waits for the
    topic to appear; None when ``stop`` came first).

    Raises:
        CliError: the topic did not appear within ``--wait-timeout``.
    """
    if args.type:
        return message_class(args.type)
    name = graph.resolve(args.topic)
    timeout_s = max(args.wait_timeout, args.spin_time)
    types = wait_for_topic(graph, name, timeout_s, stop, note_after_s=args.spin_time)
    if types is None and not stop.is_set():
        raise CliError(f"topic {name} is not published on ROS_DOMAIN_ID {_domain()}: not seen "
                       f"within {timeout_s:g} s; check 'ros2 topic list', wait longer "
                       f"(--wait-timeout {2 * timeout_s:g}), or give its type to subscribe "
                       f"before it appears: ros2 topic echo {name} std_msgs/msg/String")
    return None if types is None else message_class(types[0])


def _domain() -> str:
    import os

    return os.environ.get("ROS_DOMAIN_ID", "0")


# --- commands -------------------------------------------------------------------------------
def topic_list(args) -> int:
    with GraphNode() as graph:
        topics = look(graph, args.spin_time)
    if args.count_topics:
        print(len(topics))
        return 0
    for name in sorted(topics):
        print(f"{name} [{', '.join(topics[name])}]" if args.show_types else name)
    if set(topics) <= {"/parameter_events", "/rosout"}:
        print(f"(no other node's topics found on ROS_DOMAIN_ID {_domain()} within "
              f"{args.spin_time:g} s; check the domain, or give discovery longer: "
              f"--spin-time {2 * args.spin_time:g})", file=sys.stderr)
    return 0


def node_list(args) -> int:
    with GraphNode() as graph:
        look(graph, args.spin_time)
        names = graph.node.get_node_names_and_namespaces()
        own = graph.node.get_fully_qualified_name()
    for fqn in sorted({(ns.rstrip("/") + "/" + n) for n, ns in names} - {own}):
        print(fqn)
    return 0


def _subscribe(graph: GraphNode, args, callback, stop: threading.Event,
               raw: bool = False) -> bool:
    """Subscribe ``callback`` to ``args.topic``; False when ``stop`` came first."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    cls = _topic_type(graph, args, stop)
    if cls is None:
        return False
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT
                     if args.qos_reliability == "best_effort" else ReliabilityPolicy.RELIABLE)
    graph.node.create_subscription(cls, args.topic, callback, qos, raw=raw)
    return True


def topic_echo(args, stop: threading.Event) -> int:
    """Print every message (``--once``: the first) until Ctrl-C."""
    got = threading.Event()

    def on_msg(msg):
        if args.once and got.is_set():
            return
        text = "\n".join(format_message(msg, args.truncate_length))
        sys.stdout.write(f"{text}\n---\n")
        sys.stdout.flush()
        got.set()
        if args.once:
            stop.set()

    with GraphNode() as graph:
        if not _subscribe(graph, args, on_msg, stop):
            return 130
        stop.wait()
    return 0


class RateMeter:
    """Arrival times of the last ``window`` messages and their rate statistics."""

    def __init__(self, window: int):
        self.times: deque[float] = deque(maxlen=window + 1)
        self.lock = threading.Lock()

    def add(self, t: float) -> None:
        with self.lock:
            self.times.append(t)

    def report(self) -> str | None:
        """``ros2 topic hz``'s lines, or None before two messages came."""
        with self.lock:
            times = list(self.times)
        if len(times) < 2:
            return None
        gaps = [b - a for a, b in zip(times, times[1:])]
        mean = sum(gaps) / len(gaps)
        std = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps))
        return (f"average rate: {1.0 / mean:.3f}\n\tmin: {min(gaps):.3f}s max: {max(gaps):.3f}s "
                f"std dev: {std:.5f}s window: {len(gaps) + 1}")


def topic_hz(args, stop: threading.Event) -> int:
    """Print the receive rate of ``topic`` once a second until Ctrl-C."""
    meter = RateMeter(args.window)
    with GraphNode() as graph:
        if not _subscribe(graph, args, lambda _msg: meter.add(time.monotonic()), stop, raw=True):
            return 130
        while not stop.wait(1.0):
            text = meter.report()
            print(text if text else f"no new messages on {graph.resolve(args.topic)}",
                  flush=True)
    return 0


# --- the command line -----------------------------------------------------------------------
def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ros2", description="ros2 topic list/echo/hz and node list over rclpy (no ROS 2 "
                                 "install needed; a ROS install uses its own ros2).")
    verbs = parser.add_subparsers(dest="verb", required=True)
    topic = verbs.add_parser("topic").add_subparsers(dest="command", required=True)
    node = verbs.add_parser("node").add_subparsers(dest="command", required=True)
    listing = topic.add_parser("list", help="every topic of the ROS domain")
    listing.add_argument("-t", "--show-types", action="store_true")
    listing.add_argument("-c", "--count-topics", action="store_true")
    echo = topic.add_parser("echo", help="print a topic's messages")
    echo.add_argument("--once", action="store_true", help="print the first message and exit")
    echo.add_argument("--truncate-length", "-l", type=int, default=128,
                      help="show at most this many items of a sequence")
    hz = topic.add_parser("hz", help="a topic's receive rate")
    hz.add_argument("-w", "--window", type=int, default=10000,
                    help="messages the statistics cover")
    for sub in (echo, hz):
        sub.add_argument("topic")
        sub.add_argument("type", nargs="?", help="pkg/msg/Name (default: from the graph)")
        sub.add_argument("--qos-reliability", choices=("reliable", "best_effort"),
                         default="reliable")
        sub.add_argument("--wait-timeout", type=float, default=TOPIC_WAIT_S, metavar="S",
                         help="without TYPE: seconds to wait for the topic to appear "
                              f"(default {TOPIC_WAIT_S:g})")
    for sub in (listing, echo, hz, node.add_parser("list", help="every node of the domain")):
        sub.add_argument("--spin-time", type=float, default=DEFAULT_SPIN_S,
                         help="seconds to discover the graph (no daemon here)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``ros2 <verb> <command> ...``; exit 0, 2 on bad use, 130 on Ctrl-C."""
    import signal

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["ros2"]:
        argv = argv[1:]
    if " ".join(argv[:2]) not in HANDLED and argv[:1] not in (["-h"], ["--help"]):
        print(f"error: 'ros2 {' '.join(argv[:2])}' is not handled without a ROS 2 install; "
              f"handled: {', '.join('ros2 ' + h for h in HANDLED)} (and 'ros2 run'); install "
              "ROS 2 for the rest", file=sys.stderr)
        return 2
    args = make_parser().parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if args.verb == "node":
            return node_list(args)
        return {"list": lambda: topic_list(args), "echo": lambda: topic_echo(args, stop),
                "hz": lambda: topic_hz(args, stop)}[args.command]()
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ProcgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
