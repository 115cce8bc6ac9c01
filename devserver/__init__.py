"""devserver: a local development server for file-routed web apps in Python.

>>> from devserver import create_app, build_table
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .routing import build_table as build_table
    from .server import create_app as create_app

__version__ = "0.1.0"

__all__ = ["__version__", "build_table", "create_app"]


def __getattr__(name: str) -> Any:
    # PERF: imported on first use: `devserver run`'s supervisor imports this package but serves
    # nothing, and importing aiohttp, Jinja2 and the server cost it ~0.4 s of start-up and ~35 MB.
    if name == "create_app":
        from .server import create_app

        return create_app
    if name == "build_table":
        from .routing import build_table

        return build_table
    raise AttributeError(f"module 'devserver' has no attribute {name!r}")
