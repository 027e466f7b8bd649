"""Git at both ends of the flow: facts for templates, and publishing state back.

``facts`` reads the checkout's git context for templates, ``worktree`` reads what a commit
may record (regular files only, never through a link), ``plumbing`` builds commits through a
private index, ``publish`` pushes them (rebuilding on upstream, never forcing), and
``journal`` is the durable intent journal built on it. An edge: it runs ``git`` and imports
the core and the leaves only.
"""
