#!/usr/bin/env python3
"""Drive every env with a saved policy over ROS 2 (envs/observation in, envs/action out),
starting the simulation node here or using a running run_spaceros.py (--connect); with
--lockstep it takes exactly eval.py's actions on the same seeds."""

from spaceros_procgen_envs.cli import run_main
from spaceros_procgen_envs.rl.agent import agent_policy_main

if __name__ == "__main__":
    raise SystemExit(run_main(agent_policy_main))
