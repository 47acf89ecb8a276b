"""The benchmark suite: `python -m bench [--quick]` (`make bench`, `make bench-quick`).

Benchmarks are not tests. Each figure is measured in one run next to two baselines served on the
same machine at the same time (a bare Starlette app, a bare slack-bolt AsyncApp), so a noisy
machine moves all of them together. Results go to `bench/results/{full,quick}.json` (and, for a
full run, the table in `docs/BENCHMARKS.md`); the process exits non-zero when a target is missed.
"""
