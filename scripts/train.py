#!/usr/bin/env python3
"""Train a policy with Stable-Baselines3 on the native batch (progress bar, CSV log,
checkpoints, learning curve, held-out evaluation); see spaceros_procgen_envs.rl.training."""

from spaceros_procgen_envs.cli import run_main
from spaceros_procgen_envs.rl.cli import train_main

if __name__ == "__main__":
    raise SystemExit(run_main(train_main))
