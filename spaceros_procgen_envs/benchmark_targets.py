"""The performance targets of SPEC 8 and issue 10, judged on one ``benchmark.py`` result.

Each :class:`Target` names a figure of one backend at one batch size and the bound it must
reach on every measured task. :func:`verdicts` checks those a run measured (a target whose
backend or size was not run is left out, not counted as met) and :func:`targets_markdown`
prints them after the table, so a run says itself which targets it met.

Example::

    result = benchmark.run(["ingenuity"], [16, 64], ["thread"], steps=100, repeats=3)
    for verdict in verdicts(result):
        print(verdict["target"], verdict["met"], verdict["values"])
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """``metric`` of ``backend`` at ``num_envs`` must be >= ``bound`` (<= when not
    ``at_least``) on every task.

    Metrics: ``physics_share`` (the row's; ``sync`` against the one-core ceiling),
    ``python_us_per_env_step`` (a step's time beyond its paired ceiling's, per env),
    ``python_timed_us_per_env_step`` (the Python of a step timed directly around its
    ``Batch.step``, per env: ``--python``, :mod:`.benchmark_python`), ``x_async``
    (env-steps/s over Gymnasium's AsyncVectorEnv at the same N) and ``x_python_api`` (ROS
    lockstep over the same backend's Python rate).
    """

    backend: str
    num_envs: int
    metric: str
    bound: float
    at_least: bool = True

    @property
    def label(self) -> str:
        what = {"physics_share": "x ceiling", "python_us_per_env_step": "us Python per env step",
                "python_timed_us_per_env_step":
                    "us Python per env step (timed around Batch.step, --python)",
                "x_async": "x AsyncVectorEnv", "x_python_api": "x Python API (ROS lockstep)"}
        sign = ">=" if self.at_least else "<="
        return f"{self.backend} {sign} {self.bound:g} {what[self.metric]} at N={self.num_envs}"


TARGETS = (
    Target("thread", 16, "physics_share", 0.85),
    Target("thread", 64, "physics_share", 0.92),
    Target("thread", 256, "physics_share", 0.92),
    Target("sync", 16, "physics_share", 0.9),
    Target("process", 64, "physics_share", 0.8),
    Target("ray", 256, "physics_share", 0.75),
    Target("thread", 64, "python_us_per_env_step", 5.0, at_least=False),
    # the same bound on the issue's own measure: a step's time less its physics call's
    Target("thread", 64, "python_timed_us_per_env_step", 5.0, at_least=False),
    Target("thread", 16, "x_async", 4.0),
    Target("thread", 16, "x_python_api", 0.8),
)


def _values(result: dict, target: Target) -> dict[str, float]:
    """task -> the target's figure in ``result``, for the tasks that measured it."""
    if target.metric == "python_timed_us_per_env_step":  # the --python rows
        return {row["task"]: row["python_us_per_step"] / row["num_envs"]
                for row in result.get("python_split", [])
                if row["backend"] == target.backend and row["num_envs"] == target.num_envs}
    rows = {row["task"]: row for row in result["rows"]
            if row["backend"] == target.backend and row["num_envs"] == target.num_envs}
    n = str(target.num_envs)
    if target.metric == "x_async":
        by_task = result.get("gymnasium_async", {})
        return {task: row["env_steps_per_s"] / by_task[task][n] for task, row in rows.items()
                if by_task.get(task, {}).get(n)}
    if target.metric == "x_python_api":
        by_task = result.get("ros_lockstep", {})
        return {task: by_task[task][n] / row["env_steps_per_s"] for task, row in rows.items()
                if by_task.get(task, {}).get(n)}
    return {task: row[target.metric] for task, row in rows.items()
            if row.get(target.metric) is not None}


def verdicts(result: dict, targets=TARGETS) -> list[dict]:
    """Every target ``result`` measured: ``{"target": label, "backend", "num_envs", "metric",
    "bound", "at_least", "values": {task: figure}, "missed_by": [tasks], "met": bool}``."""
    out = []
    for target in targets:
        values = _values(result, target)
        if not values:
            continue
        missed = [task for task, value in values.items()
                  if (value < target.bound if target.at_least else value > target.bound)]
        out.append({"target": target.label, "backend": target.backend,
                    "num_envs": target.num_envs, "metric": target.metric, "bound": target.bound,
                    "at_least": target.at_least, "values": values, "missed_by": missed,
                    "met": not missed})
    return out


def targets_markdown(found: list[dict]) -> str:
    """One line per verdict: met or missed, the range reached, and the tasks that missed."""
    if not found:
        return ""
    lines = ["Targets (SPEC 8) in this run, on every measured task:"]
    for verdict in found:
        values = verdict["values"]
        low, high = min(values.values()), max(values.values())
        reached = f"{low:.2f}" if low == high else f"{low:.2f} to {high:.2f}"
        line = f"- {verdict['target']}: {'met' if verdict['met'] else 'missed'} ({reached}"
        if verdict["missed_by"] and len(values) > 1:
            line += "; missed by " + ", ".join(f"{task} {values[task]:.2f}"
                                                for task in verdict["missed_by"])
        lines.append(line + ")")
    return "\n".join(lines)
