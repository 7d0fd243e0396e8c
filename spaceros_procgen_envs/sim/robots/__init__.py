"""Robots written for this package (MjSpec builders + their controllers)."""
