"""benchmark.py --quick runs every measurement kind and writes the JSON of SPEC 8."""

from __future__ import annotations

import json
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
