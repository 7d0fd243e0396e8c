"""The task registry: the one map of what tasks exist and what each env of them needs.

A task is one folder under ``tasks/`` whose ``__init__`` calls :func:`register_task`
with a :class:`TaskSpec`. Everything else (CLI choices, ``list_envs.py``, the Gymnasium ids)
reads this registry, and :func:`generate_assets` hands the asset layer each env's requests.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .assets.generators import AssetRequest
from .assets.pipeline import Report, fetch_assets
from .assets.types import Asset
from .domains import DOMAINS, Domain, get_domain
from .errors import TaskDomainError, unknown_name

# (generator name, generator config) for each named asset of one env.
VISUAL_SUFFIX = "_visual"  # ``perseverance_visual``: the task with camera observations
AssetPlan = Callable[[Domain], dict[str, tuple[str, Any]]]


@dataclass(frozen=True)
class TaskSpec:
    """What a task is, independent of how it is simulated.

    Attributes:
        name: bare task name (``perseverance``); the Gymnasium id is ``spaceros/<name>``.
        robot: human-readable robot description.
        robot_class: the robot's class (``sim/robots``), the one source of its facts: kind,
            action names, cameras, view distance, twist map and keyboard keys.
        default_domain: domain used when none is given.
        description: one line for ``list_envs.py``.
        asset_plan: domain -> the procedural assets every env of this task needs.
        domains: domains the task can run in.
        time_limit_s: episode length before truncation, seconds of sim time.
        multi_agent: True for tasks with several robots, each a PettingZoo agent.
    """

    name: str
    robot: str
    robot_class: type
    default_domain: str
    description: str
    asset_plan: AssetPlan
    domains: tuple[str, ...] = tuple(DOMAINS)
    time_limit_s: float = 10.0
    multi_agent: bool = False

    @property
    def robot_kind(self) -> str:
        """``manipulator``, ``rover`` or ``multicopter``: the robot class's ``kind``."""
        return self.robot_class.kind

    @property
    def action_names(self) -> tuple[str, ...]:
        """Meaning of each action component, in order (actions are in [-1, 1]): the robot
        class's ``action_names``."""
        return tuple(self.robot_class.action_names)

    @property
    def action_dim(self) -> int:
        return len(self.action_names)

    @property
    def gym_id(self) -> str:
        return f"spaceros/{self.name}"

    def resolve_domain(self, domain: str | None) -> Domain:
        """The domain to run in: ``domain`` or the default, checked against :attr:`domains`."""
        resolved = get_domain(domain or self.default_domain)
        if resolved.name not in self.domains:
            raise TaskDomainError(
                f"task '{self.name}' cannot run in domain '{resolved.name}'"
                f"{' (it has no ground)' if not resolved.has_ground else ''}; "
                f"use one of: {', '.join(self.domains)}.")
        return resolved

    def task_class(self) -> type:
        """The simulation class of this task: ``TASK`` in ``tasks/<name>/env.py``."""
        return importlib.import_module(f"{__package__}.tasks.{self.name}.env").TASK

    def asset_requests(self, env_seed: int, domain: str | None = None) -> dict[str, AssetRequest]:
        """The cache requests for one env; env ``i`` of a batch uses ``env_seed = seed + i``."""
        plan = self.asset_plan(self.resolve_domain(domain))
        return {name: AssetRequest(gen, cfg, (int(env_seed), index))
                for index, (name, (gen, cfg)) in enumerate(plan.items())}


_TASKS: dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add ``spec`` to the registry (a second task with the same name is an error)."""
    if spec.name in _TASKS and _TASKS[spec.name] is not spec:
        raise ValueError(f"task '{spec.name}' is registered twice")
    if spec.default_domain not in spec.domains:
        raise ValueError(f"task '{spec.name}': default domain not in its domains")
    if not getattr(spec.robot_class, "action_names", None):
        raise ValueError(f"task '{spec.name}': robot_class must be a robot class (sim/robots) "
                         f"with kind and action_names, got {spec.robot_class!r}")
    _TASKS[spec.name] = spec
    return spec


def _load_tasks() -> None:
    from . import tasks

    for info in pkgutil.iter_modules(tasks.__path__):
        if info.ispkg:
            importlib.import_module(f"{tasks.__name__}.{info.name}")


def all_tasks() -> dict[str, TaskSpec]:
    """Every registered task, by name."""
    if not _TASKS:
        _load_tasks()
    return dict(_TASKS)


def get_task(name: str) -> TaskSpec:
    """Return the task called ``name`` (bare, or ``spaceros/<name>``, either with the
    ``_visual`` suffix or without); "did you mean" if unknown."""
    tasks = all_tasks()
    bare, visual = split_visual(name.removeprefix("spaceros/"))
    if bare not in tasks or (visual and tasks[bare].multi_agent):
        raise unknown_name("task", name, [*tasks, *(n + VISUAL_SUFFIX for n in list_tasks())])
    return tasks[bare]


def split_visual(name: str) -> tuple[str, bool]:
    """``"perseverance_visual"`` -> ``("perseverance", True)``; other names -> ``(name, False)``."""
    if name.endswith(VISUAL_SUFFIX):
        return name[:-len(VISUAL_SUFFIX)], True
    return name, False


def full_name(name: str) -> str:
    """The registered task's bare name, keeping a ``_visual`` suffix: ``spaceros/perseverance``
    -> ``perseverance``, ``perseverance_visual`` -> ``perseverance_visual``.

    Raises:
        UnknownNameError: as :func:`get_task`.
    """
    return get_task(name).name + (VISUAL_SUFFIX if is_visual(name) else "")


def is_visual(name: str) -> bool:
    """True for a ``<task>_visual`` name (the task with camera observations)."""
    return split_visual(name.removeprefix("spaceros/"))[1]


def list_tasks(multi_agent: bool = False) -> list[str]:
    """Names of the registered Gymnasium (single-robot) tasks, each ``spaceros/<name>``;
    with ``multi_agent=True`` the multi-robot PettingZoo tasks instead.

    >>> "perseverance" in list_tasks()
    True
    """
    return [n for n, spec in all_tasks().items() if spec.multi_agent == multi_agent]


def generate_assets(task: str | TaskSpec, num_envs: int, seed: int = 42,
                    domain: str | None = None, workers: int | None = None,
                    progress: bool | None = None) -> tuple[list[dict[str, Asset]], Report]:
    """Every asset of ``num_envs`` envs of ``task``, from the cache or generated in parallel
    (:func:`~.assets.pipeline.fetch_assets` of each env's ``asset_requests``).

    Args:
        task: task name (or its :class:`TaskSpec`).
        num_envs: number of envs, >= 1; env ``i`` gets seed ``seed + i``.
        seed: base seed.
        domain: domain name, or ``None`` for the task's default.
        workers, progress: as :func:`~.assets.pipeline.fetch_assets` takes them.

    Returns:
        ``(envs, report)`` of :func:`~.assets.pipeline.fetch_assets`.

    Raises:
        UnknownNameError, TaskDomainError: bad task or domain (and what ``fetch_assets``
        raises).

    >>> envs, report = generate_assets("peg_in_hole", 2, workers=1)  # doctest: +SKIP
    >>> report.assets
    4
    """
    spec = get_task(task) if isinstance(task, str) else task
    if int(num_envs) < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    plans = [spec.asset_requests(seed + i, domain) for i in range(int(num_envs))]
    return fetch_assets(plans, workers, progress)
