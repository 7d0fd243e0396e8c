#!/bin/bash
# Source ROS 2 (a ros:<distro> image, or the Space ROS underlay), then this workspace; run "$@".
# Used as the image's ENTRYPOINT and for the colcon build step.
for setup in "/opt/ros/${ROS_DISTRO:-jazzy}/setup.bash" \
  "${SPACEROS_DIR:-/nonexistent}/install/setup.bash" \
  "${PROCGEN_WS:-/ws}/install/setup.bash"; do
  if [[ -f "$setup" ]]; then
    # shellcheck disable=SC1090
    source "$setup"
  fi
done
exec "$@"
