"""The platform client: ``wire`` parses, ``client`` moves bytes, ``ratelimit`` paces calls.

Shares no code with ``reconciler.sim``: if both sides read the reference the same wrong way,
no test could tell.
"""
