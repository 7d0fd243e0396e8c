"""``generate_assets.py``: fill the asset cache for a batch of envs and report what it did.

The command-line face of :func:`~spaceros_procgen_envs.registry.generate_assets` (here,
above the asset layer, so the pipeline imports no CLI).
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from .assets import cache
from .assets.pipeline import Report
from .assets.types import Asset
from .cli import check_task_domain, make_parser, positive_int
from .errors import ProcgenError
from .registry import generate_assets, get_task


def main(argv: Sequence[str] | None = None) -> int:
    """``generate_assets.py``: fill the cache for a batch of envs and report what it did.

    Args:
        argv: command-line arguments (``None``: ``sys.argv[1:]``).

    Returns:
        The exit code (0).
    """
    parser = make_parser(
        "Generate (or load) every procedural asset of --num_envs envs of --task into the "
        "on-disk cache, in parallel, and report how many were generated and reused. The "
        f"cache is ${cache.ENV_VAR} if set, else the user cache dir.", sim_flags=True)
    parser.add_argument("--workers", type=positive_int, default=None, metavar="W",
                        help="generator processes (default: one per usable core; 1: in-process)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of the human summary")
    parser.add_argument("--preview", type=Path, default=None, metavar="PNG",
                        help="also write a contact sheet of every asset (a row per env) to this "
                        "PNG file")
    args = parser.parse_args(argv)
    check_task_domain(parser, args)
    with warnings.catch_warnings(record=True) as caught:  # print them as one line each
        warnings.simplefilter("always", RuntimeWarning)
        envs, report = generate_assets(args.task, args.num_envs, args.seed, args.domain,
                                       args.workers)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    domain = get_task(args.task).resolve_domain(args.domain).name
    preview = _write_preview(envs, args.preview) if args.preview else None
    print(_summary(args, domain, report, preview))
    return 0


def _write_preview(envs: list[dict[str, Asset]], path: Path) -> Path:
    from .assets.preview import contact_sheet

    try:
        contact_sheet(envs, path)
    except OSError as exc:
        raise ProcgenError(f"cannot write the preview {path}: {exc.strerror or exc}; "
                           "pass a writable --preview path") from None
    return path.resolve()


def _summary(args, domain: str, report: Report, preview: Path | None) -> str:
    if args.json:
        record = {"task": args.task, "domain": domain, "num_envs": args.num_envs,
                  "seed": args.seed, "workers": report.workers, "assets": report.assets,
                  "generated": report.generated, "reused": report.reused,
                  "seconds": round(report.seconds, 4), "cache_dir": report.cache_dir}
        if preview:
            record["preview"] = str(preview)
        return json.dumps(record)
    how = {0: "all cached", 1: "in-process"}.get(report.workers, f"{report.workers} workers")
    lines = [f"{args.num_envs} envs of {args.task} on {domain}: {report.assets} assets, "
             f"{report.generated} generated, {report.reused} reused in {report.seconds:.2f} s "
             f"({how}); cache: {report.cache_dir}"]
    if preview:
        lines.append(f"preview: {preview}")
    return "\n".join(lines)
