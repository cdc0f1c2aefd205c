"""Benchmark workloads, one module per workload: wNN_name.py with TITLE and run(b); see
bench/bench.py for the Bench API they measure through."""
