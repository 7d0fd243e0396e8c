"""Every ```python block of README.md runs alone, verbatim, and prints what it shows.

A user pastes one block into a fresh interpreter or a file: it must need nothing from another
block (no NameError), exit 0, and print one line per ``print(`` it contains.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from .conftest import ROOT

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```python\n(.*?)^```", README, re.S | re.M)


def _heading(block: str) -> str:
    """The README heading above ``block`` (its test id)."""
    before = README[:README.index(block)]
    headings = re.findall(r"^#+ (.+)$", before, re.M)
    return re.sub(r"\W+", "_", headings[-1] if headings else "top").strip("_").lower()


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 4, f"found {len(BLOCKS)} ```python blocks in README.md"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{i}_{_heading(b)}" for i, b in enumerate(BLOCKS)])
def test_readme_python_block_runs_alone_and_prints(block, tmp_path):
    # As pasted into a plain interpreter: no MUJOCO_GL (rendering must choose its own GL).
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True,
                          text=True, timeout=280, env=env)
    assert done.returncode == 0, f"exit {done.returncode}:\n{block}\n{done.stderr[-3000:]}"
    prints = len(re.findall(r"^\s*print\(", block, re.M))
    lines = done.stdout.strip().splitlines()
    assert prints >= 1, f"the block prints nothing, so a user sees nothing:\n{block}"
    assert len(lines) >= prints, f"{prints} print calls gave {len(lines)} lines:\n{done.stdout}"
