"""``--record PATH`` on the real scripts: bad paths refused before anything starts (exit 2),
a recording interrupted by SIGINT/SIGTERM is complete and replays, ``--force`` overwrites, and
a keyboard demo under Xvfb records the actions its keys made."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pytest

pytest.importorskip("minari", reason="the record extra (minari) is not installed")
pytest.importorskip("rosbags", reason="the record extra (rosbags) is not installed")

from .ros_helpers import ros_domain, spawn  # noqa: E402,F401  (fixtures)
from .conftest import script_cmd  # noqa: E402
from .teleop_helpers import (NEEDS_X, Output, domain_id, process, stop_and_check,  # noqa: E402
                             teleop_env, xdotool, xvfb)

from rosbags.rosbag2 import Reader  # noqa: E402

from spaceros_procgen_envs.recording import load_dataset, read_manifest  # noqa: E402
from spaceros_procgen_envs.recording.replay import replay  # noqa: E402


def make_bad_paths(tmp_path) -> dict[str, str]:
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "recording.json").write_text("{}")
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    return {"does not exist": str(tmp_path / "missing" / "rec"),
            "is a file": str(tmp_path / "a_file"),
            "holds a recording already": str(existing),
            "holds no recording": str(tmp_path / "other")}


@pytest.mark.parametrize("script", ["agent_random.py", "run_spaceros.py", "teleop.py"])
def test_bad_record_paths_exit_2_before_the_simulation_starts(script, tmp_path, ros_domain):
    cache = tmp_path / "cache"
    env = {**os.environ, "SPACEROS_PROCGEN_CACHE_DIR": str(cache)}
    env.pop("DISPLAY", None)
    for reason, path in make_bad_paths(tmp_path).items():
        done = subprocess.run(script_cmd(script, "--headless", "--record", path),
                              capture_output=True, text=True, env=env, timeout=60,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 2, (reason, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "--record" in lines[0] and reason in lines[0], lines
        assert not cache.exists() or not any(cache.rglob("*.npz")), "assets were generated"
    assert not (tmp_path / "missing").exists()


def test_force_replaces_an_earlier_recording(spawn, tmp_path):
    path = tmp_path / "rec"
    for extra in ((), ("--force",)):
        proc = spawn("agent_zero.py", "--num_envs", "1", "--steps", "5", "--headless",
                     "--record", str(path), *extra)
        assert proc.wait(120) == 0, proc.stderr()
        assert read_manifest(path)["complete"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_recording_is_readable_and_replays(spawn, tmp_path, signum):
    path, num_envs = tmp_path / "rec", 2
    proc = spawn("agent_random.py", "--num_envs", str(num_envs), "--headless",
                 "--record", str(path))
    deadline = time.monotonic() + 120
    while not (path / "recording.json").exists():  # written just before the first reset
        assert proc.proc.poll() is None and time.monotonic() < deadline, proc.stderr()
        time.sleep(0.1)
    time.sleep(2.0)  # ~100 steps at 50 Hz
    proc.signal(signum)
    assert proc.wait(10) in (0, 130, 128 + signum), proc.stderr()
    assert "recording:" in proc.stderr()
    manifest = read_manifest(path)
    steps = manifest["steps"]
    assert manifest["complete"] and steps > 10
    with Reader(path / "bag") as reader:
        assert sum(1 for c, _, _ in reader.messages() if c.topic == "/clock") == steps
    assert load_dataset(path).total_steps == steps * num_envs  # 30 s episodes: no resets here
    result = replay(path, backend="sync")
    assert result.mismatch is None, str(result.mismatch)
    assert result.steps == steps


@NEEDS_X
def test_keyboard_demo_under_xvfb_records_the_actions_of_its_keys(tmp_path):
    path, num_envs = tmp_path / "demo", 2
    with xvfb() as display:
        cmd = script_cmd("teleop.py", "--task", "perseverance", "--num_envs", str(num_envs),
                         "--no_viewer", "--record", str(path))
        read_fd, write_fd = os.pipe()
        with process(cmd, stdin=subprocess.DEVNULL, stdout=write_fd, stderr=write_fd,
                     env=teleop_env(domain_id(), DISPLAY=display)) as proc:
            os.close(write_fd)
            out = Output(read_fd)
            out.wait_for("Ctrl-C  quit", 90, proc)
            assert "keys from pynput" in out.text
            time.sleep(0.5)
            xdotool(display, "keydown", "w")
            time.sleep(1.2)
            xdotool(display, "keyup", "w")
            time.sleep(0.5)
            stop_and_check(proc, out)
        os.close(read_fd)
    dataset = load_dataset(path)
    episodes = list(dataset.iterate_episodes())
    metas = list(dataset.storage.get_episode_metadata([ep.id for ep in episodes]))
    assert sorted(m["env"] for m in metas) == list(range(num_envs))
    assert all("success" in m for m in metas)
    actions = [ep.actions for ep, m in sorted(zip(episodes, metas), key=lambda p: p[1]["env"])]
    np.testing.assert_array_equal(actions[0], actions[1])  # one key drives every env
    forward = actions[0][:, 0]
    assert set(np.unique(forward)) <= {0.0, np.float32(0.5)}  # W: half speed, else stopped
    assert not actions[0][:, 1].any()  # no turning key was pressed
    held = np.flatnonzero(forward > 0)
    assert len(held) >= 10, "W held 1.2 s: dozens of steps at 50 Hz"
    assert np.all(np.diff(held) == 1), "one press: one run of forward steps"
    assert held[0] > 0 and held[-1] < len(forward) - 1  # stopped before and after
