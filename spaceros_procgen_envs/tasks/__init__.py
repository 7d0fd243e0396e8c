"""One sub-package per task; each registers its :class:`~spaceros_procgen_envs.registry.TaskSpec`."""
