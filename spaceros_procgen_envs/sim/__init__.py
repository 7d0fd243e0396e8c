"""MuJoCo simulation: robots, scene composition from cached assets, cameras, the world cache
(nothing here knows a task: the env core above it is :mod:`..world`)."""
