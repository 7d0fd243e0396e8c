"""spaceros_procgen_envs: procedurally generated space-robotics simulations, many at once.

>>> import spaceros_procgen_envs
>>> spaceros_procgen_envs.list_tasks()[:1]
['debris_capture']
"""

import os

# The batched task logic multiplies small (n, 6, 6) matrices: BLAS threads only contend with
# MuJoCo's own pool, and forked asset or env workers hang on them. (Read when numpy loads.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .domains import get_domain, list_domains  # noqa: E402
from .errors import ProcgenError  # noqa: E402
from .multi_agent import parallel_env  # noqa: E402  (imports pettingzoo only when called)
from .registry import TaskSpec, get_task, list_tasks  # noqa: E402
from .registration import register_gymnasium_ids  # noqa: E402

register_gymnasium_ids()

__all__ = ["ProcgenError", "TaskSpec", "get_domain", "get_task", "list_domains", "list_tasks",
           "parallel_env"]
__version__ = "0.1.0"
