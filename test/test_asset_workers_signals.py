"""generate_assets.py stopped by a supervisor: no asset worker outlives it (SPEC 9).

Real processes on a fresh cache, killed mid-generation of many envs. Three ways: SIGTERM to
the main process alone (what ``kill <pid>`` and most supervisors send), SIGTERM to the whole
process group, and SIGKILL of the main process (no handler can run: the workers must die with
their parent by themselves).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spaceros_procgen_envs.assets import cache

from .conftest import script_cmd

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
NUM_ENVS = "300"  # minutes of generation: always still busy when the signal comes
GONE_WITHIN_S = 2.0  # SPEC 9


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(c) for c in path.read_text().split()]
    except FileNotFoundError:
        return []


def state(pid: int) -> str | None:
    """The /proc state letter of ``pid`` (``Z``: a zombie), None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def start_generating(cache_root: Path) -> tuple[subprocess.Popen, list[int]]:
    """generate_assets.py with 2 workers on an empty cache, once both workers run."""
    env = {**os.environ, cache.ENV_VAR: str(cache_root)}
    proc = subprocess.Popen(script_cmd("generate_assets.py", "--task", "perseverance",
                                       "--num_envs", NUM_ENVS, "--workers", "2"),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline, workers = time.monotonic() + 60, []
    while proc.poll() is None and len(workers) < 2 and time.monotonic() < deadline:
        workers = children(proc.pid)
        time.sleep(0.01)
    assert proc.poll() is None, f"generation ended before the signal: {proc.communicate()}"
    assert len(workers) == 2, "the two workers never started"
    time.sleep(0.3)  # deep in the generators
    return proc, workers


def survivors(workers: list[int], within_s: float) -> list[int]:
    """Workers still present (running or a zombie nobody reaped) after ``within_s`` s."""
    deadline = time.monotonic() + within_s
    alive = list(workers)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if state(pid) is not None]
        time.sleep(0.02)
    return [pid for pid in alive if state(pid) is not None]


def kill_leftovers(proc: subprocess.Popen, workers: list[int]) -> None:
    for pid in [proc.pid, *workers]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.communicate(timeout=10)


@pytest.mark.parametrize("to_group", [False, True], ids=["main_pid", "process_group"])
def test_sigterm_stops_and_reaps_every_worker_within_2_s(tmp_path, to_group):
    cache_root = tmp_path / "cache"
    proc, workers = start_generating(cache_root)
    try:
        start = time.monotonic()
        if to_group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        took = time.monotonic() - start
        # reaped by the parent: no process, not even a zombie, right when the parent is gone
        left = survivors(workers, 0.0)
        assert not left, f"workers {left} outlived generate_assets.py ({[state(p) for p in left]})"
        assert took < GONE_WITHIN_S, f"took {took:.2f} s"
        assert proc.returncode == -signal.SIGTERM, err  # it still dies *by* SIGTERM
        assert "Traceback" not in err
        assert not list(cache_root.glob(".*" + cache.TEMP_SUFFIX)), "temp files left"
    finally:
        kill_leftovers(proc, workers)


def test_workers_die_with_a_parent_killed_outright(tmp_path):
    proc, workers = start_generating(tmp_path / "cache")
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        left = [pid for pid in survivors(workers, GONE_WITHIN_S) if state(pid) != "Z"]
        assert not left, f"workers {left} still run after their parent was killed"
    finally:
        kill_leftovers(proc, workers)
