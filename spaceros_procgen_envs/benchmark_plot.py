"""The scaling plot of ``benchmark.py --plot``: one panel per task in a grid, one legend under
the grid (never over the data).

Example::

    result = json.loads(Path("bench.json").read_text())  # benchmark.py --json
    plot(result, Path("bench.png"))
"""

from __future__ import annotations

from pathlib import Path

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


def figure(result: dict):
    """A matplotlib ``Figure`` of env-steps/s against the number of envs (log-log), a panel
    per task of ``result`` (the JSON of ``benchmark.py``), with the Gymnasium AsyncVectorEnv
    rate and the physics ceiling, and one legend for every panel below them."""
    plt = _pyplot()
    tasks = list(dict.fromkeys(r["task"] for r in result["rows"]))
    columns = min(MAX_COLUMNS, max(1, len(tasks)))
    grid_rows = -(-len(tasks) // columns)
    fig, axes = plt.subplots(grid_rows, columns, squeeze=False)
    colours = _colours(result, plt)
    for ax, task in zip(axes.flat, tasks):
        _panel(ax, task, result, colours)
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


def plot(result: dict, path: Path) -> None:
    """Write :func:`figure` of ``result`` as a PNG to ``path``."""
    fig = figure(result)
    fig.savefig(path, dpi=DPI)
    _pyplot().close(fig)


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
    if task in result.get("ceiling", {}):
        ax.axhline(result["ceiling"][task], color="k", lw=0.8, ls=":", label="physics ceiling")
    ax.set(title=task, xlabel="envs", ylabel="env-steps/s", xscale="log", yscale="log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.grid(True, which="major", alpha=0.3)
