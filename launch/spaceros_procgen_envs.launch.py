"""Launch the spaceros_procgen_envs simulation node and, optionally, an agent that drives it.

    ros2 launch spaceros_procgen_envs spaceros_procgen_envs.launch.py \\
        task:=sample_collection num_envs:=4 agent:=random

Arguments (node parameters; see ``spaceros_procgen_envs.ros.node.NodeCfg``):
task, num_envs, seed, domain ('' = the task's own), backend, realtime_factor, lockstep,
camera_rate_hz, camera_width, camera_height (``<task>_visual`` tasks), video (an mp4 path),
episode_s, record (a recording directory), record_force, per_env_topics;
plus agent: random | zero | none. The agent runs ``agent_<agent>.py --connect``, so it drives the
launched node over envs/action exactly like any other ROS program. A parameters file such as
config/spaceros_procgen_envs.yaml works with ``ros2 run ... run_spaceros.py --ros-args
--params-file <file>``.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import LaunchConfigurationEquals
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

PACKAGE = "spaceros_procgen_envs"

# name -> (default, type, description); each is a parameter the node declares.
NODE_ARGUMENTS = {
    "task": ("perseverance", str, "registered task name (list_envs.py lists them); "
                                  "<task>_visual adds camera topics"),
    "num_envs": ("1", int, "number of parallel environments (env i gets seed + i)"),
    "seed": ("42", int, "base seed of the procedural worlds"),
    "domain": ("", str, "moon, mars, earth, asteroid or orbit; empty: the task's own"),
    "backend": ("thread", str, "how the batch is stepped: sync or thread"),
    "realtime_factor": ("1.0", float, "sim seconds per wall second in real-time mode"),
    "lockstep": ("false", bool, "step every env once per envs/action or envs/robot/cmd_vel "
                                "message instead of in real time"),
    "camera_rate_hz": ("10.0", float, "camera topics' rate of <task>_visual tasks (<= 50)"),
    "camera_width": ("128", int, "camera image width of <task>_visual tasks, pixels"),
    "camera_height": ("128", int, "camera image height of <task>_visual tasks, pixels"),
    "video": ("", str, "film every env, tiled, into this mp4; empty: no video"),
    "episode_s": ("0.0", float, "episode time limit, s of sim time; 0: the task's own, "
                                "< 0: none"),
    "record": ("", str, "record every env into this directory (rosbag2 + Minari); empty: none"),
    "record_force": ("false", bool, "replace an earlier recording at record"),
    "per_env_topics": ("64", int, "envs 0..K-1 get their own env{i}/ topics; -1: every env"),
}
AGENTS = ("random", "zero")


def generate_launch_description() -> LaunchDescription:
    arguments = [DeclareLaunchArgument(name, default_value=default, description=text)
                 for name, (default, _, text) in NODE_ARGUMENTS.items()]
    arguments.append(DeclareLaunchArgument(
        "agent", default_value="none", choices=[*AGENTS, "none"],
        description="an agent that drives every env over ROS (agent_<name>.py --connect)"))
    parameters = {name: ParameterValue(LaunchConfiguration(name), value_type=kind)
                  for name, (_, kind, _) in NODE_ARGUMENTS.items()}
    node = Node(package=PACKAGE, executable="run_spaceros.py", name=PACKAGE,
                parameters=[parameters], output="screen", emulate_tty=True)
    agents = [Node(package=PACKAGE, executable=f"agent_{agent}.py", name=f"{agent}_agent",
                   arguments=["--connect"], output="screen", emulate_tty=True,
                   condition=LaunchConfigurationEquals("agent", agent))
              for agent in AGENTS]
    return LaunchDescription([*arguments, node, *agents])
