#!/usr/bin/env python3
"""List the registered tasks (id, robot, action size, default domain, description)."""

from spaceros_procgen_envs.catalog import main
from spaceros_procgen_envs.cli import run_main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
