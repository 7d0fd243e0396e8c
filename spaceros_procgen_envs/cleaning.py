"""List and delete asset cache files (``clean_procgen_cache.py``).

Only files the cache itself writes are touched: entries (``*.asset``), compiled worlds
(``faces-*.faces``, ``world-*.world``, ``world-*.mjb``) and temp files (``.*.tmp``). A temp file is *stale* when the process that wrote it is gone or it is
older than an hour (a live write takes milliseconds); stale temp files are always
removed, whatever ``--older-than`` says.

Example::

    files = scan(cache_dir(), older_than_days=30)
    print("\\n".join(summarize(files)))
    delete(files)
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .assets.cache import SUFFIX, TEMP_SUFFIX, cache_dir

TEMP_GROUP = "temp files"
STALE_TEMP_S = 3600.0


@dataclass(frozen=True)
class CacheFile:
    """One file of the cache.

    Attributes:
        path: absolute path.
        size: bytes.
        mtime: modification time, seconds since the epoch.
        group: generator name (``terrain``, ``rock``, ...) or ``"temp files"``.
    """

    path: Path
    size: int
    mtime: float
    group: str


def scan(directory: Path | None = None, older_than_days: float | None = None,
         now: float | None = None) -> list[CacheFile]:
    """The cache files to delete.

    Args:
        directory: the cache directory (default :func:`cache_dir`); missing means empty.
        older_than_days: only entries whose mtime is more than this many days ago.
        now: the current time (for tests), seconds since the epoch.

    Returns:
        Entries (filtered by age) and stale temp files, sorted by path.
    """
    directory = directory or cache_dir()
    now = time.time() if now is None else now
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for name in sorted(names):
        item = _classify(directory / name)
        if item is None:
            continue
        if item.group == TEMP_GROUP:
            if _stale_temp(item, now):
                found.append(item)
        elif older_than_days is None or now - item.mtime > older_than_days * 86400.0:
            found.append(item)
    return found


# What the compiled-world cache (sim/world_cache.py) writes beside the assets.
WORLD_PREFIXES, WORLD_SUFFIXES, WORLD_GROUP = ("faces-", "world-"), (".faces", ".world", ".mjb"), \
    "compiled worlds"


def _classify(path: Path) -> CacheFile | None:
    name = path.name
    if name.startswith(".") and name.endswith(TEMP_SUFFIX):
        group = TEMP_GROUP
    elif name.endswith(SUFFIX) and not name.startswith("."):
        group = name[:-len(SUFFIX)].rsplit("-", 1)[0]
    elif name.startswith(WORLD_PREFIXES) and name.endswith(WORLD_SUFFIXES):
        group = WORLD_GROUP
    else:
        return None  # not written by the cache: never touch it
    try:
        stat = path.stat()
    except FileNotFoundError:  # deleted meanwhile
        return None
    return CacheFile(path, stat.st_size, stat.st_mtime, group) if path.is_file() else None


def _stale_temp(item: CacheFile, now: float) -> bool:
    """``.<key>.<pid>.<random>.tmp``: stale if ``pid`` is not running or the file is old."""
    if now - item.mtime > STALE_TEMP_S:
        return True
    parts = item.path.name.split(".")
    pid = int(parts[-3]) if len(parts) >= 5 and parts[-3].isdigit() else None
    return pid is not None and not _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def human_size(num_bytes: float) -> str:
    """``1234567`` -> ``"1.2 MB"`` (decimal units)."""
    if num_bytes < 1000:
        return f"{num_bytes:.0f} B"
    for unit in ("kB", "MB"):
        num_bytes /= 1000.0
        if num_bytes < 1000:
            return f"{num_bytes:.1f} {unit}"
    return f"{num_bytes / 1000.0:.1f} GB"


def summarize(files: Sequence[CacheFile]) -> list[str]:
    """Lines: the total, then one per generator (count and size), largest first."""
    counts, sizes = Counter(f.group for f in files), Counter()
    for f in files:
        sizes[f.group] += f.size
    width = max((len(g) for g in counts), default=0)
    lines = [f"{_files(len(files))}, {human_size(sum(sizes.values()))}:"]
    for group, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {group:<{width}}  {_files(counts[group]):>11}  {human_size(size):>9}")
    return lines


def _files(count: int) -> str:
    from .cli import plural  # the CLI layer, imported only when printing

    return plural(count, "file")


def delete(files: Sequence[CacheFile]) -> tuple[int, int, list[str]]:
    """Delete ``files``.

    Returns:
        ``(deleted, bytes_freed, errors)``; a file already gone counts as deleted.
    """
    deleted, freed, errors = 0, 0, []
    for f in files:
        try:
            f.path.unlink(missing_ok=True)
        except OSError as exc:
            errors.append(f"{f.path}: {exc.strerror or exc}")
            continue
        deleted, freed = deleted + 1, freed + f.size
    return deleted, freed, errors


def main(argv: Sequence[str] | None = None) -> int:
    """``clean_procgen_cache.py``: show what would be deleted, confirm, delete.

    Returns:
        0 when done (or nothing to do), 1 when refused, declined or a file could not go.
    """
    from .cli import make_parser, non_negative_float, plural

    parser = make_parser(
        "Delete procedural assets from the on-disk cache ($SPACEROS_PROCGEN_CACHE_DIR if set, "
        "else the user cache dir). Shows the files, their total size and a per-generator "
        "breakdown, then asks y/N on a terminal. They are regenerated when next needed.",
        sim_flags=False)
    parser.add_argument("-y", "--yes", action="store_true",
                        help="delete without asking (needed when stdin is not a terminal)")
    parser.add_argument("--dry-run", action="store_true",
                        help="only show what would be deleted")
    parser.add_argument("--older-than", type=non_negative_float, default=None, metavar="DAYS",
                        help="only entries last written more than DAYS days ago (file mtime); "
                        "stale temp files always go")
    args = parser.parse_args(argv)
    directory = cache_dir()
    files = scan(directory, args.older_than)
    if not files:
        age = f" older than {plural(args.older_than, 'day')}" if args.older_than is not None else ""
        print(f"nothing to delete: no cache files{age} in {directory}")
        return 0
    total = human_size(sum(f.size for f in files))
    print(f"cache: {directory}")
    print(("would delete " if args.dry_run else "to delete: ") + "\n".join(summarize(files)))
    if args.dry_run:
        print("dry run: nothing deleted")
        return 0
    if not args.yes and not _confirm(f"Delete {_files(len(files))} ({total})? [y/N] "):
        return 1
    deleted, freed, errors = delete(files)
    print(f"deleted {_files(deleted)} ({human_size(freed)})")
    for line in errors[:5]:
        print(f"error: cannot delete {line}", file=sys.stderr)
    return 1 if errors else 0


def _confirm(question: str) -> bool:
    """Ask on a terminal; without one refuse (the caller must pass --yes)."""
    if not sys.stdin or not sys.stdin.isatty():
        print("error: refusing to delete without confirmation: stdin is not a terminal; "
              "pass --yes to delete (or --dry-run to only look)", file=sys.stderr)
        return False
    try:
        answer = input(question)
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return True
    print("nothing deleted")
    return False
