#!/usr/bin/env python3
"""Drive every env with zero actions over ROS 2 (envs/action), starting the simulation node
in this process or using a running run_spaceros.py (--connect); prints a live status line."""

from spaceros_procgen_envs.cli import run_main
from spaceros_procgen_envs.ros.agents import main_zero

if __name__ == "__main__":
    raise SystemExit(run_main(main_zero))
