"""Step 4 of the flow: the orchestrator that turns a ``Plan`` into submitted, followed runs.

``engine`` writes each intent before its POST and never submits a run twice; ``follow`` polls a
run to its final status; ``adoption`` settles ambiguous submits from the platform's records;
``schedule`` decides which run starts next; ``survey`` learns process durations; ``journal``
batches durable intents. It reaches the platform, the state and git only through the
``Protocol``s it defines, so it imports no edge: only the core and the leaves.
"""
