#!/usr/bin/env python3
"""Fill the procedural asset cache for --num_envs envs of --task (in parallel) and report
how many assets were generated and reused; --preview writes a contact sheet PNG."""

from spaceros_procgen_envs.asset_tool import main
from spaceros_procgen_envs.cli import run_main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
