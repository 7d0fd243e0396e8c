"""The ``spaceros_procgen_envs`` ROS 2 node: a batch of procedural worlds behind SPEC 6 topics.

Every name is relative (a namespace or remap moves it) except ``/clock``. ``{i}`` is the env
index 0..num_envs-1. QoS: R = reliable, V = volatile, TL = transient local, depth in ().

====================================  ============================  =========  ==================
topic / service                       type                          QoS        when
====================================  ============================  =========  ==================
``envs/robot/cmd_vel``                geometry_msgs/Twist           R V (100)  in: every env
``robot/cmd_vel`` (alias)             geometry_msgs/Twist           R V (100)  in: every env
``env{i}/robot/cmd_vel``              geometry_msgs/Twist           R V (100)  in: env i only
``envs/robot/gripper``                std_msgs/Bool (true = close)  R V (100)  in (manipulators)
``env{i}/robot/gripper``              std_msgs/Bool                 R V (100)  in (manipulators)
``envs/action``                       std_msgs/Float32MultiArray    R V (100)  in: dim or N x dim
``env{i}/action``                     std_msgs/Float32MultiArray    R V (100)  in: dim values
``env{i}/reward``                     std_msgs/Float32              R V (100)  out: every step
``env{i}/terminated``, ``truncated``  std_msgs/Bool                 R V (100)  out: every step
``env{i}/robot/joint_states``         sensor_msgs/JointState        R V (10)   out: step, reset
``env{i}/robot/pose``                 geometry_msgs/PoseStamped     R V (10)   out: step, reset
``env{i}/robot/ee_pose``              geometry_msgs/PoseStamped     R V (10)   out (manipulators)
``env{i}/robot/camera_<c>/image_raw``  sensor_msgs/Image (rgb8)      R V (2)    out: _visual tasks
``.../camera_<c>/depth/image_raw``     sensor_msgs/Image (32FC1, m)  R V (2)    out: _visual tasks
``.../camera_<c>/camera_info``         sensor_msgs/CameraInfo        R V (2)    out: with each image
``.../camera_<c>/depth/camera_info``   sensor_msgs/CameraInfo        R V (2)    out: with each depth
``envs/reward``                       std_msgs/Float32MultiArray    R V (100)  out: every step
``envs/terminated``, ``truncated``    std_msgs/UInt8MultiArray      R V (100)  out: every step
``envs/observation``                  std_msgs/Float32MultiArray    R V (100)  out: step, reset
``/clock``                            rosgraph_msgs/Clock           R V (10)   out: every step
``/tf`` (if tf2_msgs importable)      tf2_msgs/TFMessage            R V (100)  out: every step
``envs/info``                         std_msgs/String (JSON)        R TL (1)   out: 2 Hz wall
``envs/resets``                       std_msgs/String (JSON)        R V (100)  out: env reset
``sim/reset``, ``env{i}/reset``       std_srvs/Empty                service    all / env i
====================================  ============================  =========  ==================

Commands are held until the next one (see :mod:`.commands`). Reliable inputs and outputs
match both reliable and best-effort subscribers; a best-effort *publisher* of commands does
not match (use the default QoS). Outputs are built only while someone subscribes.
The ``envs/...`` outputs carry every env in one message (for batched agents: 4 messages a
step instead of 3 N + 1): ``envs/observation`` is the flattened observations, (num_envs x D)
row-major, keys in the order and sizes of ``observation_layout`` in ``envs/info``; the flags
are one byte per env (1 = true). Joint names are published without the MuJoCo ``robot/``
prefix (``joint1``, ``finger_left``, ``wheel_fl``); poses are in frame ``world``; stamps are
sim time (step x 20 ms, never reset).
After an episode ends, the env's next step is its reset (reward 0, flags false), as in the
Python API (NEXT_STEP autoreset).

Cameras (``<task>_visual``, e.g. ``perseverance_visual``): every camera of every env at
``camera_rate_hz`` (every ``round(50 / camera_rate_hz)``-th step, stamped with that step's sim
time), at ``camera_width`` x ``camera_height``; ``envs/observation`` keeps the state only.
``video``: a path; every fifth step (10 fps of sim time) every env is drawn and the tiled
grid appended to that mp4 (see :mod:`spaceros_procgen_envs.video`).

Modes: real time (default) steps every env at 50 Hz x ``realtime_factor`` in a thread of
its own; ``lockstep`` steps every env exactly once per accepted message on ``envs/action``,
``envs/robot/cmd_vel`` or ``robot/cmd_vel`` (``env{i}/...`` and gripper messages only change
the held command). NaN/inf or wrong-length messages are dropped, counted in ``envs/info``
and logged at most once a second.

Example::

    rclpy.init()
    node = SpaceRosNode(NodeCfg(task="perseverance", num_envs=4))
    rclpy.spin(node)
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from functools import partial

import numpy as np
import rclpy.node
from geometry_msgs.msg import Twist
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rosgraph_msgs.msg import Clock
from std_msgs.msg import Bool, Float32MultiArray, String
from std_srvs.srv import Empty

from ..errors import ProcgenError
from ..registry import full_name, get_task
from ..sim.cameras import check_resolution, depth_key, rgb_key
from ..sim.robots.base import CONTROL_HZ
from ..vector.backends import BACKENDS
from ..vector.env import SpaceRosVectorEnv
from .commands import CommandTable, check_env_index
from .convert import (NS_PER_S, RejectedMessage, clock_msg, joint_names, transform_msg,
                      twist_map, twist_to_array)
from ..video import BatchRecorder, VideoWriter, tile_size
from .status import RateWatch, RewardStats
from .topics import (CMD_QOS, INFO_QOS, STATE_QOS, STEP_QOS, BatchOutputs, CameraOutputs,
                     PerEnvOutputs, ResetOutputs, reset_reasons, task_robot)

try:  # /tf only where tf2_msgs exists (not among the PyPI wheels)
    from tf2_msgs.msg import TFMessage
except ImportError:
    TFMessage = None

NODE_NAME = "spaceros_procgen_envs"
INFO_PERIOD_S = 0.5
MAX_LAG_S = 0.1  # real time: further behind than this, the schedule restarts instead of bursting
MIN_YIELD_S = 2e-4  # real time: the stepping thread sleeps at least this long between steps
VIDEO_EVERY = 5  # steps per video frame: 10 fps of sim time (16 shadowed frames cost ~0.7 s)
VIDEO_FPS = 10
NO_LIMIT_STEPS = 2 ** 62  # "no time limit": 2.9e9 years of sim time at 50 Hz


def episode_steps(episode_s: float) -> int | None:
    """``NodeCfg.episode_s`` as the vector env's ``max_episode_steps`` (None: the task's)."""
    if episode_s == 0:
        return None
    return NO_LIMIT_STEPS if episode_s < 0 else max(1, int(round(episode_s * CONTROL_HZ)))


class NodeParameterError(ProcgenError, ValueError):
    """A node parameter with a value the node cannot run with."""


@dataclass(frozen=True)
class NodeCfg:
    """The node's parameters (each a ROS parameter of the same name).

    Attributes:
        task: registered task name.
        num_envs: envs in the batch; env i gets world seed ``seed + i``.
        seed: base seed; the node starts with ``reset(seed=seed)``.
        domain: domain name, "" for the task's default.
        backend: vector-env backend (``sync``, ``thread``, ...).
        realtime_factor: sim seconds per wall second in real-time mode (changeable live).
        lockstep: one step per message on ``envs/action`` / ``envs/robot/cmd_vel``.
        camera_rate_hz: camera topics' rate (``_visual`` tasks), at most the 50 Hz step rate.
        camera_width, camera_height: camera image size in pixels (``_visual`` tasks).
        video: mp4 path to film every env into (tiled), "" for none.
        episode_s: episode time limit, seconds of sim time: 0 = the task's own
            (``time_limit_s``), < 0 = none (teleop's default: no reset under the operator).
        record: recording directory (rosbag2 bag + Minari dataset), "" for none.
        record_force: replace an earlier recording at ``record``.
        per_env_topics: envs 0..K-1 get their own ``env{i}/...`` topics and ``env{i}/reset``
            (about ten entities each); every env is always on the batched ``envs/*`` topics.
            -1 = every env. Keeps a node of 1024 envs quick to start and to shut down.
    """

    task: str = "perseverance"
    num_envs: int = 1
    seed: int = 42
    domain: str = ""
    backend: str = "thread"
    realtime_factor: float = 1.0
    lockstep: bool = False
    camera_rate_hz: float = 10.0
    camera_width: int = 128  # = sim.cameras.DEFAULT_RESOLUTION (literals: the launch file's
    camera_height: int = 128  # test reads these defaults from the source)
    video: str = ""
    episode_s: float = 0.0
    record: str = ""
    record_force: bool = False
    per_env_topics: int = 64

    def checked(self) -> NodeCfg:
        """This cfg with the task's bare name, or :class:`NodeParameterError`."""
        bad = [(name, want) for name, ok, want in (
            ("num_envs", self.num_envs >= 1, "an integer >= 1"),
            ("per_env_topics", self.per_env_topics >= -1, "an integer >= -1 (-1: every env)"),
            ("seed", self.seed >= 0, "an integer >= 0"),
            ("backend", self.backend in BACKENDS, f"one of {', '.join(BACKENDS)}"),
            ("realtime_factor", np.isfinite(self.realtime_factor) and self.realtime_factor > 0,
             "a number > 0"),
            ("camera_rate_hz", 0 < self.camera_rate_hz <= CONTROL_HZ,  # NaN fails too
             f"a rate in (0, {CONTROL_HZ:g}] Hz (at most one picture per step)"),
            ("episode_s", np.isfinite(self.episode_s),
             "seconds (> 0), 0 for the task's own limit or < 0 for none"),
        ) if not ok]
        if bad:
            name, want = bad[0]
            raise NodeParameterError(f"parameter {name}: expected {want}, got "
                                     f"{getattr(self, name)!r}")
        try:
            check_resolution((self.camera_width, self.camera_height))
        except ValueError as exc:
            raise NodeParameterError(f"parameters camera_width, camera_height: {exc}") from None
        spec = get_task(self.task)
        if spec.multi_agent:
            raise NodeParameterError(f"parameter task: '{spec.name}' has several robots "
                                     "(PettingZoo only); the node runs single-robot tasks")
        spec.resolve_domain(self.domain or None)
        if self.record:  # a bad recording path fails here, before any world is built
            from ..recording import check_record_path

            try:
                check_record_path(self.record, self.record_force)
            except ValueError as exc:
                raise NodeParameterError(f"parameter record: {exc}") from None
        return replace(self, task=full_name(self.task))


class SpaceRosNode(rclpy.node.Node):
    """Hosts a :class:`SpaceRosVectorEnv` and exposes it over ROS 2 (see the module doc).

    Args:
        cfg: defaults of the node's parameters; ``--ros-args -p name:=value`` overrides them.
        node_name: ROS node name.
        progress: asset-generation progress bar (None: only on a terminal).
        node_kwargs: forwarded to ``rclpy.node.Node`` (``namespace``, ``context``, ...).

    Attributes:
        cfg: the parameters in effect. steps: batch steps taken. failed: the exception
            that stopped the real-time loop, or None.
    """

    def __init__(self, cfg: NodeCfg | None = None, node_name: str = NODE_NAME,
                 progress: bool | None = None, **node_kwargs):
        self.vec, self._loop, self._stop = None, None, threading.Event()  # for destroy_node
        self.video, self._sim_lock = None, threading.Lock()
        super().__init__(node_name, **node_kwargs)
        try:
            self._build(cfg or NodeCfg(), progress)
        except BaseException:  # a bad parameter, or Ctrl-C / SIGTERM while building (the
            self.destroy_node()  # launcher unwinds): no stepping thread or env outlives it
            raise

    def _build(self, cfg: NodeCfg, progress: bool | None) -> None:
        self.cfg = self._declare_parameters(cfg).checked()
        c = self.cfg
        writer = VideoWriter(c.video, fps=VIDEO_FPS) if c.video else None  # bad path: fail now
        self.vec = SpaceRosVectorEnv(c.num_envs, c.task, c.seed, c.domain or None, c.backend,
                                     copy=False, progress=progress,
                                     camera_resolution=(c.camera_width, c.camera_height),
                                     render_mode="rgb_array" if c.video else None,
                                     render_size=tile_size(c.num_envs),
                                     max_episode_steps=episode_steps(c.episode_s))
        if c.record:  # before the first reset: the recording starts with it
            from ..recording import for_node

            self.vec = for_node(self.vec, c)
        self.spec, self.num_envs = get_task(c.task), c.num_envs
        self.per_env = c.num_envs if c.per_env_topics < 0 else min(c.num_envs, c.per_env_topics)
        self._robot = task_robot(self.vec, c.task, c.domain or None)
        self._dt_ns = int(round(self.vec.dt * NS_PER_S))
        self.commands = CommandTable(c.num_envs, self.spec.action_dim, twist_map(self._robot))
        self.steps, self.resets, self.failed = 0, 0, None
        self.episodes = np.zeros(c.num_envs, np.int64)
        self._rate_meter = (time.monotonic(), 0, 0.0)  # (wall s, steps, steps/s) at the last info
        self.started_unix_s = time.time()  # which of two clashing nodes came first (.graph)
        self.stats = RewardStats()  # rewards and episodes, for run_spaceros.py's status line
        self._rate_watch = None if c.lockstep else RateWatch(c.realtime_factor / self.vec.dt,
                                                             c.num_envs)
        self._create_outputs()
        self._create_inputs()
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.video = None if writer is None else BatchRecorder(
            self.vec, writer, labels=[f"env {i}  seed {c.seed + i}" for i in range(c.num_envs)])
        self.vec.reset(seed=c.seed)
        if self.video is not None:
            self.video.capture()
        self.create_timer(INFO_PERIOD_S, self._publish_info)
        self._loop = None if c.lockstep else threading.Thread(
            target=self._run_realtime, name="spaceros-realtime", daemon=True)
        if self._loop is not None:
            self._loop.start()
        self.get_logger().info(self.describe())
        self._publish_info()  # last: a first envs/info means the node is built

    # --- setup --------------------------------------------------------------------------------
    def _declare_parameters(self, cfg: NodeCfg) -> NodeCfg:
        values = {}
        for f in fields(NodeCfg):
            desc = ParameterDescriptor(description=f"see NodeCfg.{f.name}",
                                       read_only=f.name != "realtime_factor",
                                       dynamic_typing=f.name == "realtime_factor")
            values[f.name] = self.declare_parameter(f.name, getattr(cfg, f.name), desc).value
        values["realtime_factor"] = float(values["realtime_factor"])
        return NodeCfg(**values)

    def _create_outputs(self) -> None:
        names = joint_names(self._robot.joint_names, self._robot.prefix)
        ee = hasattr(self._robot, "ee_site")
        self._out = PerEnvOutputs(self, self.per_env, names, ee)
        self._clock_pub = self.create_publisher(Clock, "/clock", STATE_QOS)
        self._tf_pub = None if TFMessage is None else \
            self.create_publisher(TFMessage, "/tf", STEP_QOS)
        self._info_pub = self.create_publisher(String, "envs/info", INFO_QOS)
        self._batch = BatchOutputs(self)
        self._resets_out = ResetOutputs(self, self.num_envs, self.vec.dt)
        self._cameras = [[CameraOutputs(self, i, name, fovy)
                          for name, fovy in self.vec.cameras.items()] for i in range(self.per_env)]
        images = {key for name in self.vec.cameras for key in (rgb_key(name), depth_key(name))}
        self._state_keys = [key for key in self.vec.single_observation_space if key not in images]
        self._camera_every = max(1, round(1.0 / (self.cfg.camera_rate_hz * self.vec.dt)))

    def _create_inputs(self) -> None:
        sub, gripper = self.create_subscription, self.commands.has_gripper
        for topic in ("envs/robot/cmd_vel", "robot/cmd_vel"):
            sub(Twist, topic, partial(self._on_twist, topic, None), CMD_QOS)
        sub(Float32MultiArray, "envs/action", partial(self._on_action, "envs/action", None),
            CMD_QOS)
        if gripper:
            sub(Bool, "envs/robot/gripper", partial(self._on_gripper, None), CMD_QOS)
        self.create_service(Empty, "sim/reset", self._on_reset_all)
        for i in range(self.per_env):  # partial binds i now (a closure over i drove env0 only)
            sub(Twist, f"env{i}/robot/cmd_vel", partial(self._on_twist, f"env{i}/robot/cmd_vel", i),
                CMD_QOS)
            sub(Float32MultiArray, f"env{i}/action", partial(self._on_action, f"env{i}/action", i),
                CMD_QOS)
            if gripper:
                sub(Bool, f"env{i}/robot/gripper", partial(self._on_gripper, i), CMD_QOS)
            self.create_service(Empty, f"env{i}/reset", partial(self._on_reset_env, i))

    def describe(self) -> str:
        """One line: what runs, in which mode, and where its topics are."""
        c, ns = self.cfg, self.get_namespace().rstrip("/")
        mode = "lockstep (one step per envs/action or envs/robot/cmd_vel message)" if c.lockstep \
            else f"real time x{c.realtime_factor:g} ({c.realtime_factor / self.vec.dt:g} Hz)"
        domain = self.spec.resolve_domain(c.domain or None).name
        per_env = f"{ns}/env{{0..{self.per_env - 1}}}/..." if self.per_env else "no per-env topics"
        if 0 < self.per_env < c.num_envs:
            per_env += f" (the first {self.per_env} envs: per_env_topics)"
        return (f"{c.num_envs} x {c.task} ({domain}, seed {c.seed}, "
                f"{c.backend} backend), {mode}; topics {ns}/envs/..., "
                f"{per_env}, /clock, {ns}/envs/info")

    # --- inputs -------------------------------------------------------------------------------
    def _reject(self, topic: str, exc: RejectedMessage) -> None:
        self.commands.count_drop(exc.reason)
        self.get_logger().warning(f"dropped a message on {topic}: {exc} "
                                  f"(dropped so far: {dict(self.commands.dropped)})",
                                  throttle_duration_sec=1.0)

    def _on_twist(self, topic: str, env: int | None, msg: Twist) -> None:
        try:
            self.commands.set_twist(twist_to_array(msg), env)
        except RejectedMessage as exc:
            return self._reject(topic, exc)
        if env is None and self.cfg.lockstep:
            self._step_or_fail()

    def _on_action(self, topic: str, env: int | None, msg: Float32MultiArray) -> None:
        try:
            self.commands.set_action(msg.data, env)
        except RejectedMessage as exc:
            return self._reject(topic, exc)
        if env is None and self.cfg.lockstep:
            self._step_or_fail()

    def _on_gripper(self, env: int | None, msg: Bool) -> None:
        self.commands.set_gripper(bool(msg.data), env)

    def _on_reset_all(self, request, response):
        self.reset_envs(None)
        return response

    def _on_reset_env(self, env: int, request, response):
        self.reset_envs([env])
        return response

    def _on_set_parameters(self, params) -> SetParametersResult:
        for p in params:
            if p.name == "realtime_factor":
                value = p.value
                if isinstance(value, bool) or not isinstance(value, (int, float)) \
                        or not np.isfinite(value) or value <= 0:
                    return SetParametersResult(successful=False,
                                               reason=f"realtime_factor must be > 0, got {value!r}")
        for p in params:
            if p.name == "realtime_factor":
                self.cfg = replace(self.cfg, realtime_factor=float(p.value))
        return SetParametersResult(successful=True)

    # --- stepping -----------------------------------------------------------------------------
    def step_once(self) -> None:
        """Step every env once with the held commands and publish the results."""
        actions = self.commands.snapshot()
        with self._sim_lock:
            if self._stop.is_set():
                return
            obs, rewards, terminated, truncated, info = self.vec.step(actions)
            self.steps += 1
            self.episodes += terminated | truncated
            self.stats.add_rewards(rewards)
            self.stats.add_dones(terminated | truncated)
            self._resets_out.publish(self.steps, reset_reasons(terminated, truncated, info),
                                     self.steps + 1)  # NEXT_STEP: the next step is the reset
            stamp = self.steps * self._dt_ns
            self._out.publish_step(rewards, terminated, truncated)
            self._batch.publish_step(rewards, terminated, truncated)
            self._batch.publish_observation(obs, self._state_keys)
            self._publish_state_locked(range(self.num_envs), stamp)
            if self.vec.cameras and self.steps % self._camera_every == 0:
                self._publish_cameras_locked(obs, stamp)
            # The clock tick last: an agent that waits for it has the step's rewards, flags and
            # observations already, and its next action finds the node idle (not publishing).
            if self._clock_pub.get_subscription_count():
                self._clock_pub.publish(clock_msg(stamp))
            if self.video is not None and self.steps % VIDEO_EVERY == 0 \
                    and not self._stop.is_set():  # stopping: no new frame, exit in time
                self.video.capture()

    def _publish_cameras_locked(self, obs: dict[str, np.ndarray], stamp: int) -> None:
        for i, outputs in enumerate(self._cameras):
            for name, out in zip(self.vec.cameras, outputs):
                out.publish(stamp, obs[rgb_key(name)][i], obs[depth_key(name)][i])

    def reset_envs(self, envs=None) -> None:
        """Reset every env (``envs=None``) or the listed env indices, and publish their state.

        Raises:
            IndexError: for an index outside 0..num_envs-1 (nothing is reset).
        """
        indices = range(self.num_envs) if envs is None else \
            sorted({check_env_index(i, self.num_envs) for i in envs})
        mask = np.zeros(self.num_envs, bool)
        mask[list(indices)] = True
        with self._sim_lock:
            if self._stop.is_set():
                return
            obs, _ = self.vec.reset(options={"reset_mask": mask})
            self.resets += len(indices)
            self._resets_out.publish(self.steps, [(i, "reset service") for i in indices],
                                     self.steps)
            self._batch.publish_observation(obs, self._state_keys)
            self._publish_state_locked(indices, self.steps * self._dt_ns)

    def _publish_state_locked(self, envs, stamp: int) -> None:
        wanted = self._out.state_wanted(envs)
        tf = self._tf_pub is not None and self._tf_pub.get_subscription_count() > 0
        if not wanted and not tf:
            return
        states = self.vec.robot_states()  # from any backend, where the envs live
        self._out.publish_state(wanted, stamp, states)
        if tf:
            self._tf_pub.publish(TFMessage(transforms=[
                transform_msg(stamp, "world", f"env{i}/base_link", states[i]["base_xyz"],
                              states[i]["base_wxyz"]) for i in envs]))

    def _run_realtime(self) -> None:
        """Step at 50 Hz x realtime_factor on an absolute schedule until :meth:`stop`."""
        deadline = time.monotonic()
        while not self._stop.is_set():
            self._step_or_fail()
            deadline += self.vec.dt / self.cfg.realtime_factor
            delay = deadline - time.monotonic()
            if delay < -MAX_LAG_S:  # cannot keep up: run flat out, report the rate
                deadline = time.monotonic()
            # Always block a little: a thread that never does starves the executor's GIL
            # hand-offs, and with them every subscription and service.
            self._stop.wait(max(delay, MIN_YIELD_S))

    def _step_or_fail(self) -> None:
        """:meth:`step_once`; a failure (a dead worker, ...) stops stepping for good and is
        kept in :attr:`failed` for the launcher, which reports it and exits 1."""
        try:
            self.step_once()
        except Exception as exc:
            self.failed = exc
            self._stop.set()
            self.get_logger().error(f"stepping failed: {exc!r}")

    # --- status -------------------------------------------------------------------------------
    def info(self) -> dict:
        """The ``envs/info`` status (also published as JSON at 2 Hz)."""
        now, steps = time.monotonic(), self.steps
        last_t, last_steps, rate = self._rate_meter
        if now - last_t >= 0.25:
            rate = (steps - last_steps) / (now - last_t)
            self._rate_meter = (now, steps, rate)
        c, dropped = self.cfg, dict(self.commands.dropped)
        return {**asdict(c), "node": self.get_fully_qualified_name(),
                "mode": "lockstep" if c.lockstep else "realtime",
                "robot_kind": self.spec.robot_kind, "action_names": list(self.spec.action_names),
                "action_dim": self.spec.action_dim, "dt_s": self.vec.dt,
                "observation_layout": [
                    [key, int(np.prod(self.vec.single_observation_space[key].shape))]
                    for key in self._state_keys],
                "cameras": list(self.vec.cameras),
                "camera_rate_hz": 1.0 / (self._camera_every * self.vec.dt),
                "video_frames": None if self.video is None else self.video.frames_written,
                "step": steps, "env_steps": steps * self.num_envs,
                "sim_time_s": steps * self._dt_ns / NS_PER_S,
                "episodes": self.episodes.tolist(), "episodes_total": int(self.episodes.sum()),
                "resets": self.resets, "dropped": dropped, "dropped_total": sum(dropped.values()),
                "rate_hz": rate, "env_steps_per_s": rate * self.num_envs,
                "realtime_factor_achieved": rate * self.vec.dt,
                "target_rate_hz": None if c.lockstep else c.realtime_factor / self.vec.dt,
                "pid": os.getpid(), "started_unix_s": self.started_unix_s}

    def _publish_info(self) -> None:
        self._info_pub.publish(String(data=json.dumps(self.info())))
        if self._rate_watch is not None and not self._stop.is_set():
            self._rate_watch.target_hz = self.cfg.realtime_factor / self.vec.dt  # may change live
            behind = self._rate_watch.update(time.monotonic(), self.steps)
            if behind:
                self.get_logger().warning(behind)

    # --- shutdown -----------------------------------------------------------------------------
    def stop(self, timeout_s: float = 1.0) -> None:
        """Stop stepping (real-time thread joined); the env stays open until destroy_node."""
        self._stop.set()
        loop = self._loop
        if loop is None or loop is threading.current_thread():
            return
        try:
            loop.join(timeout_s)
        except RuntimeError:  # a signal cut its start() short: never ran, or sees _stop and ends
            pass

    def destroy_node(self) -> None:
        self.stop()
        if self.vec is not None:
            with self._sim_lock:
                if self.video is not None:
                    frames = self.video.close()
                    self.get_logger().info(f"video: {frames} frames of {self.num_envs} envs "
                                           f"in {self.cfg.video}")
                self.vec.close()
        super().destroy_node()
