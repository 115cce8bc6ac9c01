"""devserver: a local development server for file-routed web apps in Python.

>>> from devserver import create_app, build_table
"""

from .routing import build_table as build_table
from .server import create_app as create_app

__version__ = "0.1.0"

__all__ = ["__version__", "build_table", "create_app"]
