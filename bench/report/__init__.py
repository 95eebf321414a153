"""The benchmark report: every comparison side by side, written to docs/benchmarks.md.

python -m bench.report [--quick] [--only SECTION ...] [--out docs] [--cold]
"""
