"""``list_envs.py``: the table of registered tasks (also as JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .cli import make_parser
from .registry import TaskSpec, all_tasks

COLUMNS = ("id", "robot", "actions", "domain", "description")


def task_row(spec: TaskSpec) -> dict[str, str]:
    """One row of the table for ``spec``."""
    return {"id": spec.gym_id, "robot": spec.robot,
            "actions": f"{spec.action_dim}: [{', '.join(spec.action_names)}]",
            "domain": spec.default_domain, "description": spec.description}


def format_table(rows: list[dict[str, str]]) -> str:
    """A markdown table of ``rows`` with the :data:`COLUMNS`."""
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
    line = lambda cells: "| " + " | ".join(cells[c].ljust(widths[c]) for c in COLUMNS) + " |"
    header = line({c: c for c in COLUMNS})
    rule = "|" + "|".join("-" * (widths[c] + 2) for c in COLUMNS) + "|"
    return "\n".join([header, rule, *(line(r) for r in rows)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("List the registered tasks: Gymnasium id, robot, action meaning, "
                         "default domain.", sim_flags=False)
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--multi_agent", action="store_true", help="only multi-robot tasks")
    args = parser.parse_args(argv)
    specs = [s for s in all_tasks().values() if s.multi_agent or not args.multi_agent]
    rows = [task_row(s) for s in specs]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        print(format_table(rows))
        print(f"\n{len(rows)} tasks. Run one: ./run.sh ros2 run spaceros_procgen_envs "
              "agent_random.py --task <name> --num_envs 4")
    else:
        print("no tasks match")
    return 0
