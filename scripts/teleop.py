#!/usr/bin/env python3
"""Drive every env from the keyboard: the simulation node (or --connect to one) plus a teleop that
publishes envs/robot/cmd_vel, envs/robot/gripper and calls sim/reset; see
spaceros_procgen_envs.ros.teleop for the key scheme."""

from spaceros_procgen_envs.cli import run_main
from spaceros_procgen_envs.ros.teleop import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
