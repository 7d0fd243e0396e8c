#!/usr/bin/env python3
"""Evaluate a saved policy on held-out worlds: success rate, mean return, episodes/s
(--video films every env); see spaceros_procgen_envs.rl.evaluate."""

from spaceros_procgen_envs.cli import run_main
from spaceros_procgen_envs.rl.cli import eval_main

if __name__ == "__main__":
    raise SystemExit(run_main(eval_main))
