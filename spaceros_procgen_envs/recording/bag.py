"""rosbag2 (MCAP storage) of a vector env, written with the pure-Python ``rosbags``.

Topics and types are the node's (:mod:`spaceros_procgen_envs.ros.node`), stamped with sim
time (step x dt, never reset) and logged at that time:

==========================================  =============================  ====================
topic                                       type                           when
==========================================  =============================  ====================
``/clock``                                  rosgraph_msgs/msg/Clock        every step
``/tf`` (``world`` -> ``env{i}/base_link``)  tf2_msgs/msg/TFMessage         every step and reset
``env{i}/action``                           std_msgs/msg/Float32MultiArray  every step (as applied)
``env{i}/reward``                           std_msgs/msg/Float32           every step
``env{i}/terminated``, ``truncated``        std_msgs/msg/Bool              every step
``env{i}/robot/joint_states``               sensor_msgs/msg/JointState     every step and reset
``env{i}/robot/pose``                       geometry_msgs/msg/PoseStamped  every step and reset
``env{i}/robot/camera_<c>/image_raw``       sensor_msgs/msg/Image (rgb8)   camera rate
``.../camera_<c>/depth/image_raw``          sensor_msgs/msg/Image (32FC1)  camera rate
``.../camera_info``, ``.../depth/camera_info``  sensor_msgs/msg/CameraInfo  with each image
==========================================  =============================  ====================

Topic names are stored as ``ros2 bag record`` stores those of a node in the root namespace
(``/env0/action``; ``ros2 bag play --remap`` moves them). Metadata is rosbag2 version 8 (ROS 2
Jazzy and newer).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import cdr
from .mcap import MESSAGE_HEAD, McapAppender, MessageBlock
from .paths import DiskGuard, RecordingError

BAG_VERSION = 8  # rosbag2 metadata version of ROS 2 Jazzy
MESSAGE_OVERHEAD = MESSAGE_HEAD + 16  # bytes per message beyond its data: record + index entry
STAGED_BYTES = 256 << 10  # messages of staged steps encoded at once, about
TYPES = {
    "clock": "rosgraph_msgs/msg/Clock", "tf": "tf2_msgs/msg/TFMessage",
    "action": "std_msgs/msg/Float32MultiArray", "reward": "std_msgs/msg/Float32",
    "flag": "std_msgs/msg/Bool", "joints": "sensor_msgs/msg/JointState",
    "pose": "geometry_msgs/msg/PoseStamped", "image": "sensor_msgs/msg/Image",
    "info": "sensor_msgs/msg/CameraInfo",
}


def typestore():
    """rosbags' message definitions of ROS 2 Jazzy."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_JAZZY)


class BagWriter:
    """Writes the node's topics for ``num_envs`` envs into a new rosbag2 directory.

    Args:
        path: the bag directory (created; must not exist).
        num_envs: envs in the batch.
        action_dim: length of one action.
        joint_names: the published joint names (robot prefix stripped).
        cameras: camera name -> vertical field of view (deg) of a ``_visual`` task.
        guard: stops the recording before the disk is full.
    """

    def __init__(self, path: Path, num_envs: int, action_dim: int, joint_names: list[str],
                 cameras: dict[str, float], guard: DiskGuard):
        from rosbags.rosbag2 import StoragePlugin, Writer

        self.path, self.num_envs, self.joint_names = path, num_envs, list(joint_names)
        self.cameras, self.guard, self.bytes_written = dict(cameras), guard, 0
        self._writer = Writer(path, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._store, self._defs = typestore(), {}
        self._conn = {"clock": self._add("/clock", "clock"), "tf": self._add("/tf", "tf")}
        self._env = [{key: self._add(f"/env{i}/{topic}", kind) for key, topic, kind in (
            ("action", "action", "action"), ("reward", "reward", "reward"),
            ("terminated", "terminated", "flag"), ("truncated", "truncated", "flag"),
            ("joints", "robot/joint_states", "joints"), ("pose", "robot/pose", "pose"))}
            for i in range(num_envs)]
        self._cam = [{name: self._camera_connections(i, name) for name in self.cameras}
                     for i in range(num_envs)]
        self._children = [f"env{i}/base_link" for i in range(num_envs)]
        self._joints, self._pose = cdr.JointStateTemplate(joint_names), cdr.PoseTemplate("world")
        self._tf = cdr.TfTemplate("world", self._children)
        self._action = cdr.ActionTemplate(action_dim)
        self._fast = McapAppender.attach(self._writer)
        self._block = self._step_block(action_dim, len(joint_names))
        self._block_bytes = self._block.size + 16 * len(self._block.cids)
        # Steps wait here, as arrays, and are encoded STAGED_BYTES of messages at a time (one
        # set of numpy fills for several steps); a reset's, a camera's or the closing write
        # sends them first, so the bag stays in time order.
        self._staged_max = int(np.clip(STAGED_BYTES // self._block.size, 1, 32))
        self._blocks: dict[int, MessageBlock] = {1: self._block}
        self._staged = {"stamp": np.zeros(self._staged_max, np.uint64),
                        "action": np.zeros((self._staged_max, num_envs, action_dim), "<f4"),
                        "reward": np.zeros((self._staged_max, num_envs), "<f4"),
                        "terminated": np.zeros((self._staged_max, num_envs), np.uint8),
                        "truncated": np.zeros((self._staged_max, num_envs), np.uint8),
                        "pose": np.zeros((self._staged_max, num_envs, 7), "<f8")}
        for key in ("position", "velocity", "effort") if joint_names else ():
            self._staged[key] = np.zeros((self._staged_max, num_envs, len(joint_names)), "<f8")
        self._staged_steps = 0
        self.closed = False

    def _step_block(self, action_dim: int, num_joints: int) -> MessageBlock:
        """Every message of :meth:`write_step`, in its order, as one refillable block."""
        block, env = MessageBlock(), self._env
        block.add(self._conn["clock"].id, cdr.clock_msg(0), stamp=(4, 8))
        at_action = len(self._action.prefix)
        for conn in env:
            block.add(conn["action"].id, self._action.encode(np.zeros(action_dim)),
                      action=(at_action, 4 * action_dim))
            block.add(conn["reward"].id, cdr.float32_msg(0.0), reward=(4, 4))
            block.add(conn["terminated"].id, cdr.BOOL_MSGS[0], terminated=(4, 1))
            block.add(conn["truncated"].id, cdr.BOOL_MSGS[0], truncated=(4, 1))
        joints, pose = self._joints, self._pose
        arrays = {} if not num_joints else {
            name: (where.start, 8 * num_joints)
            for name, where in zip(("position", "velocity", "effort"), joints.slots)}
        for conn in env:
            block.add(conn["joints"].id, joints.template, stamp=(4, 8), **arrays)
            block.add(conn["pose"].id, pose.prefix + bytes(56), stamp=(4, 8),
                      pose=(len(pose.prefix), 56))
        block.add(self._conn["tf"].id, self._tf.template,
                  stamp=[(at, 8) for at in self._tf.stamps],
                  tf=[(at, 56) for at in self._tf.poses])
        return block.build()

    def _add(self, topic: str, kind: str):
        msgtype = TYPES[kind]
        if msgtype not in self._defs:  # one definition and hash per type, not per topic
            self._defs[msgtype] = (self._store.generate_msgdef(msgtype, ros_version=2)[0],
                                   self._store.hash_rihs01(msgtype))
        msgdef, rihs01 = self._defs[msgtype]
        return self._writer.add_connection(topic, msgtype, msgdef=msgdef, rihs01=rihs01)

    def _camera_connections(self, i: int, name: str) -> dict:
        base = f"/env{i}/robot/camera_{name}"
        return {"rgb": self._add(f"{base}/image_raw", "image"),
                "rgb_info": self._add(f"{base}/camera_info", "info"),
                "depth": self._add(f"{base}/depth/image_raw", "image"),
                "depth_info": self._add(f"{base}/depth/camera_info", "info")}

    def _write(self, connection, stamp: int, data: bytes) -> None:
        self._write_all(stamp, [(connection, data)])

    def _write_all(self, stamp: int, messages: list[tuple]) -> None:
        """Write ``(connection, data)`` messages that share one timestamp."""
        nbytes = sum(len(data) for _, data in messages) + MESSAGE_OVERHEAD * len(messages)
        self.guard.count(nbytes)
        if self._fast is not None:
            self._fast.write(stamp, messages)
        else:
            for connection, data in messages:
                self._writer.write(connection, stamp, data)
        self.bytes_written += nbytes

    def write_step(self, stamp: int, actions: np.ndarray, rewards: np.ndarray,
                   terminated: np.ndarray, truncated: np.ndarray, states: dict) -> None:
        """One batch step: clock, tf, and every env's action, reward, flags, joints, pose
        (``states``: the vector env's ``robot_state_arrays()``)."""
        if self._fast is None:  # rosbags' own writer, message by message
            self._write_all(stamp, self._step_messages(stamp, actions, rewards, terminated,
                                                       truncated, states))
            return
        staged, k = self._staged, self._staged_steps
        staged["stamp"][k] = stamp
        staged["action"][k], staged["reward"][k] = actions, rewards
        staged["terminated"][k], staged["truncated"][k] = terminated, truncated
        for key in ("position", "velocity", "effort"):
            if key in staged:
                staged[key][k] = states[key]
        staged["pose"][k, :, :3] = states["base_xyz"]
        wxyz = states["base_wxyz"]
        staged["pose"][k, :, 3:6], staged["pose"][k, :, 6] = wxyz[:, 1:], wxyz[:, 0]
        self._staged_steps += 1
        self.guard.count(self._block_bytes)
        self.bytes_written += self._block_bytes
        if self._staged_steps == self._staged_max:
            self._send_staged()

    def _send_staged(self) -> None:
        """Encode and write the staged steps (see ``__init__``); a no-op on rosbags' own
        writer, which never stages."""
        steps, staged = self._staged_steps, self._staged
        if self._fast is None or not steps:
            return
        if steps not in self._blocks:
            self._blocks[steps] = self._block.repeat(steps)
        block = self._blocks[steps]
        stamps = staged["stamp"][:steps]
        per_step = len(self._block.cids)  # records of one step
        records = np.repeat(stamps, per_step)
        block.fill("time", np.repeat(np.stack([stamps, stamps], 1), per_step, axis=0))
        sec, nsec = np.divmod(stamps, np.uint64(cdr.NS_PER_S))
        block.fill("stamp", np.repeat(np.stack([sec, nsec], 1).astype("<u4"),
                                      len(self._block.index["stamp"]), axis=0))
        for key in ("action", "reward", "terminated", "truncated", "position", "velocity",
                    "effort", "pose"):
            if key in staged:
                block.fill(key, staged[key][:steps])
        block.fill("tf", staged["pose"][:steps])
        self._staged_steps = 0
        self._fast.write_block(records, block)

    def _step_messages(self, stamp, actions, rewards, terminated, truncated, states) -> list:
        messages = [(self._conn["clock"], cdr.clock_msg(stamp))]
        flags, reward, action = cdr.BOOL_MSGS, cdr.float32_msg, self._action.encode
        for i, conn in enumerate(self._env):
            messages += ((conn["action"], action(actions[i])),
                         (conn["reward"], reward(float(rewards[i]))),
                         (conn["terminated"], flags[bool(terminated[i])]),
                         (conn["truncated"], flags[bool(truncated[i])]))
        return self._state_messages(stamp, range(self.num_envs), states, messages)

    def write_state(self, stamp: int, envs, states: dict) -> None:
        """Joints, pose and one /tf message of the given envs (after a reset)."""
        self._send_staged()
        self._write_all(stamp, self._state_messages(stamp, list(envs), states, []))

    def _state_messages(self, stamp: int, envs, states: dict, out: list) -> list:
        joints, pose = self._joints.encode, self._pose.encode
        position, velocity, effort = states["position"], states["velocity"], states["effort"]
        xyz, wxyz = states["base_xyz"], states["base_wxyz"]
        for i in envs:
            conn = self._env[i]
            out.append((conn["joints"], joints(stamp, position[i], velocity[i], effort[i])))
            out.append((conn["pose"], pose(stamp, xyz[i], wxyz[i])))
        poses = [(xyz[i], wxyz[i]) for i in envs]
        tf = self._tf.encode(stamp, poses) if len(envs) == self.num_envs else \
            cdr.tf_msg(stamp, "world", [self._children[i] for i in envs], poses)
        out.append((self._conn["tf"], tf))
        return out

    def write_cameras(self, stamp: int, obs: dict[str, np.ndarray]) -> None:
        """Every camera image of every env, with its camera_info (``_visual`` tasks)."""
        self._send_staged()
        for i, cams in enumerate(self._cam):
            for name, conn in cams.items():
                frame = f"env{i}/camera_{name}_optical_frame"
                rgb, depth = obs[f"camera_{name}_rgb"][i], obs[f"camera_{name}_depth"][i]
                info = cdr.camera_info_msg(stamp, frame, rgb.shape[1], rgb.shape[0],
                                           self.cameras[name])
                self._write(conn["rgb"], stamp, cdr.image_msg(stamp, frame, rgb))
                self._write(conn["rgb_info"], stamp, info)
                self._write(conn["depth"], stamp, cdr.image_msg(stamp, frame, depth))
                self._write(conn["depth_info"], stamp, info)

    @property
    def pending_bytes(self) -> int:
        """Bytes of the open MCAP chunk and of the staged steps, still in memory."""
        chunk = getattr(getattr(self._writer, "storage", None), "chunk", None)
        return (chunk.bio.tell() if chunk is not None else 0) + \
            self._staged_steps * self._block_bytes

    def close(self) -> None:
        """Write the MCAP summary and metadata.yaml (idempotent).

        Raises:
            RecordingError: when even that cannot be written (the MCAP data chunks on disk
                stay readable with a streaming MCAP reader).
        """
        if self.closed:
            return
        self.closed = True
        try:
            if self._fast is not None:
                self._send_staged()
                self._fast.finish()
                self._close_fast()
            else:
                self._writer.close()
        except OSError as exc:
            self._writer.abort()
            raise RecordingError(f"could not finish the bag {self.path}: {exc}") from None

    def _close_fast(self) -> None:
        """rosbags' ``Writer.close`` for an uncompressed MCAP bag, with the same metadata
        (MCAP metadata record and metadata.yaml) emitted by :func:`block_yaml` instead of
        ruamel's pure-Python emitter (seconds for a hundred topics on a busy machine)."""
        from rosbags.rosbag2.metadata import dump_qos_v8, dump_qos_v9

        writer = self._writer
        dump_qos = dump_qos_v9 if writer.version >= 9 else dump_qos_v8
        start, count = writer.min_timestamp, sum(writer.counts.values())
        duration = max(0, writer.max_timestamp - start)
        name = writer.storage.path.name
        info = {
            "version": writer.version, "storage_identifier": "mcap",
            "relative_file_paths": [name], "duration": {"nanoseconds": duration},
            "starting_time": {"nanoseconds_since_epoch": start}, "message_count": count,
            "topics_with_message_count": [
                {"topic_metadata": {"name": c.topic, "type": c.msgtype,
                                    "serialization_format": c.ext.serialization_format,
                                    "offered_qos_profiles": dump_qos(c.ext.offered_qos_profiles),
                                    "type_description_hash": c.digest},
                 "message_count": writer.counts[c.id]} for c in writer.connections],
            "compression_format": "", "compression_mode": "",
            "files": [{"path": name, "starting_time": {"nanoseconds_since_epoch": start},
                       "duration": {"nanoseconds": duration}, "message_count": count}],
            "custom_data": writer.custom_data or None, "ros_distro": "rosbags"}
        writer.storage.close(writer.version, block_yaml(info).strip())
        writer.storage = None
        tmp = writer.metapath.with_suffix(".yaml.tmp")
        tmp.write_text(block_yaml({"rosbag2_bagfile_information": info}), "utf8")
        tmp.replace(writer.metapath)


def block_yaml(value, indent: int = 0) -> str:
    """Block-style YAML of dicts, lists and scalars; strings double-quoted (JSON escapes, which
    YAML reads the same), so any text round-trips."""
    pad, out = " " * indent, []
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for key, item in items:
        head = f"{pad}{key}:" if isinstance(value, dict) else f"{pad}-"
        if isinstance(item, (dict, list)) and item:
            body = block_yaml(item, indent + 2)
            if isinstance(value, dict):
                out.append(f"{head}\n{body}")
            else:  # "- first: x" then the rest of the mapping under it
                out.append(f"{head} {body[indent + 2:]}")
        else:
            out.append(f"{head} {_scalar(item)}\n")
    return "".join(out)


def _scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(str(value))
