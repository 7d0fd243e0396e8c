"""``recording.json``: what a recording holds and how to re-run it (read by ``replay.py``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .paths import MANIFEST, RecordingError

FORMAT = 1


def write_manifest(path: Path, manifest: dict) -> None:
    """Replace ``PATH/recording.json`` atomically (a crash leaves the old or the new one)."""
    target = path / MANIFEST
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, target)


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of the recording at ``path``.

    Raises:
        RecordingError: no recording there, or a manifest of another format.
    """
    target = Path(path) / MANIFEST
    if not target.is_file():
        raise RecordingError(f"{path} is not a recording (no {MANIFEST}); pass the directory "
                             "given to --record")
    try:
        manifest = json.loads(target.read_text())
    except (OSError, ValueError) as exc:
        raise RecordingError(f"cannot read {target}: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise RecordingError(f"{target} has format {manifest.get('format')!r}, this version "
                             f"reads format {FORMAT}")
    return manifest
