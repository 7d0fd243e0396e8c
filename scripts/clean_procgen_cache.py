#!/usr/bin/env python3
"""Delete procedural assets from the on-disk cache: shows what and how much, asks y/N on a
terminal, refuses without --yes when there is none; --dry-run only shows."""

from spaceros_procgen_envs.cleaning import main
from spaceros_procgen_envs.cli import run_main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
