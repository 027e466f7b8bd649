"""The platform simulator: a local stand-in for the Boomi execution API.

It owns a *world* (accounts, runtimes, environments, processes and their behaviour), serves the
ExecutionRequest / ExecutionRecord / cancelExecution / runtime-lookup endpoints with the wire
shapes of ``shared/reference/boomi-platform-api.md``, injects faults, and exposes an admin API
under ``/_sim`` for tests and benchmarks. It shares no code with ``reconciler.boomi`` (the
client) and imports nothing else from ``reconciler``, so a misreading of the reference on one
side cannot hide behind the other.

Modules: ``world`` (world file model + loader) and ``located`` (YAML positions, located
errors), ``lifecycle`` (pure run timelines), ``faults`` (fault plans), ``query`` (filter
grammar), ``records`` / ``xmlbody`` (JSON and XML response shapes), ``state`` (the mutable
state and platform operations), ``endpoints`` (what each path does), ``app`` (the request
pipeline: auth, rate limit, faults, negotiation) and ``admin`` (``/_sim``), ``serve`` (uvicorn
on loopback). Format and admin shapes: ``docs/simulator.md``.
"""

from __future__ import annotations
