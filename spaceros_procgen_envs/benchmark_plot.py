"""The pictures of ``benchmark.py --plot``: one panel per task in a grid, one legend under
the grid (never over the data).

* the scaling: env-steps/s against the number of envs per backend, with the physics ceiling
  at each N (all cores and one core) and Gymnasium's AsyncVectorEnv;
* beside it (``<name>_share.png``): the physics share of every backend against N, with the
  share targets of SPEC 8 marked in the backend's colour, to see at a glance which are met.

Example::

    result = json.loads(Path("bench.json").read_text())  # benchmark.py --json
    plot(result, Path("bench.png"))  # also bench_share.png
"""

from __future__ import annotations

import statistics
from pathlib import Path

from .benchmark_targets import TARGETS

PANEL_IN = (4.0, 3.0)  # one panel's width and height, inches
MAX_COLUMNS = 3
LEGEND_PER_PANEL = 3  # legend entries per row of the legend, per panel column
LEGEND_ROW_IN = 0.25  # height of one row of the legend, inches (one more row as margin)
DPI = 90


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("error: --plot needs matplotlib: ./run.sh pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure(result: dict, share: bool = False):
    """A matplotlib ``Figure``, a panel per task of ``result`` (the JSON of ``benchmark.py``)
    and one legend for every panel below them: env-steps/s against the number of envs
    (log-log) with the Gymnasium AsyncVectorEnv rate and the physics ceilings, or with
    ``share`` the physics share against the number of envs, with its targets."""
    plt = _pyplot()
    tasks = list(dict.fromkeys(r["task"] for r in result["rows"]))
    columns = min(MAX_COLUMNS, max(1, len(tasks)))
    grid_rows = -(-len(tasks) // columns)
    fig, axes = plt.subplots(grid_rows, columns, squeeze=False)
    colours = _colours(result, plt)
    for ax, task in zip(axes.flat, tasks):
        (_share_panel if share else _panel)(ax, task, result, colours)
    for ax in list(axes.flat)[len(tasks):]:
        ax.set_visible(False)
    handles = {}
    for ax in axes.flat[:len(tasks)]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    per_row = min(len(handles), LEGEND_PER_PANEL * columns)  # entries side by side
    legend_in = LEGEND_ROW_IN * (1 + -(-len(handles) // per_row))
    height = PANEL_IN[1] * grid_rows + legend_in
    fig.set_size_inches(PANEL_IN[0] * columns, height)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=per_row,
               frameon=False, fontsize=8)
    fig.tight_layout(rect=(0.0, legend_in / height, 1.0, 1.0))
    return fig


def share_path(path: Path) -> Path:
    """Where :func:`plot` writes the share picture that goes with the scaling one at ``path``."""
    return path.with_name(f"{path.stem}_share{path.suffix or '.png'}")


def plot(result: dict, path: Path) -> list[Path]:
    """Write the scaling :func:`figure` of ``result`` as a PNG to ``path`` and, when the rows
    have physics shares, the share figure to :func:`share_path`; return the paths written."""
    written = [path]
    fig = figure(result)
    fig.savefig(path, dpi=DPI)
    _pyplot().close(fig)
    if any(row.get("physics_share") is not None for row in result["rows"]):
        written.append(share_path(path))
        fig = figure(result, share=True)
        fig.savefig(written[-1], dpi=DPI)
        _pyplot().close(fig)
    return written


def _colours(result: dict, plt) -> dict[str, str]:
    """One colour per backend, the same in every panel (the legend is shared)."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    names = [*dict.fromkeys(r["backend"] for r in result["rows"]), "gym async"]
    return {name: cycle[i % len(cycle)] for i, name in enumerate(names)}


def _panel(ax, task: str, result: dict, colours: dict[str, str]) -> None:
    rows = [r for r in result["rows"] if r["task"] == task]
    sizes = sorted({r["num_envs"] for r in rows})
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = sorted((r for r in rows if r["backend"] == backend), key=lambda r: r["num_envs"])
        ax.plot([r["num_envs"] for r in mine], [r["env_steps_per_s"] for r in mine], "o-",
                color=colours[backend], label=backend)
    by_size = result.get("gymnasium_async", {}).get(task, {})
    if by_size:
        ax.plot([int(n) for n in by_size], list(by_size.values()), "s--",
                color=colours["gym async"], label="gym async")
    ceilings = _ceilings(result, task)
    if ceilings:  # each N's ceilings, as the rows of that N were paired with them
        for key, style, colour, label in (
                ("all_cores", "+:", "k", f"physics ceiling ({result.get('cores', 'all')} cores)"),
                ("one_core", "+:", "0.55", "physics ceiling (1 core)")):
            ns = sorted(n for n in ceilings if ceilings[n].get(key))
            ax.plot(ns, [ceilings[n][key] for n in ns], style, color=colour, lw=1.0, label=label)
    elif task in result.get("ceiling", {}):  # a result with only SPEC 8's one ceiling per task
        ax.axhline(result["ceiling"][task], color="k", lw=0.8, ls=":", label="physics ceiling")
    _axes(ax, task, sizes, "env-steps/s", log_y=True)


def _ceilings(result: dict, task: str) -> dict[int, dict[str, float]]:
    """N -> {"all_cores", "one_core"} env-steps/s of ``task``: the median of the ceilings its
    rows were paired with (``sync``'s are one-core), else the run's ``ceiling_by_n``."""
    paired: dict[int, dict[str, list[float]]] = {}
    for row in result["rows"]:
        if row["task"] != task:
            continue
        key = "one_core" if row["backend"] == "sync" else "all_cores"
        for pair in row.get("pairs", ()):
            paired.setdefault(row["num_envs"], {}).setdefault(key, []).append(
                pair["ceiling_env_steps_per_s"])
    if paired:
        return {n: {key: statistics.median(values) for key, values in by_key.items()}
                for n, by_key in paired.items()}
    return {int(n): ceiling for n, ceiling in result.get("ceiling_by_n", {}).get(task, {}).items()}


def _share_panel(ax, task: str, result: dict, colours: dict[str, str]) -> None:
    """Physics share against N per backend (``sync`` against the one-core ceiling), with each
    backend's share targets as bars in its colour."""
    rows = [r for r in result["rows"] if r["task"] == task and r.get("physics_share") is not None]
    sizes = sorted({r["num_envs"] for r in rows})
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = sorted((r for r in rows if r["backend"] == backend), key=lambda r: r["num_envs"])
        ax.plot([r["num_envs"] for r in mine], [r["physics_share"] for r in mine], "o-",
                color=colours[backend], label=backend)
        for target in TARGETS:
            if (target.metric, target.backend) == ("physics_share", backend) and \
                    target.num_envs in sizes:
                ax.plot([target.num_envs], [target.bound], "_", ms=16, mew=2.5,
                        color=colours[backend])
    ax.plot([], [], "_", ms=16, mew=2.5, color="k", label="target (in the backend's colour)")
    ax.axhline(1.0, color="k", lw=0.8, ls=":", label="physics ceiling")
    _axes(ax, task, sizes, "physics share", log_y=False)
    ax.set_ylim(0.0, 1.1)


def _axes(ax, task: str, sizes: list[int], ylabel: str, log_y: bool) -> None:
    ax.set(title=task, xlabel="envs", ylabel=ylabel, xscale="log",
           yscale="log" if log_y else "linear")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.margins(x=0.08)  # room for the target bars at the first and last N
    ax.minorticks_off()
    ax.grid(True, which="major", alpha=0.3)
