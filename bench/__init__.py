"""Benchmarks: the harness (``bench/run``) and single-purpose benchmark scripts."""
