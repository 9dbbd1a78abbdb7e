"""goci: fast, trustworthy CI for Go repositories.

Two layers, one way down. The shell (``cli``, ``commands/``, ``options``, ``runtime``,
``errors``, ``progress``) turns flags, ``INPUT_*`` and ``PLUGIN_*`` into plain values and results
into outputs, summaries and exit codes. Each capability is a folder whose name matches its
action and command (``cache``, ``changed``, ``matrix``, ``gotest``, ``coverage``, ``release``):
pure functions returning dataclasses, which reach ``go``, ``git`` and the disk only through
``tools``.
"""

__version__ = "0.1.0"
