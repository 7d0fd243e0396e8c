"""The batched Gymnasium ``VectorEnv`` and the backends that run it."""

from .env import SpaceRosVectorEnv

__all__ = ["SpaceRosVectorEnv"]
