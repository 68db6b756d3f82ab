"""Benchmarks that put our SQL next to a reference measured in the same run.

identity: the identity graph models against scipy's connected components on the
same edges (python -m customer_segments.bench.identity, or bin/bench-identity).
reference: that reference, run in a fresh process so its time and memory are its own.

Times are only ever compared as ratios within one run: machines differ, ratios
of work done on the same machine at the same moment much less.
"""
