"""generate_assets.py and clean_procgen_cache.py as a user runs them: real processes, real files."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from spaceros_procgen_envs.assets import cache
from spaceros_procgen_envs.registry import generate_assets

REPO = Path(__file__).resolve().parents[1]
JSON_KEYS = {"task", "domain", "num_envs", "seed", "workers", "assets", "generated", "reused",
             "seconds", "cache_dir"}


@pytest.fixture
def cache_root(tmp_path) -> Path:
    return tmp_path / "cache"


def script_env(cache_root: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, cache.ENV_VAR: str(cache_root)}


def run(script: str, *args: str, cache_root: Path, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([sys.executable, f"scripts/{script}", *args], cwd=REPO,
                          env=script_env(cache_root), capture_output=True, text=True,
                          timeout=120, **kwargs)


def generate(*args: str, cache_root: Path) -> dict:
    done = run("generate_assets.py", *args, "--json", cache_root=cache_root)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def entries(cache_root: Path) -> list[Path]:
    return sorted(cache_root.glob("*" + cache.SUFFIX))


def test_generate_summary_then_json_with_everything_reused(cache_root):
    args = ("--task", "debris_capture", "--num_envs", "2", "--seed", "4", "--workers", "2")
    done = run("generate_assets.py", *args, cache_root=cache_root)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith("2 envs of debris_capture on orbit: 2 assets, 2 generated, 0 reused")
    assert line.endswith(f"cache: {cache_root}")
    assert len(entries(cache_root)) == 2
    second = generate(*args, cache_root=cache_root)
    assert set(second) == JSON_KEYS
    assert second["domain"] == "orbit" and second["cache_dir"] == str(cache_root)
    assert (second["assets"], second["generated"], second["reused"]) == (2, 0, 2)
    assert (second["task"], second["num_envs"], second["seed"], second["workers"]) == (
        "debris_capture", 2, 4, 0)


def test_preview_writes_a_png_contact_sheet(cache_root, tmp_path):
    sheet = tmp_path / "sheet.png"
    done = run("generate_assets.py", "--task", "peg_in_hole", "--num_envs", "2",
               "--preview", str(sheet), cache_root=cache_root)
    assert done.returncode == 0, done.stderr
    assert str(sheet) in done.stdout
    with Image.open(sheet) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert image.getextrema() != ((34, 34), (36, 36), (44, 44))  # not just background
    assert 2 * 64 <= width <= 2 * 512 and 2 * 64 <= height <= 2 * 600  # 2 assets x 2 envs
    assert sheet.stat().st_size > 2000


def test_corrupt_entry_is_reported_in_one_line_and_regenerated(cache_root):
    args = ("--task", "debris_capture", "--num_envs", "2", "--workers", "1")
    generate(*args, cache_root=cache_root)
    victim = entries(cache_root)[0]
    victim.write_bytes(victim.read_bytes()[:-100])  # truncated
    done = run("generate_assets.py", *args, "--json", cache_root=cache_root)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["generated"], report["reused"]) == (1, 1)
    assert done.stderr.startswith("warning: corrupt asset cache file")
    assert str(victim) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert cache.read_entry(victim) is not None


BAD_ARGS = {
    "zero envs": ["--num_envs", "0"],
    "not a number": ["--num_envs", "abc"],
    "unknown task": ["--task", "perseverence"],
    "task without ground in orbit": ["--task", "perseverance", "--domain", "orbit"],
    "zero workers": ["--workers", "0"],
}


@pytest.mark.parametrize("case", sorted(BAD_ARGS))
def test_bad_arguments_exit_2_with_one_line(cache_root, case):
    done = run("generate_assets.py", *BAD_ARGS[case], cache_root=cache_root)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and "error" in done.stderr
    assert not cache_root.exists()
    if case == "unknown task":
        assert "perseverance" in done.stderr  # the "did you mean"


def test_unwritable_cache_is_one_line_and_exit_1(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = run("generate_assets.py", "--task", "debris_capture", cache_root=blocker / "cache")
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "SPACEROS_PROCGEN_CACHE_DIR" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("script", ["generate_assets.py", "clean_procgen_cache.py"])
def test_help_explains(cache_root, script):
    done = run(script, "--help", cache_root=cache_root)
    assert done.returncode == 0
    assert "cache" in done.stdout and "usage" in done.stdout


@pytest.fixture
def filled(cache_root, monkeypatch) -> list[Path]:
    monkeypatch.setenv(cache.ENV_VAR, str(cache_root))
    for task in ("debris_capture", "peg_in_hole"):
        generate_assets(task, 2, workers=1, progress=False)
    files = entries(cache_root)
    assert len(files) == 6
    return files


def test_clean_dry_run_deletes_nothing(cache_root, filled):
    done = run("clean_procgen_cache.py", "--dry-run", cache_root=cache_root)
    assert done.returncode == 0, done.stderr
    assert "6 files" in done.stdout and "nothing deleted" in done.stdout
    for generator in ("terrain", "debris", "peg_hole"):
        assert generator in done.stdout  # per-generator breakdown
    assert entries(cache_root) == filled


def test_clean_without_tty_or_yes_refuses(cache_root, filled):
    done = run("clean_procgen_cache.py", cache_root=cache_root)
    assert done.returncode == 1
    assert "--yes" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert entries(cache_root) == filled


def test_clean_yes_deletes_everything_and_stale_temps_only(cache_root, filled):
    stale = cache_root / f".rock-{'0' * 32}.999999999.abcd1234{cache.TEMP_SUFFIX}"  # pid not alive
    live = cache_root / f".rock-{'1' * 32}.{os.getpid()}.abcd1234{cache.TEMP_SUFFIX}"
    foreign = cache_root / "notes.txt"
    for path in (stale, live, foreign):
        path.write_text("x")
    done = run("clean_procgen_cache.py", "--yes", cache_root=cache_root)
    assert done.returncode == 0, done.stderr
    assert "deleted 7 files" in done.stdout
    assert entries(cache_root) == [] and not stale.exists()
    assert live.exists() and foreign.exists()  # a writer's temp file and a user's file stay
    again = run("clean_procgen_cache.py", cache_root=cache_root)  # no TTY, but nothing to do
    assert again.returncode == 0 and "nothing to delete" in again.stdout


def test_clean_older_than_keeps_fresh_files(cache_root, filled):
    old = filled[0]
    three_days_ago = time.time() - 3 * 86400
    os.utime(old, (three_days_ago, three_days_ago))
    done = run("clean_procgen_cache.py", "--yes", "--older-than", "1", cache_root=cache_root)
    assert done.returncode == 0, done.stderr
    assert entries(cache_root) == filled[1:]


def test_clean_counts_one_of_a_kind_in_the_singular(cache_root, filled):
    for path in filled[1:]:
        path.unlink()
    nothing = run("clean_procgen_cache.py", "--dry-run", "--older-than", "1", cache_root=cache_root)
    assert "no cache files older than 1 day in" in nothing.stdout, nothing.stdout
    done = run("clean_procgen_cache.py", "--yes", cache_root=cache_root)
    assert done.returncode == 0, done.stderr
    assert "1 file, " in done.stdout and "deleted 1 file (" in done.stdout, done.stdout
    assert " 1 files" not in done.stdout


@pytest.mark.parametrize("days", ["-1", "abc"])
def test_clean_bad_older_than_exits_2(cache_root, days):
    done = run("clean_procgen_cache.py", "--older-than", days, cache_root=cache_root)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("answer, kept", [(b"n\n", True), (b"y\n", False)])
def test_clean_asks_on_a_terminal(cache_root, filled, answer, kept):
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "scripts/clean_procgen_cache.py"], cwd=REPO,
                                env=script_env(cache_root), stdin=follower,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.write(leader, answer)
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    assert b"Delete 6 files" in out, (out, err)
    assert proc.returncode == (1 if kept else 0)
    assert bool(entries(cache_root)) is kept


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_during_generation_leaves_no_worker(cache_root):
    proc = subprocess.Popen([sys.executable, "scripts/generate_assets.py", "--task", "perseverance",
                             "--num_envs", "16", "--workers", "2"], cwd=REPO,
                            env=script_env(cache_root), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline, workers = time.monotonic() + 60, []
    while proc.poll() is None and len(workers) < 2 and time.monotonic() < deadline:
        workers = _children(proc.pid)
        time.sleep(0.005)
    if proc.poll() is not None:
        pytest.skip("generation finished before it could be interrupted")
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole process group
    start = time.monotonic()
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - start < 2.0  # SPEC 9: shut down within 2 s
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    for pid in workers:  # gone, or at most a zombie waiting for init to reap it
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except FileNotFoundError:
            continue
        assert state == "Z", f"worker {pid} survived Ctrl-C"
    assert not list(cache_root.glob(".*" + cache.TEMP_SUFFIX))


def test_clean_also_deletes_the_compiled_worlds(cache_root, monkeypatch):
    import gymnasium

    import spaceros_procgen_envs  # noqa: F401  (registers the ids)

    monkeypatch.setenv(cache.ENV_VAR, str(cache_root))
    gymnasium.make_vec("spaceros/ingenuity", num_envs=2, vectorization_mode="vector_entry_point",
                       backend="sync", progress=False).close()
    worlds = [p for p in cache_root.rglob("*") if p.suffix in (".faces", ".world", ".mjb")]
    assert worlds, "the warm-start cache wrote compiled worlds"
    dry = run("clean_procgen_cache.py", "--dry-run", cache_root=cache_root)
    assert "compiled worlds" in dry.stdout, dry.stdout
    done = run("clean_procgen_cache.py", "--yes", cache_root=cache_root)
    assert done.returncode == 0, done.stderr
    assert not [p for p in worlds if p.exists()]
