"""replay.py re-runs a recording from its seeds: bit-identical on every backend, and the first
mismatch (env, step, key) is reported when a recorded action was changed."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("minari", reason="the record extra (minari) is not installed")
h5py = pytest.importorskip("h5py", reason="the record extra (h5py) is not installed")

from spaceros_procgen_envs.recording import load_dataset  # noqa: E402
from spaceros_procgen_envs.recording.paths import dataset_dir  # noqa: E402
from spaceros_procgen_envs.recording.replay import replay  # noqa: E402

from .conftest import script_cmd  # noqa: E402
from .recording_helpers import NUM_ENVS, STEPS, TASK, record_run  # noqa: E402


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One recording per backend it was made on."""
    made = {}

    def get(backend: str):
        if backend not in made:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("SPACEROS_PROCGEN_CACHE_DIR",
                          str(tmp_path_factory.getbasetemp() / "cache"))
                made[backend] = record_run(tmp_path_factory.mktemp(backend) / "rec", backend)
        return made[backend].path
    return get


def observations_in(path) -> int:
    return sum(len(ep) + 1 for ep in load_dataset(path).iterate_episodes())


@pytest.mark.parametrize("made_on, replayed_on", [("sync", "sync"), ("sync", "process"),
                                                  ("process", "sync")])
def test_replay_is_bit_identical_across_backends(recorded, made_on, replayed_on):
    path = recorded(made_on)
    result = replay(path, backend=replayed_on)
    assert result.mismatch is None, str(result.mismatch)
    assert result.steps == STEPS and result.num_envs == NUM_ENVS
    assert result.compared == observations_in(path)  # every stored observation was checked


def altered_copy(src, dst, episode: int, step: int):
    """A copy of the recording with one action of one episode flipped; returns its meta."""
    shutil.copytree(src, dst)
    data = dataset_dir(dst, TASK) / "data" / "main_data.hdf5"
    with h5py.File(data, "a") as f:
        actions = f[f"episode_{episode}/actions"]
        actions[step] = -actions[step] + np.float32(0.5)
        meta = dict(f[f"episode_{episode}"].attrs)
    return meta


def test_replay_reports_the_first_mismatch_after_an_action_was_changed(recorded, tmp_path):
    meta = altered_copy(recorded("sync"), tmp_path / "altered", episode=4, step=10)
    result = replay(tmp_path / "altered", backend="sync")
    bad = result.mismatch
    assert bad is not None
    # the changed action acts at step t0 + 10 + 1 of that env: the first observation to differ
    assert (bad.env, bad.step) == (int(meta["env"]), int(meta["t0"]) + 11)
    assert not np.array_equal(bad.recorded, bad.replayed)
    assert f"env {bad.env}, step {bad.step}, key '{bad.key}'" in str(bad)


def test_replay_script_exit_codes(recorded, tmp_path):
    ok = subprocess.run(script_cmd("replay.py", str(recorded("sync"))), capture_output=True,
                        text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "identical, bit for bit" in ok.stdout
    altered_copy(recorded("sync"), tmp_path / "altered", episode=0, step=3)
    bad = subprocess.run(script_cmd("replay.py", str(tmp_path / "altered")),
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1
    assert "MISMATCH at env 0, step 4, key" in bad.stderr
    missing = subprocess.run(script_cmd("replay.py", str(tmp_path / "nothing")),
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "not a recording" in missing.stderr
