"""Procedural assets: pure seeded generators, their data types and the on-disk cache."""
