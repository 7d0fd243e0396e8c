"""Both flag spellings (``--num_envs`` / ``--num-envs``), did-you-mean, ``--camera_rate`` bound.

Every script's parser is collected by running the script's own ``main`` up to its first
parse (the parser is recorded there and the run stops), so a new script or a
new flag is covered without editing this file.
"""

from __future__ import annotations

import ast
import runpy
import subprocess

import pytest

from spaceros_procgen_envs import cli

from .conftest import SCRIPTS, script_cmd


class _Collected(Exception):
    """Raised by the recording parser to stop a script's main at its first parse."""


def _main_of(script) -> callable:
    """The function a script hands to ``run_main`` (read from its source)."""
    tree = ast.parse(script.read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") == "run_main")
    return runpy.run_path(str(script), run_name="collect")[call.args[0].id]


def script_parser(script, monkeypatch) -> cli.OneLineParser:
    seen = []

    def record(self, args=None, namespace=None):
        seen.append(self)
        raise _Collected

    monkeypatch.setattr(cli.OneLineParser, "parse_known_args", record)  # parse_args calls it
    with pytest.raises(_Collected):
        _main_of(script)([])
    return seen[0]


def other_spelling(flag: str) -> str:
    body = flag[2:]
    return "--" + (body.replace("_", "-") if "_" in body else body.replace("-", "_"))


SCRIPT_FILES = sorted(SCRIPTS.glob("*.py"), key=lambda p: p.name)


@pytest.mark.parametrize("script", SCRIPT_FILES, ids=lambda p: p.name)
def test_every_flag_of_every_script_takes_both_spellings(script, monkeypatch):
    """The script's parser is the shared one, and it reads the other spelling of each of its
    multi-word flags as the declared flag (with a value glued on by ``=`` too)."""
    parser = script_parser(script, monkeypatch)
    assert isinstance(parser, cli.OneLineParser), f"{script.name} bypasses cli.make_parser"
    flags = [o for o in parser._option_string_actions if o.startswith("--") and
             ("_" in o or "-" in o[2:]) and other_spelling(o) not in parser._option_string_actions]
    for flag in flags:
        alias = other_spelling(flag)
        assert parser._respell([alias, "7", f"{alias}=7"]) == [flag, "7", f"{flag}=7"], alias


def test_kebab_flags_run_end_to_end(tmp_path):
    proc = subprocess.run(script_cmd("clean_procgen_cache.py", "--dry_run", "--older-than=1"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(script_cmd("list_envs.py", "--multi-agent", "--brief"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "spaceros/perseverance" not in proc.stdout


@pytest.mark.parametrize("argv, hint", [
    (["--num-ens", "4"], "did you mean --num_envs?"),
    (["--sed", "4"], "did you mean --seed?"),
    (["--frobnicate"], "see --help"),
])
def test_unknown_flag_gets_a_did_you_mean(capsys, argv, hint):
    with pytest.raises(SystemExit) as info:
        cli.make_parser("test").parse_args(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert f"unrecognized arguments: {' '.join(argv)}" in err and hint in err


def test_values_after_a_double_dash_are_left_alone():
    parser = cli.make_parser("test", sim_flags=False)
    parser.add_argument("rest", nargs="*")
    assert parser.parse_args(["--", "--num-envs"]).rest == ["--num-envs"]


def test_help_lists_each_flag_once_and_names_the_other_spelling():
    text = cli.make_parser("test").format_help()
    assert text.count("--num_envs NUM_ENVS") == 2  # usage and its row
    assert text.count("--num-envs") == 1  # only in the note
    assert "--num-envs = --num_envs" in " ".join(text.split())


def ros_parser() -> cli.OneLineParser:
    from spaceros_procgen_envs.ros.launcher import add_ros_flags

    parser = cli.make_parser("test")
    add_ros_flags(parser, connect=False)
    return parser


@pytest.mark.parametrize("rate", ["100", "50.5"])
def test_camera_rate_above_the_step_rate_is_refused(capsys, rate):
    with pytest.raises(SystemExit) as info:
        ros_parser().parse_args(["--camera_rate", rate])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert "argument --camera_rate" in err and "at most 50 Hz" in err and repr(rate) in err


def test_camera_rate_up_to_the_step_rate_is_accepted():
    assert ros_parser().parse_args(["--camera-rate", "50"]).camera_rate == 50.0


@pytest.mark.parametrize("rate", [100.0, 0.0, float("nan")])
def test_node_parameter_camera_rate_hz_is_bounded_too(rate):
    """``-p camera_rate_hz:=100`` or the launch file reach the node without the CLI."""
    pytest.importorskip("rclpy", reason="the node needs rclpy (the ros extra)")
    from spaceros_procgen_envs.ros.node import NodeCfg, NodeParameterError

    with pytest.raises(NodeParameterError, match=r"parameter camera_rate_hz: .*\(0, 50\] Hz"):
        NodeCfg(camera_rate_hz=rate).checked()
    assert NodeCfg(camera_rate_hz=50.0).checked().camera_rate_hz == 50.0
