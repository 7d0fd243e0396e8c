"""MuJoCo simulation: robots, scene composition from cached assets, the batched core."""
