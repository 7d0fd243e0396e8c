"""spaceros_procgen_envs: procedurally generated space-robotics simulations, many at once.

>>> import spaceros_procgen_envs
>>> spaceros_procgen_envs.list_tasks()[:1]
['debris_capture']
"""

from .domains import get_domain, list_domains
from .errors import ProcgenError
from .multi_agent import parallel_env  # imports pettingzoo only when called
from .registry import TaskSpec, get_task, list_tasks
from .registration import register_gymnasium_ids

register_gymnasium_ids()

__all__ = ["ProcgenError", "TaskSpec", "get_domain", "get_task", "list_domains", "list_tasks",
           "parallel_env"]
__version__ = "0.1.0"
