"""Step 1-2 of the flow: spec files in, desired runs (or located diagnostics) out.

``sources`` finds the spec files (and reads them when no bounded reader is given),
``documents`` reads YAML with positions (``fastyaml`` is its proven-equal fast path),
``schema`` validates against the published JSON Schema (``diagnose`` words the errors of every
validation, specs and config alike), ``language`` is the spec language itself (and
``schemagen`` writes its schema), ``layering`` and ``expand`` turn sets, matrices and defaults
into run requests rendered through ``sandbox`` (the Jinja2 sandbox, with ``filters``,
``rendercache`` and the step, text and time ``budget``), ``graph`` checks and orders
``dependsOn``, and ``load`` composes them over a folder, spreading files over processes with
``parallel``. May import ``model``, ``errors`` and ``clock`` only; never the network, the
state or git.
"""
