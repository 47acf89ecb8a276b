"""The benchmark suite: `python -m bench [--quick]` (`make bench`, `make bench-quick`).

Benchmarks are not tests. Each figure is measured in one run next to two baselines served on the
same machine at the same time (a bare Starlette app, a bare slack-bolt AsyncApp), so a noisy
machine moves all of them together. Results go to `bench/results/<stamp>.json` and
`docs/BENCHMARKS.md`; the process exits non-zero when a target is missed.
"""
