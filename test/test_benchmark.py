"""benchmark.py --quick runs every measurement kind and writes the JSON of SPEC 8."""

from __future__ import annotations

import json
import os
import subprocess

from .conftest import script_cmd


def test_quick_benchmark_writes_valid_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(script_cmd("benchmark.py", "--quick", "--tasks", "perseverance",
                                     "--backends", "sync", "thread", "--json", str(out)),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["cores"] >= 1
    rows = result["rows"]
    assert {(r["backend"], r["num_envs"]) for r in rows} == {
        ("sync", 1), ("sync", 2), ("thread", 1), ("thread", 2)}
    for row in rows:
        assert set(row) == {"task", "backend", "num_envs", "env_steps_per_s", "episodes_per_s",
                            "rss_mb_per_env"}
        assert row["task"] == "perseverance" and row["env_steps_per_s"] > 0
    assert all(r["rss_mb_per_env"] > 0 for r in rows if r["num_envs"] == 2)
    assert result["ceiling"]["perseverance"] > 0
    assert set(result["gymnasium_async"]["perseverance"]) == {"1", "2"}
    assert "| perseverance | thread | 2 |" in proc.stdout


def test_unknown_backend_is_a_one_line_error():
    proc = subprocess.run(script_cmd("benchmark.py", "--backends", "warp"), capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "invalid choice: 'warp'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ros_mode_measures_lockstep_and_real_time(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    proc = subprocess.run(script_cmd("benchmark.py", "--quick", "--ros", "--no_async", "--tasks",
                                     "perseverance", "--backends", "thread", "--json", str(out)),
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert set(result["ros_lockstep"]["perseverance"]) == {"1", "2"}
    assert all(v > 0 for v in result["ros_lockstep"]["perseverance"].values())
    assert 0 < result["ros_realtime_hz"]["perseverance"] < 60  # paced at 50 Hz, not flat out
    assert "ROS lockstep, perseverance" in proc.stdout


def test_cameras_mode_measures_rendering_and_the_visual_batch(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(script_cmd("benchmark.py", "--quick", "--tasks", "ingenuity",
                                     "--backends", "thread", "--no_async", "--cameras",
                                     "--json", str(out)),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(out.read_text())["cameras"]
    assert row["task"] == "ingenuity" and row["num_envs"] == 2
    assert row["frames_per_s_128x128"] > row["frames_per_s_640x480"] > 0
    assert row["plain_env_steps_per_s"] > 0 and row["visual_env_steps_per_s"] > 0
    assert "| ingenuity | " in proc.stdout.split("camera frames/s per env")[1]
