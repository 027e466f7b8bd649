"""GitHub Actions and the GitHub REST API: the product's life on pull requests.

``context`` is the one reader of ``GITHUB_*`` variables (everything else gets plain values);
``workflow`` writes workflow commands, the job summary and step outputs; ``api`` is a small
REST client; ``comment`` renders the sticky plan comment from an untrusted plan document;
``reviewed`` finds the plan reviewed on a merged pull request. An edge: it imports the core
and the leaves, never another edge.
"""
