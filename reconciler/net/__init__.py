"""What the HTTP edges share: the client options and the one retry loop.

``boomi.client`` and ``github.api`` are edges in one layer and may not import each other; both
import this. A layer of its own just below the edges (see the import-linter contract).
"""
