"""run.sh dispatch: local venv vs a ROS 2 install, script lookup, Docker fallback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .conftest import ROOT

RUN_SH = str(ROOT / "run.sh")


def run_sh(*args: str, path_prefix: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, **env}
    if path_prefix is not None:
        environ["PATH"] = f"{path_prefix}:{environ['PATH']}"
    return subprocess.run([RUN_SH, *args], capture_output=True, text=True, env=environ, timeout=300)


def fake_ros2(tmp_path: Path, knows_package: bool) -> Path:
    """A `ros2` on PATH that records its arguments (stands in for a ROS install's CLI)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "ros2"
    script.write_text("#!/bin/sh\n"
                      f'if [ "$1" = pkg ]; then exit {0 if knows_package else 1}; fi\n'
                      'echo "ros2-called: $*"\n')
    script.chmod(0o755)
    return bin_dir


def test_ros2_run_without_ros_install_uses_the_venv():
    proc = run_sh("ros2", "run", "spaceros_procgen_envs", "list_envs.py", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "mode: local venv" in proc.stderr
    assert '"spaceros/perseverance"' in proc.stdout


def test_ros2_run_goes_through_a_ros_install_that_has_the_package(tmp_path):
    proc = run_sh("ros2", "run", "spaceros_procgen_envs", "list_envs.py", "--json",
                  path_prefix=fake_ros2(tmp_path, knows_package=True))
    assert proc.returncode == 0, proc.stderr
    assert "mode: ROS 2 install" in proc.stderr
    assert proc.stdout.strip() == "ros2-called: run spaceros_procgen_envs list_envs.py --json"


def test_ros2_on_path_without_the_package_falls_back_to_the_venv(tmp_path):
    proc = run_sh("ros2", "run", "spaceros_procgen_envs", "list_envs", "--json",
                  path_prefix=fake_ros2(tmp_path, knows_package=False))
    assert proc.returncode == 0, proc.stderr
    assert "mode: local venv" in proc.stderr and "ros2-called" not in proc.stdout


def test_unknown_script_lists_the_real_ones():
    proc = run_sh("ros2", "run", "spaceros_procgen_envs", "no_such_script.py")
    assert proc.returncode == 2
    assert "no script 'no_such_script.py'" in proc.stderr and "list_envs.py" in proc.stderr


def test_docker_request_without_engine_says_so_and_runs_locally(tmp_path):
    empty = tmp_path / "nodocker"
    empty.mkdir()
    (empty / "docker").write_text("#!/bin/sh\nexit 1\n")
    (empty / "docker").chmod(0o755)
    proc = run_sh("--docker", "python", "-c", "print('inside')", path_prefix=empty)
    assert proc.returncode == 0, proc.stderr
    assert "not usable" in proc.stderr and proc.stdout.strip() == "inside"


def test_other_commands_run_inside_the_venv():
    proc = run_sh("python", "-c", "import sys, spaceros_procgen_envs; print(sys.prefix)")
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).resolve() == (ROOT / ".venv").resolve() or \
        "SPACEROS_PROCGEN_VENV" in os.environ
