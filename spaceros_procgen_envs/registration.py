"""Gymnasium ids ``spaceros/<task>`` for every registered task (single and batched)."""

from __future__ import annotations

import gymnasium as gym

from .registry import all_tasks

ENTRY_POINT = "spaceros_procgen_envs.gym_env:SpaceRosEnv"
VECTOR_ENTRY_POINT = "spaceros_procgen_envs.vector.env:SpaceRosVectorEnv"


def register_gymnasium_ids() -> list[str]:
    """Register (idempotently) and return the Gymnasium ids of every task."""
    ids = []
    for name, spec in all_tasks().items():
        if spec.multi_agent:  # PettingZoo only: spaceros_procgen_envs.parallel_env(name)
            continue
        if spec.gym_id not in gym.registry:
            gym.register(id=spec.gym_id, entry_point=ENTRY_POINT,
                         vector_entry_point=VECTOR_ENTRY_POINT, kwargs={"task": name},
                         disable_env_checker=False)
        ids.append(spec.gym_id)
    return ids
