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
import struct
from pathlib import Path

import numpy as np

from . import cdr
from .paths import DiskGuard, RecordingError

BAG_VERSION = 8  # rosbag2 metadata version of ROS 2 Jazzy
MESSAGE_OVERHEAD = 47  # bytes per message beyond its data: MCAP record (31) + index entry (16)
_MCAP_MESSAGE = struct.Struct("<BQHIQQ")  # opcode 0x05, length, channel, sequence, log, publish
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
        self.closed = False

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
                   terminated: np.ndarray, truncated: np.ndarray, states: list[dict]) -> None:
        """One batch step: clock, tf, and every env's action, reward, flags, joints, pose."""
        messages = [(self._conn["clock"], cdr.clock_msg(stamp))]
        flags, reward, action = cdr.BOOL_MSGS, cdr.float32_msg, self._action.encode
        for i, conn in enumerate(self._env):
            messages += ((conn["action"], action(actions[i])),
                         (conn["reward"], reward(float(rewards[i]))),
                         (conn["terminated"], flags[bool(terminated[i])]),
                         (conn["truncated"], flags[bool(truncated[i])]))
        self._state_messages(stamp, range(self.num_envs), states, messages)
        self._write_all(stamp, messages)

    def write_state(self, stamp: int, envs, states: list[dict]) -> None:
        """Joints, pose and one /tf message of the given envs (after a reset)."""
        self._write_all(stamp, self._state_messages(stamp, list(envs), states, []))

    def _state_messages(self, stamp: int, envs, states: list[dict], out: list) -> list:
        joints, pose = self._joints.encode, self._pose.encode
        for i in envs:
            s, conn = states[i], self._env[i]
            out.append((conn["joints"], joints(stamp, s["position"], s["velocity"],
                                               s["effort"])))
            out.append((conn["pose"], pose(stamp, s["base_xyz"], s["base_wxyz"])))
        poses = [(states[i]["base_xyz"], states[i]["base_wxyz"]) for i in envs]
        tf = self._tf.encode(stamp, poses) if len(envs) == self.num_envs else \
            cdr.tf_msg(stamp, "world", [self._children[i] for i in envs], poses)
        out.append((self._conn["tf"], tf))
        return out

    def write_cameras(self, stamp: int, obs: dict[str, np.ndarray]) -> None:
        """Every camera image of every env, with its camera_info (``_visual`` tasks)."""
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
        """Bytes of the open MCAP chunk, still in memory."""
        chunk = getattr(getattr(self._writer, "storage", None), "chunk", None)
        return chunk.bio.tell() if chunk is not None else 0

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
                self._fast.close()
            else:
                self._writer.close()
        except OSError as exc:
            self._writer.abort()
            raise RecordingError(f"could not finish the bag {self.path}: {exc}") from None


class McapAppender:
    """Appends many messages of one timestamp to rosbags' MCAP writer in one call.

    rosbags writes one message per call (a few microseconds of Python each, ~100 per step at
    N = 16). This writes the same records (MCAP ``Message``, opcode 0x05) into its open chunk
    and keeps its index and counts exactly as its own ``write`` would, so ``close()``
    writes the same summary and metadata.yaml. Used only when the writer has the attributes
    it relies on (rosbags 0.10 to 0.11); otherwise the bag is written message by message.
    """

    NEEDS = ("message_start_time", "message_end_time", "channel_stats", "chunk", "close_chunk",
             "close", "path")

    def __init__(self, writer, storage):
        self.writer, self.storage = writer, storage

    @classmethod
    def attach(cls, writer) -> McapAppender | None:
        storage = getattr(writer, "storage", None)
        ok = storage is not None and all(hasattr(storage, a) for a in cls.NEEDS) and \
            hasattr(storage.chunk, "msgs") and isinstance(getattr(writer, "counts", None), dict) \
            and writer.compression_mode.name == "NONE" and hasattr(writer, "metapath")
        return cls(writer, storage) if ok else None

    def write(self, stamp: int, messages: list[tuple]) -> None:
        storage, writer = self.storage, self.writer
        chunk = storage.chunk
        offset, parts = chunk.bio.tell(), []
        index, stats, counts = chunk.msgs, storage.channel_stats, writer.counts
        for connection, data in messages:
            cid = connection.id
            index[cid].append((stamp, offset))
            stats[cid] += 1
            counts[cid] += 1
            parts.append(_MCAP_MESSAGE.pack(0x05, 22 + len(data), cid, 0, stamp, stamp))
            parts.append(data)
            offset += 31 + len(data)
        chunk.bio.write(b"".join(parts))
        for obj in (storage, chunk):
            obj.message_start_time = min(stamp, obj.message_start_time)
            obj.message_end_time = max(stamp, obj.message_end_time)
        writer.min_timestamp = min(stamp, writer.min_timestamp)
        writer.max_timestamp = max(stamp, writer.max_timestamp)
        if chunk.bio.tell() > 1 << 20:
            storage.close_chunk()

    def close(self) -> None:
        """rosbags' ``Writer.close`` for an uncompressed MCAP bag, with the same metadata
        (MCAP metadata record and metadata.yaml) emitted by :func:`block_yaml` instead of
        ruamel's pure-Python emitter (seconds for a hundred topics on a busy machine)."""
        from rosbags.rosbag2.metadata import dump_qos_v8, dump_qos_v9

        writer = self.writer
        dump_qos = dump_qos_v9 if writer.version >= 9 else dump_qos_v8
        start, count = writer.min_timestamp, sum(writer.counts.values())
        duration = max(0, writer.max_timestamp - start)
        name = self.storage.path.name
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
        self.storage.close(writer.version, block_yaml(info).strip())
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
