"""Shared fixtures: every test gets its own asset cache and ROS domain."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")  # render on the CPU (read when mujoco is imported)

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never touch the user's real cache: each test session has its own directory."""
    monkeypatch.setenv("SPACEROS_PROCGEN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def script_cmd(name: str, *args: str) -> list[str]:
    """The command line that runs ``scripts/<name>`` with this interpreter."""
    return [sys.executable, str(SCRIPTS / name), *args]


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system, every thread) ``pid`` has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
