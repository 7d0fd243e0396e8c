"""Keyboard teleop: one key press moves every env in the same step, through ROS like any client.

``teleop.py`` starts the simulation node in-process (or ``--connect``s to a running
``run_spaceros.py``) and a separate :class:`TeleopNode` that publishes exactly what an outside
program would: a ``geometry_msgs/Twist`` on ``envs/robot/cmd_vel`` at 50 Hz built from the keys
held now, ``std_msgs/Bool`` on ``envs/robot/gripper`` when K toggles it, and a call of the
``sim/reset`` service (std_srvs/Empty) on L. The broadcast topic means every env gets the same
command in the same step.

Key scheme (printed at start): the task's robot class declares it (``key_bindings`` on twist
components, ``gripper_key``; :class:`~..sim.robots.base.KeyBinding`), :data:`SCHEMES` holds
every registered robot's by kind. Today's robots:

=============  ==============================================================================
manipulator    W/S +-x, A/D +-y, Q/E +-z (TCP, world frame), Z/X roll, T/G pitch, C/V yaw,
               K toggles the gripper, L resets
rover          W/S forward / back, A/D turn left / right, L resets
multicopter    W/S forward / back, A/D left / right, Q/E up / down, C/V yaw left / right, L resets
=============  ==============================================================================

Speeds are ``--lin_speed`` / ``--ang_speed`` fractions of the robot's maximum speeds (the
node's :class:`~.convert.TwistMap`), so a Twist in m/s and rad/s goes out. A key that is no longer
reported held stops its motion within 0.2 s: with pynput at its release (+80 ms), in a terminal
0.15 s after its last auto-repeat byte (see :mod:`.keyboard`); the zero twist is published on the
next 20 ms tick, and the node holds that zero (the reference robot kept driving after a lost release).

Example::

    ./run.sh ros2 run spaceros_procgen_envs teleop.py --task sample_collection --num_envs 4
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from ..cli import make_parser, positive_float
from ..errors import ProcgenError
from ..registry import all_tasks, get_task
from ..sim.robots.base import KeyBinding


@dataclass(frozen=True)
class KeyScheme:
    """The keys of one robot (see :func:`scheme_of`).

    Attributes:
        robot_kind: ``manipulator``, ``rover`` or ``multicopter``.
        bindings: the motion keys.
        gripper_key: toggles the gripper (None: the robot has none).
        reset_key: calls ``sim/reset``.
    """

    robot_kind: str
    bindings: tuple[KeyBinding, ...]
    gripper_key: str | None = None
    reset_key: str = "l"

    @property
    def motion_keys(self) -> frozenset[str]:
        return frozenset(k for b in self.bindings for k in (b.plus, b.minus))

    def direction(self, held: Iterable[str]) -> np.ndarray:
        """-1, 0 or +1 per twist axis for the held keys (opposite keys cancel)."""
        held = set(held)
        out = np.zeros(6)
        for b in self.bindings:
            out[b.axis] += (b.plus in held) - (b.minus in held)
        return np.clip(out, -1.0, 1.0)

    def describe(self, speeds: np.ndarray) -> list[str]:
        """One line per key group; ``speeds`` (6,) are the speeds at full key (m/s, rad/s)."""
        lines = []
        for b in self.bindings:
            unit = "m/s" if b.axis < 3 else "rad/s"
            lines.append(f"  {b.plus.upper()} / {b.minus.upper()}   {b.label:<26} "
                         f"{b.twist} +-{speeds[b.axis]:.2f} {unit}")
        if self.gripper_key:
            lines.append(f"  {self.gripper_key.upper()}       toggle every gripper "
                         "(envs/robot/gripper)")
        lines.append(f"  {self.reset_key.upper()}       reset every env (sim/reset)")
        lines.append("  Ctrl-C  quit")
        return lines


def scheme_of(robot) -> KeyScheme:
    """The :class:`KeyScheme` a robot (class or object) declares: its ``key_bindings`` and
    ``gripper_key`` (None without a ``gripper_action``)."""
    gripper_key = robot.gripper_key if robot.gripper_action else None
    return KeyScheme(robot.kind, tuple(robot.key_bindings), gripper_key)


# Every registered task's robot's scheme, by robot kind.
SCHEMES = {spec.robot_kind: scheme_of(spec.robot_class) for spec in all_tasks().values()}


def scheme_for(robot_kind: str, has_gripper: bool = True) -> KeyScheme:
    """The :class:`KeyScheme` of ``robot_kind`` (without a gripper key if there is no gripper)."""
    if robot_kind not in SCHEMES:
        raise ProcgenError(f"no keyboard scheme for robot kind {robot_kind!r}; "
                           f"expected one of {', '.join(SCHEMES)}")
    scheme = SCHEMES[robot_kind]
    if not has_gripper and scheme.gripper_key:
        scheme = KeyScheme(scheme.robot_kind, scheme.bindings, None, scheme.reset_key)
    return scheme


def axis_speeds(twist_map, lin_speed: float, ang_speed: float) -> np.ndarray:
    """Speed per twist axis at full key: the fraction times the robot's max (0 if unmapped)."""
    speeds = np.zeros(6)
    for axis, top in zip(twist_map.twist_index, twist_map.max_speed):
        speeds[axis] = top * (lin_speed if axis < 3 else ang_speed)
    return speeds


def twist_from_keys(scheme: KeyScheme, held: Iterable[str], speeds: np.ndarray) -> np.ndarray:
    """The twist (linear xyz m/s, angular xyz rad/s) for the held keys.

    >>> scheme = SCHEMES["rover"]
    >>> twist_from_keys(scheme, {"w", "a"}, np.array([0.5, 0, 0, 0, 0, 0.25])).tolist()
    [0.5, 0.0, 0.0, 0.0, 0.0, 0.25]
    """
    return scheme.direction(held) * speeds


def robot_twist_map(task: str):
    """The :class:`~.convert.TwistMap` of ``task``'s robot, without building a world.

    For ``--connect``: the task classes make their robot from config alone (``make_robot``).
    """
    from .convert import twist_map

    cls = get_task(task).task_class()
    return twist_map(cls.make_robot(cls.__new__(cls)))


def _make_teleop_node(scheme: KeyScheme, speeds: np.ndarray, keys, rate_hz: float, log,
                      console=None):
    import rclpy.node
    from geometry_msgs.msg import PoseStamped, Twist
    from std_msgs.msg import Bool, Float32, String
    from std_srvs.srv import Empty

    from .convert import twist_msg
    from .status import reset_line, teleop_status
    from .topics import INFO_QOS, STATE_QOS, STEP_QOS

    pose_topic = "env0/robot/ee_pose" if scheme.robot_kind == "manipulator" else "env0/robot/pose"

    class TeleopNode(rclpy.node.Node):
        """Publishes the held keys as a Twist at ``rate_hz``; K / L edges toggle and reset.

        Shows env 0's pose (the TCP for arms) and reward, the episode and the achieved rate in
        the console's status line, and one line per reset (``envs/resets``).
        """

        def __init__(self):
            super().__init__("spaceros_procgen_teleop")
            self.cmd_pub = self.create_publisher(Twist, "envs/robot/cmd_vel", 100)
            self.gripper_pub = self.create_publisher(Bool, "envs/robot/gripper", 100)
            self.reset_client = self.create_client(Empty, "sim/reset")
            self.gripper_closed, self.sent = False, 0
            self.last_twist = np.zeros(6)
            self.pose = self.reward = None
            self.info: dict = {}
            sub = self.create_subscription
            sub(PoseStamped, pose_topic, self._on_pose, STATE_QOS)
            sub(Float32, "env0/reward", lambda m: setattr(self, "reward", m.data), STEP_QOS)
            sub(String, "envs/info", lambda m: setattr(self, "info", json.loads(m.data)),
                INFO_QOS)
            sub(String, "envs/resets", lambda m: log(reset_line(json.loads(m.data))), STEP_QOS)
            self.create_timer(1.0 / rate_hz, self.tick)

        def _on_pose(self, msg) -> None:
            p = msg.pose.position
            self.pose = (p.x, p.y, p.z)

        def show_status(self) -> None:
            if console is None:
                return
            info = self.info
            episode = info["episodes"][0] + 1 if info.get("episodes") else None
            console.status(teleop_status(
                self.last_twist, self.gripper_closed if scheme.gripper_key else None, self.pose,
                self.reward, episode, info.get("rate_hz"),
                info.get("target_rate_hz") if info else float("nan")))

        def tick(self) -> None:
            for key in keys.pop_pressed():
                if key == scheme.gripper_key:
                    self.gripper_closed = not self.gripper_closed
                    self.gripper_pub.publish(Bool(data=self.gripper_closed))
                    log(f"gripper: {'close' if self.gripper_closed else 'open'} (every env)")
                elif key == scheme.reset_key:
                    self.reset()
            twist = twist_from_keys(scheme, keys.held(), speeds)
            self.cmd_pub.publish(twist_msg(twist[:3], twist[3:]))
            self.last_twist, self.sent = twist, self.sent + 1
            self.show_status()

        def reset(self) -> None:
            if not self.reset_client.service_is_ready():
                log("reset: sim/reset is not available (is the node running?)")
                return
            self.reset_client.call_async(Empty.Request())
            log("reset: every env (sim/reset)")

    return TeleopNode()


class Spinner:
    """The teleop's own executor thread, independent of the simulation session's executor.

    Nodes can be added while it spins; :meth:`close` stops it and destroys them (< 0.2 s).
    """

    def __init__(self):
        from rclpy.executors import SingleThreadedExecutor

        self.executor, self.nodes = SingleThreadedExecutor(), []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, name="teleop-executor", daemon=True)
        self._thread.start()

    def add(self, node):
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def _spin(self) -> None:
        while not self._stop.is_set():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:  # noqa: BLE001 - the context went away: the process is ending
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        for node in self.nodes:
            self.executor.remove_node(node)
            node.destroy_node()
        self.executor.shutdown(timeout_sec=0.2)


def wait_for_info(spinner: Spinner, timeout_s: float) -> dict:
    """The first ``envs/info`` status of a running node (``--connect``)."""
    import rclpy.node
    from rclpy.qos import DurabilityPolicy, QoSProfile
    from std_msgs.msg import String

    got: list[dict] = []
    ready = threading.Event()

    def on_info(msg):
        got.append(json.loads(msg.data))
        ready.set()

    listener = spinner.add(rclpy.node.Node("spaceros_procgen_teleop_info"))
    qos = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    listener.create_subscription(String, "envs/info", on_info, qos)
    if not ready.wait(timeout_s):
        raise ProcgenError(f"--connect: no simulation node answered on envs/info within "
                           f"{timeout_s:g} s; start one (run_spaceros.py) with the same "
                           "ROS_DOMAIN_ID and namespace, or drop --connect")
    return got[0]


def make_teleop_parser():
    from .launcher import add_ros_flags

    parser = make_parser("Drive every env from the keyboard: a simulation node (or --connect to "
                         "one) and a teleop publishing envs/robot/cmd_vel, envs/robot/gripper and "
                         "calling sim/reset. Keys come from pynput on an X display, else from the "
                         "terminal. ROS arguments go after --ros-args.")
    add_ros_flags(parser, connect=True)
    parser.add_argument("--lin_speed", type=fraction, default=0.5,
                        help="linear speed of a held key, as a fraction of the robot's maximum")
    parser.add_argument("--ang_speed", type=fraction, default=0.5,
                        help="angular speed of a held key, as a fraction of the robot's maximum")
    parser.add_argument("--rate_hz", type=positive_float, default=50.0,
                        help="Twist publishing rate (the agent rate)")
    parser.add_argument("--key_hold_s", type=positive_float, default=0.15,
                        help="terminal keys: a key counts as held this long after its last byte "
                             "(cover your auto-repeat interval; the stop delay after release)")
    parser.set_defaults(no_episode_limit=True)  # teleop: no time limit unless --episode_s
    parser.add_argument("--no_viewer", action="store_true",
                        help="no MuJoCo viewer even with a display (pynput keys still used)")
    parser.add_argument("--viewer_fps", type=positive_float, default=30.0,
                        help="viewer frame rate cap")
    return parser


def fraction(text: str) -> float:
    """A number in (0, 1] (``--lin_speed``, ``--ang_speed``)."""
    import argparse

    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1], got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """``teleop.py``: simulation node (or --connect) + keyboard teleop until Ctrl-C."""
    from .graph import check_connected
    from .keyboard import QuietTerminal, TerminalKeys, open_keyboard
    from .launcher import RosSession, parse_args
    from .status import Console

    global _console
    args, ros_args = parse_args(make_teleop_parser(), argv)
    _console = Console()
    with RosSession(args, ros_args, start_node=not args.connect) as session:
        node, spinner, keys, viewer = session.node, Spinner(), None, None
        try:
            if node is not None:
                spec, tmap, task = node.spec, node.commands.twist, node.cfg.task
            else:
                info = wait_for_info(spinner, args.connect_timeout)
                check_connected(args, info)
                task = info["task"]
                spec, tmap = get_task(task), robot_twist_map(task)
            kind, scheme = spec.robot_kind, scheme_of(spec.robot_class)
            speeds = axis_speeds(tmap, args.lin_speed, args.ang_speed)
            keys = open_keyboard(args.headless, hold_s=args.key_hold_s, log=log)
            spinner.add(_make_teleop_node(scheme, speeds, keys, args.rate_hz, log, _console))
            viewer = _start_viewer(args, node, log)
            if isinstance(keys, TerminalKeys) and not os.isatty(keys.fd):
                log("teleop: stdin is not a terminal; reading key bytes from it as they come")
            keys.start()  # before the key list: once it is printed, keys are heard
            log(f"teleop: {task} ({kind}), keys from {keys.name}; every env via "
                f"envs/robot/cmd_vel; {episode_limit(args)}")
            for line in scheme.describe(speeds):
                log(line)
            with QuietTerminal() if not isinstance(keys, TerminalKeys) else nullcontext():
                steps = args.steps
                session.run(None if steps is None or node is None
                            else lambda: node.steps >= steps)
        finally:
            if keys is not None:
                keys.stop()
            if viewer is not None:
                viewer.close()
            spinner.close()
            _console.close()
    return 0


def episode_limit(args) -> str:
    """What ends an episode here, said at start (the node's own limit with --connect)."""
    if args.connect:
        return "episodes end as the running node says"
    if args.episode_s is not None:
        return f"episodes end after {args.episode_s:g} s (--episode_s)"
    return "no episode time limit (--episode_s S sets one)"


_console = None  # teleop's Console (set by main)


def log(line: str) -> None:
    """Teleop's messages (scheme, gripper, reset, viewer) go to stdout, flushed at once
    (above the status line on a terminal)."""
    if _console is None:
        print(line, flush=True)
    else:
        _console.log(line)


def _start_viewer(args, node, log):
    """The MuJoCo viewer on env 0, or None (headless, --no_viewer, --connect, no display)."""
    if args.headless or args.no_viewer:
        return None
    if node is None:
        log("viewer: --connect: the worlds live in the other process; no viewer here")
        return None
    from ..viewer import EnvViewer

    viewer = EnvViewer(node.vec.envs, fps=args.viewer_fps, log=log)
    return viewer if viewer.start() else None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
