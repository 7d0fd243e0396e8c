#!/usr/bin/env python3
"""Measure env-steps/s per task, backend and number of envs next to the physics ceiling."""

from spaceros_procgen_envs.benchmark import main
from spaceros_procgen_envs.cli import run_main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
