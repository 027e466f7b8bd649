"""Settings: ``reconciler.yaml`` and the environment, read once into typed values.

``settings`` loads the configuration file (with positions for its errors) and the environment
into ``Settings``; ``secrets`` resolves credentials and secret values from the environment
without ever keeping them in a value that is logged or saved. An edge.
"""
