"""Benchmarks of the toolkit against the sandbox (issues 6 and 17): ``python -m bench [--quick] [--json]``.

Cases, by concern: :mod:`bench.case_initial` (initial sync: API calls against the minimum, wall
time against the I/O floor and the per-record script, peak RSS), :mod:`bench.case_incremental`
(1% changed on each side, against its own I/O floor, :mod:`bench.floor_incremental`),
:mod:`bench.case_events` (``toolkit serve``'s event path) and :mod:`bench.case_dashboard` (the
dashboard's data calls over a year of history). Results and how to reproduce them: ``bench/RESULTS.md``. Not part of ``make test``.
"""
