"""The performance harness (``make bench``, ``python -m bench --quick``); docs/performance.md."""
