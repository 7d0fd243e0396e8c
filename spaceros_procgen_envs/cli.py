"""The argument parser every script shares, and the wrapper that turns errors into one line.

Bad input never shows a traceback: argparse errors print one line and exit 2, a
:class:`~spaceros_procgen_envs.errors.ProcgenError` at run time prints one line and
exits 1, Ctrl-C exits 130.

Example::

    parser = make_parser("Fill the asset cache.")
    args = parser.parse_args(["--task", "perseverance", "--num_envs", "4"])
"""

from __future__ import annotations

import argparse
import atexit
import difflib
import gc
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .domains import list_domains
from .errors import ProcgenError, unknown_name
from .registry import VISUAL_SUFFIX, full_name, get_task, list_tasks
from .sim.robots.base import CONTROL_HZ
from .vector.backends import BACKENDS


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: x)" only for defaults worth showing (not None or False)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False):
            return action.help or ""
        return super()._get_help_string(action)


SPELLING_NOTE = "Every flag also takes dashes for underscores and back (--num-envs = --num_envs)."


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line: ``prog: error: message``.

    Every long flag takes both spellings, ``--num_envs`` and ``--num-envs`` (the help shows
    the declared one), and an unknown flag gets a "did you mean".
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        argv = sys.argv[1:] if args is None else list(args)
        return super().parse_known_args(self._respell(argv), namespace)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}{self._suggest(extras)}")
        return parsed

    def _respell(self, argv: list[str]) -> list[str]:
        """``argv`` with each long flag in its declared spelling (up to a bare ``--``)."""
        out = []
        for index, token in enumerate(argv):
            if token == "--":
                return out + argv[index:]
            out.append(self._declared_spelling(token))
        return out

    def _declared_spelling(self, token: str) -> str:
        if not token.startswith("--") or len(token) < 3:
            return token
        flag, eq, value = token.partition("=")
        known = self._option_string_actions
        if flag in known:
            return token
        for other in ("--" + flag[2:].replace("-", "_"), "--" + flag[2:].replace("_", "-")):
            # exact, or a prefix argparse may expand (--num-e -> --num_e -> --num_envs)
            if other in known or any(option.startswith(other) for option in known):
                return other + eq + value
        return token

    def _suggest(self, extras: list[str]) -> str:
        """``; did you mean --x?`` for the first unknown flag close to a known one."""
        flags = {o.replace("-", "_"): o for o in self._option_string_actions if o.startswith("--")}
        for token in extras:
            flag = token.partition("=")[0]
            if flag.startswith("--"):
                close = difflib.get_close_matches(flag.replace("-", "_"), list(flags), n=1)
                if close:
                    return f"; did you mean {flags[close[0]]}?"
        return "; see --help for the flags"


def positive_int(text: str) -> int:
    """An integer >= 1 (``--num_envs``, ``--workers``, ``--steps``)."""
    value = _number(text, int, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}; use 1 or more")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (``--seed``)."""
    value = _number(text, int, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite float >= 0 (``--duration``, ``--older-than``)."""
    value = _number(text, float, "a number >= 0")
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite float > 0 (``--realtime_factor``, rates)."""
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def camera_rate(text: str) -> float:
    """A camera rate in Hz, > 0 and at most the step rate (``--camera_rate``)."""
    value = positive_float(text)
    if value > CONTROL_HZ:
        raise argparse.ArgumentTypeError(
            f"expected at most {CONTROL_HZ:g} Hz (the step rate: one picture per step at most), "
            f"got {text!r}; pass a rate in (0, {CONTROL_HZ:g}]")
    return value


def task_name(text: str) -> str:
    """A registered task, bare or as ``spaceros/<task>``, optionally ``<task>_visual``;
    returns the bare name (keeping ``_visual``)."""
    try:
        return full_name(text)
    except ProcgenError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def video_path(text: str) -> Path:
    """An ``.mp4`` path whose directory exists (``--video``)."""
    from .video import check_path  # imported here: Pillow only for scripts that film

    try:
        return check_path(text)
    except ProcgenError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def domain_name(text: str) -> str:
    if text not in list_domains():
        raise argparse.ArgumentTypeError(str(unknown_name("domain", text, list_domains())))
    return text


def backend_name(text: str) -> str:
    if text not in BACKENDS:
        raise argparse.ArgumentTypeError(str(unknown_name("backend", text, BACKENDS)))
    return text


def _number(text: str, kind: type, expected: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def make_parser(description: str, *, sim_flags: bool = True, **kwargs) -> OneLineParser:
    """A parser with the flags every script shares (SPEC 7).

    Args:
        description: what the script does, shown by ``--help``.
        sim_flags: add ``--task --num_envs --seed --domain`` (asset and simulation scripts).

    Returns:
        An :class:`OneLineParser`; add script-specific flags to it.
    """
    kwargs.setdefault("epilog", SPELLING_NOTE)
    parser = OneLineParser(description=description,
                           formatter_class=_DefaultsFormatter, **kwargs)
    if sim_flags:
        parser.add_argument("--task", type=task_name, default="perseverance",
                            help=f"task to run, one of: {', '.join(list_tasks())}; add "
                                 f"{VISUAL_SUFFIX} for camera observations (e.g. "
                                 "perseverance_visual)")
        parser.add_argument("--num_envs", type=positive_int, default=1,
                            help="number of parallel environments (env i gets seed + i)")
        parser.add_argument("--seed", type=non_negative_int, default=42,
                            help="base seed of the procedural worlds")
        parser.add_argument("--domain", type=domain_name, default=None,
                            help=f"one of: {', '.join(list_domains())}; omitted: the task's own")
    return parser


def plural(count: int, noun: str) -> str:
    """``"1 task"``, ``"2 tasks"``, ``"0.5 days"``: a count and its noun, plural unless 1."""
    return f"{count:g} {noun}" if count == 1 else f"{count:g} {noun}s"


def check_task_domain(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse a ``--domain`` the ``--task`` cannot run in, as an argument error (exit 2)."""
    try:
        get_task(args.task).resolve_domain(args.domain)
    except ProcgenError as exc:
        parser.error(f"argument --domain: {exc}")


def run_main(main: Callable[[Sequence[str] | None], int | None],
             argv: Sequence[str] | None = None) -> int:
    """Call ``main(argv)``; a ProcgenError becomes one line and exit 1 (its ``exit_code``
    where it has one: 2 for a usage conflict), Ctrl-C exit 130."""
    # At exit, skip the interpreter's last full garbage collection of the loaded worlds (1 to 2 s
    # on 2 cores, most of the 2 s that Ctrl-C may take): the process memory goes back anyway.
    atexit.register(gc.freeze)
    try:
        return int(main(argv) or 0)
    except ProcgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
