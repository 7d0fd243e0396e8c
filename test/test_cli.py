"""The shared argument parser and the scripts' bad-input behaviour (SPEC 9)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from spaceros_procgen_envs import cli, list_tasks

from .conftest import script_cmd


def parse(*argv: str):
    return cli.make_parser("test").parse_args(list(argv))


def test_defaults_follow_the_spec():
    args = parse()
    assert (args.task, args.num_envs, args.seed, args.domain) == ("perseverance", 1, 42, None)


def test_gym_id_is_accepted_as_task():
    assert parse("--task", "spaceros/ingenuity").task == "ingenuity"


@pytest.mark.parametrize("argv, fragment", [
    (["--num_envs", "0"], "--num_envs: expected a positive integer, got '0'"),
    (["--num_envs", "four"], "--num_envs: expected a positive integer, got 'four'"),
    (["--seed", "-1"], "--seed: expected an integer >= 0"),
    (["--task", "perseverence"], "Did you mean 'perseverance'?"),
    (["--domain", "marz"], "Did you mean 'mars'?"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, fragment):
    with pytest.raises(SystemExit) as info:
        parse(*argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_task_domain_mismatch_is_an_argument_error(capsys):
    parser = cli.make_parser("test")
    args = parser.parse_args(["--task", "ingenuity", "--domain", "orbit"])
    with pytest.raises(SystemExit) as info:
        cli.check_task_domain(parser, args)
    assert info.value.code == 2
    assert "argument --domain" in capsys.readouterr().err


def test_list_envs_prints_every_task():
    out = subprocess.run(script_cmd("list_envs.py"), capture_output=True, text=True, check=True).stdout
    for name in list_tasks():
        assert f"spaceros/{name}" in out
    assert "| id " in out


def test_list_envs_json_is_machine_readable():
    out = subprocess.run(script_cmd("list_envs.py", "--json"), capture_output=True, text=True,
                         check=True).stdout
    rows = json.loads(out)
    gym_rows = [r for r in rows if r["id"].startswith("spaceros/")]
    assert {r["id"] for r in gym_rows} == {f"spaceros/{n}" for n in list_tasks()}
    assert all(r["observations"] for r in gym_rows)
    assert len(rows) == len(list_tasks()) + len(list_tasks(multi_agent=True))
    assert next(r for r in rows if r["id"] == "spaceros/perseverance")["actions"].startswith("2:")


def test_unknown_flag_exits_2_without_traceback():
    proc = subprocess.run(script_cmd("list_envs.py", "--bogus"), capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unrecognized arguments: --bogus" in proc.stderr and "Traceback" not in proc.stderr


def test_list_envs_puts_multi_robot_tasks_apart_with_how_to_run_them():
    out = subprocess.run(script_cmd("list_envs.py", "--brief"), capture_output=True, text=True,
                         check=True).stdout
    single, multi = out.split("Multi-robot tasks")
    for name in list_tasks(multi_agent=True):
        assert name not in single and f"parallel_env('{name}'" in multi
    assert "agent_random.py" in single and "agent_random.py" not in multi
    assert f"{len(list_tasks())} single-robot tasks" in single
    count = len(list_tasks(multi_agent=True))
    assert f"{count} multi-robot task{'s' if count != 1 else ''}." in multi
    assert not re.search(r"\b1 \w+s\b", out), "a count of 1 with a plural noun"
