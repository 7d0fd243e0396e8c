"""``list_envs.py``: the table of registered tasks (also as JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .cli import make_parser, plural
from .registry import TaskSpec, all_tasks

COLUMNS = ("id", "robot", "actions", "domain", "description")


def task_row(spec: TaskSpec) -> dict[str, str]:
    """One row of the table for ``spec``."""
    ident = f"{spec.name} (PettingZoo)" if spec.multi_agent else spec.gym_id
    return {"id": ident, "robot": spec.robot,
            "actions": f"{spec.action_dim}: [{', '.join(spec.action_names)}]",
            "domain": spec.default_domain, "description": spec.description}


def observation_keys(spec: TaskSpec) -> dict[str, tuple[int, ...]]:
    """Observation key -> shape of one env of ``spec`` (builds one world from the cache)."""
    space = _world(spec).observation_space
    return {key: box.shape for key, box in space.items()}


def _world(spec: TaskSpec):
    from .registry import generate_assets
    from .world import SimEnv

    assets, _ = generate_assets(spec, 1, progress=False, workers=1)
    return SimEnv(spec.name, assets[0], 0)


def format_observations(spec: TaskSpec) -> str:
    if spec.multi_agent:
        return (f"{spec.name} (multi-robot, PettingZoo only)\n  use: "
                f"spaceros_procgen_envs.parallel_env({spec.name!r}); each agent acts with "
                f"{', '.join(spec.action_names)}")
    world = _world(spec)
    keys = " ".join(f"{k}{list(box.shape)}" for k, box in world.observation_space.items())
    cameras = ", ".join(world.task.camera_names())
    return f"{spec.gym_id}\n  actions:      {', '.join(spec.action_names)} (each in [-1, 1])" \
           f"\n  observations: {keys}" \
           f"\n  {spec.gym_id}_visual adds camera_<name>_rgb[H, W, 3] uint8 and " \
           f"camera_<name>_depth[H, W] m for: {cameras}"


def format_table(rows: list[dict[str, str]]) -> str:
    """A markdown table of ``rows`` with the :data:`COLUMNS`."""
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
    line = lambda cells: "| " + " | ".join(cells[c].ljust(widths[c]) for c in COLUMNS) + " |"
    header = line({c: c for c in COLUMNS})
    rule = "|" + "|".join("-" * (widths[c] + 2) for c in COLUMNS) + "|"
    return "\n".join([header, rule, *(line(r) for r in rows)])


RUN_SINGLE = ("Run one: ./run.sh ros2 run spaceros_procgen_envs agent_random.py --task <name> "
              "--num_envs 4 (or gymnasium.make_vec('spaceros/<name>', num_envs=4, "
              "vectorization_mode='vector_entry_point'))")
RUN_MULTI = ("Run one from Python (PettingZoo; the ROS scripts run single-robot tasks only): "
             "import spaceros_procgen_envs; env = spaceros_procgen_envs.parallel_env('{name}', "
             "num_agents=3); env.reset(seed=0)")


def format_section(specs: list[TaskSpec], brief: bool) -> str:
    """The table of ``specs`` (all single-robot or all multi-robot), their observation keys
    unless ``brief``, and how to run one."""
    multi = specs[0].multi_agent
    title = "Multi-robot tasks (PettingZoo)" if multi else \
        "Single-robot tasks (Gymnasium and ROS 2)"
    parts = [f"{title}:\n", format_table([task_row(s) for s in specs])]
    if not brief:
        parts.append("\n" + "\n".join(format_observations(spec) for spec in specs))
    kind = "multi-robot task" if multi else "single-robot task"
    extra = "" if multi else " (each also as <name>_visual, with cameras)"
    how = (RUN_MULTI if multi else RUN_SINGLE).format(name=specs[0].name)
    parts.append(f"\n{plural(len(specs), kind)}{extra}. {how}")
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """``list_envs.py``: the single-robot tasks, then the multi-robot ones, each with how to run
    them (``--json``: one list of rows)."""
    parser = make_parser("List the registered tasks: Gymnasium id, robot, action meaning, "
                         "default domain; single-robot and multi-robot (PettingZoo) tasks apart.",
                         sim_flags=False)
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--multi_agent", action="store_true", help="only multi-robot tasks")
    parser.add_argument("--brief", action="store_true",
                        help="only the tables, without each task's observation keys")
    args = parser.parse_args(argv)
    specs = [s for s in all_tasks().values() if s.multi_agent or not args.multi_agent]
    if args.json:
        print(json.dumps([_json_row(spec, args.brief) for spec in specs], indent=2))
        return 0
    groups = [[s for s in specs if not s.multi_agent], [s for s in specs if s.multi_agent]]
    print("\n\n".join(format_section(group, args.brief) for group in groups if group))
    return 0


def _json_row(spec: TaskSpec, brief: bool) -> dict:
    row = task_row(spec)
    if not brief and not spec.multi_agent:
        row["observations"] = {k: list(v) for k, v in observation_keys(spec).items()}
    return row
