"""Step 5 of the flow, on disk: the state directory and the artifacts of an apply.

``state`` keeps one JSON file per execution (``codec`` encodes and decodes them, ``lock`` is the
checkout's apply lock), ``writer`` writes them in order off the event loop, ``paths`` refuses to
read or write through a link or into anything but a real folder, ``redact`` scrubs the
platform's text of secrets before it is written, and ``artifacts`` writes what ``report``
renders. An edge: it may import the core and the leaves, never another edge (the network, git,
GitHub).
"""
