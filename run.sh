#!/usr/bin/env bash
# spaceros_procgen_envs launcher.
#
#   ./run.sh ros2 run spaceros_procgen_envs <script>.py [args]   run a script (see scripts/)
#   ./run.sh ros2 topic list | echo T | hz T, ros2 node list     look at the topics (no ROS needed)
#   ./run.sh test [pytest args]                                  run the test suite
#   ./run.sh <any command> [args]                                run it inside the venv
#   ./run.sh --docker <command>   (or SPACEROS_PROCGEN_DOCKER=1)  run inside the Docker image
#
# Locally, the first call creates .venv and installs the package with its dependencies
# (ROS 2 from the ros-rclpy family of wheels, MuJoCo, ...); later calls reuse it and
# reinstall only when setup.py, setup.cfg or package.xml changed.
# When a ROS 2 install provides `ros2` and this package, `ros2 run` goes through it.
#
# Docker mode builds the image (Dockerfile) when it is missing, then runs the command in it with
# the host network, the host's asset cache mounted, ROS_DOMAIN_ID / RMW_IMPLEMENTATION passed
# through and X11 forwarded when DISPLAY is set. SPACEROS_PROCGEN_IMAGE names the image,
# SPACEROS_PROCGEN_BASE_IMAGE its base (default ros:jazzy-ros-base; osrf/space-ros:latest for
# Space ROS), SPACEROS_PROCGEN_DOCKER_REBUILD=1 rebuilds it, and
# SPACEROS_PROCGEN_DOCKER_DRYRUN=1 prints the docker commands instead of running them (engine or not).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKG=spaceros_procgen_envs
VENV="${SPACEROS_PROCGEN_VENV:-$ROOT/.venv}"
EXTRAS="ros,test,keyboard,ray,pettingzoo,bench,video,record"
DOCKER_IMAGE="${SPACEROS_PROCGEN_IMAGE:-spaceros_procgen_envs:latest}"
DOCKER_CACHE_DIR=/var/cache/spaceros_procgen_envs  # the image's SPACEROS_PROCGEN_CACHE_DIR

say() { printf 'run.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

usage() {
  sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11 python3.10; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  die "Python 3.10 or newer is needed; install it (e.g. apt-get install python3 python3-venv) or set PYTHON=/path/to/python3"
}

deps_stamp() {
  # Changes whenever the declared dependencies or the interpreter change.
  cat "$ROOT/setup.py" "$ROOT/setup.cfg" "$ROOT/package.xml" <(echo "$EXTRAS") |
    sha256sum | cut -c1-32
}

ensure_venv() {
  local stamp_file="$VENV/.spaceros_procgen_stamp" stamp
  stamp="$(deps_stamp)"
  if [[ -x "$VENV/bin/python" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
    return 0
  fi
  if [[ ! -x "$VENV/bin/python" ]]; then
    local python
    python="$(find_python)"
    say "creating $VENV with $("$python" --version 2>&1)"
    "$python" -m venv "$VENV" || die "could not create a venv; install python3-venv (apt-get install python3-venv)"
  fi
  say "installing $PKG and its dependencies into $VENV (once; about a minute)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 ||
    say "warning: could not upgrade pip; going on with the one in the venv"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[$EXTRAS]" >&2 ||
    die "pip install failed (see above); fix the cause and run again"
  echo "$stamp" >"$stamp_file"
}

headless_defaults() {
  # MuJoCo renders on the CPU without a display.
  if [[ -z "${DISPLAY:-}" && -z "${MUJOCO_GL:-}" ]]; then
    export MUJOCO_GL=egl
  fi
}

wants_docker() {
  [[ "${SPACEROS_PROCGEN_DOCKER:-0}" == 1 ]]
}

docker_usable() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

host_cache_dir() {
  # The host's asset cache: the override, else platformdirs' user cache dir on Linux.
  echo "${SPACEROS_PROCGEN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/$PKG}"
}

docker_build_cmd() {
  DOCKER_BUILD=(docker build -t "$DOCKER_IMAGE"
    --build-arg "BASE_IMAGE=${SPACEROS_PROCGEN_BASE_IMAGE:-ros:jazzy-ros-base}"
    -f "$ROOT/Dockerfile" "$ROOT")
}

docker_run_cmd() {
  # Fills DOCKER_RUN with the `docker run` line for the command "$@".
  DOCKER_RUN=(docker run --rm)
  if [[ -t 0 ]]; then
    DOCKER_RUN+=(-it)
  fi
  # Host network, IPC and PID namespaces (as the ROS 2 docs advise): DDS discovery, its
  # shared-memory transport and its participant ids then work with processes on the host.
  # The calling user, so the mounted cache stays theirs; HOME=/tmp for ROS logs.
  DOCKER_RUN+=(--network host --ipc host --pid host --user "$(id -u):$(id -g)" -e HOME=/tmp
    -v "$(host_cache_dir):$DOCKER_CACHE_DIR" -e "SPACEROS_PROCGEN_CACHE_DIR=$DOCKER_CACHE_DIR")
  local name
  for name in ROS_DOMAIN_ID RMW_IMPLEMENTATION ROS_AUTOMATIC_DISCOVERY_RANGE ROS_STATIC_PEERS \
    MUJOCO_GL; do
    if [[ -n "${!name:-}" ]]; then
      DOCKER_RUN+=(-e "$name=${!name}")
    fi
  done
  if [[ -n "${DISPLAY:-}" ]]; then
    DOCKER_RUN+=(-e "DISPLAY=$DISPLAY" -v /tmp/.X11-unix:/tmp/.X11-unix:ro)
    local xauth="${XAUTHORITY:-${HOME:-/nonexistent}/.Xauthority}"
    if [[ -f "$xauth" ]]; then
      DOCKER_RUN+=(-v "$xauth:/tmp/.Xauthority:ro" -e XAUTHORITY=/tmp/.Xauthority)
    fi
  fi
  DOCKER_RUN+=("$DOCKER_IMAGE")
  if [[ "${1:-}" == test ]]; then
    shift
    DOCKER_RUN+=(python3 -m pytest -p no:cacheprovider "/ws/src/$PKG/test" "$@")
  else
    DOCKER_RUN+=("$@")
  fi
}

print_cmd() {
  local line
  line="$(printf '%q ' "$@")"
  echo "${line% }"
}

run_docker() {
  # Build the image if it is missing, then run "$@" in it (never returns).
  [[ -f "$ROOT/Dockerfile" ]] || die "Docker mode needs $ROOT/Dockerfile, which this checkout lacks"
  local dry="${SPACEROS_PROCGEN_DOCKER_DRYRUN:-0}"
  headless_defaults
  docker_build_cmd
  docker_run_cmd "$@"
  # Without an engine (a dry run only) the image cannot be looked up: its build is printed too.
  if [[ "${SPACEROS_PROCGEN_DOCKER_REBUILD:-0}" == 1 || "${DOCKER_NO_ENGINE:-0}" == 1 ]] ||
    ! docker image inspect "$DOCKER_IMAGE" >/dev/null 2>&1; then
    if [[ "$dry" == 1 ]]; then
      print_cmd "${DOCKER_BUILD[@]}"
    else
      say "building the Docker image $DOCKER_IMAGE (once; several minutes)"
      "${DOCKER_BUILD[@]}" >&2 || die "docker build failed (see above); fix the cause and run again"
    fi
  fi
  if [[ "$dry" == 1 ]]; then
    print_cmd "${DOCKER_RUN[@]}"
    exit 0
  fi
  mkdir -p "$(host_cache_dir)"
  say "running in $DOCKER_IMAGE: $*"
  exec "${DOCKER_RUN[@]}"
}

local_ros2_run() {
  local pkg="${1:-}" script="${2:-}"
  [[ -n "$pkg" && -n "$script" ]] || die "usage: ./run.sh ros2 run $PKG <script>.py [args]"
  shift 2
  if command -v ros2 >/dev/null 2>&1 && ros2 pkg prefix "$pkg" >/dev/null 2>&1; then
    say "mode: ROS 2 install (ros2 run $pkg $script)"
    exec ros2 run "$pkg" "$script" "$@"
  fi
  [[ "$pkg" == "$PKG" ]] || die "package '$pkg' is not this one; without a ROS 2 install only '$PKG' can be run"
  [[ "$script" == *.py ]] || script="$script.py"
  if [[ ! -f "$ROOT/scripts/$script" ]]; then
    die "no script '$script' in $PKG; available: $(cd "$ROOT/scripts" && ls -- *.py | tr '\n' ' ')"
  fi
  ensure_venv
  say "mode: local venv ($VENV), no ros2 command needed"
  headless_defaults
  exec "$VENV/bin/python" "$ROOT/scripts/$script" "$@"
}

main() {
  if [[ "${1:-}" == "--docker" ]]; then
    export SPACEROS_PROCGEN_DOCKER=1
    shift
  fi
  case "${1:-}" in
    "" | -h | --help) usage; exit 0 ;;
  esac
  if wants_docker; then
    if docker_usable; then
      say "mode: Docker"
      run_docker "$@"
    fi
    if [[ "${SPACEROS_PROCGEN_DOCKER_DRYRUN:-0}" == 1 ]]; then
      say "mode: Docker dry run; no usable Docker engine here, so the commands are only printed"
      DOCKER_NO_ENGINE=1 run_docker "$@"
    fi
    say "Docker was asked for but is not usable here (no docker command or no running engine); running locally"
  fi
  case "$1" in
    ros2)
      if [[ "${2:-}" == run ]]; then
        shift 2
        local_ros2_run "$@"
      fi
      shift
      if command -v ros2 >/dev/null 2>&1; then  # a ROS install keeps its real ros2
        exec ros2 "$@"
      fi
      ensure_venv  # ros2 topic list/echo/hz, node list over rclpy (ros/cli_tools.py)
      exec "$VENV/bin/python" -m "$PKG.ros.cli_tools" "$@"
      ;;
    test)
      shift
      ensure_venv
      say "mode: local venv ($VENV), running the test suite"
      headless_defaults
      cd "$ROOT"
      exec "$VENV/bin/python" -m pytest test "$@"
      ;;
    *)
      ensure_venv
      say "mode: local venv ($VENV)"
      headless_defaults
      export PATH="$VENV/bin:$PATH"
      exec "$@"
      ;;
  esac
}

main "$@"
