"""Git at both ends of the flow: facts for templates, and publishing state back.

``facts`` reads the checkout's git context for templates, ``publish`` commits paths on the
branch through a private index and pushes without ever forcing, ``journal`` is the durable
intent journal built on it. An edge: it runs ``git`` and imports the core and the leaves only.
"""
