"""Fault injection for reconciler: kill -9, simulator faults, racing applies, fuzzing, leaks.

``python -m chaos`` runs the full harness and writes its figures as JSON under
``chaos/results/``; ``tests/chaos/`` runs a short version inside ``make test``. What each
scenario checks, and the figures measured, are in ``docs/reliability.md``.
"""

from __future__ import annotations
