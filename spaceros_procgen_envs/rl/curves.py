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


def plot(csv_path: str | Path, png_path: str | Path, title: str) -> Path | None:
    """Draw return and success rate against env steps and against wall time (2 x 2 panels);
    the success panels also draw each stage's rate (``stage/<name>`` columns), when the task
    has stages.

    Returns:
        The PNG path, or None when the log has no row yet or matplotlib is missing.
    """
    rows = read_rows(csv_path)
    if not rows:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), sharey="row")
    x_keys = (("env_steps", "env steps"), ("wall_s", "wall time (s)"))
    y_keys = (("mean_return", "mean episode return"), ("success_rate", "success rate"))
    for r, (y, y_label) in enumerate(y_keys):
        for c, (x, x_label) in enumerate(x_keys):
            ax = axes[r][c]
            xs = [row[x] for row in rows]
            if y == "success_rate":
                for key in (k for k in rows[0] if k.startswith("stage/")):
                    ax.plot(xs, [row[key] for row in rows], lw=1.0, ls="--",
                            label=key[len("stage/"):])
            ax.plot(xs, [row[y] for row in rows], lw=1.5, color="black" if r else None,
                    label="success" if r else None)
            ax.set_xlabel(x_label)
            ax.grid(alpha=0.3)
            if c == 0:
                ax.set_ylabel(y_label)
    axes[1][0].set_ylim(-0.05, 1.05)
    if any(k.startswith("stage/") for k in rows[0]):
        axes[1][1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8,
                          title="episodes that reached", title_fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return Path(png_path)
