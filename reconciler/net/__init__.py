"""What the HTTP edges share: the client options, the one retry loop, the watch on the wire.

``boomi.client`` and ``github.api`` are edges in one layer and may not import each other; both
import this. A layer of its own just below the edges (see the import-linter contract).
``retries``: ``ClientOptions``, the retry loop and the plain words of connection failures;
``watch``: the requests waiting for an answer (a line while one waits long) and when a host has
gone silent.
"""
