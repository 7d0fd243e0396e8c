"""Gymnasium ids ``spaceros/<task>`` and ``spaceros/<task>_visual`` for every registered task
(single and batched)."""

from __future__ import annotations

import gymnasium as gym

from .registry import VISUAL_SUFFIX, all_tasks

ENTRY_POINT = "spaceros_procgen_envs.gym_env:SpaceRosEnv"
VECTOR_ENTRY_POINT = "spaceros_procgen_envs.vector.env:SpaceRosVectorEnv"


def register_gymnasium_ids() -> list[str]:
    """Register (idempotently) and return the Gymnasium ids of every task: ``spaceros/<task>``
    and ``spaceros/<task>_visual`` (the same task with camera observations)."""
    ids = []
    for name, spec in all_tasks().items():
        if spec.multi_agent:  # PettingZoo only: spaceros_procgen_envs.parallel_env(name)
            continue
        for task in (name, name + VISUAL_SUFFIX):
            gym_id = f"spaceros/{task}"
            if gym_id not in gym.registry:
                gym.register(id=gym_id, entry_point=ENTRY_POINT,
                             vector_entry_point=VECTOR_ENTRY_POINT, kwargs={"task": task},
                             disable_env_checker=False)
            ids.append(gym_id)
    return ids
