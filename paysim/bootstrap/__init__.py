"""The composition root: the one place that builds clients and wires services to them.

One module a service (``payment``, ``order``, ...), each with a ``build_process``
function; ``common`` holds what they share. Nothing here runs at import time: entry
points (CLI, tests, notebooks) read ``Settings`` once, call a builder, start the result.
"""
