"""Step 5 of the flow, on disk: the state directory and the artifacts of an apply.

``state`` keeps one JSON file per execution (migrations, the checkout lock), ``writer`` writes
them in order off the event loop, ``files`` holds the one atomic-write recipe, and
``artifacts`` writes what ``report`` renders. An edge: it may import the core and the leaves,
never another edge (the network, git, GitHub).
"""
