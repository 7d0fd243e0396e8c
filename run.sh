#!/usr/bin/env bash
# spaceros_procgen_envs launcher.
#
#   ./run.sh ros2 run spaceros_procgen_envs <script>.py [args]   run a script (see scripts/)
#   ./run.sh test [pytest args]                                  run the test suite
#   ./run.sh <any command> [args]                                run it inside the venv
#   ./run.sh --docker <command>   (or SPACEROS_PROCGEN_DOCKER=1)  run inside the Docker image
#
# Locally, the first call creates .venv and installs the package with its dependencies
# (ROS 2 from the ros-rclpy family of wheels, MuJoCo, ...); later calls reuse it and
# reinstall only when setup.py, setup.cfg or package.xml changed.
# When a ROS 2 install provides `ros2` and this package, `ros2 run` goes through it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKG=spaceros_procgen_envs
VENV="${SPACEROS_PROCGEN_VENV:-$ROOT/.venv}"
EXTRAS="ros,test"

say() { printf 'run.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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

run_docker() {
  # The image and its `docker run` line arrive with the ROS 2 issue (Dockerfile).
  [[ -f "$ROOT/Dockerfile" ]] || die "Docker mode needs $ROOT/Dockerfile, which this checkout does not have yet; run without --docker"
  die "Docker mode is not wired up in this version; run without --docker"
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
    say "Docker was asked for but is not usable here (no docker command or no running engine); running locally"
  fi
  case "$1" in
    ros2)
      [[ "${2:-}" == run ]] || die "only 'ros2 run' is handled without a ROS 2 install; got 'ros2 ${2:-}'"
      shift 2
      local_ros2_run "$@"
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
