"""The product's use cases as plain functions: validate, plan, apply, commit, status.

Each takes settings and its seams (clients, store, clock, environment) and returns a result
value; none prints, parses options or knows click, so a test, a benchmark or another use case
calls them directly. The CLI only turns options into arguments and results into output and an
exit code. May import every layer below it, never ``cli`` or ``sim``.
"""
