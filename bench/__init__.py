"""Benchmark harnesses of goperf-scaffold; `python -m bench.report` runs them all."""
