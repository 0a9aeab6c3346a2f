"""Benchmark tooling: the set-based seeder (`seed.py`, run as `manage.py seed_bench`), the
page benchmark (`run.py`) and the load test (`load.py`). Results go to docs/performance.md."""
