"""Step 3 of the flow: desired runs x state snapshot -> a ``Plan`` with a reason per action.

``planner`` builds the plan (pure: time and the state arrive as values) and ``review`` compares
it with a reviewed plan document. May import the leaves (``model``, ``errors``, ``clock``)
only; it never reads files, the environment or the clock.
"""
