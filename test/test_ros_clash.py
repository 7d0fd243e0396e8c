"""Two simulations on one ROS domain, and --connect to a different one, are refused (exit 2).

Real script processes over real Fast DDS, each test on its own ROS_DOMAIN_ID.
"""

from __future__ import annotations

import argparse

from geometry_msgs.msg import Twist

from .ros_helpers import client, latest_info, ros_domain, spawn, wait_for_node  # noqa: F401

from spaceros_procgen_envs.ros.graph import given_flags  # noqa: E402


def assert_refused(proc, *needles: str) -> str:
    rc = proc.wait(120)
    err = proc.stderr()
    assert rc == 2, f"exit code {rc}\n--- stderr\n{err}"
    assert "Traceback" not in err, err
    line = next(line for line in err.splitlines() if line.startswith("error: "))
    for needle in needles:
        assert needle in line, line
    return line


def test_a_second_node_of_the_same_name_exits_with_the_fix(spawn, client, ros_domain):
    first = spawn("run_spaceros.py", "--headless", "--duration", "120")
    wait_for_node(client, first)
    second = spawn("run_spaceros.py", "--headless", "--duration", "120")
    assert_refused(second, "another node /spaceros_procgen_envs", f"ROS_DOMAIN_ID={ros_domain + 1}",
                   "--ros-args -r __ns:=/sim2")
    assert first.proc.poll() is None, "the first simulation must keep running"


def test_a_renamed_simulation_refuses_to_join_a_running_one(spawn, client):
    first = spawn("agent_zero.py", "--headless", "--duration", "120")
    wait_for_node(client, first)
    renamed = spawn("run_spaceros.py", "--headless", "--duration", "120",
                    "--ros-args", "-r", "__node:=sim2")
    assert_refused(renamed, "another simulation (/spaceros_procgen_envs) already publishes "
                            "/envs/info", "ROS_DOMAIN_ID=", "__ns:=/sim2")


def test_a_namespace_of_its_own_runs_beside(spawn, client):
    first = spawn("run_spaceros.py", "--headless", "--duration", "120")
    wait_for_node(client, first)
    apart = spawn("agent_zero.py", "--headless", "--steps", "20", "--ros-args", "-r", "__ns:=/sim2")
    assert apart.wait(120) == 0, apart.stderr()
    assert "done, 20 steps" in apart.stdout()


def test_foreign_publishers_on_the_inputs_are_a_clash(spawn, client):
    pub = client.publisher(Twist, "robot/cmd_vel")  # another robot's teleop, on our alias topic
    client.spin_for(0.2)
    agent = spawn("agent_zero.py", "--headless", "--duration", "120")
    assert_refused(agent, "/robot/cmd_vel already has a publisher (/test_client) on",
                   "ROS_DOMAIN_ID=")
    assert pub.get_subscription_count() == 0


def test_connect_refuses_a_task_or_num_envs_that_differs(spawn, client):
    node = spawn("run_spaceros.py", "--headless", "--num_envs", "2", "--duration", "120")
    wait_for_node(client, node)
    wrong = spawn("agent_random.py", "--connect", "--task", "ingenuity", "--num_envs", "99",
                  "--steps", "5")
    line = assert_refused(wrong, "task perseverance", "num_envs 2", "--task ingenuity",
                          "--num_envs 99")
    assert "/spaceros_procgen_envs" in line
    teleop = spawn("teleop.py", "--connect", "--headless", "--num_envs", "3", "--duration", "60")
    assert_refused(teleop, "num_envs 2", "--num_envs 3")
    same = spawn("agent_random.py", "--connect", "--task", "perseverance", "--num_envs", "2",
                 "--steps", "5")
    assert same.wait(120) == 0, same.stderr()
    unset = spawn("agent_zero.py", "--connect", "--steps", "5")  # defaults are not refused
    assert unset.wait(120) == 0, unset.stderr()
    assert latest_info(wait_for_node(client, node))["num_envs"] == 2


def test_given_flags_counts_what_the_command_line_gives():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="perseverance")
    parser.add_argument("--num_envs", type=int, default=1)
    parser.set_defaults(extra=1)
    assert given_flags(parser, ["--num_envs", "3"]) == {"num_envs"}
    assert given_flags(parser, []) == set()
    assert parser.parse_args([]).task == "perseverance" and parser.parse_args([]).extra == 1
