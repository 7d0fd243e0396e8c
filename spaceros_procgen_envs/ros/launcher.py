"""What every ROS script shares: flags, ROS arguments, the node's lifetime, and shutdown.

A :class:`RosSession` starts rclpy, runs an executor in a background thread, and either
builds the :class:`~.node.SpaceRosNode` in-process or (``--connect``) leaves it to a
running ``run_spaceros.py``. SIGINT and SIGTERM set :attr:`RosSession.stop`; shutdown then
stops stepping, the graph watch, the executor, the env and rclpy. A watchdog, armed by the
signal itself, ends the process (exit 1, every thread's traceback on stderr) if it is still
there :data:`SHUTDOWN_LIMIT_S` after the signal, wherever it hangs: in the shutdown, or in
the interpreter's exit after it (module teardown, native destructors). Without a signal
(``--steps``, ``--duration``, a failure) the watchdog covers the shutdown alone.
``--ros-args ...`` on a command line go to rclpy untouched (remaps, ``__ns:=``,
``-p name:=value``).

Example (the whole of ``run_spaceros.py``)::

    raise SystemExit(run_main(node_main))
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence

from ..cli import (backend_name, camera_rate, check_task_domain, make_parser, non_negative_float,
                   positive_float, positive_int, video_path)
from ..errors import ProcgenError
from ..sim.cameras import DEFAULT_RESOLUTION, check_resolution
from ..registry import get_task, list_tasks
from ..vector.backends import BACKENDS
from . import require_rclpy
from .graph import ClashWatch, UsageConflict, given_flags
from .status import StatusLine

SHUTDOWN_LIMIT_S = 1.8  # SPEC 9: Ctrl-C / SIGTERM end everything within 2 s
SPIN_PERIOD_S = 0.05  # the executor thread looks at the stop flag this often


def split_ros_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split a command line into (script arguments, ROS arguments).

    ROS arguments run from each ``--ros-args`` to the next ``--`` or the end.

    >>> split_ros_args(["--num_envs", "2", "--ros-args", "-r", "__ns:=/a", "--", "--steps", "5"])
    (['--num_envs', '2', '--steps', '5'], ['--ros-args', '-r', '__ns:=/a', '--'])
    """
    user, ros, in_ros = [], [], False
    for arg in argv:
        if arg == "--ros-args":
            in_ros = True
        elif in_ros and arg == "--":
            ros.append(arg)
            in_ros = False
            continue
        (ros if in_ros else user).append(arg)
    return user, ros


def add_ros_flags(parser: argparse.ArgumentParser, *, connect: bool) -> None:
    """Add the simulation-node flags (SPEC 7) and, for agents, ``--connect``."""
    parser.add_argument("--backend", type=backend_name, default="thread",
                        help=f"how the batch is stepped, one of: {', '.join(BACKENDS)}")
    parser.add_argument("--headless", action="store_true",
                        help="no window: without it, and with an X display, a MuJoCo viewer "
                             "shows env 0 ([ and ] switch envs)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="stop after this many steps of the batch (default: run until Ctrl-C)")
    parser.add_argument("--duration", type=non_negative_float, default=None,
                        help="stop after this many wall-clock seconds")
    parser.add_argument("--lockstep", action="store_true",
                        help="step every env once per message on envs/action or "
                             "envs/robot/cmd_vel, instead of in real time")
    parser.add_argument("--realtime_factor", type=positive_float, default=1.0,
                        help="sim seconds per wall second in real-time mode (50 Hz x this)")
    parser.add_argument("--video", type=video_path, default=None, metavar="PATH.mp4",
                        help="film every env, tiled in a labelled grid, into this mp4 (10 fps of "
                             "sim time; drawing the frames slows the run)")
    parser.add_argument("--record", default=None, metavar="PATH",
                        help="record every env into this directory: a rosbag2 bag (MCAP) and a "
                             "Minari dataset; replay.py PATH re-runs it")
    parser.add_argument("--force", action="store_true",
                        help="with --record: replace an earlier recording at PATH")
    parser.add_argument("--per_env_topics", type=int, default=64, metavar="K",
                        help="envs 0..K-1 get their own env{i}/... topics and reset service "
                             "(default 64; -1: every env); every env is on the batched envs/* "
                             "topics")
    parser.add_argument("--episode_s", type=positive_float, default=None, metavar="S",
                        help="end (truncate) every episode after S seconds of sim time "
                             "(default: the task's own limit; teleop: none)")
    parser.add_argument("--camera_rate", type=camera_rate, default=10.0, metavar="HZ",
                        help="camera topics' rate for <task>_visual tasks (at most 50)")
    parser.add_argument("--camera_resolution", type=positive_int, nargs=2, default=None,
                        metavar=("W", "H"),
                        help="camera image size for <task>_visual tasks (default 128 128)")
    if connect:
        parser.add_argument("--connect", action="store_true",
                            help="drive a running run_spaceros.py (same ROS_DOMAIN_ID and "
                                 "namespace) instead of starting the simulation here; its "
                                 "task, num_envs and mode are used, and a --task or "
                                 "--num_envs that differs from its own is refused")
        parser.add_argument("--connect_timeout", type=positive_float, default=10.0,
                            help="seconds to wait for the node with --connect")


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None
               ) -> tuple[argparse.Namespace, list[str]]:
    """Parse a command line (``sys.argv[1:]`` when None); returns (args, ROS arguments)."""
    user, ros = split_ros_args(sys.argv[1:] if argv is None else list(argv))
    args = parser.parse_args(user)
    args.given = given_flags(parser, user)  # what --connect may refuse (graph.check_connected)
    check_task_domain(parser, args)
    if getattr(args, "connect", False) and args.video:
        parser.error("argument --video: the envs are drawn where they run; with --connect they "
                     "run in run_spaceros.py: give it --video instead")
    if args.record:
        check_record_flag(parser, args)
    if args.camera_resolution:
        try:
            check_resolution(args.camera_resolution)
        except ValueError as exc:
            parser.error(f"argument --camera_resolution: {exc}")
    if get_task(args.task).multi_agent:
        parser.error(f"argument --task: '{args.task}' has several robots and runs through "
                     f"PettingZoo only (spaceros_procgen_envs.parallel_env('{args.task}')); the "
                     f"ROS node runs the single-robot tasks: {', '.join(single_robot_tasks())}")
    return args, ros


def check_record_flag(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--record PATH``: a usable path and the record extra, before anything starts."""
    from ..recording import RecordingError, check_record_path, require_dependencies

    if getattr(args, "connect", False):
        parser.error("argument --record: the envs are recorded where they run; with --connect "
                     "they run in run_spaceros.py: give it --record instead")
    try:
        check_record_path(args.record, args.force)
        require_dependencies()
    except RecordingError as exc:
        parser.error(f"argument --record: {exc}")


def single_robot_tasks() -> list[str]:
    """The tasks the ROS node can run (one robot per env)."""
    return [name for name in list_tasks() if not get_task(name).multi_agent]


def node_cfg(args: argparse.Namespace):
    """The :class:`~.node.NodeCfg` the flags describe."""
    from .node import NodeCfg

    width, height = args.camera_resolution or DEFAULT_RESOLUTION
    return NodeCfg(task=args.task, num_envs=args.num_envs, seed=args.seed,
                   domain=args.domain or "", backend=args.backend,
                   realtime_factor=args.realtime_factor, lockstep=args.lockstep,
                   camera_rate_hz=args.camera_rate, camera_width=width, camera_height=height,
                   video=str(args.video or ""), episode_s=episode_limit_s(args),
                   record=str(args.record or ""),
                   record_force=bool(args.force), per_env_topics=args.per_env_topics)


def episode_limit_s(args: argparse.Namespace) -> float:
    """``NodeCfg.episode_s`` from ``--episode_s``: the seconds given, else 0 (the task's own
    limit), or -1 (none) where the script says so (``teleop.py``: ``no_episode_limit``)."""
    if args.episode_s is not None:
        return float(args.episode_s)
    return -1.0 if getattr(args, "no_episode_limit", False) else 0.0


def make_executor(context=None):
    """rclpy's EventsExecutor where it exists (several times cheaper per message), else the
    SingleThreadedExecutor; on ``context`` (None: rclpy's default)."""
    try:
        from rclpy.experimental import EventsExecutor

        return EventsExecutor(context=context)
    except ImportError:
        from rclpy.executors import SingleThreadedExecutor

        return SingleThreadedExecutor(context=context)


class RosSession:
    """rclpy + an executor thread + (unless ``connect``) the simulation node, as a context.

    Args:
        args: parsed flags (see :func:`add_ros_flags`).
        ros_args: ROS arguments for ``rclpy.init``.
        start_node: build the :class:`~.node.SpaceRosNode` here.
        external_drivers: outside programs drive the node (``run_spaceros.py``): publishers
            already on its input topics at start are no clash (see :mod:`.graph`).

    Attributes:
        stop: set by SIGINT/SIGTERM, by a failure, or on exit.
        error: the exception that stopped the executor thread, or None.
        node: the in-process simulation node, or None.
    """

    def __init__(self, args: argparse.Namespace, ros_args: Sequence[str] = (),
                 start_node: bool = True, external_drivers: bool = False):
        self.args, self.ros_args, self.start_node = args, list(ros_args), start_node
        self.external_drivers = external_drivers
        self.stop = threading.Event()
        self.node = None
        self.error: Exception | None = None  # what stopped the executor, if anything did
        self._nodes: list = []
        self._watch: ClashWatch | None = None
        self._starting = True
        self._signalled = False  # a stop signal came: its watchdog runs until the process ends
        self._old_handlers: dict[int, object] = {}
        self._old_unraisable = sys.unraisablehook

    # --- signals ------------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame) -> None:
        if self._signalled:  # a second Ctrl-C: do not wait for the clean shutdown
            os._exit(128 + signum)
        # SPEC 9 counts from the signal: from here the process has SHUTDOWN_LIMIT_S to be gone
        faulthandler.dump_traceback_later(SHUTDOWN_LIMIT_S, exit=True)
        self._signalled = True
        self.stop.set()
        if self._starting and self.node is None:  # still building: unwind right away
            raise KeyboardInterrupt

    def _on_unraisable(self, unraisable) -> None:
        """The startup interrupt :meth:`_on_signal` raises can land where Python cannot raise
        it (an at-fork hook while worker processes start): Python then drops it and prints
        "Exception ignored". The stop flag still ends the run, so say nothing of it."""
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and self._signalled:
            return
        self._old_unraisable(unraisable)

    # --- lifetime -----------------------------------------------------------------------------
    def __enter__(self) -> RosSession:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        self._old_unraisable, sys.unraisablehook = sys.unraisablehook, self._on_unraisable
        try:
            require_rclpy()
            import rclpy
            from rclpy.signals import SignalHandlerOptions

            rclpy.init(args=["spaceros_procgen_envs", *self.ros_args],
                       signal_handler_options=SignalHandlerOptions.NO)
            self.executor = make_executor()
            self._thread = threading.Thread(target=self._spin, name="spaceros-executor",
                                            daemon=True)
            if self.start_node:
                from .node import SpaceRosNode

                self.node = self.add_node(SpaceRosNode(node_cfg(self.args)))
                self._watch = ClashWatch(self.node, self.external_drivers, self._fail,
                                         self.stop)
            self._thread.start()
            self._starting = False
            return self
        except BaseException:
            self._shutdown()
            raise

    def _fail(self, exc: Exception) -> None:
        self.error = exc
        self.stop.set()

    def add_node(self, node):
        """Spin ``node`` in the session's executor; it is destroyed on exit."""
        self._nodes.append(node)
        self.executor.add_node(node)
        return node

    def _spin(self) -> None:
        # spin_once in a loop, not spin(): shutting an EventsExecutor down from another thread
        # while it spins can deadlock on the GIL.
        try:
            while not self.stop.is_set():
                self.executor.spin_once(timeout_sec=SPIN_PERIOD_S)
        except Exception as exc:  # a callback raised, or the context went away under it
            if not self.stop.is_set():
                self.error = exc
                self.stop.set()

    def __exit__(self, *exc_info) -> None:
        self._shutdown()

    def open_viewer(self) -> None:
        """MuJoCo's viewer on env 0 (``[``/``]`` switch envs) when there is a display, the worlds
        are in this process (sync/thread backends) and ``--headless`` is not given."""
        if self.args.headless or self.node is None or not os.environ.get("DISPLAY"):
            return
        if self.args.backend not in ("sync", "thread"):
            print(f"viewer: the {self.args.backend} backend keeps the worlds in other processes; "
                  "no viewer", file=sys.stderr)
            return
        from ..viewer import EnvViewer

        viewer = EnvViewer(self.node.vec.envs)
        if viewer.start():
            self._viewer = viewer

    def _shutdown(self) -> None:
        self.stop.set()
        if getattr(self, "_viewer", None) is not None:
            self._viewer.close()
        # faulthandler's watchdog is a C thread: it fires (threads' tracebacks, exit 1) even
        # when a stuck thread holds the GIL. After a signal it is armed already, and stays:
        # the process ends within the limit, interpreter exit included.
        if not self._signalled:
            faulthandler.dump_traceback_later(SHUTDOWN_LIMIT_S, exit=True)
        try:
            self._shutdown_ros()
        finally:
            if not self._signalled:
                faulthandler.cancel_dump_traceback_later()
            for sig, handler in self._old_handlers.items():
                signal.signal(sig, handler)
            if sys.unraisablehook == self._on_unraisable:
                sys.unraisablehook = self._old_unraisable

    def _shutdown_ros(self) -> None:
        if "rclpy" not in sys.modules:  # it never started
            return
        import rclpy

        if self.node is not None:
            self.node.stop()
        if self._watch is not None:  # it reads the graph through the node: done before that
            self._watch.close()
        if getattr(self, "executor", None) is not None:
            if self._thread.is_alive():
                self._thread.join(1.0)
            self.executor.shutdown(timeout_sec=0.5)
        for node in reversed(self._nodes):
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()

    # --- running ------------------------------------------------------------------------------
    def run(self, done: Callable[[], bool] | None = None, poll_s: float = 0.02) -> None:
        """Block until a signal, ``--duration``, ``done()``, or a failure.

        Raises:
            ProcgenError: when the in-process node's stepping or the executor failed.
        """
        duration = getattr(self.args, "duration", None)
        end = None if duration is None else time.monotonic() + duration
        while not self.stop.wait(poll_s):
            self.check()
            if (done is not None and done()) or (end is not None and time.monotonic() >= end):
                return
        self.check()

    def check(self) -> None:
        """Raise the failure of the in-process node or of the executor, if there is one."""
        failed = self.error or (self.node.failed if self.node is not None else None)
        if isinstance(failed, UsageConflict):  # a clash: its own line, exit code 2
            raise failed
        if failed is not None:
            raise ProcgenError(f"simulation stopped: {type(failed).__name__}: {failed}")


def node_main(argv: Sequence[str] | None = None) -> int:
    """``run_spaceros.py``: the simulation node alone, until Ctrl-C, --steps or --duration."""
    parser = make_parser("Run the spaceros_procgen_envs ROS 2 node alone, for external agents "
                         "(topics env{i}/..., envs/..., /clock; services sim/reset, env{i}/reset). "
                         "ROS arguments go after --ros-args.")
    add_ros_flags(parser, connect=False)
    args, ros_args = parse_args(parser, argv)
    with RosSession(args, ros_args, external_drivers=True) as session:
        session.open_viewer()
        node, steps = session.node, args.steps
        status, t0 = StatusLine("run_spaceros.py", node.num_envs), time.monotonic()

        def done() -> bool:
            status.update(node.steps, node.stats)
            return steps is not None and node.steps >= steps

        session.run(done)
        status.finish(node.steps, time.monotonic() - t0, node.stats)
    return 0
