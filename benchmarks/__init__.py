"""Benchmarks: ``make bench`` runs them all, ``make bench BENCH=<name>`` one.

Each module ``benchmarks/bench_<name>.py`` has ``run(report)``; every figure is printed on its own
line as ``bench <name>.<figure>: <value> <unit>``.
"""
