"""Step 6 of the flow, as text: renderers over plans and apply results.

Pure: every function returns a string (text, markdown, JSON, JUnit XML) and nothing here
writes, prints or reads a file; ``store.artifacts`` and the CLI do that.
"""
