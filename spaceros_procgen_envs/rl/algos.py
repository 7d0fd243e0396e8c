"""The Stable-Baselines3 algorithms ``train.py --algo`` offers (imported with torch)."""

from __future__ import annotations

from stable_baselines3 import PPO, SAC

ALGOS = {"ppo": PPO, "sac": SAC}
