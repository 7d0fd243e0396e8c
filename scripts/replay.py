#!/usr/bin/env python3
"""Re-run a recording (--record PATH) from its seeds and actions; every observation must match
bit for bit, else the first mismatch (env, step, key) is reported and the exit code is 1."""

from spaceros_procgen_envs.cli import run_main
from spaceros_procgen_envs.recording.replay import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
