"""Recordings read back: the rosbag2 bag through rosbags' reader and through the mcap
reader, and the Minari dataset through minari itself (exact arrays, counts, stamps, seeds)."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

pytest.importorskip("rosbags", reason="the record extra (rosbags) is not installed")
pytest.importorskip("minari", reason="the record extra (minari) is not installed")
mcap_reader = pytest.importorskip("mcap.reader", reason="the record extra (mcap) is not installed")
from mcap.stream_reader import StreamReader  # noqa: E402

from rosbags.rosbag2 import Reader  # noqa: E402

from spaceros_procgen_envs.recording import (RecordingError, load_dataset,  # noqa: E402
                                             read_manifest)
from spaceros_procgen_envs.recording import cdr  # noqa: E402
from spaceros_procgen_envs.recording.bag import typestore  # noqa: E402
from spaceros_procgen_envs.registry import get_task  # noqa: E402

from .recording_helpers import (EPISODE_SEED, EPISODE_STEPS, NUM_ENVS, RESET_AT,  # noqa: E402
                                STEPS, TASK, WORLD_SEED, expected_obs, record_run)

DT_NS = 20_000_000


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPACEROS_PROCGEN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        return record_run(tmp_path_factory.mktemp("rec") / "demo", wait_for_writer=True)


def episodes_and_meta(path):
    dataset = load_dataset(path)
    episodes = list(dataset.iterate_episodes())
    return dataset, episodes, list(dataset.storage.get_episode_metadata(
        [ep.id for ep in episodes]))


# --- the message encoders ---------------------------------------------------------------------
def test_cdr_encoders_write_exactly_what_rosbags_serialises():
    store = typestore()
    ns, xyz, wxyz = 3_020_000_001, np.array([1.0, -2.0, 3.5]), np.array([0.9, 0.1, -0.2, 0.3])
    names = ["joint1", "finger_left", "w"]
    values = [np.arange(3.0) + k for k in range(3)]
    cases = {
        "std_msgs/msg/Float32": [cdr.float32_msg(1.5)],
        "std_msgs/msg/Bool": list(cdr.BOOL_MSGS),
        "std_msgs/msg/Float32MultiArray": [cdr.float32_array_msg(np.array([0.5, -1.0])),
                                           cdr.ActionTemplate(2).encode(np.array([0.5, -1.0]))],
        "rosgraph_msgs/msg/Clock": [cdr.clock_msg(ns)],
        "sensor_msgs/msg/JointState": [cdr.joint_state_msg(ns, names, *values),
                                       cdr.JointStateTemplate(names).encode(ns, *values)],
        "geometry_msgs/msg/PoseStamped": [cdr.pose_stamped_msg(ns, "world", xyz, wxyz),
                                          cdr.PoseTemplate("world").encode(ns, xyz, wxyz)],
        "tf2_msgs/msg/TFMessage": [cdr.tf_msg(ns, "world", ["env0/base_link", "env12/b"],
                                              [(xyz, wxyz)] * 2),
                                   cdr.TfTemplate("world", ["env0/base_link", "env12/b"]).encode(
                                       ns, [(xyz, wxyz)] * 2)],
        "sensor_msgs/msg/Image": [cdr.image_msg(ns, "cam", np.arange(18, dtype=np.uint8)
                                                .reshape(2, 3, 3)),
                                  cdr.image_msg(ns, "cam", np.full((2, 3), 1.5, np.float32))],
        "sensor_msgs/msg/CameraInfo": [cdr.camera_info_msg(ns, "cam", 4, 3, 60.0)],
    }
    for msgtype, encoded in cases.items():
        for data in encoded:  # decode with rosbags, encode again: the same bytes
            msg = store.deserialize_cdr(data, msgtype)
            assert bytes(store.serialize_cdr(msg, msgtype)) == data, msgtype
    msg = store.deserialize_cdr(cases["sensor_msgs/msg/JointState"][1], "sensor_msgs/msg/JointState")
    assert msg.name == names and msg.header.stamp.sec == 3 and msg.header.stamp.nanosec == 20_000_001
    np.testing.assert_array_equal(msg.velocity, values[1])
    pose = store.deserialize_cdr(cases["geometry_msgs/msg/PoseStamped"][0],
                                 "geometry_msgs/msg/PoseStamped").pose.orientation
    assert (pose.x, pose.y, pose.z, pose.w) == (0.1, -0.2, 0.3, 0.9)  # ROS order from wxyz


# --- the bag ----------------------------------------------------------------------------------
def test_bag_round_trip_through_rosbags_reader(run):
    store, counts, poses_seen = typestore(), {}, {}
    state_count = {i: 1 + sum(i in envs for t, envs in run.resets[1:]) for i in range(NUM_ENVS)}
    with Reader(run.path / "bag") as reader:
        types = {c.topic: c.msgtype for c in reader.connections}
        for conn, stamp, raw in reader.messages():
            counts[conn.topic] = counts.get(conn.topic, 0) + 1
            msg = store.deserialize_cdr(raw, conn.msgtype)
            topic = conn.topic
            if topic == "/clock":
                assert msg.clock.sec * 10**9 + msg.clock.nanosec == stamp
                assert stamp % DT_NS == 0
            if not topic.startswith("/env"):
                continue
            i, t = int(topic.split("/")[1][3:]), stamp // DT_NS
            if topic.endswith("/action"):
                assert msg.data.dtype == np.float32
                np.testing.assert_array_equal(msg.data, run.actions[t][i])
            elif topic.endswith("/reward"):
                assert msg.data == np.float32(run.rewards[t][i])
            elif topic.endswith("/terminated"):
                assert msg.data == bool(run.terminated[t][i])
            elif topic.endswith("/robot/pose"):  # at a reset's time: the step's, then the reset's
                nth = poses_seen[i, t] = poses_seen.get((i, t), -1) + 1
                obs = run.after_step[t] if t in run.after_step and nth == 0 else run.after_reset[t]
                p = msg.pose.position
                np.testing.assert_allclose([p.x, p.y, p.z], obs["base_pos"][i], atol=1e-5)
                assert msg.header.frame_id == "world"
    assert counts["/clock"] == STEPS
    for i in range(NUM_ENVS):
        for name in ("action", "reward", "terminated", "truncated"):
            assert counts[f"/env{i}/{name}"] == STEPS
        assert counts[f"/env{i}/robot/joint_states"] == STEPS + state_count[i]
        assert counts[f"/env{i}/robot/pose"] == STEPS + state_count[i]
    assert counts["/tf"] == STEPS + len(run.resets)
    assert types["/tf"] == "tf2_msgs/msg/TFMessage"
    assert types["/env0/robot/joint_states"] == "sensor_msgs/msg/JointState"
    assert types["/env2/action"] == "std_msgs/msg/Float32MultiArray"


def test_bag_round_trip_through_the_mcap_reader(run):
    store = typestore()
    with Reader(run.path / "bag") as reader:
        expected = {(c.topic, t, bytes(raw)) for c, t, raw in reader.messages()}
    files = list((run.path / "bag").glob("*.mcap"))
    assert len(files) == 1
    with open(files[0], "rb") as stream:
        mcap = mcap_reader.make_reader(stream)
        got, per_topic = set(), {}
        for schema, channel, message in mcap.iter_messages():
            assert schema.encoding == "ros2msg" and channel.message_encoding == "cdr"
            assert message.log_time == message.publish_time
            store.deserialize_cdr(message.data, schema.name)  # every message decodes
            got.add((channel.topic, message.log_time, bytes(message.data)))
            per_topic[channel.topic] = schema.name
        summary = mcap.get_summary()
    assert got == expected
    assert summary.statistics.message_count == len(expected)
    assert per_topic["/clock"] == "rosgraph_msgs/msg/Clock"
    assert per_topic["/env1/robot/pose"] == "geometry_msgs/msg/PoseStamped"


def test_bag_metadata_is_rosbag2_jazzy_layout_for_ros2_bag_play(run):
    from ruamel.yaml import YAML

    info = YAML(typ="safe").load((run.path / "bag" / "metadata.yaml").read_text())
    info = info["rosbag2_bagfile_information"]
    assert info["version"] == 8 and info["storage_identifier"] == "mcap"
    assert info["relative_file_paths"] == ["bag.mcap"]
    assert (run.path / "bag" / "bag.mcap").is_file()
    topics = info["topics_with_message_count"]
    assert sum(t["message_count"] for t in topics) == info["message_count"]
    for entry in topics:
        meta = entry["topic_metadata"]
        assert meta["serialization_format"] == "cdr"
        assert meta["type_description_hash"].startswith("RIHS01_")
        assert isinstance(meta["offered_qos_profiles"], str)  # v8: a YAML string
    assert info["duration"]["nanoseconds"] == (STEPS - 0) * DT_NS


# --- the Minari dataset -----------------------------------------------------------------------
def test_minari_loads_it_by_id_with_exact_arrays_counts_and_seeds(run, monkeypatch):
    import minari

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(run.path / "minari"))
    dataset = minari.load_dataset(f"spaceros/{TASK}-v0")
    episodes = list(dataset.iterate_episodes())
    metas = list(dataset.storage.get_episode_metadata([ep.id for ep in episodes]))
    # env 1: reset by hand at RESET_AT; every env: episodes of EPISODE_STEPS, NEXT_STEP resets
    assert sorted((m["env"], m["t0"], m["started_by"], m["end"]) for m in metas) == [
        (0, 0, "reset", "truncated"), (0, 26, "autoreset", "truncated"),
        (0, 52, "autoreset", "interrupted"),
        (1, 0, "reset", "truncated"), (1, 26, "autoreset", "reset"),
        (1, RESET_AT, "reset", "truncated"), (1, RESET_AT + EPISODE_STEPS + 1, "autoreset",
                                                "interrupted"),
        (2, 0, "reset", "truncated"), (2, 26, "autoreset", "truncated"),
        (2, 52, "autoreset", "interrupted")]
    assert dataset.total_episodes == len(episodes) == 10
    assert dataset.total_steps == sum(len(ep) for ep in episodes)
    for ep, meta in zip(episodes, metas):
        i, t0 = int(meta["env"]), int(meta["t0"])
        assert meta["world_seed"] == WORLD_SEED + i and meta["episode_seed"] == EPISODE_SEED + i
        assert meta["task"] == TASK and meta["domain"] == "mars"
        keys = {n: r.key for n, r in get_task(TASK).asset_requests(WORLD_SEED + i, "mars").items()}
        assert json.loads(meta["asset_keys"]) == keys
        assert len(ep) == meta["length"] == len(ep.actions) == len(ep.rewards)
        if meta["end"] == "truncated":
            assert len(ep) == EPISODE_STEPS and ep.truncations[-1] and not ep.truncations[:-1].any()
        for k in range(len(ep) + 1):
            for key, value in expected_obs(run, meta, k).items():
                assert ep.observations[key][k].dtype == value.dtype
                np.testing.assert_array_equal(ep.observations[key][k], value, err_msg=key)
        for k in range(len(ep)):
            np.testing.assert_array_equal(ep.actions[k], run.actions[t0 + k + 1][i])
            assert ep.rewards[k] == run.rewards[t0 + k + 1][i]
        assert set(ep.infos) == {"reward", "is_success", "diverged"}
        assert "progress" in ep.infos["reward"] and len(ep.infos["is_success"]) == len(ep) + 1


def test_recover_environment_makes_our_env_and_reproduces_env0(run):
    dataset, episodes, metas = episodes_and_meta(run.path)
    env = dataset.recover_environment()
    try:
        assert type(env.unwrapped).__name__ == "SpaceRosEnv"
        assert env.observation_space == dataset.observation_space
        first = next(ep for ep, m in zip(episodes, metas) if m["env"] == 0 and m["t0"] == 0)
        obs, _ = env.reset(seed=EPISODE_SEED)  # env 0: world seed WORLD_SEED, episode seed 7
        for key, value in obs.items():
            np.testing.assert_array_equal(value, first.observations[key][0])
    finally:
        env.close()


def test_manifest_says_what_was_recorded(run):
    manifest = read_manifest(run.path)
    assert manifest["complete"] and manifest["steps"] == STEPS and manifest["stopped"] is None
    assert manifest["task"] == TASK and manifest["num_envs"] == NUM_ENVS
    assert manifest["world_seeds"] == [WORLD_SEED + i for i in range(NUM_ENVS)]
    assert [(r["time"], r["envs"]) for r in manifest["resets"]] == run.resets
    assert manifest["resets"][0]["seeds"] == [EPISODE_SEED + i for i in range(NUM_ENVS)]


def test_a_missing_recording_is_a_clear_error(tmp_path):
    with pytest.raises(RecordingError, match="not a recording"):
        load_dataset(tmp_path)


# --- a full disk ------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """An 8 MiB tmpfs, mounted for this test (needs root with CAP_SYS_ADMIN)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small tmpfs to fill ({done.stderr.strip() or 'not root'})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_cleanly_and_keeps_every_step_before(small_disk):
    from spaceros_procgen_envs.recording.replay import replay

    (small_disk / "filler").write_bytes(os.urandom(4 << 20))  # leaves ~4 MiB
    path = small_disk / "rec"
    with pytest.raises(RecordingError, match="nearly full"):
        record_run(path, steps=100_000, reserve_bytes=2 << 20)
    manifest = read_manifest(path)
    assert not manifest["complete"] and "nearly full" in manifest["stopped"]
    steps = manifest["steps"]
    assert steps > 10
    with Reader(path / "bag") as reader:  # closed properly: index and metadata.yaml written
        assert sum(1 for c, _, _ in reader.messages() if c.topic == "/clock") == steps
    dataset, episodes, metas = episodes_and_meta(path)
    assert max(m["t0"] + m["length"] for m in metas) == steps
    assert replay(path).mismatch is None  # what was kept replays bit for bit


def test_benchmark_record_rows_measure_both_runs_and_the_bytes():
    from spaceros_procgen_envs.recording.bench import measure_recording, recording_markdown

    result = {}
    measure_recording(result, [TASK], 2, ["sync"], steps=5, repeats=1)
    (row,) = result["recording"]
    assert row["env_steps_per_s"] > 0 and row["recording_env_steps_per_s"] > 0
    assert row["bytes_per_env_step"] > 500  # bag messages and dataset rows of every env step
    assert row["mb_per_s"] == pytest.approx(
        row["recording_env_steps_per_s"] * row["bytes_per_env_step"] / 1e6)
    assert f"| {TASK} | sync | 2 |" in recording_markdown(result)


def test_camera_task_records_images_at_the_camera_rate_and_exact_in_the_dataset(tmp_path):
    from spaceros_procgen_envs.recording.replay import replay

    run = record_run(tmp_path / "cams", task=f"{TASK}_visual", steps=12, camera_rate_hz=25.0)
    store, images = typestore(), {}
    with Reader(run.path / "bag") as reader:
        for conn, stamp, raw in reader.messages():
            if "/camera_" in conn.topic:
                images.setdefault(conn.topic, []).append((stamp // DT_NS, raw, conn.msgtype))
    rgb = images["/env2/robot/camera_front/image_raw"]
    assert [t for t, _, _ in rgb] == [2, 4, 6, 8, 10, 12]  # 25 Hz: every second 50 Hz step
    assert len(images["/env0/robot/camera_scene/depth/camera_info"]) == 6
    t, raw, msgtype = rgb[0]
    msg = store.deserialize_cdr(raw, msgtype)
    assert msg.encoding == "rgb8" and msg.header.frame_id == "env2/camera_front_optical_frame"
    pixels = msg.data.reshape(msg.height, msg.width, 3)
    np.testing.assert_array_equal(pixels, run.after_step[t]["camera_front_rgb"][2])
    depth = store.deserialize_cdr(images["/env2/robot/camera_front/depth/image_raw"][0][1],
                                  "sensor_msgs/msg/Image")
    assert depth.encoding == "32FC1"
    np.testing.assert_array_equal(depth.data.view(np.float32).reshape(depth.height, depth.width),
                                  run.after_step[t]["camera_front_depth"][2])
    dataset, episodes, metas = episodes_and_meta(run.path)
    for ep, meta in zip(episodes, metas):  # every step's images, not JPEG: the exact arrays
        for k in range(len(ep) + 1):
            for key in ("camera_front_rgb", "camera_scene_depth"):
                np.testing.assert_array_equal(ep.observations[key][k],
                                              expected_obs(run, meta, k)[key])
    assert replay(run.path).mismatch is None


def test_fast_bag_writing_gives_the_bag_rosbags_itself_writes(tmp_path):
    """The batched MCAP appends and the metadata emitter against rosbags' own write/close."""
    from ruamel.yaml import YAML

    from spaceros_procgen_envs.recording.bag import BagWriter
    from spaceros_procgen_envs.recording.paths import DiskGuard

    state = {"position": np.arange(6.0).reshape(2, 3), "velocity": np.ones((2, 3)),
             "effort": np.zeros((2, 3)), "base_xyz": np.array([[1.0, 2.0, 3.0], [4, 5, 6]]),
             "base_wxyz": np.array([[1.0, 0, 0, 0], [0.5, 0.5, -0.5, 0.5]])}
    infos, contents, records = [], [], []
    for fast in (True, False):
        (tmp_path / str(fast)).mkdir()
        bag = BagWriter(tmp_path / str(fast) / "bag", 2, 2, ["a", "b", "c"], {},
                        DiskGuard(tmp_path))
        if not fast:
            bag._fast = None  # rosbags' Writer.write and Writer.close, message by message
        bag.write_state(0, [0, 1], state)
        for t in range(1, 2000):  # > 1 MiB: several MCAP chunks
            bag.write_step(t * DT_NS, np.full((2, 2), t / 2000, np.float32), np.arange(2.0),
                           np.array([False, True]), np.zeros(2, bool), state)
            if t in (7, 1000):  # a reset's state between steps (staged steps go first)
                bag.write_state(t * DT_NS, [1], state)
        bag.close()
        infos.append(YAML(typ="safe").load((bag.path / "metadata.yaml").read_text()))
        with Reader(bag.path) as reader:
            contents.append([(c.topic, t, bytes(raw)) for c, t, raw in reader.messages()])
        with open(bag.path / "bag.mcap", "rb") as f:  # messages in chunk order, both indexes
            records.append([r for r in StreamReader(f, skip_magic=False).records
                            if type(r).__name__ in ("Message", "MessageIndex", "ChunkIndex",
                                                    "Statistics", "Channel", "Schema")])
    assert infos[0] == infos[1]
    assert records[0] == records[1] and sum(type(r).__name__ == "ChunkIndex" for r in records[0]) > 1
    assert contents[0] == contents[1] and len(contents[0]) == 3 * (1 + 2 * 2) - 2 * 2 + 1999 * (2 + 2 * 6)


def test_the_dataset_written_here_equals_the_one_the_writer_process_writes(run, tmp_path,
                                                                            monkeypatch):
    """background=False (every episode written in the recording's process) against the module
    recording (every episode through the writer process): the same episodes, arrays, metadata."""
    monkeypatch.setenv("SPACEROS_PROCGEN_CACHE_DIR", str(run.path.parent.parent / "cache"))
    here = record_run(tmp_path / "here", background=False)
    (_, eps_a, meta_a), (_, eps_b, meta_b) = episodes_and_meta(run.path), \
        episodes_and_meta(here.path)
    assert meta_a == meta_b and len(eps_a) == len(eps_b) > 3
    for a, b in zip(eps_a, eps_b):
        for key in a.observations:
            np.testing.assert_array_equal(a.observations[key], b.observations[key])
        for field in ("actions", "rewards", "terminations", "truncations"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
