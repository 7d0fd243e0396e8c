# spaceros_procgen_envs on ROS 2 Jazzy (default) or Space ROS:
#   docker build -t spaceros_procgen_envs .
#   docker build --build-arg BASE_IMAGE=osrf/space-ros:latest -t spaceros_procgen_envs .
# ./run.sh --docker <command> builds this image when it is missing and runs the command in it.
ARG BASE_IMAGE=ros:jazzy-ros-base
FROM ${BASE_IMAGE}

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Space ROS images run as an unprivileged user; installing needs root. `./run.sh --docker` runs
# the container as the calling user (--user), so files in the mounted cache stay theirs.
# hadolint ignore=DL3002
USER 0

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    PROCGEN_WS=/ws \
    SPACEROS_PROCGEN_CACHE_DIR=/var/cache/spaceros_procgen_envs

# OpenGL for MuJoCo (EGL/OSMesa on the CPU, GLX for the viewer), X11 client libraries for
# GLFW and pynput (its evdev and Xlib from apt: no compiler needed), pip and colcon; then the ROS message packages the node uses, from apt where
# the base has the ROS apt repository (a Space ROS base builds them into its underlay instead).
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends \
      python3-pip python3-colcon-common-extensions python3-evdev python3-xlib \
      libegl1 libgl1 libglx-mesa0 libgl1-mesa-dri libosmesa6 \
      libx11-6 libxcursor1 libxi6 libxinerama1 libxrandr2 libxkbcommon0 libxtst6 \
    && for msg in std-srvs nav-msgs rosgraph-msgs tf2-msgs; do \
         if apt-cache show "ros-${ROS_DISTRO}-${msg}" >/dev/null 2>&1; then \
           echo "ros-${ROS_DISTRO}-${msg}"; fi; \
       done | xargs -r apt-get install -y --no-install-recommends \
    && rm -rf /var/lib/apt/lists/*

# Python dependencies from PyPI (setup.py install_requires + the keyboard, video and test extras).
# numpy stays below 2: the ROS message packages are compiled against the distro's numpy 1.x.
RUN python3 -m pip install \
      "numpy>=1.24,<2" "scipy>=1.10" "trimesh>=4.0" "mujoco>=3.2" "numba>=0.60" \
      "gymnasium>=1.0" "platformdirs>=3.0" "tqdm>=4.60" "pillow>=9.0" "pynput>=1.7" \
      "imageio>=2.31" "imageio-ffmpeg>=0.4.9" "pytest>=7" "pytest-timeout>=2"

COPY docker/entrypoint.sh /usr/local/bin/spaceros_procgen_entrypoint
COPY . /ws/src/spaceros_procgen_envs
WORKDIR /ws
RUN spaceros_procgen_entrypoint colcon build --event-handlers console_direct- \
    && rm -rf build log \
    && mkdir -p "${SPACEROS_PROCGEN_CACHE_DIR}" && chmod 1777 "${SPACEROS_PROCGEN_CACHE_DIR}"

ENTRYPOINT ["/usr/local/bin/spaceros_procgen_entrypoint"]
CMD ["ros2", "run", "spaceros_procgen_envs", "run_spaceros.py", "--headless"]
