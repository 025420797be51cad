"""The command line (``apigen``): thin modules that parse options and call the parts.

May import every other part of ``streamer``; nothing imports it but ``__main__``.
"""

from ._app import app, main

__all__ = ["app", "main"]
