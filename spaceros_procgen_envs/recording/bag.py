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

from pathlib import Path

import numpy as np

from . import cdr
from .paths import DiskGuard, RecordingError

BAG_VERSION = 8  # rosbag2 metadata version of ROS 2 Jazzy
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
        joint_names: the published joint names (robot prefix stripped).
        cameras: camera name -> vertical field of view (deg) of a ``_visual`` task.
        guard: stops the recording before the disk is full.
    """

    def __init__(self, path: Path, num_envs: int, joint_names: list[str],
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
        self.guard.wrote(len(data) + 32)
        self._writer.write(connection, stamp, data)
        self.bytes_written += len(data) + 32  # + the MCAP record and index entry (approx.)

    def write_step(self, stamp: int, actions: np.ndarray, rewards: np.ndarray,
                   terminated: np.ndarray, truncated: np.ndarray, states: list[dict]) -> None:
        """One batch step: clock, tf, and every env's action, reward, flags, joints, pose."""
        self._write(self._conn["clock"], stamp, cdr.clock_msg(stamp))
        for i, conn in enumerate(self._env):
            self._write(conn["action"], stamp, cdr.float32_array_msg(actions[i]))
            self._write(conn["reward"], stamp, cdr.float32_msg(float(rewards[i])))
            self._write(conn["terminated"], stamp, cdr.BOOL_MSGS[bool(terminated[i])])
            self._write(conn["truncated"], stamp, cdr.BOOL_MSGS[bool(truncated[i])])
        self.write_state(stamp, range(self.num_envs), states)

    def write_state(self, stamp: int, envs, states: list[dict]) -> None:
        """Joints, pose and one /tf message of the given envs (after a step or a reset)."""
        envs = list(envs)
        for i in envs:
            s, conn = states[i], self._env[i]
            self._write(conn["joints"], stamp, cdr.joint_state_msg(
                stamp, self.joint_names, s["position"], s["velocity"], s["effort"]))
            self._write(conn["pose"], stamp, cdr.pose_stamped_msg(stamp, "world", s["base_xyz"],
                                                                  s["base_wxyz"]))
        self._write(self._conn["tf"], stamp, cdr.tf_msg(
            stamp, "world", [self._children[i] for i in envs],
            [(states[i]["base_xyz"], states[i]["base_wxyz"]) for i in envs]))

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
            self._writer.close()
        except OSError as exc:
            self._writer.abort()
            raise RecordingError(f"could not finish the bag {self.path}: {exc}") from None
