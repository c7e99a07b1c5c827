"""Benchmarks run by hand (not by pytest): ``python benchmarks/latency.py``."""
