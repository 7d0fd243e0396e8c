#!/usr/bin/env python3
"""Run the spaceros_procgen_envs ROS 2 node alone, for external agents: env{i}/... and
envs/... topics, /clock, envs/info, sim/reset and env{i}/reset (see
spaceros_procgen_envs.ros.node)."""

from spaceros_procgen_envs.cli import run_main
from spaceros_procgen_envs.ros.launcher import node_main

if __name__ == "__main__":
    raise SystemExit(run_main(node_main))
