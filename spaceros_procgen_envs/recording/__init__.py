"""Recording demonstrations and datasets from a vector env, and replaying them bit for bit.

``RecordingVectorEnv(env, PATH)`` (or ``--record PATH`` on the ROS scripts) writes, per env,
actions, observations, rewards, flags, ``is_success`` and the reward terms, split into
episodes, as a rosbag2 bag (MCAP) and a Minari dataset in one directory (:mod:`.paths`);
``replay.py PATH`` (:mod:`.replay`) re-runs it and checks every observation.
Needs the ``record`` extra (``rosbags``, ``minari[hdf5]``).
"""

from .dataset import load_dataset
from .manifest import read_manifest
from .paths import RecordingError, RecordingPathError, check_record_path, dataset_id
from .recorder import Recorder, RecordingVectorEnv, for_node, require_dependencies

__all__ = ["Recorder", "RecordingError", "RecordingPathError", "RecordingVectorEnv",
           "check_record_path", "dataset_id", "for_node", "load_dataset", "read_manifest",
           "require_dependencies"]
