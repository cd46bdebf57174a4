"""Benchmarks: ``make bench`` (``BENCH_SCALE=full|small``, ``BENCH=<name>``) runs ``bench.run``.

Each benchmark writes ``bench/results/<name>.json`` in the shape fixed by ``/work/shared/BENCH.md`` and prints
one line per figure. They run against their own database (``<name>_bench`` on the configured server), which
is dropped and re-created at the start and dropped at the end unless ``--keep`` is given.
"""
