"""The training log (``progress.csv``) and its learning-curve PNG.

One CSV row per ``log_every`` env steps: the env steps and wall seconds so far, episodes
finished, and the mean return, success rate, length and reward-term sums of the most recent
episodes (a window of at least 100), the share of them that reached each of the task's stages
(``stage/<name>``, e.g. an arm's reach, grasp and lift), plus env-steps/s and episodes/s since
the previous row.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

BASE_COLUMNS = ("env_steps", "wall_s", "episodes", "mean_return", "success_rate",
                "mean_length", "env_steps_per_s", "episodes_per_s")


class CsvLog:
    """Append-only CSV with a fixed header (``BASE_COLUMNS`` then the reward terms and stages).

    Args:
        path: the file; an existing one (``--resume``) is appended to and its last row read.
        terms: reward term names (``reward/<term>``) and stages (``stage/<name>``), columns
            after the base ones.
    """

    def __init__(self, path: str | Path, terms: list[str]):
        self.path = Path(path)
        self.columns = list(BASE_COLUMNS) + [t for t in terms]
        self.last: dict[str, float] | None = None
        if self.path.is_file() and self.path.stat().st_size:
            rows = read_rows(self.path)
            self.last = rows[-1] if rows else None
            with self.path.open() as f:
                self.columns = next(csv.reader(f))
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("w", newline="") as f:
                csv.writer(f).writerow(self.columns)

    def append(self, row: dict[str, float]) -> None:
        with self.path.open("a", newline="") as f:
            csv.writer(f).writerow([_fmt(row.get(c, float("nan"))) for c in self.columns])
        self.last = row


def _fmt(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def read_rows(path: str | Path) -> list[dict[str, float]]:
    """Every row of a ``progress.csv`` as floats."""
    with Path(path).open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


PANEL_X = (("env_steps", "env steps"), ("wall_s", "wall time (s)"))
PANEL_Y = (("mean_return", "mean episode return"), ("success_rate", "success rate"))


class LearningCurve:
    """Return and success rate against env steps and against wall time (2 x 2 panels), the
    success panels also each stage's rate (``stage/<name>`` columns) when the task has stages.

    One figure serves the whole run: :meth:`update` redraws only when the CSV has rows it has
    not drawn yet, moves the lines' data and writes the PNG. Fixed margins (no
    ``tight_layout``) keep a redraw cheap: on the 2-core machine ~0.3 s where a fresh figure
    with ``tight_layout`` took ~1.8 s.

    Args:
        png_path: the picture (rewritten by every redraw).
        title: the figure's title.

    Example:
        >>> curve = LearningCurve("runs/x/learning_curve.png", "perseverance PPO")  # doctest: +SKIP
        >>> curve.update("runs/x/progress.csv"); curve.close()
    """

    def __init__(self, png_path: str | Path, title: str):
        self.png_path, self.title = Path(png_path), title
        self.fig, self.lines, self.drawn = None, [], 0

    def update(self, csv_path: str | Path) -> Path | None:
        """Redraw from ``csv_path`` if it grew; returns the PNG path (None: no row yet, or
        matplotlib missing)."""
        rows = read_rows(csv_path)
        if not rows:
            return None
        if len(rows) == self.drawn and self.png_path.is_file():
            return self.png_path
        if self.fig is None and not self._build(list(rows[0])):
            return None
        columns = {key: [row.get(key, float("nan")) for row in rows] for key in rows[0]}
        for ax, x, ys in self.lines:
            for key, line in ys:
                line.set_data(columns[x], columns[key])
            ax.relim()
            ax.autoscale_view()
        self.fig.savefig(self.png_path, dpi=110)
        self.drawn = len(rows)
        return self.png_path

    def _build(self, columns: list[str]) -> bool:
        try:
            from matplotlib.figure import Figure
        except ImportError:
            return False
        stages = [k for k in columns if k.startswith("stage/")]
        self.fig = Figure(figsize=(10, 6.5))
        self.axes = self.fig.subplots(2, 2, sharey="row")
        self.fig.subplots_adjust(left=0.08, right=0.83 if stages else 0.97, bottom=0.09,
                                 top=0.91, wspace=0.1, hspace=0.28)
        for r, (y, y_label) in enumerate(PANEL_Y):
            for c, (x, x_label) in enumerate(PANEL_X):
                ax, ys = self.axes[r][c], []
                for key in stages if y == "success_rate" else ():
                    ys.append((key, ax.plot([], [], lw=1.0, ls="--",
                                            label=key[len("stage/"):])[0]))
                ys.append((y, ax.plot([], [], lw=1.5, color="black" if r else None,
                                      label="success" if r else None)[0]))
                self.lines.append((ax, x, ys))
                ax.set_xlabel(x_label)
                ax.grid(alpha=0.3)
                if c == 0:
                    ax.set_ylabel(y_label)
        self.axes[1][0].set_ylim(-0.05, 1.05)
        if stages:
            self.axes[1][1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8,
                                   title="episodes that reached", title_fontsize=8)
        self.fig.suptitle(self.title)
        return True

    def close(self) -> None:
        self.fig, self.lines = None, []


def plot(csv_path: str | Path, png_path: str | Path, title: str) -> Path | None:
    """Draw the :class:`LearningCurve` of ``csv_path`` once.

    Returns:
        The PNG path, or None when the log has no row yet or matplotlib is missing.
    """
    return LearningCurve(png_path, title).update(csv_path)
